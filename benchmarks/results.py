"""An append-only JSONL store of per-bug results that survives `kill -9`.

Each record is one complete line written with a single `write` on an O_APPEND descriptor,
then fsync'ed: a kill loses at most the record being written. On reading, a line that is
not valid JSON is reported with its number and skipped; a torn last line (no newline: the
writer died mid-write) is cut off before the next append, so new records never glue onto it.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from patchwarden.sandboxes.files import append_line, cut_torn_tail


class ResultsWarning(UserWarning):
    """A results line could not be read; its bug counts as not done."""


@dataclass
class ReadResult:
    records: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # one line each, with the line number
    torn_tail: int | None = None  # byte offset where an unterminated last line starts


def read_results(path: Path) -> ReadResult:
    """Every readable record, in file order; unreadable lines are reported, not fatal."""
    out = ReadResult()
    if not path.exists():
        return out
    data = path.read_bytes()
    offset = 0
    for lineno, raw in enumerate(data.split(b"\n"), 1):
        start, offset = offset, offset + len(raw) + 1
        if not raw.strip():
            continue
        last_unterminated = offset > len(data)
        try:
            record = json.loads(raw)
            if not isinstance(record, dict) or "id" not in record:
                raise ValueError("not a result record (a JSON object with an id)")
        except ValueError as exc:
            what = "is incomplete (the writer was killed mid-line)" if last_unterminated else f"is corrupt ({str(exc)[:80]})"
            out.problems.append(f"{path}:{lineno} {what}; skipped, its bug counts as not done")
            if last_unterminated:
                out.torn_tail = start
            continue
        out.records.append(record)
    return out


def latest_by_id(records: list[dict]) -> dict[str, dict]:
    """One record per bug id (the last one wins, should a bug have been recorded twice)."""
    return {r["id"]: r for r in records}


class ResultStore:
    """Appends result records to `path`; only one process writes it (the runner's driver)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def load(self, warn: bool = True) -> ReadResult:
        result = read_results(self.path)
        if warn:
            for problem in result.problems:
                warnings.warn(problem, ResultsWarning, stacklevel=2)
        return result

    def repair_tail(self) -> None:
        """Make the file end with a newline: drop a torn last line, terminate a whole one."""
        cut_torn_tail(self.path)

    def append(self, record: dict) -> None:
        append_line(self.path, json.dumps(record, sort_keys=True, default=str))
