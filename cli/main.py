"""Entry point: `patchwarden`. Each command group lives in its own module."""
from __future__ import annotations

import importlib
import signal
import sys

import typer

from patchwarden.cli.common import fail
from patchwarden.sandboxes.base import exit_on_signal

__version__ = "0.1.0"

app = typer.Typer(
    name="patchwarden",
    help="Automated program repair that validates its patches, refuses when it should, "
    "trains repair policies with RL and repairs the language model itself.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool):
    if value:
        typer.echo(f"patchwarden {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
):
    """patchwarden: validated patches, honest abstentions, trained repair policies, repaired models."""


# (module, attribute, name, help). Groups are Typer apps; single commands are functions.
GROUPS = [
    ("patchwarden.cli.sandbox", "app", "sandbox", "Run commands in local or Docker sandboxes; build the image; check backends."),
    ("patchwarden.cli.bounce", "app", "bounce", "Judge one issue (input) or one patch (output): accept or bounce."),
    ("patchwarden.cli.bouncerbench", "app", "bouncerbench", "Score, run and export bouncers on BouncerBench."),
    ("patchwarden.cli.train", "app", "train", "Repair-R1: build datasets, train test-then-repair policies with GRPO, evaluate."),
    ("patchwarden.cli.neuron", "app", "neuron", "Repair the model itself: MINT neuron patches, IRepair layer slicing, deltas."),
    ("patchwarden.cli.bench", "app", "bench", "Run repair over bug datasets (optionally with Ray) and build reports."),
]
COMMANDS = [
    ("patchwarden.cli.repair_cmd", "repair", "repair", "Repair a Python git repository: localize, generate, validate, emit a patch."),
    ("patchwarden.cli.repair_cmd", "localize", "localize", "Rank the functions most likely to hold the bug, with evidence."),
    ("patchwarden.cli.show", "show", "show", "Show one repair run's stages (terminal, --html page, --json)."),
]

for module, attr, name, help_text in COMMANDS:
    app.command(name=name, help=help_text)(getattr(importlib.import_module(module), attr))
for module, attr, name, help_text in GROUPS:
    app.add_typer(getattr(importlib.import_module(module), attr), name=name, help=help_text)


def main() -> None:
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, exit_on_signal)
    from patchwarden.cli.contract import click_exceptions

    click_error, abort = click_exceptions()
    try:
        code = app(standalone_mode=False)  # click's parse errors come back here: see _usage_error
    except click_error as exc:
        code = _usage_error(exc)
    except abort:
        code = 130
    except KeyboardInterrupt:
        fail("interrupted", 130)
    sys.exit(code if isinstance(code, int) else 0)


def _usage_error(exc) -> int:
    """A bad option or value: click's message on stderr, and under --json the error object on stdout."""
    from typer import rich_utils

    from patchwarden.cli.contract import usage_error_json

    usage_error_json(exc, sys.argv[1:])
    rich_utils.rich_format_error(exc)
    return exc.exit_code


if __name__ == "__main__":
    main()
