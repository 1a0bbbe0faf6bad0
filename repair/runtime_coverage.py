"""Per-test line coverage for Java (JaCoCo) and JavaScript (V8) baseline runs: stub until built."""
from __future__ import annotations


def coverage_env(sandbox, test_cmd: str) -> tuple[dict[str, str], str]:
    return {}, "no per-test coverage for this test command (localization uses stack frames and the functions the failing tests call)"


def read_coverage(sandbox, test_cmd: str, results) -> tuple[dict | None, str]:
    return None, ""
