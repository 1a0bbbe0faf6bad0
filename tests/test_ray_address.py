"""`bench run --ray` follows Ray's address semantics and honours RAY_ADDRESS."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from patchwarden.benchmarks.ray_address import RayAddressError, ray_init_kwargs, resolve_ray_address

ROOT = Path(__file__).resolve().parents[1]


def test_flag_wins_then_the_environment_then_no_ray():
    assert resolve_ray_address("local", {"RAY_ADDRESS": "10.0.0.1:6379"}) == "local"
    assert resolve_ray_address(None, {"RAY_ADDRESS": "10.0.0.1:6379"}) == "10.0.0.1:6379"
    assert resolve_ray_address(None, {"RAY_ADDRESS": "ray://head:10001"}) == "ray://head:10001"
    assert resolve_ray_address(None, {}) is None
    assert resolve_ray_address(None, {"RAY_ADDRESS": ""}) is None


@pytest.mark.parametrize("bad", ["nonsense", "ray://", "http://x:1", "host:port"])
def test_a_value_ray_would_not_understand_is_bad_input(bad):
    with pytest.raises(RayAddressError, match="auto .* local .* ray://HOST:PORT"):
        resolve_ray_address(bad, {})


def test_only_a_ray_started_here_gets_a_cpu_count():
    assert ray_init_kwargs("local", 3) == {"address": "local", "num_cpus": 3, "object_store_memory": 100 * 1024 * 1024}
    for address in ("auto", "ray://head:10001", "10.0.0.1:6379"):
        assert ray_init_kwargs(address, 3) == {"address": address}  # connecting: the cluster has its own CPUs


def _bench(dataset: Path, out: Path, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "patchwarden.cli", "bench", "run", "jsonl", "--path", str(dataset), "--out", str(out), "--engine", "template",
            "--sandbox", "local", "--max-candidates", "20", "--time-budget", "30", "--no-bounce", "--json", *extra]
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


@pytest.fixture()
def one_bug(tmp_path):
    from test_bench_util import make_jsonl_dataset

    return make_jsonl_dataset(tmp_path / "bugs", ["add"])


def test_auto_connects_to_a_running_cluster_and_says_how_to_start_one(one_bug, tmp_path):
    pytest.importorskip("ray")
    # A private Ray temp dir: no cluster of another process on this machine can be found.
    env = {"RAY_TMPDIR": str(tmp_path / "raytmp")}
    for extra, more_env in ((["--ray", "auto"], {}), ([], {"RAY_ADDRESS": "auto"})):
        proc = _bench(one_bug, tmp_path / f"out{len(extra)}", *extra, env={**env, **more_env})
        assert proc.returncode == 4, (proc.stdout, proc.stderr[-2000:])
        err = json.loads(proc.stdout)
        assert err["schema"] == "patchwarden.error/1" and "ray start --head" in err["error"] and "--ray local" in err["error"]


def test_a_bad_address_is_bad_input(one_bug, tmp_path):
    proc = _bench(one_bug, tmp_path / "out", env={"RAY_ADDRESS": "nonsense"})
    assert proc.returncode == 2 and "RAY_ADDRESS='nonsense'" in proc.stderr


@pytest.mark.slow  # starts a real Ray head (~10 s) and connects a bench run to it
def test_auto_joins_the_ray_cluster_already_running(one_bug, tmp_path):
    pytest.importorskip("ray")
    import tempfile
    import time

    raytmp = tempfile.mkdtemp(prefix="pwray", dir="/tmp")  # short: Ray's socket paths must fit AF_UNIX limits
    env = {**os.environ, "RAY_TMPDIR": raytmp}
    head = subprocess.Popen([sys.executable, "-c", (
        "import ray, sys, time; ray.init(address='local', num_cpus=2, include_dashboard=False); "
        "print(ray.get_runtime_context().gcs_address, flush=True); sys.stdin.read()")],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        gcs = head.stdout.readline().strip()
        assert gcs, "the Ray head did not start"
        started = time.monotonic()
        proc = _bench(one_bug, tmp_path / "out", "--ray", "auto", env={"RAY_TMPDIR": raytmp})
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert json.loads(proc.stdout)["ran"] == 1
        # It joined the running cluster (whose session dir lives in RAY_TMPDIR) instead of starting its own.
        sessions = list(Path(raytmp, "ray").glob("session_2*"))
        assert len(sessions) == 1, (sessions, time.monotonic() - started)
    finally:
        head.stdin.close()
        head.wait(timeout=60)
        import shutil

        shutil.rmtree(raytmp, ignore_errors=True)
