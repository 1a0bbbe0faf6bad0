"""What a repair run hands back: a unified diff, the working tree (--apply), a git branch
(--branch, without touching the working tree) or a SWE-bench prediction row."""
from __future__ import annotations

import difflib
import os
import re
import subprocess
import tempfile
from pathlib import Path

from patchwarden.sandboxes.files import write_text

from .source_io import encode_like, read_source, source_encoding


def unified_diff(repo: Path, new_files: dict[str, str]) -> str:
    """A `git apply`-compatible diff (a/ b/ prefixes) of the new file contents against the repo."""
    chunks = []
    for rel in sorted(new_files):
        old = read_source(repo / rel)
        new = new_files[rel]
        if old == new:
            continue
        old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
        body = list(difflib.unified_diff(old_lines, new_lines, f"a/{rel}", f"b/{rel}"))
        chunks.append(f"diff --git a/{rel} b/{rel}\n")
        for line in body:
            chunks.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(chunks)


def diff_bytes(repo: Path, patch: str) -> bytes:
    """A diff from `unified_diff` as bytes `git apply` accepts: each file's part in the encoding
    that file declares (PEP 263), as git's own diff of a latin-1 file is."""
    parts = []
    for part in re.split(r"(?m)^(?=diff --git a/)", patch):
        m = re.match(r"diff --git a/(\S+) ", part)
        encoding = source_encoding((repo / m.group(1)).read_bytes()[:1024]) if m and (repo / m.group(1)).is_file() else "utf-8"
        parts.append(part.encode(encoding, "replace"))
    return b"".join(parts)


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
        write_text(path, encode_like(path, text))  # in the encoding the file declares (PEP 263); its mode kept


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
    the real index and the current branch stay as they are. Returns the commit sha.

    The commit holds HEAD plus the patch only: a file the user has edited but not committed is
    patched from its HEAD version (a three-way merge), so their edits never ride along."""
    root = check_branch_name(repo, branch)
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, GIT_INDEX_FILE=str(Path(tmp) / "index"))
        _git(root, "read-tree", "HEAD", env=env)
        prefix = os.path.relpath(repo.resolve(), root)
        for rel, text in new_files.items():
            path_in_repo = os.path.normpath(os.path.join(prefix, rel)).replace(os.sep, "/")
            content = _patched_head_version(root, path_in_repo, repo / rel, encode_like(repo / rel, text), Path(tmp))
            blob = _git_bytes(root, "hash-object", "-w", "--stdin", input=content).decode().strip()
            mode = "100755" if os.access(repo / rel, os.X_OK) else "100644"
            _git(root, "update-index", "--add", "--cacheinfo", f"{mode},{blob},{path_in_repo}", env=env)
        tree = _git(root, "write-tree", env=env).strip()
        commit = _git(root, "commit-tree", tree, "-p", "HEAD", "-m", message).strip()
    _git(root, "branch", branch, commit)
    return commit


def _git_bytes(root: Path, *args: str, input: bytes | None = None) -> bytes:
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, input=input)
    if proc.returncode != 0:
        raise GitProblem(f"git {' '.join(args)} failed: {proc.stderr.decode(errors='replace').strip()[:300]}")
    return proc.stdout


def _patched_head_version(root: Path, path_in_repo: str, work_path: Path, patched: bytes, tmp: Path) -> bytes:
    """HEAD's version of a file with the patch's change (made against the working tree) applied."""
    try:
        head = _git_bytes(root, "show", f"HEAD:{path_in_repo}")
    except GitProblem as exc:
        raise GitProblem(f"{path_in_repo} is not committed; commit it before --branch (the branch holds HEAD plus the patch)") from exc
    work = work_path.read_bytes()
    if work == head:
        return patched
    files = {"head": head, "work": work, "patched": patched}
    for name, data in files.items():
        (tmp / name).write_bytes(data)
    proc = subprocess.run(["git", "merge-file", "-p", "--quiet", str(tmp / "head"), str(tmp / "work"), str(tmp / "patched")],
                          cwd=root, capture_output=True)
    if proc.returncode != 0:
        raise GitProblem(f"your uncommitted changes to {path_in_repo} overlap the patch; commit or stash them before --branch")
    return proc.stdout
