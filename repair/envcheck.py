"""Baseline failures that come from the environment, not from the code under repair.

A project dependency missing where the tests run (ModuleNotFoundError of a module the
repository does not provide, at collection or in every failing test) would otherwise reach
localization and end as a repair result ("no function of the repository is implicated").
It is an environment error instead: the message names the module, where, and the fix.
"""
from __future__ import annotations

import re
from pathlib import Path

from .testrun import TestRun

MISSING_MODULE = re.compile(r"ModuleNotFoundError: No module named '([\w.]+)'")
MISSING_NAME = re.compile(r"ImportError: cannot import name '(\w+)' from '([\w.]+)'")


def missing_dependencies(text: str, local: set[str]) -> list[str]:
    """Modules (or `module.name`) the text says could not be imported, outside the repository."""
    found: dict[str, None] = {}
    for m in MISSING_MODULE.finditer(text):
        if m.group(1).split(".")[0] not in local:
            found[m.group(1)] = None
    for m in MISSING_NAME.finditer(text):
        if m.group(2).split(".")[0] not in local:
            found[f"{m.group(2)}.{m.group(1)}"] = None
    return list(found)


def environment_problem(run: TestRun, repo: Path, backend: str) -> str | None:
    """Why the baseline failed because of the environment, or None."""
    from patchwarden.sandboxes.forkserver import local_module_names

    failing = run.failing
    if not failing:
        return None
    local = set(local_module_names(str(repo)))
    hit: dict[str, list[str]] = {}
    for result in failing:
        names = missing_dependencies(f"{result.message}\n{result.traceback}", local)
        if names:
            hit[result.nodeid] = names
    collection = [r for r in failing if r.nodeid in hit and "collection failure" in (r.message or "")]
    if not hit or (not collection and len(hit) < len(failing)):
        return None  # some tests fail for other reasons: that is what repair is for
    modules = list(dict.fromkeys(name for names in hit.values() for name in names))
    where = "in the Docker sandbox" if backend == "docker" else "in the local sandbox"
    listed = ", ".join(modules[:5]) + (" ..." if len(modules) > 5 else "")
    fix = ("run the tests with your environment's interpreter by path (--test-cmd \"/path/to/venv/bin/python -m pytest ...\"; "
           "it is mounted read-only), pass --image with an image that has them, or use --sandbox local"
           if backend == "docker" else
           "install them into the interpreter the test command runs, or run it from your virtualenv by path "
           "(--test-cmd \"/path/to/venv/bin/python -m pytest ...\")")
    return (f"environment error, not a bug to repair: {len(hit)} of {len(failing)} failing tests cannot import "
            f"the project's dependencies ({listed}) {where}; {fix}")
