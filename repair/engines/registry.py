"""Engines by name: every module of repair/engines/ that defines `ENGINE` (an EngineEntry).

Adding an engine is one file here; `--engine NAME`, `bench run --engine NAME` and the checks
made before any test runs pick it up. `all` is not an engine but a plan: the template engine,
then SRepair when a model is given.
"""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from pathlib import Path

from patchwarden.repair.engines.base import Engine, EngineEntry

ALL = "all"


@lru_cache(maxsize=1)
def registered() -> dict[str, EngineEntry]:
    import patchwarden.repair.engines as package

    found: list[EngineEntry] = []
    for info in pkgutil.iter_modules(package.__path__):
        entry = getattr(importlib.import_module(f"{package.__name__}.{info.name}"), "ENGINE", None)
        if isinstance(entry, EngineEntry):
            found.append(entry)
    return {e.name: e for e in sorted(found, key=lambda e: e.rank)}


def choices() -> tuple[str, ...]:
    """The --engine values, cheapest first, then `all`."""
    return (*registered(), ALL)


def has_model(cfg) -> bool:
    return bool(cfg.model or cfg.suggest_model or cfg.patch_model or cfg.replay)


def plan(cfg, notes: list[str] | None = None) -> list[str]:
    """The engines a config runs, cheapest first. `all` without a model runs the template engine alone."""
    if cfg.engine != ALL:
        return [cfg.engine]
    if not has_model(cfg):
        if notes is not None:
            notes.append("--engine all without --model: srepair skipped, template engine only")
        return ["template"]
    return ["template", "srepair"]


def unknown(engine: str) -> str | None:
    """Why `engine` is no --engine value (one line naming the choices), or None."""
    return None if engine in choices() else f"unknown engine {engine!r}; choose one of {', '.join(choices())}"


def check(cfg) -> None:
    """Before any test runs: the settings of the engines `cfg` runs make sense (RepairInputError)."""
    for name in plan(cfg):
        entry = registered()[name]
        if entry.check is not None:
            entry.check(cfg)


def build(cfg, run_dir: Path, notes: list[str] | None = None) -> list[Engine]:
    return [registered()[name].build(cfg, run_dir) for name in plan(cfg, notes)]
