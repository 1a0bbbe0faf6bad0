"""Where untrusted code runs: `local` (bubblewrap where it works, rlimits, a process group)
and `docker` (a container without network).

    from patchwarden.sandboxes import open_sandbox
    with open_sandbox("local", "path/to/repo") as sbx:
        result = sbx.run(["python", "-m", "pytest", "-q"], timeout=60)

Every backend works on a private copy of the source directory.

The bottom layer: it imports no other patchwarden package. It also holds what every layer
above needs to run tests and keep files: `testresults.py` (TestResult), `junit.py` (JUnit XML
to results), `suite_run.py` (run a suite cold, read its results), `pytest_command.py` (is a
command pytest, with which options), `safe_ast.py` (thread-safe parsing), `files.py` (atomic
writes, JSONL).
"""
from __future__ import annotations

from pathlib import Path

from .base import Limits, RunResult, Sandbox, SandboxError, SandboxSpec

BACKENDS = ("local", "docker", "auto")
DEFAULT_IMAGE = "patchwarden/sandbox:py3"


def resolve_backend(backend: str, image: str | None = None) -> str:
    """Turn `auto` into a concrete backend: docker when its engine and image are ready."""
    if backend not in BACKENDS:
        raise SandboxError(f"unknown sandbox backend {backend!r}: choose one of local, docker, auto")
    if backend != "auto":
        return backend
    from .docker_sandbox import docker_ready

    ok, _why = docker_ready(image or DEFAULT_IMAGE)
    return "docker" if ok else "local"


def open_sandbox(
    backend: str = "local",
    source: Path | str | None = None,
    *,
    image: str | None = None,
    limits: Limits | None = None,
    mounts=None,
) -> Sandbox:
    """`mounts` (a sandboxes.envmount.EnvMounts) only matters for docker: the local backend
    already sees the host's files."""
    backend = resolve_backend(backend, image)
    if backend == "local":
        from .local import LocalSandbox

        return LocalSandbox(source, limits)
    from .docker_sandbox import DockerSandbox

    return DockerSandbox(source, image=image or DEFAULT_IMAGE, limits=limits, mounts=mounts)


def open_spec(spec: SandboxSpec, source: Path | str | None = None) -> Sandbox:
    return open_sandbox(spec.backend, source, image=spec.image, limits=spec.limits, mounts=spec.mounts)


__all__ = ["BACKENDS", "DEFAULT_IMAGE", "Limits", "RunResult", "Sandbox", "SandboxError", "SandboxSpec", "open_sandbox", "open_spec", "resolve_backend"]
