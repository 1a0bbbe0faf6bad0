"""Shared by the warm-runner tests: which sandbox backends to run on."""
from __future__ import annotations

import os

import pytest

DOCKER_IMAGE = "patchwarden/sandbox:py3"
# Plugins installed on the dev machine that cost ~2 s per cold pytest start. Tests that compare
# against cold reference runs switch them off on both sides to keep the suite fast; loading
# plugins warm is tested on its own (test_forkserver). Naming an absent plugin is harmless.
QUIET_PLUGINS = "-p no:hypothesispytest -p no:anyio -p no:benchmark"
BACKENDS = {"local": None, "docker": DOCKER_IMAGE}


def docker_status() -> tuple[bool, str]:
    from patchwarden.sandboxes.docker_sandbox import docker_ready

    return docker_ready(DOCKER_IMAGE)


def backend_params() -> list:
    """local always; docker marked `docker`, skipped when not ready, except under CI (must fail)."""
    ok, why = docker_status()
    marks = [pytest.mark.docker]
    if not ok and not os.environ.get("CI"):
        marks.append(pytest.mark.skip(reason=f"docker not ready: {why}"))
    return ["local", pytest.param("docker", marks=marks)]
