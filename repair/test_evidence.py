"""What the failing tests' own source tells, in any language: the test's source (for prompts)
and the repository functions it calls by name (static localization evidence).

Python keeps its import-resolving analysis (repair/test_calls.py); other languages match the
names the test calls (one level into helpers of the test file) against the repository's
functions and methods.
"""
from __future__ import annotations

from pathlib import Path

from patchwarden.repair.bug_context import FunctionInfo
from patchwarden.sandboxes.testresults import TestResult
from .languages import Language, source_files
from .languages.base import ParseProblem
from .source_io import read_source


def failing_test_sources(repo: Path, language: Language, failing: list[TestResult], workdir: str) -> dict[str, tuple[str, str]]:
    """nodeid -> (test file, source of the test) for the failing tests that can be found."""
    files = source_files(repo, include_tests=True, lang=language.name)
    out: dict[str, tuple[str, str]] = {}
    texts: dict[str, str | None] = {}
    for result in failing:
        where = language.test_location(result.nodeid, result.traceback, workdir, files)
        if where is None:
            continue
        path, name = where
        if path not in texts:
            try:
                texts[path] = read_source(repo / path)
            except (OSError, UnicodeDecodeError):
                texts[path] = None
        text = texts[path]
        try:
            source = text and language.test_source(text, path, name)
        except ParseProblem:
            source = None
        if source:
            out[result.nodeid] = (path, source)
    return out


def functions_called_by_tests(repo: Path, language: Language, sources: dict[str, tuple[str, str]],
                              functions: list[FunctionInfo]) -> dict[str, list[str]]:
    """function key -> failing tests whose source calls a function or method of that name."""
    by_name: dict[str, list[FunctionInfo]] = {}
    for fn in functions:
        by_name.setdefault(fn.name, []).append(fn)
    helpers: dict[str, dict[str, str]] = {}  # test file -> its own functions' names -> source
    out: dict[str, list[str]] = {}
    for nodeid, (path, source) in sources.items():
        if path not in helpers:
            try:
                helpers[path] = {f.name: f.source for f in language.functions(read_source(repo / path), path)}
            except (OSError, UnicodeDecodeError, ParseProblem):
                helpers[path] = {}
        names = _names(language, source, path)
        for name in list(names):  # one level into helpers of the test file
            if name in helpers[path] and helpers[path][name] != source:
                names |= _names(language, helpers[path][name], path)
        for name in sorted(names):
            for fn in by_name.get(name, []):
                out.setdefault(fn.key, []).append(nodeid)
    return out


def _names(language: Language, source: str, path: str) -> set[str]:
    try:
        return language.called_names(source, path)
    except Exception:  # a fragment tree-sitter cannot take: no static evidence from it
        return set()
