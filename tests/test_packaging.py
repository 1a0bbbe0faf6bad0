"""The distribution installs one top-level name, `patchwarden`, and every package folder is in it."""
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOP = ("benchmarks", "bouncer", "cli", "neuron_patch", "repair", "sandboxes")


def _declared() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_folder_is_declared_under_patchwarden():
    on_disk = {"patchwarden." + str(p.parent.relative_to(ROOT)).replace("/", ".")
               for top in TOP for p in (ROOT / top).rglob("__init__.py")}
    assert set(_declared()["packages"]) == on_disk
    assert _declared()["package-dir"] == {f"patchwarden.{t}": t for t in TOP}


def test_wheel_has_patchwarden_as_its_only_top_level(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "--disable-pip-version-check", "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("patchwarden-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"patchwarden"}
    for needed in ("patchwarden/cli/main.py", "patchwarden/repair/data/humanevalfix-python.jsonl",
                   "patchwarden/repair/models/model_prices.json", "patchwarden/sandboxes/forkserver_program.py"):
        assert needed in names
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "patchwarden = patchwarden.cli.main:main" in zipfile.ZipFile(wheel).read(entry).decode()
