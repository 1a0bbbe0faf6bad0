"""A real virtualenv whose interpreter imports pytest but not coverage.py (a common user setup).

`python3 -m venv --without-pip` gives an isolated interpreter (no system site-packages, so no
coverage.py); pytest and its own dependencies are then linked into its site-packages from the
running interpreter's installation. Nothing is downloaded.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# pytest's import-time dependencies (pytest 7-9) plus the `py` shim some versions ship.
PYTEST_PACKAGES = ("pytest", "_pytest", "pluggy", "iniconfig", "packaging", "pygments", "py", "exceptiongroup", "tomli")


def make_venv_without_coverage(dest: Path) -> Path:
    """Create the virtualenv at `dest`; returns its python. Raises RuntimeError when it cannot."""
    dest = Path(dest)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(dest)], check=True, capture_output=True)
    python = dest / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    import pytest

    source = Path(pytest.__file__).resolve().parents[1]
    for name in PYTEST_PACKAGES:
        for candidate in (source / name, source / f"{name}.py"):
            if candidate.exists() and not (site / candidate.name).exists():
                os.symlink(candidate, site / candidate.name)
    probe = subprocess.run([str(python), "-c", "import pytest\ntry:\n    import coverage\nexcept ImportError:\n    print('ok')"],
                           capture_output=True, text=True)
    if probe.stdout.strip() != "ok":
        raise RuntimeError(f"virtualenv at {dest} is not pytest-without-coverage: {probe.stdout} {probe.stderr[-300:]}")
    return python
