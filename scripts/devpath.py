"""Import this checkout as `patchwarden` without installing it.

The folders sit at the repository's top level and install as `patchwarden.*` (pyproject's
package-dir mapping). To run one checkout's code uninstalled (the tests, a second worktree beside
an editable install of another), a folder outside the repository holds one symlink,
`patchwarden -> <checkout>`; put that folder first on PYTHONPATH. Outside the repository so that
nothing walking the checkout meets a loop.

    eval "$(python3 scripts/devpath.py)"      # exports PYTHONPATH for this shell
"""
from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def devpath(root: Path = ROOT) -> Path:
    """The folder to put on sys.path so that `import patchwarden` imports `root`."""
    root = root.resolve()
    folder = Path(tempfile.gettempdir()) / f"patchwarden-dev-{hashlib.sha256(str(root).encode()).hexdigest()[:12]}"
    link = folder / "patchwarden"
    if not (link.is_symlink() and link.resolve() == root):
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".patchwarden.{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(root, target_is_directory=True)
        os.replace(tmp, link)  # atomic: concurrent test processes never see a missing link
    return folder


def use(root: Path = ROOT) -> None:
    """Make this process and its children import `root` as patchwarden."""
    folder = str(devpath(root))
    if folder not in sys.path:
        sys.path.insert(0, folder)
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != folder]
    os.environ["PYTHONPATH"] = os.pathsep.join([folder, *parts])


if __name__ == "__main__":
    use()
    print(f"export PYTHONPATH={os.environ['PYTHONPATH']}")
