"""Folders of JavaScript/TypeScript bugs: bug.json + buggy/ (a Node project) + optional fixed/.

The format is described in `_bugfolder.py` (shared with java_bugs). The test command defaults
to `npm test` when package.json has a test script, else `node --test`; bug.json's "test_cmd"
overrides it. node_modules/ in buggy/ is copied along (nothing is installed: no network).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from ._bugfolder import load_folders, materialise_folder
from .base import Bug

NAME = "js_bugs"
HELP = "folders of JavaScript/TypeScript bugs: bug.json {test_cmd?, issue?, bug_type?} + buggy/ project + optional fixed/"


def load(path: str | None) -> Iterator[Bug]:
    return load_folders(path, NAME, "javascript")


def materialise(bug: Bug, dest: Path) -> tuple[Path, str]:
    return materialise_folder(bug, dest)
