"""A project whose tests need a dependency the sandbox image lacks, and a virtualenv that has it."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from helpers import SHAPES, make_repo

DEP = "tinydep"
# SHAPES with a third-party import: the buggy `scale` is unchanged, `perimeter` needs tinydep.
DEP_SHAPES = {
    **SHAPES,
    "shapes/geometry.py": "import tinydep\n\n\n" + SHAPES["shapes/geometry.py"].replace(
        "    return 2 * (w + h)\n", "    return tinydep.double(w + h)\n"),
}


def make_wheel(folder: Path) -> Path:
    """A pure-Python wheel of `tinydep`, written by hand (no build backend, no network)."""
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{DEP}-1.0-py3-none-any.whl"
    info = f"{DEP}-1.0.dist-info"
    files = {
        f"{DEP}/__init__.py": "def double(x):\n    return 2 * x\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {DEP}\nVersion: 1.0\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: patchwarden-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
        zf.writestr(f"{info}/RECORD", "".join(f"{name},,\n" for name in files) + f"{info}/RECORD,,\n")
    return wheel


def make_venv(path: Path, wheel: Path, use_pip: bool = True) -> Path:
    """A virtualenv of the interpreter running the tests (so it has pytest and coverage through
    its system site-packages) with `tinydep` installed offline: by pip, or (faster, `use_pip=False`)
    by unpacking the pure-Python wheel into site-packages. Returns its python."""
    flags = [] if use_pip else ["--without-pip"]
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", *flags, str(path)], check=True)
    python = path / "bin" / "python"
    if use_pip:
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-index", "--disable-pip-version-check",
                        str(wheel)], check=True)
    else:
        site = next((path / "lib").glob("python*/site-packages"))
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(site)
    return python


def make_dep_project(root: Path) -> Path:
    return make_repo(root, DEP_SHAPES)
