"""HumanEvalFix (Python): 164 hand-made bugs, each turned into a one-file repo with pytest tests.

--path: nothing (the copy shipped with `repair/humanevalfix.py`, the one loader), a local JSONL
file with the same fields, or a Hugging Face id (`bigcode/humanevalpack`, loaded with `datasets`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from patchwarden.repair.humanevalfix import HumanEvalFixError, load_rows

from .base import Bug, DatasetError

NAME = "humanevalfix"
HELP = "HumanEvalFix Python (164 bugs): the packaged copy, a local JSONL, or a HF id such as bigcode/humanevalpack"


def _rows(path: str | None) -> list[dict]:
    try:
        return load_rows(path)
    except HumanEvalFixError as exc:
        raise DatasetError(f"--path: {exc}") from None


def issue_text(row: dict) -> str:
    """What a user would write: the function is wrong, here is what it should do."""
    name = row["entry_point"]
    symptom = row.get("failure_symptoms") or "wrong results"
    doc = (row.get("docstring") or "").strip()
    text = f"`{name}` is buggy ({symptom}): its tests fail. Fix `{name}` so that it does what its docstring says."
    return text + (f"\n\nDocstring of `{name}`:\n{doc}\n" if doc else "\n")


def load(path: str | None) -> Iterator[Bug]:
    from patchwarden.benchmarks.humanevalfix_repos import reference_function

    for row in _rows(path):
        missing = [k for k in ("task_id", "buggy_solution", "entry_point", "test") if k not in row]
        if missing:
            raise DatasetError(f"HumanEvalFix row {row.get('task_id', '?')} lacks {', '.join(missing)}: pass the Python HumanEvalFix file")
        reference = {"functions": {row["entry_point"]: reference_function(row)}} if row.get("canonical_solution") else None
        yield Bug(
            id=row["task_id"],
            dataset=NAME,
            issue=issue_text(row),
            bug_type=row.get("bug_type") or "unknown",
            reference=reference,
            spec={"row": row},
        )


def materialise(bug: Bug, dest: Path) -> tuple[Path, str]:
    from patchwarden.benchmarks.humanevalfix_repos import make_bug_repo

    repo, test_cmd = make_bug_repo(bug.spec["row"], dest)
    return Path(repo), test_cmd
