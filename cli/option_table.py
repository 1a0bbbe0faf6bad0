"""Typer parameters built from a table of options (repair/options.py) instead of written out.

Typer reads a command's parameters from its signature, so `with_options` gives the command
function a signature (`__signature__`) where one placeholder parameter is replaced by one
parameter per option; the command then receives the options' values as one dict, keyed by the
RepairConfig field and already converted to field values (a --no-x flag negated, a list split).
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

import typer

from patchwarden.repair.options import Option

PREFIX = "opt__"  # parameter names of table options: never clash with the command's own (bench's --workers)


def typer_option(opt: Option, flags: tuple[str, ...] | None = None, help: str | None = None, default: Any = ...) -> Any:
    """The `typer.Option(...)` of one option; `flags`/`help`/`default` override the table's for one command."""
    return typer.Option(opt.default if default is ... else default, *(flags or opt.flags), help=help or opt.help, **opt.limits)


def with_options(options: list[Option], into: str, overrides: dict[str, dict] | None = None) -> Callable:
    """Decorator: replace the command's parameter `into` with one Typer parameter per option.

    `overrides` maps an option name to {"flags": ..., "help": ..., "default": ..., "invert": ...}
    for a command that spells that option differently (bench: --repair-workers, --bounce/--no-bounce)."""
    overrides = overrides or {}

    def decorate(func: Callable) -> Callable:
        own = inspect.signature(func, eval_str=True)
        params: list[inspect.Parameter] = []
        for p in own.parameters.values():
            if p.name != into:
                params.append(p)
                continue
            for opt in options:
                o = overrides.get(opt.name, {})
                spec = typer_option(opt, o.get("flags"), o.get("help"), o.get("default", ...))
                params.append(inspect.Parameter(PREFIX + opt.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=spec, annotation=opt.type))
        invert = {opt.name: overrides.get(opt.name, {}).get("invert", opt.invert) for opt in options}

        @functools.wraps(func)
        def command(**kwargs):
            values = {}
            for opt in options:
                value = kwargs.pop(PREFIX + opt.name)
                values[opt.name] = (not value) if invert[opt.name] else (opt.to_config(value) if opt.to_config else value)
            return func(**kwargs, **{into: values})

        command.__signature__ = own.replace(parameters=params)
        command.__annotations__ = {p.name: p.annotation for p in params if p.annotation is not inspect.Parameter.empty}
        del command.__wrapped__  # Typer must read the new signature, not the function's own
        return command

    return decorate
