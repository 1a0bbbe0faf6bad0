"""What an engine is: the `Engine` protocol the pipeline drives, and the entry that registers one.

An engine is one module in repair/engines/ that defines `ENGINE = EngineEntry(...)`;
repair/engines/registry.py finds it by name. The pipeline reads everything it reports through
the protocol: candidates, `usage()` (model calls, tokens, cost, why generation stopped) and
rejections (model answers that gave no candidate, by reason).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

from patchwarden.repair.bug_context import BugContext
from patchwarden.repair.candidate import Candidate


class Engine(Protocol):
    """Turns a bug context into candidate patches, best first."""

    name: str
    rejected: int  # answers that gave no candidate (bad format, no such function, unchanged code)
    reject_reasons: Counter  # the same, counted by reason

    def generate(self, ctx: BugContext) -> Iterator[Candidate]: ...

    def usage(self) -> dict | None:
        """{"calls", "tokens", "cost", "stop_reason"} of the engine's models (a cap or an outage
        that stopped it early in "stop_reason"); None for an engine without a model."""
        ...


class NoModel:
    """Defaults for an engine that calls no model: nothing rejected, no usage."""

    rejected = 0
    reject_reasons: Counter = Counter()

    def usage(self) -> dict | None:
        return None


@dataclass(frozen=True)
class EngineEntry:
    name: str  # the --engine value
    build: Callable[[Any, Path], Engine]  # (RepairConfig, run directory) -> the engine, reading only the settings it needs
    rank: int  # listing order, cheapest first (--engine all runs the template engine before the model engines)
    check: Callable[[Any], None] | None = None  # cheap checks of the settings before any test runs (RepairInputError)
