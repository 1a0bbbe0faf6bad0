"""Every function and method of a source file, with its exact span (tree-sitter).

A facade over the language layer (repair/languages/): each language module knows its grammar,
how its functions are named and which files are tests. Python's rules live in
languages/python.py; Java, JavaScript and TypeScript beside it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from patchwarden.repair.bug_context import FunctionInfo
from .languages import SKIP_DIRS, LANGUAGES, ParseProblem, get, language_for_path
from .languages import source_files as _source_files
from .source_io import read_source

__all__ = ["SKIP_DIRS", "LANGUAGES", "ParseProblem", "extract_functions", "function_at", "is_test_file",
           "language_for", "repo_functions", "source_files"]


def language_for(path: str | Path):
    return language_for_path(path)


def is_test_file(relpath: str) -> bool:
    lang = language_for_path(relpath)
    return (lang or LANGUAGES["python"]).is_test_file(relpath)


def source_files(repo: Path, include_tests: bool = False, lang: str = "python") -> list[str]:
    """Repo-relative posix paths of source files, sorted."""
    return _source_files(repo, include_tests, lang)


def extract_functions(text: str, path: str = "<string>", lang: str | None = None) -> list[FunctionInfo]:
    """All functions/methods in `text`, outer before inner; raises ParseProblem on syntax errors."""
    language = get(lang) if lang else language_for_path(path) or LANGUAGES["python"]
    return language.functions(text, path)


def function_at(functions: Iterable[FunctionInfo], path: str, line: int) -> FunctionInfo | None:
    """The innermost function of `path` whose span holds `line`."""
    best = None
    for fn in functions:
        if fn.path == path and fn.start_line <= line <= fn.end_line:
            if best is None or fn.start_line >= best.start_line and fn.end_line <= best.end_line:
                best = fn
    return best


def repo_functions(repo: Path, files: Iterable[str] | None = None, lang: str = "python") -> tuple[list[FunctionInfo], dict[str, str]]:
    """Functions of every (non-test) source file; returns (functions, {path: parse error})."""
    functions: list[FunctionInfo] = []
    problems: dict[str, str] = {}
    for rel in files if files is not None else source_files(repo, lang=lang):
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
