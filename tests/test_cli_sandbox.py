"""`patchwarden sandbox ...` through the real entry point: exit codes, JSON, clean errors."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox_helpers import make_source, require_docker, tree_digest

ROOT = Path(__file__).resolve().parents[1]
NO_DAEMON_ENV = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "patchwarden.cli", "sandbox", *args],
        cwd=cwd or ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_clean_error(proc: subprocess.CompletedProcess, *needles: str, code: int = 2) -> None:
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture()
def project(tmp_path):
    return make_source(tmp_path)


def test_run_local_passes_output_and_exit_code(project):
    before = tree_digest(project)
    script = "cat data.txt; echo oops >&2; echo x > data.txt; exit 7"
    proc = cli("run", "--backend", "local", "--workdir", str(project), "--pass-exit-code", "--", "sh", "-c", script)
    assert proc.returncode == 7
    assert proc.stdout == "original\n" and proc.stderr == "oops\n"
    assert tree_digest(project) == before


def test_run_failure_follows_the_exit_code_table(project):
    # The command's own 2 must not read as patchwarden's "bad input": it is a failed run (1), its code reported.
    proc = cli("run", "--backend", "local", "--workdir", str(project), "--", "sh", "-c", "exit 2")
    assert proc.returncode == 1 and "the command exited with 2" in proc.stderr
    proc = cli("run", "--backend", "local", "--json", "--workdir", str(project), "--", "sh", "-c", "exit 2")
    record = json.loads(proc.stdout)
    assert proc.returncode == 1 and record["returncode"] == 2 and record["command_exit_code"] == 2
    assert record["schema"] == "patchwarden.sandbox.run/1"


def test_run_uses_the_current_directory_by_default(project):
    proc = cli("run", "--backend", "local", "--", "cat", "data.txt", cwd=project)
    assert (proc.returncode, proc.stdout) == (0, "original\n")


def test_run_json_record(project):
    proc = cli("run", "--backend", "local", "--json", "-w", str(project), "--", "python3", "-c", "print('hi')")
    record = json.loads(proc.stdout)
    assert proc.returncode == 0
    assert record["backend"] == "local" and record["stdout"] == "hi\n" and record["returncode"] == 0
    assert set(record) >= {"duration", "timed_out", "stdout_truncated", "stderr"}


def test_run_timeout_exits_124(project):
    proc = cli("run", "--backend", "local", "--timeout", "1", "-w", str(project), "--pass-exit-code", "--", "sleep", "60")
    assert proc.returncode == 124
    assert "timed out" in proc.stderr


def test_missing_workdir(tmp_path):
    assert_clean_error(cli("run", "--workdir", str(tmp_path / "missing"), "--", "true"), "does not exist", "--workdir")


def test_missing_command():
    assert_clean_error(cli("run", "--backend", "local"), "no command", "--")


def test_unknown_backend():
    assert_clean_error(cli("run", "--backend", "vm", "--", "true"), "vm", "local, docker, auto")


def test_no_docker_daemon_with_backend_docker(project):
    proc = cli("run", "--backend", "docker", "-w", str(project), "--", "true", env=NO_DAEMON_ENV)
    assert_clean_error(proc, "Docker daemon does not answer", "dockerd", "--sandbox local", code=4)


def test_auto_falls_back_to_local_without_a_daemon(project):
    proc = cli("run", "--json", "-w", str(project), "--", "true", env=NO_DAEMON_ENV)
    assert proc.returncode == 0 and json.loads(proc.stdout)["backend"] == "local"


def test_prune_without_a_daemon():
    assert_clean_error(cli("prune", env=NO_DAEMON_ENV), "Docker daemon does not answer", code=4)


def test_doctor_reports_each_backend_without_a_daemon():
    proc = cli("doctor", "--json", env=NO_DAEMON_ENV)
    report = json.loads(proc.stdout)
    checks = {c["backend"]: c for c in report["checks"]}
    assert checks["local"]["ok"] is True
    assert checks["docker"]["ok"] is False and "dockerd" in checks["docker"]["detail"]
    assert report["auto"] == "local" and proc.returncode == 0


@pytest.mark.docker
def test_missing_image(project):
    require_docker()
    proc = cli("run", "--backend", "docker", "--image", "patchwarden/no-such-image:0", "-w", str(project), "--", "true")
    assert_clean_error(proc, "no-such-image", "build-image --offline", code=4)


@pytest.mark.docker
def test_run_docker(project):
    require_docker()
    before = tree_digest(project)
    proc = cli("run", "--backend", "docker", "--json", "--memory", "256", "-w", str(project), "--",
               "sh", "-c", "id -u; cat data.txt; echo x > data.txt; exit 5")
    record = json.loads(proc.stdout)
    assert proc.returncode == 1 and record["returncode"] == 5
    assert record["backend"] == "docker" and record["stdout"] == "1000\noriginal\n"
    assert tree_digest(project) == before


@pytest.mark.docker
def test_build_image_skips_an_existing_tag():
    image = require_docker()
    proc = cli("build-image", "--offline", "--tag", image)
    assert proc.returncode == 0, proc.stderr
    assert "already" in proc.stdout
