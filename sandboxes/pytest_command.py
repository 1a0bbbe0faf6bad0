"""Understanding a user's test command: is it pytest, and with which arguments?"""
from __future__ import annotations

import os
import shlex


def split_cmd(test_cmd: str) -> list[str]:
    try:
        return shlex.split(test_cmd)
    except ValueError as exc:
        raise ValueError(f"cannot parse test command {test_cmd!r}: {exc}") from exc


def pytest_args(test_cmd: str) -> list[str] | None:
    """The arguments given to pytest, or None when the command is not a plain pytest run.

    Recognises `pytest ...`, `py.test ...`, `python -m pytest ...`, `python3 -m pytest ...`
    (any python path). Commands with shell syntax (pipes, &&, env assignments) are not plain.
    """
    argv = split_cmd(test_cmd)
    if not argv or any(tok in ("|", "||", "&&", ";", ">", "<") for tok in argv):
        return None
    exe = os.path.basename(argv[0])
    if exe in ("pytest", "py.test"):
        return argv[1:]
    if exe.startswith("python") and len(argv) >= 3 and argv[1] == "-m" and argv[2] in ("pytest", "py.test"):
        return argv[3:]
    return None


def python_of(test_cmd: str, default: str = "python3") -> str:
    """The interpreter a pytest command uses (`python -m pytest` -> `python`)."""
    argv = split_cmd(test_cmd)
    if argv and os.path.basename(argv[0]).startswith("python"):
        return argv[0]
    return default


# Options that stop a run early or narrow it to what an earlier run saw (pytest's own list,
# `pytest --help`: "-x", "--maxfail", the cacheprovider and stepwise plugins). patchwarden's own
# runs drop them: a baseline that stopped at the first failure never saw the tests after it,
# and a fresh sandbox has no cache for `--lf` to read anyway.
EARLY_STOP_FLAGS = {
    "-x", "--exitfirst", "--sw", "--stepwise", "--sw-skip", "--stepwise-skip", "--sw-reset", "--stepwise-reset",
    "--lf", "--last-failed", "--ff", "--failed-first", "--nf", "--new-first", "--cache-clear",
}
EARLY_STOP_VALUE_OPTIONS = {"--maxfail", "--lfnf", "--last-failed-no-failures"}
# Short flags that take no value: `-qx` is `-q -x`, but in `-kx` the x is -k's value.
_SHORT_FLAGS = set("xqvslrh")


def _drop_flag(tok: str) -> tuple[str | None, str | None]:
    """(token to keep or None, option removed or None) for one argument token."""
    if tok in EARLY_STOP_FLAGS:
        return None, tok
    name = tok.split("=", 1)[0]
    if "=" in tok and name in EARLY_STOP_VALUE_OPTIONS:
        return None, tok
    if len(tok) > 2 and tok[0] == "-" and tok[1] != "-" and "x" in tok[1:] and set(tok[1:]) <= _SHORT_FLAGS:
        rest = tok.replace("x", "")
        return (rest if len(rest) > 1 else None), "-x"
    return tok, None


def full_suite_command(test_cmd: str) -> tuple[str, list[str]]:
    """The test command without options that stop early or narrow the run, and those removed.

    Only plain pytest commands are rewritten (anything else is returned as given)."""
    args = pytest_args(test_cmd)
    if args is None:
        return test_cmd, []
    argv = split_cmd(test_cmd)
    prefix = argv[: len(argv) - len(args)]
    kept: list[str] = []
    removed: list[str] = []
    skip_value = False
    for tok in args:
        if skip_value:
            removed[-1] += f" {tok}"
            skip_value = False
            continue
        if tok in EARLY_STOP_VALUE_OPTIONS:
            removed.append(tok)
            skip_value = True
            continue
        keep, gone = _drop_flag(tok)
        if gone:
            removed.append(gone)
        if keep is not None:
            kept.append(keep)
    if not removed:
        return test_cmd, []
    return shlex.join(prefix + kept), removed
