"""What the engines are told about a bug: its functions (with exact spans), the ranked suspicious
ones, and the failing tests. Plain dataclasses, saved as JSON between stages."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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
class BugContext:
    repo: Path  # the user's repository (never written)
    test_cmd: str
    failing: list[TestResult]  # trigger tests, with messages and tracebacks
    suspicious: list[SuspiciousFunction]  # ranked, most suspicious first
    issue: str | None = None
    test_sources: dict[str, str] = field(default_factory=dict)  # nodeid -> source of the test function
    run_dir: Path | None = None
