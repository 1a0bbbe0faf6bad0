"""Small real bugs for the bench tests: git repos with a pytest suite and one operator bug.

Each repo has two commits: the fixed code (the reference) and then the buggy code (HEAD),
so a JSONL dataset can name the fixed commit as the reference fix.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]

# name -> (module, fixed source, buggy source, tests, bug type)
BUGS = {
    "add": ("calc", "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n",
            "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n",
            "from calc import add, sub\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\ndef test_sub():\n    assert sub(5, 3) == 2\n",
            "operator misuse"),
    "adult": ("people", "def is_adult(age):\n    return age >= 18\n",
              "def is_adult(age):\n    return age > 18\n",
              "from people import is_adult\n\n\ndef test_eighteen():\n    assert is_adult(18)\n\n\ndef test_child():\n    assert not is_adult(7)\n\n\ndef test_old():\n    assert is_adult(40)\n",
              "operator misuse"),
    "largest": ("stats", "def largest(xs):\n    best = xs[0]\n    for x in xs:\n        if x > best:\n            best = x\n    return best\n",
                "def largest(xs):\n    best = xs[0]\n    for x in xs:\n        if x < best:\n            best = x\n    return best\n",
                "from stats import largest\n\n\ndef test_largest():\n    assert largest([3, 9, 4]) == 9\n\n\ndef test_single():\n    assert largest([5]) == 5\n",
                "value misuse"),
    "evens": ("counting", "def count_even(xs):\n    return sum(1 for x in xs if x % 2 == 0)\n",
              "def count_even(xs):\n    return sum(1 for x in xs if x % 2 == 1)\n",
              "from counting import count_even\n\n\ndef test_count_even():\n    assert count_even([1, 2, 4, 6, 7]) == 3\n\n\ndef test_empty():\n    assert count_even([]) == 0\n",
              "value misuse"),
}
TEST_CMD = "python -m pytest -q"


def git(repo: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def make_repo(root: Path, name: str) -> tuple[Path, str]:
    """A git repo whose HEAD holds bug `name`; returns it and the fixed commit's sha."""
    module, fixed, buggy, tests, _ = BUGS[name]
    repo = root / name
    (repo / "tests").mkdir(parents=True)
    (repo / f"{module}.py").write_text(fixed)
    (repo / "tests" / f"test_{module}.py").write_text(tests)
    (repo / "conftest.py").write_text("import os, sys\nsys.path.insert(0, os.path.dirname(__file__))\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "fixed")
    fixed_sha = git(repo, "rev-parse", "HEAD")
    (repo / f"{module}.py").write_text(buggy)
    git(repo, "commit", "-qam", "bug")
    return repo, fixed_sha


def make_jsonl_dataset(root: Path, names: list[str] | None = None) -> Path:
    """A JSONL dataset over freshly made bug repos (relative repo paths, fixed commits as reference)."""
    rows = []
    for name in names or list(BUGS):
        _repo, fixed = make_repo(root, name)
        rows.append({"id": name, "repo": name, "test_cmd": TEST_CMD, "bug_type": BUGS[name][4], "fixed_commit": fixed,
                     "issue": f"The function in {BUGS[name][0]}.py returns wrong results."})
    path = root / "bugs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_made_bugs_fail_and_their_fixes_pass(tmp_path):
    """The bench tests rest on these bugs being real: buggy HEAD fails, the fixed commit passes."""
    repo, fixed = make_repo(tmp_path, "adult")
    run = lambda: subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=repo, capture_output=True, text=True)  # noqa: E731
    assert run().returncode == 1
    git(repo, "checkout", "-q", fixed)
    assert run().returncode == 0
