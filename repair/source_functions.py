"""Every function and method of a source file, with its exact span (tree-sitter).

The language table is open: a language is a grammar module plus the node types that
define functions and classes. Python ships; Java and JavaScript are used when their
grammar packages (tree-sitter-java, tree-sitter-javascript) are installed.
"""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from .bug_context import FunctionInfo
from .source_io import read_source


@dataclass(frozen=True)
class LanguageSpec:
    name: str
    extensions: tuple[str, ...]
    grammar_module: str
    function_types: tuple[str, ...]
    class_types: tuple[str, ...]
    decorated_type: str | None = None  # a wrapper node whose span includes decorators


LANGUAGES: dict[str, LanguageSpec] = {
    "python": LanguageSpec("python", (".py",), "tree_sitter_python", ("function_definition",), ("class_definition",), "decorated_definition"),
    "java": LanguageSpec("java", (".java",), "tree_sitter_java", ("method_declaration", "constructor_declaration"), ("class_declaration", "interface_declaration", "enum_declaration")),
    "javascript": LanguageSpec("javascript", (".js", ".mjs", ".cjs"), "tree_sitter_javascript", ("function_declaration", "method_definition", "generator_function_declaration"), ("class_declaration",)),
}

# Folders never searched for source: environments, caches, VCS data.
SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", ".venv", "venv", "env", ".env", ".tox", ".nox", "node_modules",
             "build", "dist", ".mypy_cache", ".pytest_cache", ".patchwarden", "site-packages", ".eggs"}


class ParseProblem(Exception):
    """Source files that do not parse."""


def language_for(path: str | Path) -> LanguageSpec | None:
    suffix = Path(path).suffix
    for spec in LANGUAGES.values():
        if suffix in spec.extensions:
            return spec
    return None


@lru_cache(maxsize=None)
def _parser(lang: str):
    from tree_sitter import Language, Parser

    spec = LANGUAGES[lang]
    try:
        module = importlib.import_module(spec.grammar_module)
    except ImportError as exc:
        raise RuntimeError(f"no tree-sitter grammar for {lang}: pip install {spec.grammar_module.replace('_', '-')}") from exc
    return Parser(Language(module.language()))


def is_test_file(relpath: str) -> bool:
    p = Path(relpath)
    name = p.name
    if name == "conftest.py" or name.startswith("test_") or name.endswith("_test.py") or name.endswith("Test.java"):
        return True
    if name.endswith((".test.js", ".spec.js")):
        return True
    return any(part in ("tests", "test", "testing") for part in p.parts[:-1])


def source_files(repo: Path, include_tests: bool = False, lang: str = "python") -> list[str]:
    """Repo-relative posix paths of source files, sorted."""
    spec = LANGUAGES[lang]
    found = []
    for dirpath, dirnames, filenames in os.walk(repo):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for fn in filenames:
            if fn.endswith(spec.extensions):
                rel = Path(dirpath, fn).relative_to(repo).as_posix()
                if include_tests or not is_test_file(rel):
                    found.append(rel)
    return sorted(found)


def _text(node, data: bytes) -> str:
    return data[node.start_byte : node.end_byte].decode("utf-8", errors="replace")


def _docstring(fn_node, data: bytes) -> str:
    body = fn_node.child_by_field_name("body")
    if body is None or not body.named_children:
        return ""
    first = body.named_children[0]
    if first.type == "expression_statement" and first.named_children and first.named_children[0].type == "string":
        raw = _text(first.named_children[0], data)
        for q in ('"""', "'''", '"', "'"):
            start = raw.find(q)
            if start != -1 and raw.endswith(q) and len(raw) >= start + 2 * len(q):
                return raw[start + len(q) : len(raw) - len(q)].strip()
        return raw
    return ""


def _leading_comments(node, data: bytes) -> str:
    lines = []
    prev = node.prev_sibling
    row = node.start_point[0]
    while prev is not None and prev.type == "comment" and prev.end_point[0] == row - 1:
        lines.append(_text(prev, data))
        row = prev.start_point[0]
        prev = prev.prev_sibling
    return "\n".join(reversed(lines))


def extract_functions(text: str, path: str = "<string>", lang: str | None = None) -> list[FunctionInfo]:
    """All functions/methods in `text`, outer before inner; raises ParseProblem on syntax errors."""
    spec = LANGUAGES[lang] if lang else language_for(path) or LANGUAGES["python"]
    data = text.encode()
    tree = _parser(spec.name).parse(data)
    if tree.root_node.has_error:
        raise ParseProblem(f"{path}: {_first_error(tree.root_node)}")
    out: list[FunctionInfo] = []

    def visit(node, scope: list[str]) -> None:
        for child in node.named_children:
            target, outer = child, child
            if spec.decorated_type and child.type == spec.decorated_type:
                target = child.child_by_field_name("definition") or child.named_children[-1]
            if target.type in spec.function_types:
                name_node = target.child_by_field_name("name")
                name = _text(name_node, data) if name_node else "<anonymous>"
                qual = ".".join([*scope, name])
                out.append(
                    FunctionInfo(
                        path=path,
                        qualname=qual,
                        name=name,
                        start_line=outer.start_point[0] + 1,
                        end_line=outer.end_point[0] + 1,
                        start_byte=outer.start_byte,
                        end_byte=outer.end_byte,
                        source=_text(outer, data),
                        docstring=_docstring(target, data),
                        comments=_leading_comments(outer, data),
                        language=spec.name,
                    )
                )
                visit(target, [*scope, name])
            elif target.type in spec.class_types:
                name_node = target.child_by_field_name("name")
                visit(target, [*scope, _text(name_node, data) if name_node else "<class>"])
            else:
                visit(child, scope)

    visit(tree.root_node, [])
    return out


def _first_error(node) -> str:
    stack = [node]
    while stack:
        n = stack.pop(0)
        if n.type == "ERROR" or n.is_missing:
            return f"syntax error at line {n.start_point[0] + 1}"
        stack.extend(n.children)
    return "syntax error"


def function_at(functions: Iterable[FunctionInfo], path: str, line: int) -> FunctionInfo | None:
    """The innermost function of `path` whose span holds `line`."""
    best = None
    for fn in functions:
        if fn.path == path and fn.start_line <= line <= fn.end_line:
            if best is None or fn.start_line >= best.start_line and fn.end_line <= best.end_line:
                best = fn
    return best


def repo_functions(repo: Path, files: Iterable[str] | None = None) -> tuple[list[FunctionInfo], dict[str, str]]:
    """Functions of every (non-test) source file; returns (functions, {path: parse error})."""
    functions: list[FunctionInfo] = []
    problems: dict[str, str] = {}
    for rel in files if files is not None else source_files(repo):
        try:
            text = read_source(repo / rel)
        except (OSError, UnicodeDecodeError) as exc:
            problems[rel] = f"unreadable: {exc}"
            continue
        try:
            functions.extend(extract_functions(text, rel))
        except ParseProblem as exc:
            problems[rel] = str(exc)
    return functions, problems
