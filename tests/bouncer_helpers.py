"""Shared by the bouncer tests: run the real CLI in-process (fast) and read its result."""
from dataclasses import dataclass

from typer.testing import CliRunner


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str) -> CliResult:
    from patchwarden.cli.main import app

    res = CliRunner().invoke(app, list(args))
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return CliResult(res.exit_code, res.stdout, res.stderr)
