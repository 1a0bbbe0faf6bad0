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
    from cli import contract

    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    if contract.json_requested():  # scripts read stdout: the error is a JSON object there too
        _write_json(contract.error_object(message, code))
    raise typer.Exit(code)


def print_json(obj: Any, schema: str | None = None) -> None:
    """The command's --json object, tagged with its schema (docs/json.md); `schema` overrides
    the name taken from the command path."""
    from cli import contract

    _write_json(contract.with_schema(obj, schema))


def _write_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")
    sys.stdout.flush()


def not_built(group: str, issue: str) -> NoReturn:
    fail(f"`patchwarden {group}` is not built yet ({issue}); see `patchwarden --help` for what works today", 2)
