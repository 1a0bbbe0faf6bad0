"""The language layer: one module per language behind `base.Language`, in one registry.

    lang = language_for_path("src/main/java/a/B.java")     # by extension
    lang = detect(repo, test_cmd, failing_traces)           # the repository's language

A fourth language is one module with a `Language` subclass plus one `register(...)` line below.
"""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Iterable

from .base import Language, ParseProblem
from .java import Java
from .javascript import JavaScript, TypeScript
from .python import Python

LANGUAGES: dict[str, Language] = {}

# Folders never searched for source: environments, caches, VCS data.
SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", ".venv", "venv", "env", ".env", ".tox", ".nox", "node_modules",
             "build", "dist", ".mypy_cache", ".pytest_cache", ".patchwarden", "site-packages", ".eggs"}


def register(language: Language) -> Language:
    LANGUAGES[language.name] = language
    return language


for _lang in (Python(), Java(), JavaScript(), TypeScript()):
    register(_lang)


def get(name: str) -> Language:
    try:
        return LANGUAGES[name]
    except KeyError:
        raise ValueError(f"unknown language {name!r}; known: {', '.join(LANGUAGES)}") from None


def language_for_path(path: str | Path) -> Language | None:
    for lang in LANGUAGES.values():
        if lang.owns(str(path)):
            return lang
    return None


def source_files(repo: Path, include_tests: bool = False, lang: str = "python") -> list[str]:
    """Repo-relative posix paths of one language's source files, sorted."""
    language = get(lang)
    skip = SKIP_DIRS | set(language.skip_dirs)
    found = []
    for dirpath, dirnames, filenames in os.walk(repo):
        dirnames[:] = sorted(d for d in dirnames if d not in skip and not d.startswith("."))
        for fn in filenames:
            rel = Path(dirpath, fn).relative_to(repo).as_posix()
            if language.owns(rel) and (include_tests or not language.is_test_file(rel)):
                found.append(rel)
    return sorted(found)


def languages_in(repo: Path) -> Counter:
    """Non-test source files per language name (languages without any are left out)."""
    return Counter({name: n for name in LANGUAGES if (n := len(source_files(repo, lang=name)))})


def detect(repo: Path, test_cmd: str = "", traces: Iterable[str] = (), workdir: str = "") -> Language | None:
    """The language to repair `repo` in: its only language; in a mixed repository the language whose
    repository frames the failing tests' traces show most, then the one the test command names
    (`mvn` -> Java, `node`/`npm` -> JavaScript...), then the one with the most source files."""
    present = languages_in(repo)
    if not present:
        return None
    if len(present) == 1:
        return LANGUAGES[next(iter(present))]
    traces = list(traces)
    if traces:
        counts = Counter()
        for name in present:
            lang = LANGUAGES[name]
            files = source_files(repo, include_tests=True, lang=name)
            counts[name] = sum(len(lang.frames(t, workdir or str(repo), files)) for t in traces)
        best = counts.most_common(1)[0]
        if best[1] > 0:
            return LANGUAGES[best[0]]
    words = [Path(w).name for w in test_cmd.split()]
    for name in present:
        if any(w in LANGUAGES[name].command_words for w in words[:2]):
            return LANGUAGES[name]
    return LANGUAGES[present.most_common(1)[0][0]]


__all__ = ["LANGUAGES", "Language", "ParseProblem", "SKIP_DIRS", "detect", "get", "language_for_path",
           "languages_in", "register", "source_files"]
