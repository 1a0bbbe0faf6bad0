"""Generic bugs from a JSONL file, one per line:

    {"id": "calc-1", "repo": "path/to/repo", "test_cmd": "python -m pytest -q",
     "issue": "optional issue text", "bug_type": "optional", "commit": "optional buggy commit",
     "fixed_commit": "optional reference fix commit (in the same repo)"}

`repo` is absolute or relative to the JSONL file. Without `commit` the repo is used in place
(a repair never writes to it); with `commit` a private checkout at that commit is made.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from patchwarden.sandboxes.files import json_lines

from .base import Bug, DatasetError, clone_at

NAME = "jsonl"
HELP = "a JSONL file of {id, repo, test_cmd, issue?, bug_type?, commit?, fixed_commit?}"
REQUIRED = ("id", "repo", "test_cmd")


def load(path: str | None) -> Iterator[Bug]:
    if path is None:
        raise DatasetError("the jsonl dataset needs --path FILE.jsonl with lines {id, repo, test_cmd, issue?}")
    file = Path(path).expanduser()
    if not file.is_file():
        raise DatasetError(f"--path {path} is not a file: pass a JSONL file with lines {{id, repo, test_cmd, issue?}}")
    for lineno, row in json_lines(file, error=DatasetError):
        if not isinstance(row, dict):
            raise DatasetError(f"{file}:{lineno} is not a JSON object: each line must be {{id, repo, test_cmd, ...}}")
        missing = [k for k in REQUIRED if not row.get(k)]
        if missing:
            raise DatasetError(f"{file}:{lineno} lacks {', '.join(missing)}: each line needs id, repo and test_cmd")
        repo = Path(row["repo"]).expanduser()
        repo = (repo if repo.is_absolute() else file.parent / repo).resolve()
        if not repo.is_dir():
            raise DatasetError(f"{file}:{lineno}: repo {repo} is not a directory: fix the path (relative paths start at the JSONL's folder)")
        reference = None
        if row.get("fixed_commit"):
            reference = {"git": str(repo), "base": row.get("commit") or "HEAD", "commit": row["fixed_commit"]}
        yield Bug(
            id=str(row["id"]),
            dataset=NAME,
            test_cmd=row["test_cmd"],
            issue=row.get("issue"),
            bug_type=row.get("bug_type") or "unknown",
            reference=reference,
            spec={"repo": str(repo), "commit": row.get("commit")},
        )


def materialise(bug: Bug, dest: Path) -> tuple[Path, str]:
    repo = Path(bug.spec["repo"])
    if bug.spec.get("commit"):
        repo = clone_at(repo, bug.spec["commit"], dest / "repo")
    return repo, bug.test_cmd
