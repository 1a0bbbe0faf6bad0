"""Small real repositories for tests (written to tmp_path, committed with git)."""
from __future__ import annotations

import subprocess
from pathlib import Path

GIT_IDENT = ["-c", "user.name=t", "-c", "user.email=t@t.invalid", "-c", "commit.gpgsign=false"]


def make_repo(root: Path, files: dict[str, str], git: bool = True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if git:
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
        subprocess.run(["git", "add", "-A"], cwd=root, check=True)
        subprocess.run(["git", *GIT_IDENT, "commit", "-q", "-m", "init"], cwd=root, check=True)
    return root


def tree_snapshot(root: Path) -> dict[str, bytes]:
    """Every working-tree file's bytes (to prove a tree is unchanged); .git is left out."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(root).parts}


# A package whose `area` calls a buggy helper: the traceback and coverage both point at `scale`.
SHAPES = {
    "shapes/__init__.py": "",
    "shapes/geometry.py": (
        "def scale(x, factor):\n"
        "    # multiply a length by a factor\n"
        "    return x + factor\n"
        "\n\n"
        "def area(w, h):\n"
        "    if w < 0 or h < 0:\n"
        "        raise ValueError('negative side')\n"
        "    return scale(w, h)\n"
        "\n\n"
        "def perimeter(w, h):\n"
        "    return 2 * (w + h)\n"
        "\n\n"
        "class Square:\n"
        "    def __init__(self, side):\n"
        "        self.side = side\n"
        "\n"
        "    def area(self):\n"
        "        return area(self.side, self.side)\n"
    ),
    "tests/test_geometry.py": (
        "import pytest\n"
        "from shapes.geometry import area, perimeter, Square\n"
        "\n\n"
        "def test_area():\n"
        "    assert area(3, 4) == 12\n"
        "\n\n"
        "def test_square():\n"
        "    assert Square(3).area() == 9\n"
        "\n\n"
        "def test_perimeter():\n"
        "    assert perimeter(3, 4) == 14\n"
        "\n\n"
        "def test_negative():\n"
        "    with pytest.raises(ValueError):\n"
        "        area(-1, 2)\n"
    ),
}
