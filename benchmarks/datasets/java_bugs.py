"""Folders of Java bugs: bug.json + buggy/ (a Maven or Gradle project) + optional fixed/.

The format is described in `_bugfolder.py` (shared with js_bugs). The test command defaults
to `mvn -o -q test` (Maven) or `gradle test --offline` (Gradle); bug.json's "test_cmd" overrides it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from ._bugfolder import load_folders, materialise_folder
from .base import Bug

NAME = "java_bugs"
HELP = "folders of Java bugs: bug.json {test_cmd?, issue?, bug_type?} + buggy/ project + optional fixed/"


def load(path: str | None) -> Iterator[Bug]:
    return load_folders(path, NAME, "java")


def materialise(bug: Bug, dest: Path) -> tuple[Path, str]:
    return materialise_folder(bug, dest)
