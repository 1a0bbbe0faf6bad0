"""Imports point down only: cli -> benchmarks -> (neuron_patch | repair) -> bouncer -> sandboxes,
and never in a circle among one package's modules.

pyproject.toml's [tool.importlinter] contracts are the rule; these tests run them with
import-linter (the `dev` extra, which setup-dev.sh installs: never skipped, so a wrong import fails
CI), on this checkout and on a copy with one wrong import added.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("cli", "benchmarks", "neuron_patch", "repair", "bouncer", "sandboxes")
LINT = "import sys; from importlinter.cli import lint_imports_command; lint_imports_command(sys.argv[1:])"


def lint(checkout: Path, importable_from: Path) -> subprocess.CompletedProcess:
    """`lint-imports` over `checkout`'s contracts, with `patchwarden` imported from `importable_from`."""
    env = dict(os.environ, PYTHONPATH=str(importable_from), NO_COLOR="1")
    return subprocess.run([sys.executable, "-c", LINT, "--no-cache", "--no-logo", str(checkout / "pyproject.toml")],
                          cwd=checkout, env=env, capture_output=True, text=True, timeout=300)


def test_the_packages_keep_their_layers():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from devpath import devpath
    finally:
        sys.path.pop(0)
    run = lint(ROOT, devpath(ROOT))
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert "3 kept, 0 broken" in out, out  # both contracts ran (a config typo would run none)


@pytest.mark.parametrize("where, line, broken", [
    ("sandboxes/upward.py", "from patchwarden.cli import main\n", "patchwarden.sandboxes.upward -> patchwarden.cli"),
    ("bouncer/upward.py", "import patchwarden.repair.candidate\n", "patchwarden.bouncer.upward -> patchwarden.repair.candidate"),
    ("neuron_patch/sideways.py", "from patchwarden.repair.errors import RepairInputError\n",
     "patchwarden.neuron_patch.sideways -> patchwarden.repair.errors"),
    # import-linter names one edge of the cycle to cut, either way round
    ("repair/engines/circle.py", "from patchwarden.repair.pipeline import run_repair\n", (".engines -> .pipeline", ".pipeline -> .engines")),
])
def test_one_wrong_import_breaks_the_contracts(tmp_path, where, line, broken):
    """The contracts can fail: a copy of the packages with one import against the layers."""
    checkout = tmp_path / "checkout"
    ignore = shutil.ignore_patterns("__pycache__", "data")
    for name in PACKAGES:
        shutil.copytree(ROOT / name, checkout / name, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", checkout)
    (checkout / where).write_text(line)
    importable = tmp_path / "path"
    importable.mkdir()
    (importable / "patchwarden").symlink_to(checkout, target_is_directory=True)
    run = lint(checkout, importable)
    out = run.stdout + run.stderr
    assert run.returncode != 0, out
    assert "BROKEN" in out and any(b in out for b in ((broken,) if isinstance(broken, str) else broken)), out
