"""Which sandbox backends work on this machine, and why not: each is tried for real."""
from __future__ import annotations

import os
import resource
import sys
from dataclasses import asdict, dataclass

from .base import Limits, SandboxError


@dataclass
class BackendCheck:
    backend: str
    ok: bool
    detail: str

    def to_dict(self) -> dict:
        return asdict(self)


# Run in the sandbox by the test interpreter: pytest imports and patchwarden's tracer records lines.
TEST_PYTHON_PROBE = ("import sys; sys.path.insert(0, '.patchwarden'); import pytest, pw_pytest_plugin as p; "
                     "t = p.self_test()\ntry:\n    import coverage; t = 'coverage.py (fallback ' + t + ')'\n"
                     "except ImportError:\n    pass\nprint('pytest', pytest.__version__, 'tracer', t)")


def check_test_python(sbx, python: str = "python3") -> tuple[bool, str]:
    """Can the test interpreter in this sandbox run pytest with patchwarden's plugin and tracer?"""
    from pathlib import Path

    plugin = Path(__file__).resolve().parents[1] / "repair" / "pw_pytest_plugin.py"
    sbx.put_files({".patchwarden/pw_pytest_plugin.py": plugin.read_text()})
    res = sbx.run([python, "-c", TEST_PYTHON_PROBE], timeout=60)
    if not res.ok:
        why = (res.stderr.strip() or res.stdout.strip()).splitlines()[-1:] or ["(no output)"]
        return False, f"test interpreter {python} cannot import pytest or run the tracer: {why[0][:200]}"
    return True, f"test interpreter {python}: {res.stdout.strip()}"


def check_local() -> BackendCheck:
    from .local import LocalSandbox

    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    except (ValueError, OSError) as exc:
        return BackendCheck("local", False, f"rlimits unavailable: {exc}")
    try:
        with LocalSandbox(None, Limits(memory_mb=1024)) as sbx:
            result = sbx.run([sys.executable, "-c", "print('ok')"], timeout=30)
            cgroup = sbx._cgroup
            disk_capped = sbx.disk_capped
            py_ok, py_detail = check_test_python(sbx)
    except SandboxError as exc:
        return BackendCheck("local", False, str(exc))
    if not result.ok or result.stdout.strip() != "ok":
        return BackendCheck("local", False, f"a trivial command failed: {result.stderr.strip()[:200]}")
    if not py_ok:
        return BackendCheck("local", False, py_detail)
    if cgroup:
        procs = f"process count capped by a per-sandbox pids cgroup (under {cgroup.parent})"
    elif os.geteuid() != 0:
        procs = "process count capped by RLIMIT_NPROC"
    else:
        procs = "no process cap (root without a writable pids cgroup): fork bombs are bounded by the timeout only"
    return BackendCheck("local", True, f"{confinement_line(disk_capped)}; rlimits (memory, CPU, file size); {procs}; {py_detail}")


def confinement_line(disk_capped: bool) -> str:
    from .local import confinement, unconfined_note

    confined, why = confinement()
    disk = "total disk use capped (size-limited tmpfs)" if disk_capped else "no total disk cap (mounting a tmpfs needs root)"
    return f"confined by {why}; {disk}" if confined else f"{unconfined_note(why)}; {disk}"


def check_docker(image: str) -> BackendCheck:
    from .docker_sandbox import DockerSandbox, docker_ready

    ok, why = docker_ready(image)
    if not ok:
        return BackendCheck("docker", False, why)
    from .image import EXPECTED_COMMANDS, EXPECTED_MODULES

    # What test commands expect: `python` as well as `python3`, patch, git, pytest and coverage.
    probe = (f'for c in {" ".join(EXPECTED_COMMANDS)}; do command -v "$c" >/dev/null || echo "command $c"; done; '
             f'python3 -c "import {", ".join(EXPECTED_MODULES)}" 2>/dev/null || echo "python3 modules {" ".join(EXPECTED_MODULES)}"')
    try:
        with DockerSandbox(None, image=image, limits=Limits(memory_mb=512)) as sbx:
            result = sbx.run(probe, timeout=60)
            py_ok, py_detail = check_test_python(sbx)
    except SandboxError as exc:
        return BackendCheck("docker", False, str(exc))
    missing = result.stdout.split()
    if not result.ok or missing:
        lacks = "; ".join(result.stdout.strip().splitlines()) or result.stderr.strip()[-200:]
        return BackendCheck("docker", False, f"image {image} lacks {lacks}: rebuild it with `patchwarden sandbox build-image --offline --force`")
    if not py_ok:
        return BackendCheck("docker", False, f"image {image}: {py_detail}")
    return BackendCheck("docker", True, f"image {image}: no network, read-only root, uid 1000, memory/CPU/pids limits; {py_detail}")


def diagnose(image: str) -> list[BackendCheck]:
    return [check_local(), check_docker(image)]
