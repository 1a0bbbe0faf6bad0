"""The data that flows through a repair run. Plain dataclasses, saved as JSON between stages."""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator, Protocol

from patchwarden.sandboxes.testresults import TestResult


@dataclass
class FunctionInfo:
    path: str  # posix path relative to the repo root
    qualname: str  # e.g. "Stack.push" or "helper"
    name: str
    start_line: int  # 1-based, inclusive; includes decorators
    end_line: int
    start_byte: int
    end_byte: int
    source: str  # exact text of [start_byte, end_byte)
    docstring: str = ""
    comments: str = ""  # comment lines just above the function
    language: str = "python"

    @property
    def key(self) -> str:
        return f"{self.path}::{self.qualname}"


@dataclass
class SuspiciousFunction:
    function: FunctionInfo
    score: float
    evidence: list[str] = field(default_factory=list)
    line_scores: dict[int, float] = field(default_factory=dict)  # absolute line -> suspiciousness
    failing_tests: list[str] = field(default_factory=list)  # failing tests that cover it or have it on their stack


@dataclass
class FunctionEdit:
    """Replace one function (by its original byte span) with new source text."""

    path: str
    qualname: str
    start_byte: int
    end_byte: int
    new_source: str


@dataclass
class Candidate:
    engine: str
    edits: list[FunctionEdit]
    description: str
    prior: float = 1.0  # higher = try earlier
    meta: dict = field(default_factory=dict)
    id: str = ""

    def __post_init__(self):
        if not self.id:
            h = hashlib.sha1()
            for e in sorted(self.edits, key=lambda e: (e.path, e.start_byte)):
                h.update(f"{e.path}:{e.start_byte}:{e.end_byte}\0{normalize_source(e.new_source)}\0".encode())
            self.id = h.hexdigest()[:16]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Candidate":
        d = dict(d)
        d["edits"] = [FunctionEdit(**e) for e in d["edits"]]
        return cls(**d)


@dataclass
class BugContext:
    repo: Path  # the user's repository (never written)
    test_cmd: str
    failing: list[TestResult]  # trigger tests, with messages and tracebacks
    suspicious: list[SuspiciousFunction]  # ranked, most suspicious first
    issue: str | None = None
    test_sources: dict[str, str] = field(default_factory=dict)  # nodeid -> source of the test function
    run_dir: Path | None = None


class Engine(Protocol):
    """Turns a bug context into candidate patches, best first."""

    name: str

    def generate(self, ctx: BugContext) -> Iterator[Candidate]: ...


def normalize_source(src: str) -> str:
    """Normalize code for deduplication: drop comments, blank lines and trailing spaces."""
    lines = []
    for line in src.splitlines():
        stripped = line.rstrip()
        if stripped.lstrip().startswith("#") or not stripped:
            continue
        lines.append(stripped)
    return "\n".join(lines)


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
