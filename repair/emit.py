"""What a repair run hands back: a unified diff, the working tree (--apply), a git branch
(--branch, without touching the working tree) or a SWE-bench prediction row."""
from __future__ import annotations

import difflib
import os
import subprocess
import tempfile
from pathlib import Path


def unified_diff(repo: Path, new_files: dict[str, str]) -> str:
    """A `git apply`-compatible diff (a/ b/ prefixes) of the new file contents against the repo."""
    chunks = []
    for rel in sorted(new_files):
        old = (repo / rel).read_text()
        new = new_files[rel]
        if old == new:
            continue
        old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
        body = list(difflib.unified_diff(old_lines, new_lines, f"a/{rel}", f"b/{rel}"))
        chunks.append(f"diff --git a/{rel} b/{rel}\n")
        for line in body:
            chunks.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(chunks)


class GitProblem(Exception):
    pass


def _git(repo_root: Path, *args: str, env: dict | None = None, input: str | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=repo_root, capture_output=True, text=True, env=env, input=input)
    if proc.returncode != 0:
        raise GitProblem(f"git {' '.join(args)} failed: {proc.stderr.strip()[:300]}")
    return proc.stdout


def git_root(path: Path) -> Path:
    try:
        return Path(_git(path, "rev-parse", "--show-toplevel").strip())
    except (GitProblem, FileNotFoundError) as exc:
        raise GitProblem(f"{path} is not inside a git repository; --apply and --branch need one (run `git init` and commit first)") from exc


def ensure_clean(repo: Path) -> None:
    root = git_root(repo)
    rel = os.path.relpath(repo.resolve(), root)
    status = _git(root, "status", "--porcelain", "--", rel)
    if status.strip():
        raise GitProblem(f"the working tree of {repo} has uncommitted changes; commit or stash them before --apply/--branch")


def apply_to_tree(repo: Path, new_files: dict[str, str]) -> None:
    for rel, text in new_files.items():
        path = repo / rel
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(tmp, path.stat().st_mode)
        os.replace(tmp, path)


def check_branch_name(repo: Path, branch: str) -> Path:
    """The git root, once `branch` is known to be a valid, new branch name."""
    root = git_root(repo)
    if subprocess.run(["git", "check-ref-format", "--branch", branch], cwd=root, capture_output=True).returncode != 0:
        raise GitProblem(f"{branch!r} is not a valid git branch name; choose another --branch")
    exists = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"], cwd=root, capture_output=True)
    if exists.returncode == 0:
        raise GitProblem(f"branch {branch!r} already exists; choose another --branch name")
    return root


def create_branch(repo: Path, branch: str, new_files: dict[str, str], message: str) -> str:
    """Commit the patch on a new branch from HEAD, through a private index: the working tree,
    the real index and the current branch stay as they are. Returns the commit sha."""
    root = check_branch_name(repo, branch)
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, GIT_INDEX_FILE=str(Path(tmp) / "index"))
        _git(root, "read-tree", "HEAD", env=env)
        prefix = os.path.relpath(repo.resolve(), root)
        for rel, text in new_files.items():
            path_in_repo = os.path.normpath(os.path.join(prefix, rel)).replace(os.sep, "/")
            blob = _git(root, "hash-object", "-w", "--stdin", input=text).strip()
            mode = "100755" if os.access(repo / rel, os.X_OK) else "100644"
            _git(root, "update-index", "--add", "--cacheinfo", f"{mode},{blob},{path_in_repo}", env=env)
        tree = _git(root, "write-tree", env=env).strip()
        commit = _git(root, "commit-tree", tree, "-p", "HEAD", "-m", message).strip()
    _git(root, "branch", branch, commit)
    return commit
