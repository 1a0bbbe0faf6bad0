"""BugsInPy-style bug folders.

--path FOLDER holds bug folders (at any depth, e.g. the BugsInPy layout
`projects/<project>/bugs/<n>/`), each with:
- `bug.info`: python_version, buggy_commit_id, fixed_commit_id, test_file (`;`-separated);
- `run_test.sh`: the trigger-test command(s), one per line;
- the project checkout: `repo` (a git checkout, or a text file holding its path) in the bug
  folder or in a parent folder up to FOLDER (so one checkout serves a project's bugs);
- optionally `issue.md` / `issue.txt` (issue text) and `bug_type` in bug.info.

A bug is materialised as BugsInPy's own checkout does it: the buggy commit, with the test
files taken from the fixed commit (committed, so the work tree is clean). The fixed commit is
the reference fix.
"""
from __future__ import annotations

import shlex
from pathlib import Path
from typing import Iterator

from patchwarden.sandboxes.pytest_command import pytest_args

from .base import Bug, DatasetError, clone_at, git

NAME = "bugsinpy"
HELP = "BugsInPy-style folders: bug.info + run_test.sh + a repo checkout (or a file with its path)"
RUN_TEST_COPY = "bugsinpy_run_test.sh"


def parse_bug_info(text: str) -> dict[str, str]:
    info = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            info[key.strip()] = value.strip().strip('"').strip("'")
    return info


def trigger_command(run_test: str) -> tuple[str, bool]:
    """One test command for run_test.sh: its pytest runs merged into one (per-test results via
    JUnit), else the script itself. Returns (command, needs the script copied into the repo)."""
    lines = [ln.strip() for ln in run_test.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    parsed = [pytest_args(ln) for ln in lines]
    if lines and all(p is not None for p in parsed):
        args: list[str] = []
        for p in parsed:
            args += [a for a in p if a not in args]
        return shlex.join(["python", "-m", "pytest", *args]), False
    return f"bash {RUN_TEST_COPY}", True


def _find_repo(bug_dir: Path, root: Path) -> Path | None:
    for folder in [bug_dir, *bug_dir.parents]:
        entry = folder / "repo"
        if entry.is_dir():
            return entry.resolve()
        if entry.is_file():
            target = Path(entry.read_text().strip()).expanduser()
            return (target if target.is_absolute() else folder / target).resolve()
        if folder == root:
            break
    return None


def _bug_id(bug_dir: Path, root: Path) -> str:
    parts = [p for p in bug_dir.relative_to(root).parts if p not in ("projects", "bugs")]
    return "/".join(parts) or bug_dir.name


def load(path: str | None) -> Iterator[Bug]:
    if path is None:
        raise DatasetError("the bugsinpy dataset needs --path FOLDER holding bug folders (bug.info + run_test.sh + repo)")
    root = Path(path).expanduser().resolve()
    if not root.is_dir():
        raise DatasetError(f"--path {path} is not a directory: pass a folder holding BugsInPy bug folders")
    infos = sorted(root.rglob("bug.info"), key=lambda p: [int(s) if s.isdigit() else s for s in p.parent.relative_to(root).parts])
    if not infos:
        raise DatasetError(f"no bug.info under {root}: pass a folder holding BugsInPy bug folders")
    for info_file in infos:
        bug_dir = info_file.parent
        info = parse_bug_info(info_file.read_text())
        missing = [k for k in ("buggy_commit_id", "fixed_commit_id") if not info.get(k)]
        if missing:
            raise DatasetError(f"{info_file} lacks {', '.join(missing)}: add them as key=\"value\" lines")
        run_test = bug_dir / "run_test.sh"
        if not run_test.is_file():
            raise DatasetError(f"{bug_dir} has no run_test.sh: add the trigger-test command there")
        repo = _find_repo(bug_dir, root)
        if repo is None or not repo.is_dir():
            raise DatasetError(f"{bug_dir}: no project checkout; put a git checkout (or a file holding its path) named `repo` in the bug or project folder")
        test_files = [t for t in info.get("test_file", "").split(";") if t.strip()]
        issue = next((f.read_text() for f in (bug_dir / "issue.md", bug_dir / "issue.txt") if f.is_file()), None)
        test_cmd, needs_script = trigger_command(run_test.read_text())
        yield Bug(
            id=_bug_id(bug_dir, root),
            dataset=NAME,
            test_cmd=test_cmd,
            issue=issue,
            bug_type=info.get("bug_type") or "unknown",
            reference={"git": str(repo), "base": info["buggy_commit_id"], "commit": info["fixed_commit_id"], "exclude": test_files},
            spec={
                "repo": str(repo),
                "buggy": info["buggy_commit_id"],
                "fixed": info["fixed_commit_id"],
                "test_files": test_files,
                "python_version": info.get("python_version"),
                "run_test": run_test.read_text() if needs_script else None,
            },
        )


def materialise(bug: Bug, dest: Path) -> tuple[Path, str]:
    spec = bug.spec
    repo = clone_at(Path(spec["repo"]), spec["buggy"], dest / "repo")
    for test_file in spec["test_files"]:
        git("checkout", spec["fixed"], "--", test_file, cwd=repo)
    if spec.get("run_test"):
        (repo / RUN_TEST_COPY).write_text(spec["run_test"])
        git("add", RUN_TEST_COPY, cwd=repo)
    if git("status", "--porcelain", "--untracked-files=no", cwd=repo).strip():
        git("commit", "--quiet", "-m", "bugsinpy: tests from the fixed commit", cwd=repo)
    return repo, bug.test_cmd
