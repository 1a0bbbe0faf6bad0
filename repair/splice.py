"""Splicing a candidate's function replacements into file text (later spans first)."""
from __future__ import annotations

from pathlib import Path

from .candidate import Candidate, FunctionEdit


def apply_edits(text: str, edits: list[FunctionEdit]) -> str:
    """Splice function replacements into one file's text by byte span (later spans first)."""
    data = text.encode()
    for e in sorted(edits, key=lambda e: e.start_byte, reverse=True):
        data = data[: e.start_byte] + e.new_source.encode() + data[e.end_byte :]
    return data.decode()


def patched_files(repo: Path, cand: Candidate) -> dict[str, str]:
    """The full new text of every file a candidate touches."""
    by_path: dict[str, list[FunctionEdit]] = {}
    for e in cand.edits:
        by_path.setdefault(e.path, []).append(e)
    from .source_io import read_source

    return {p: apply_edits(read_source(repo / p), es) for p, es in by_path.items()}
