"""Errors a repair run reports to its caller (a module of their own, so that the engines and the
pipeline that runs them can all raise them without importing one another)."""
from __future__ import annotations


class RepairInputError(Exception):
    """Bad input: the message names the problem and the fix (CLI: exit 2)."""
