"""Each package's README lists its files, one line each: every module is named there, and every
file the README names exists, so the maps cannot go stale when a file is added, moved or renamed."""
import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("benchmarks", "bouncer", "cli", "neuron_patch", "repair", "sandboxes")
NAMED = re.compile(r"`([\w./-]+\.py)`")


def _needs_a_line(path: Path) -> bool:
    """Every module does; an `__init__.py` only when it defines something (not just a docstring or re-exports)."""
    if path.name != "__init__.py":
        return True
    return any(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) for node in ast.parse(path.read_text()).body)


def modules(package: str) -> set[str]:
    top = ROOT / package
    return {str(p.relative_to(top)) for p in top.rglob("*.py") if "__pycache__" not in p.parts and _needs_a_line(p)}


def named(package: str) -> set[str]:
    return set(NAMED.findall((ROOT / package / "README.md").read_text()))


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_is_named_in_its_package_readme(package):
    missing = sorted(modules(package) - named(package))
    assert not missing, f"{package}/README.md does not name {missing}: add one line for each"


@pytest.mark.parametrize("package", PACKAGES)
def test_every_file_a_package_readme_names_exists(package):
    """Names are relative to the package (`engines/template.py`) or, for other packages' files, to the repository."""
    gone = sorted(n for n in named(package) if not (ROOT / package / n).is_file() and not (ROOT / n).is_file())
    assert not gone, f"{package}/README.md names files that do not exist: {gone}"


def test_the_map_check_sees_a_missing_line_and_a_stale_one(tmp_path, monkeypatch):
    """The checks above can fail: a module without a line, and a line for a file that is gone."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text('"""A docstring only: needs no line."""\n')
    (pkg / "sub" / "__init__.py").write_text("def helper():\n    pass\n")
    (pkg / "kept.py").write_text("")
    (pkg / "new.py").write_text("")
    (pkg / "README.md").write_text("- `kept.py`: here.\n- `sub/__init__.py`: helper.\n- `old.py`: renamed since.\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    assert modules("pkg") - named("pkg") == {"new.py"}
    with pytest.raises(AssertionError, match="old.py"):
        test_every_file_a_package_readme_names_exists("pkg")
