"""Checks of a repair's numeric settings, made before any work (the CLI and `bench run` share them).

Each rule names the flag, what it must be, and why; a value outside the range is bad input
(exit 2), never a silent "0 candidates validated" or a limit quietly switched off.
"""
from __future__ import annotations

from typing import Any

# (field, flag, smallest allowed, whether the smallest itself is allowed, what the value is)
RULES: list[tuple[str, str, float, bool, str]] = [
    ("workers", "--workers", 1, True, "candidates validated in parallel"),
    ("max_candidates", "--max-candidates", 1, True, "candidates to validate"),
    ("max_plausible", "--max-plausible", 1, True, "plausible patches to stop after"),
    ("time_budget", "--time-budget", 0, False, "seconds for generating and validating candidates"),
    ("test_timeout", "--test-timeout", 0, False, "seconds for the baseline test run"),
    ("per_test_timeout", "--per-test-timeout", 0, False, "seconds a single test may run"),
    ("memory_mb", "--memory", 64, True, "MB of memory per sandboxed test run (Python needs ~64 MB to start)"),
    ("bounce_threshold", "--bounce-threshold", 0, True, "confidence below which the bouncer abstains"),
    ("suggestions", "--suggestions", 1, True, "suggestions per function"),
    ("patches_per_suggestion", "--patches-per-suggestion", 1, True, "patches per suggestion"),
    ("max_calls", "--max-calls", 1, True, "model calls"),
    ("max_tokens", "--max-tokens", 1, True, "model tokens"),
    ("max_cost", "--max-cost", 0, False, "USD of model cost"),
]
AT_MOST = {"bounce_threshold": 1.0}


def range_problem(flag: str, value: Any, low: float, inclusive: bool = True, what: str = "", high: float | None = None) -> str | None:
    """One line naming the bad value and the range it must be in, or None when it is fine."""
    if value is None:
        return None
    bad = value < low if inclusive else value <= low
    if high is not None and value > high:
        bad = True
    if not bad:
        return None
    if high is not None:
        need = f"between {low:g} and {high:g}"
    else:
        need = f"at least {low:g}" if inclusive else f"greater than {low:g}"
    return f"{flag} {value:g} is out of range: pass a number {need}" + (f" ({what})" if what else "")


def settings_problem(cfg: Any) -> str | None:
    """The first numeric setting of a RepairConfig (or anything with its fields) that makes no sense."""
    for name, flag, low, inclusive, what in RULES:
        problem = range_problem(flag, getattr(cfg, name, None), low, inclusive, what, AT_MOST.get(name))
        if problem:
            return problem
    return None


def _file_above(path) -> "str | None":
    from pathlib import Path

    for parent in Path(path).absolute().parents:
        if parent.exists():
            return None if parent.is_dir() else str(parent)
    return None


def output_dir_problem(path, flag: str) -> str | None:
    """Why `path` cannot become an output folder (an existing file, or under one), or None."""
    from pathlib import Path

    if path is None:
        return None
    path = Path(path)
    if path.exists() and not path.is_dir():
        return f"{flag} {path} is an existing file, not a folder: pass a folder path"
    above = _file_above(path)
    if above:
        return f"{flag} {path} lies under {above}, which is a file: pass a folder path outside it"
    return None


def output_file_problem(path, flag: str) -> str | None:
    """Why `path` cannot be written as an output file (a folder, or under a file), or None."""
    from pathlib import Path

    if path is None:
        return None
    path = Path(path)
    if path.is_dir():
        return f"{flag} {path} is a folder: pass a file path"
    above = _file_above(path)
    if above:
        return f"{flag} {path} lies under {above}, which is a file: pass a path in a folder"
    return None
