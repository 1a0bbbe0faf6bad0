"""Which sandbox runs a repair: Docker only when the test command can really run there.

`--sandbox auto` (the default) picks Docker when its engine and image are ready AND a dry start
in a container succeeds: the command's program exists there (its interpreter's environment
mounted read-only when it is run by path, see sandboxes/envmount.py) and, for pytest, that
interpreter imports pytest and every third-party module the project imports which the same
interpreter imports in the local sandbox. Otherwise it runs local and says why in one line.
`--sandbox docker` runs the same dry start and refuses up front, naming the fix.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from patchwarden.sandboxes import DEFAULT_IMAGE, Limits, SandboxError, SandboxSpec, open_sandbox, resolve_backend
from patchwarden.sandboxes.envmount import EnvMounts, command_executable, plan_mounts
from patchwarden.sandboxes.pytest_command import pytest_args

DRY_START_TIMEOUT = 60.0
MAX_PROBED_MODULES = 300
# Prints the names (argv) that this interpreter cannot find; finding does not import them.
PROBE = (
    "import importlib.util, sys\n"
    "missing = []\n"
    "for name in sys.argv[1:]:\n"
    "    try:\n"
    "        found = importlib.util.find_spec(name) is not None\n"
    "    except Exception:\n"
    "        found = True  # it exists but misbehaves when looked up: not an environment gap\n"
    "    if not found:\n"
    "        missing.append(name)\n"
    "print('PW-MISSING:' + ' '.join(missing))\n"
)


@dataclass
class SandboxChoice:
    spec: SandboxSpec
    note: str | None = None  # one line for the user: why local, or which environment is mounted


def choose_sandbox(requested: str, image: str | None, test_cmd: str, repo: Path, limits: Limits) -> SandboxChoice:
    """The sandbox spec to run `test_cmd` for `repo`; SandboxError (the message names the fix)
    when docker was asked for and cannot serve the command."""
    resolve_backend(requested if requested != "auto" else "local")  # rejects unknown names
    if requested == "local":
        return SandboxChoice(SandboxSpec("local", image, limits))
    image_name = image or DEFAULT_IMAGE
    from patchwarden.sandboxes.docker_sandbox import docker_ready

    ready, why = docker_ready(image_name)  # a missing docker package is a (False, why) too
    if not ready:
        return _local_or_fail(requested, image, limits, why)
    mounts = plan_mounts(test_cmd, repo)
    if mounts.problem:
        raise SandboxError(mounts.problem)
    docker_spec = SandboxSpec("docker", image_name, limits, mounts if mounts else None)
    problem = dry_start(docker_spec, test_cmd, repo, compare_local=requested == "auto")
    if problem:
        return _local_or_fail(requested, image, limits, f"the test command cannot run in {image_name}: {problem}",
                              fix=_fix_hint(test_cmd, mounts))
    note = None
    if mounts:
        note = f"sandbox: docker, with the test environment of {mounts.interpreter} mounted read-only ({mounts.describe()})"
    return SandboxChoice(docker_spec, note)


def _local_or_fail(requested: str, image: str | None, limits: Limits, why: str, fix: str = "") -> SandboxChoice:
    if requested == "docker":
        if fix:
            why += f"; {fix}"
        elif "--sandbox local" not in why:
            why += "; or use --sandbox local"
        raise SandboxError(why, environment=True)  # docker was asked for and is unusable here: exit 4
    # auto is already falling back to local: drop the advice to use it.
    why = re.sub(r",? or use the local sandbox \(--sandbox local\)", "", why)
    return SandboxChoice(SandboxSpec("local", image, limits), f"sandbox: local, because {why}{_confinement()}")


def _confinement() -> str:
    """How the local backend is confined, when it can say (sandboxes.local.confinement)."""
    from patchwarden.sandboxes import local

    confinement = getattr(local, "confinement", None)
    if not callable(confinement):
        return ""
    try:
        confined, reason = confinement()
    except Exception:
        return ""
    return f" (local sandbox {'confined' if confined else 'not confined'}: {reason})"


def _fix_hint(test_cmd: str, mounts: EnvMounts) -> str:
    if mounts:
        return ("fix: make the mounted environment complete, pass --image with an image that has the "
                "project's dependencies, or use --sandbox local")
    return ("fix: run the tests with your environment's interpreter by path (e.g. --test-cmd "
            "\"/path/to/venv/bin/python -m pytest ...\"), which is then mounted read-only into the container; "
            "or pass --image with an image that has the project's dependencies "
            "(`patchwarden sandbox build-env REPO`); or use --sandbox local")


def dry_start(docker_spec: SandboxSpec, test_cmd: str, repo: Path, compare_local: bool = True) -> str | None:
    """Why `test_cmd` cannot run in the Docker sandbox, or None when it can (as far as a start
    without the tests tells: the program, and for pytest the interpreter's imports).

    A module the project imports but the container cannot find only counts when the local
    sandbox finds it (`compare_local`; an optional import may be missing everywhere). Without
    `compare_local` (docker was asked for: nothing runs on the host) only pytest itself counts,
    and the baseline names any dependency still missing."""
    from patchwarden.sandboxes.forkserver import third_party_imports

    exe = command_executable(test_cmd) or ""
    in_copy = "/" in exe and not exe.startswith("/") and not (docker_spec.mounts and docker_spec.mounts.binds.get(
        "/work/" + exe.split("/")[0]))
    limits = Limits(memory_mb=512, cpu_seconds=60, max_procs=64)
    if in_copy:
        return None  # a script of the repository itself: it is in the copy, the baseline will tell
    with open_sandbox("docker", None, image=docker_spec.image, limits=limits, mounts=docker_spec.mounts) as sbx:
        found = sbx.run(["/bin/sh", "-c", 'command -v "$1"', "sh", exe], timeout=DRY_START_TIMEOUT)
        if not found.ok:
            return f"`{exe}` is not there (exit {found.returncode})"
        if pytest_args(test_cmd) is None:
            return None
        python = _python_for(sbx, test_cmd)
        names = ["pytest"] + [n for n in third_party_imports(repo) if n not in sys.stdlib_module_names][:MAX_PROBED_MODULES]
        docker_missing, error = _probe(sbx, python, names)
    if error:
        return f"its interpreter {python} does not start: {error}"
    if not compare_local:
        docker_missing = [n for n in docker_missing if n == "pytest"]
    if not docker_missing:
        return None
    local_missing, local_error = _local_probe(python, names, repo) if compare_local else ([], "not compared")
    if local_error is None:
        docker_missing = [n for n in docker_missing if n not in local_missing]
    if not docker_missing:
        return None
    listed = ", ".join(docker_missing[:8]) + (" ..." if len(docker_missing) > 8 else "")
    return f"its interpreter {python} cannot import {listed}" + ("" if local_error else " (the local sandbox can)")


def _python_for(sbx, test_cmd: str) -> str:
    from .validate import interpreter_for

    python, _cwd_first = interpreter_for(sbx, test_cmd)
    return python


def _probe(sbx, python: str, names: list[str]) -> tuple[list[str], str | None]:
    res = sbx.run([python, "-I", "-c", PROBE, *names], timeout=DRY_START_TIMEOUT)
    for line in res.stdout.splitlines():
        if line.startswith("PW-MISSING:"):
            return line[len("PW-MISSING:"):].split(), None
    last = [ln for ln in (res.stderr + res.stdout).splitlines() if ln.strip()][-1:] or [f"exit {res.returncode}"]
    return [], last[0].strip()[:200]


def _local_probe(python: str, names: list[str], repo: Path) -> tuple[list[str], str | None]:
    """The same probe in the local sandbox (a relative interpreter is the repository's own)."""
    if "/" in python and not python.startswith("/"):
        python = str(Path(repo).resolve() / python)
    try:
        with open_sandbox("local", None, limits=Limits(memory_mb=1024, cpu_seconds=60)) as sbx:
            return _probe(sbx, python, names)
    except SandboxError as exc:
        return [], str(exc)


__all__ = ["SandboxChoice", "choose_sandbox", "dry_start"]
