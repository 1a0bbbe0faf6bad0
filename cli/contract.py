"""The scripting contract every command keeps (docs/json.md).

- One exit-code table for all commands (EXIT_*).
- Every `--json` object carries `"schema": "patchwarden.<command>/<version>"`, named after the
  command path (`bounce input` -> `patchwarden.bounce.input/1`); the shapes are in cli/schemas.py.
- An error under `--json` is a JSON object on stdout too (`patchwarden.error/1`); the human line
  still goes to stderr.
"""
from __future__ import annotations

import sys

EXIT_DONE = 0          # the command did what was asked (a plausible patch, an accept, a trained model ...)
EXIT_NO_RESULT = 1     # it ran but found nothing (no plausible patch, command in a sandbox failed ...)
EXIT_BAD_INPUT = 2     # the user's input is wrong: the message names the fix
EXIT_ABSTAINED = 3     # a bouncer refused (vague issue, untrustworthy patch)
EXIT_ENVIRONMENT = 4   # the environment or a service failed: model server down, worker died, Docker unavailable

EXIT_CODES = {
    EXIT_DONE: "done",
    EXIT_NO_RESULT: "no result",
    EXIT_BAD_INPUT: "bad input",
    EXIT_ABSTAINED: "abstained",
    EXIT_ENVIRONMENT: "environment or service failure",
}

ERROR_SCHEMA = "patchwarden.error/1"


def _context():
    # typer >= 0.2x vendors click as typer._click; older typer uses click itself.
    try:
        from typer._click.globals import get_current_context
    except ImportError:
        from click import get_current_context
    return get_current_context(silent=True)


def click_exceptions():
    """(ClickException, Abort) of the click that typer runs on."""
    from typer import Abort

    try:
        from typer._click.exceptions import ClickException
    except ImportError:
        from click.exceptions import ClickException
    return ClickException, Abort


def command_name(ctx=None) -> str:
    """`bounce.input` for `patchwarden bounce input` (the root's own name is left out)."""
    ctx = ctx or _context()
    names = []
    while ctx is not None and ctx.parent is not None:
        names.append(ctx.info_name)
        ctx = ctx.parent
    return ".".join(reversed(names))


def schema_id(name: str) -> str:
    from patchwarden.cli.schemas import SCHEMAS

    version = SCHEMAS[f"patchwarden.{name}"]["version"] if f"patchwarden.{name}" in SCHEMAS else 1
    return f"patchwarden.{name}/{version}"


def json_requested() -> bool:
    """Did the user pass --json to the command now running? (Its option is as_json or json_out.)"""
    ctx = _context()
    if ctx is None:
        return False
    return bool(ctx.params.get("as_json") or ctx.params.get("json_out"))


def with_schema(obj: dict, name: str | None = None) -> dict:
    return {"schema": schema_id(name or command_name()), **obj}


def error_object(message: str, code: int, command: str | None = None) -> dict:
    return {"schema": ERROR_SCHEMA, "command": command if command is not None else command_name(),
            "error": message, "exit_code": code, "meaning": EXIT_CODES.get(code, "interrupted" if code == 130 else "error")}


# By class name, so that no optional library must be imported to classify. Not openai's APIError: its
# subclasses include a refused key (401) or an unknown model (404), which the user fixes (exit 2).
_ENV_ERRORS = ("APIConnectionError", "APITimeoutError", "InternalServerError", "RateLimitError", "ConnectError",
               "ConnectTimeout", "DockerException", "RayError", "BrokenProcessPool")


def is_environment_failure(exc: BaseException) -> bool:
    """A failure of the machine or a service, not of the user's input: anywhere in the cause chain,
    a connection error (a model server down), a Docker engine error, a dead worker process."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (ConnectionError, TimeoutError)) or getattr(exc, "environment", False) is True:
            return True
        if any(t.__name__ in _ENV_ERRORS for t in type(exc).__mro__):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def exit_code_for(exc: BaseException, default: int = EXIT_BAD_INPUT) -> int:
    return EXIT_ENVIRONMENT if is_environment_failure(exc) else default


def usage_error_json(exc, argv: list[str]) -> None:
    """Click's own parse errors (unknown option, bad value) under --json: the error object on stdout."""
    if "--json" not in argv:
        return
    import json

    ctx = getattr(exc, "ctx", None)
    name = command_name(ctx) if ctx is not None else ""
    sys.stdout.write(json.dumps(error_object(exc.format_message(), exc.exit_code, name), indent=2) + "\n")
    sys.stdout.flush()
