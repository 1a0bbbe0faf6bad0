"""What a bug dataset is: a loader of `Bug` records and a way to materialise one on disk.

A `Bug` is plain data (JSON-able, picklable), so process-pool and Ray workers can
receive it and build its repository themselves; `spec` holds whatever the dataset's
`materialise` needs (a HumanEvalFix row, a BugsInPy folder, a repo path).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator, Protocol


class DatasetError(Exception):
    """A dataset cannot be loaded; the message names the fix."""


@dataclass
class Bug:
    id: str
    dataset: str  # the name of the dataset module that can materialise it
    test_cmd: str | None = None  # None: known only once materialised
    issue: str | None = None
    bug_type: str = "unknown"
    # How to judge "fixed equal to reference": {"functions": {name: source}} (compare those
    # functions), {"files": {path: text}} or {"git": repo, "commit": sha} (compare every
    # function the reference or the patch changes). None when no reference is known.
    reference: dict | None = None
    spec: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Bug":
        return cls(**d)

    @property
    def slug(self) -> str:
        """The id as a safe directory name ("Python/0" -> "Python_0")."""
        return safe_name(self.id)


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "bug"


class Dataset(Protocol):
    """One module per dataset under `benchmarks/datasets/` provides these."""

    NAME: str
    HELP: str

    def load(self, path: str | None) -> Iterator[Bug]:
        """Every bug of the dataset; `path` is the user's --path (None: the default)."""

    def materialise(self, bug: Bug, dest: Path) -> tuple[Path, str]:
        """Build the buggy repository under `dest` (an empty directory); return it and the test command."""


GIT_ID = ["-c", "user.name=patchwarden", "-c", "user.email=patchwarden@localhost", "-c", "commit.gpgsign=false"]


def git(*args: str, cwd: Path | str) -> str:
    """Run git; a failure becomes a DatasetError naming the command and git's own message."""
    import subprocess

    proc = subprocess.run(["git", *GIT_ID, *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise DatasetError(f"git {' '.join(args)} failed in {cwd}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def is_git_repo(path: Path) -> bool:
    return (path / ".git").exists()


def clone_at(src: Path, commit: str, dest: Path) -> Path:
    """A private checkout of `src` at `commit` (objects shared, so it is cheap); `src` is not touched."""
    if not is_git_repo(src):
        raise DatasetError(f"{src} is not a git repository: a bug with a commit id needs a git checkout")
    dest.parent.mkdir(parents=True, exist_ok=True)
    git("clone", "--quiet", "--shared", "--no-checkout", str(src), str(dest), cwd=dest.parent)
    git("checkout", "--quiet", "--detach", commit, cwd=dest)
    return dest
