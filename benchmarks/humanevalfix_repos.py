"""HumanEvalFix (Python): 164 hand-made bugs, each turned into a one-file git repository.

    repo/solution.py            the buggy function with its docstring (and any helpers)
    repo/tests/test_example.py  the docstring's examples (HumanEvalFix `example_test`)
    repo/tests/test_hidden.py   the hidden tests (HumanEvalFix `test`)

The rows come from `repair/humanevalfix.py` (the one loader: the bundled copy, a local JSONL or
the Hugging Face id `bigcode/humanevalpack`).
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

TEST_CMD = "python3 -m pytest -q"
_CHECK_CALL = re.compile(r"^check\(.*\)\s*$")


def _test_module(test_code: str, entry_point: str, name: str) -> str:
    """A pytest module around HumanEval's `check(candidate)`; "" when the test code does not compile
    (one HumanEvalFix `example_test` is malformed: a file that breaks collection would hide the rest)."""
    body = "\n".join(line for line in test_code.splitlines() if not _CHECK_CALL.match(line))
    # A private alias: `from solution import *` may rebind the name `solution` (Python/121's function).
    text = f"import solution as _pw_solution\nfrom solution import *  # noqa: F401,F403\n\n{body.strip()}\n\n\ndef test_{name}():\n    check(_pw_solution.{entry_point})\n"
    try:
        compile(text, f"test_{name}.py", "exec")
    except SyntaxError:
        return ""
    return text


def bug_files(row: dict, fixed: bool = False) -> dict[str, str]:
    """The repository's files for one bug (or for its reference fix with fixed=True)."""
    body = row["canonical_solution"] if fixed else row["buggy_solution"]
    return {
        "solution.py": row["prompt"] + body,
        "tests/test_example.py": _test_module(row.get("example_test") or "", row["entry_point"], "example") if row.get("example_test") else "",
        "tests/test_hidden.py": _test_module(row["test"], row["entry_point"], "hidden"),
    }


def make_bug_repo(row: dict, dest: Path, fixed: bool = False, git: bool = True) -> tuple[Path, str]:
    """Write one bug as a small git repository; returns (repo path, test command)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for rel, text in bug_files(row, fixed).items():
        if not text:
            continue
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if git:
        ident = ["-c", "user.name=patchwarden", "-c", "user.email=bench@patchwarden.invalid", "-c", "commit.gpgsign=false"]
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=dest, check=True)
        subprocess.run(["git", "add", "-A"], cwd=dest, check=True)
        subprocess.run(["git", *ident, "commit", "-q", "-m", f"{row['task_id']} (buggy)"], cwd=dest, check=True)
    return dest, TEST_CMD


def reference_function(row: dict) -> str:
    """Source of the reference (fixed) solution file, for fixed-equal-to-reference checks."""
    return row["prompt"] + row["canonical_solution"]


def bug_id(row: dict) -> str:
    return row["task_id"].replace("/", "-")
