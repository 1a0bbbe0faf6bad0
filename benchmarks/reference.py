"""Is a patch the reference fix? Compare normalized ASTs of the functions either one changes.

Normalized = Python's AST without positions and without docstrings, so formatting,
comments and docstring edits do not count; any change to code does.
"""
from __future__ import annotations

import ast
import re
import subprocess
import tempfile
from pathlib import Path

from patchwarden.benchmarks.datasets.base import git
from patchwarden.sandboxes.safe_ast import safe_parse

MODULE_KEY = "<module>"


def _strip_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
        return body[1:]
    return body


def _norm(node: ast.AST) -> str:
    """Dump without positions; docstrings removed at every level."""
    for sub in ast.walk(node):
        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
            sub.body = _strip_docstring(sub.body) or [ast.Pass()]
    return ast.dump(node, include_attributes=False)


def function_map(source: str) -> dict[str, str] | None:
    """qualname -> normalized AST of each top-level function and method (nested defs belong to
    their parent); class bodies and module-level code under their own keys. None: no parse."""
    try:
        tree = safe_parse(source)
    except (SyntaxError, ValueError):
        return None
    out: dict[str, str] = {}

    def visit(body: list[ast.stmt], prefix: str, rest_key: str) -> None:
        rest = []
        for stmt in _strip_docstring(body):
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out[prefix + stmt.name] = _norm(stmt)
            elif isinstance(stmt, ast.ClassDef):
                # Methods get their own keys; the class key holds its header and other statements.
                visit(stmt.body, f"{prefix}{stmt.name}.", f"{prefix}{stmt.name}")
                header = ast.ClassDef(name=stmt.name, bases=stmt.bases, keywords=stmt.keywords, body=[], decorator_list=stmt.decorator_list)
                out[f"{prefix}{stmt.name}"] = _norm(header) + out[f"{prefix}{stmt.name}"]
            else:
                rest.append(stmt)
        out[rest_key] = _norm(ast.Module(rest, []))

    visit(tree.body, "", MODULE_KEY)
    return out


def find_function(source: str, name: str) -> str | None:
    """Normalized AST of the function called `name` (dotted for methods), or None."""
    functions = function_map(source)
    return None if functions is None else functions.get(name)


def patch_paths(patch: str) -> list[str]:
    """Files a unified diff writes (new paths; deletions keep the old path)."""
    paths = []
    for old, new in re.findall(r"^--- (\S+).*\n\+\+\+ (\S+)", patch, flags=re.M):
        path = new if new != "/dev/null" else old
        path = re.sub(r"^[ab]/", "", path)
        if path not in paths:
            paths.append(path)
    return paths


def patched_texts(repo: Path, patch: str) -> dict[str, str] | None:
    """path -> text after the patch, for every file it touches (None: it does not apply).

    Applies it with `git apply` to copies of just those files, so the repo is not touched."""
    paths = patch_paths(patch)
    with tempfile.TemporaryDirectory(prefix="pw-ref-") as tmp:
        for rel in paths:
            src = repo / rel
            if src.is_file():
                (Path(tmp) / rel).parent.mkdir(parents=True, exist_ok=True)
                (Path(tmp) / rel).write_bytes(src.read_bytes())
        proc = subprocess.run(["git", "apply", "--whitespace=nowarn", "-"], cwd=tmp, input=patch, text=True, capture_output=True, timeout=60)
        if proc.returncode != 0:
            return None
        return {rel: (Path(tmp) / rel).read_text() if (Path(tmp) / rel).is_file() else "" for rel in paths}


def _read(repo: Path, rel: str) -> str:
    path = repo / rel
    return path.read_text() if path.is_file() else ""


def _reference_files(reference: dict) -> dict[str, str]:
    if "files" in reference:
        return dict(reference["files"])
    src, base, commit = Path(reference["git"]), reference.get("base", "HEAD"), reference["commit"]
    excluded = set(reference.get("exclude", []))
    changed = [p for p in git("diff", "--name-only", base, commit, "--", "*.py", cwd=src).split() if p not in excluded]
    texts = {}
    for rel in changed:
        try:
            texts[rel] = git("show", f"{commit}:{rel}", cwd=src)
        except Exception:  # deleted by the fix
            texts[rel] = ""
    return texts


def fixed_equal_reference(repo: Path, patch: str, reference: dict | None) -> bool | None:
    """True when the patched code equals the reference fix function by function; None when no
    reference is known. `repo` is the buggy repository the patch applies to."""
    if not reference:
        return None
    if not patch.strip():
        return False
    patched = patched_texts(repo, patch)
    if patched is None:
        return False
    if "functions" in reference:
        for name, ref_source in reference["functions"].items():
            ref = find_function(ref_source, name)
            mine = next((f for f in (find_function(t, name) for t in patched.values()) if f is not None), None)
            if ref is None or mine is None or mine != ref:
                return False
        return True
    ref_files = _reference_files(reference)
    for rel in sorted(set(patched) | set(ref_files)):
        if not rel.endswith(".py"):
            continue
        buggy = function_map(_read(repo, rel)) or {}
        mine = function_map(patched.get(rel, _read(repo, rel)))
        ref = function_map(ref_files.get(rel, _read(repo, rel)))
        if mine is None or ref is None:
            return False
        for key in set(buggy) | set(mine) | set(ref):
            changed = buggy.get(key) != mine.get(key) or buggy.get(key) != ref.get(key)
            if changed and mine.get(key) != ref.get(key):
                return False
    return True
