"""Helpers every command shares: clean errors, JSON output, consoles."""
from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)


class UsageProblem(Exception):
    """Bad input from the user: printed as one line, exit 2, no traceback."""


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one clean error line naming the problem and the fix, then exit."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")
    sys.stdout.flush()


def not_built(group: str, issue: str) -> NoReturn:
    fail(f"`patchwarden {group}` is not built yet ({issue}); see `patchwarden --help` for what works today", 2)
