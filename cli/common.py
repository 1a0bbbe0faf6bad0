"""Helpers every command shares: clean errors, JSON output, consoles."""
from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one clean error line naming the problem and the fix, then exit."""
    from rich.markup import escape

    from patchwarden.cli import contract

    # The message is plain text: `[a]` must not be read as markup, nor `openai:x:` as an emoji.
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True, emoji=False)
    if contract.json_requested():  # scripts read stdout: the error is a JSON object there too
        _write_json(contract.error_object(message, code))
    raise typer.Exit(code)


def check(problem: str | None) -> None:
    """Fail with `problem` (one line naming the problem and the fix) when there is one."""
    if problem:
        fail(problem)


def check_range(flag: str, value: Any, low: float, *, inclusive: bool = True, high: float | None = None, what: str = "") -> None:
    """Refuse a number outside its range up front (None means "not given" and passes)."""
    from patchwarden.repair.checks import range_problem

    check(range_problem(flag, value, low, inclusive, what, high))


def check_out_dir(path: Any, flag: str = "--out") -> None:
    """Refuse an output folder that cannot be created (an existing file, or under one) before any work."""
    from patchwarden.repair.checks import output_dir_problem

    check(output_dir_problem(path, flag))


def check_out_file(path: Any, flag: str) -> None:
    """Refuse an output file that cannot be written (a folder, or under a file) before any work."""
    from patchwarden.repair.checks import output_file_problem

    check(output_file_problem(path, flag))


def read_text_file(path: Any, what: str, flag: str) -> str:
    """A UTF-8 text file's contents, or one clean line saying why it cannot be read."""
    from pathlib import Path

    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(f"{what} file {path} does not exist; pass an existing text file with {flag}")
    except IsADirectoryError:
        fail(f"{what} file {path} is a folder; pass a text file with {flag}")
    except UnicodeDecodeError as exc:
        fail(f"{what} file {path} is not UTF-8 text (byte {exc.start}: {exc.reason}); save it as UTF-8 and pass it with {flag}")
    except OSError as exc:
        fail(f"cannot read {what} file {path} ({exc.strerror}); pass a readable text file with {flag}")


def print_json(obj: Any, schema: str | None = None) -> None:
    """The command's --json object, tagged with its schema (docs/json.md); `schema` overrides
    the name taken from the command path."""
    from patchwarden.cli import contract

    _write_json(contract.with_schema(obj, schema))


def _write_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")
    sys.stdout.flush()
