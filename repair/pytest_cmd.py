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
