"""The result of one test. (Functions and the bug: bug_context.py; candidates: candidate.py;
splicing: splice.py; the Engine protocol: engines/base.py.)"""
from __future__ import annotations

from dataclasses import dataclass

STATUSES = ("passed", "failed", "error", "skipped")


@dataclass
class TestResult:
    __test__ = False  # not a pytest test class
    nodeid: str  # pytest-style id, e.g. "tests/test_x.py::TestA::test_b"
    status: str  # one of STATUSES
    message: str = ""  # short error message of a failing test
    traceback: str = ""  # full failure text
    duration: float = 0.0

    @property
    def bad(self) -> bool:
        return self.status in ("failed", "error")
