"""The local backend against the sandbox contract (process group, rlimits, pids cgroup)."""
from __future__ import annotations

import os

import pytest

from patchwarden.sandboxes import Limits, SandboxError, open_sandbox
from sandbox_helpers import SandboxContract, make_source, source, source_digest  # noqa: F401 (fixtures)

LIMITS = Limits(memory_mb=256, max_procs=64, cpu_seconds=60)
LIMITS.max_disk_mb = 64  # set after construction: the hostile tests also run against older code


@pytest.fixture(scope="module")
def sbx(source, source_digest):
    with open_sandbox("local", source, limits=LIMITS) as sandbox:
        yield sandbox


class TestLocalSandbox(SandboxContract):
    def require_process_cap(self, sbx):
        # As root, a pids cgroup or a uid of the sandbox's own (RLIMIT_NPROC) caps processes.
        if sbx._cgroup is None and os.geteuid() == 0 and getattr(sbx, "uid", None) is None:
            pytest.skip("root without a writable pids cgroup or bubblewrap: a fork bomb would not be contained here")

    def require_disk_cap(self, sbx):
        if getattr(sbx, "disk_capped", True) is False:
            pytest.skip("no disk cap here: mounting a size-limited tmpfs needs root")

    def test_workdir_is_a_private_copy(self, sbx, source):
        assert os.path.realpath(sbx.workdir) != os.path.realpath(source)
        assert sbx.run(["pwd"]).stdout.strip() == sbx.workdir


def test_close_removes_the_copy_and_kills_leftovers(tmp_path):
    sandbox = open_sandbox("local", make_source(tmp_path), limits=LIMITS)
    proc = sandbox.popen(["sleep", "300"])
    root = sandbox.root
    sandbox.close()
    assert proc.wait(timeout=10) != 0
    assert not root.exists()
    with pytest.raises(SandboxError):
        sandbox.run(["true"])


def test_missing_source_dir_is_a_clear_error(tmp_path):
    with pytest.raises(SandboxError, match="does not exist.*--workdir"):
        open_sandbox("local", tmp_path / "nope")


@pytest.mark.skipif(os.geteuid() != 0, reason="pids cgroups are used as root only")
def test_pids_cgroup_parent_prefers_v1_then_v2_with_pids(tmp_path):
    from patchwarden.sandboxes.local import pids_cgroup_parent

    v1, v2 = tmp_path / "pids", tmp_path / "unified"
    v2.mkdir()
    (v2 / "cgroup.subtree_control").write_text("cpu memory\n")
    assert pids_cgroup_parent(v1, v2) is None
    (v2 / "cgroup.subtree_control").write_text("cpu memory pids\n")
    assert pids_cgroup_parent(v1, v2) == v2
    v1.mkdir()
    (v1 / "cgroup.procs").write_text("")
    assert pids_cgroup_parent(v1, v2) == v1


OWNER = r"""
import json, subprocess, sys, time
sys.path.insert(0, sys.argv[1])
from patchwarden.sandboxes import Limits, open_sandbox
import patchwarden.sandboxes.local as local
if sys.argv[3] == "no-cgroup":
    local._make_pids_cgroup = lambda *a, **k: None  # the path a non-root user gets
sbx = open_sandbox("local", sys.argv[2], limits=Limits(memory_mb=256, max_procs=64, cpu_seconds=60))
direct = sbx.popen(["sleep", "300"])
# A command whose child outlives it: the process group still holds the grandchild.
sbx.run("sleep 301 & echo $!", timeout=5)
grand = sbx.popen(["/bin/sh", "-c", "sleep 302 & wait"])
time.sleep(0.3)
print(json.dumps({"root": str(sbx.root), "cgroup": str(sbx._cgroup or "")}), flush=True)
time.sleep(600)
"""


def _sleepers() -> set[int]:
    import subprocess

    out = subprocess.run(["pgrep", "-f", "^sleep 30[02]$"], capture_output=True, text=True).stdout
    return {int(p) for p in out.split()}


@pytest.mark.parametrize("mode", ["cgroup", "no-cgroup"])
def test_owner_killed_with_sigkill_leaves_no_processes_or_files(tmp_path, mode):
    import json
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from patchwarden.sandboxes.local import pids_cgroup_parent

    if mode == "cgroup" and (os.geteuid() != 0 or pids_cgroup_parent() is None):
        pytest.skip("no writable pids cgroup here")
    before = _sleepers()
    repo_root = Path(__file__).resolve().parents[1]
    owner = subprocess.Popen([sys.executable, "-c", OWNER, str(repo_root), str(make_source(tmp_path)), mode],
                             stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(owner.stdout.readline())
        mine = _sleepers() - before
        assert len(mine) == 2  # sleep 300 and sleep 302 (sleep 301 died with its command)
        assert (info["cgroup"] != "") == (mode == "cgroup")
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (_sleepers() & mine or Path(info["root"]).exists()):
        time.sleep(0.1)
    assert not (_sleepers() & mine), "sandbox processes outlived their owner"
    assert not Path(info["root"]).exists()
    if info["cgroup"]:
        assert not Path(info["cgroup"]).exists()


def test_a_failed_copy_leaves_no_sandbox_behind(tmp_path, monkeypatch):
    import shutil
    import tempfile
    from pathlib import Path

    import patchwarden.sandboxes.local as local

    def half_copy(src, dst, **kwargs):
        Path(dst).mkdir()
        (Path(dst) / "half.txt").write_text("x")
        raise OSError("disk full")

    before = set(Path(tempfile.gettempdir()).glob("patchwarden-sbx-*"))
    monkeypatch.setattr(shutil, "copytree", half_copy)
    with pytest.raises(OSError, match="disk full"):
        local.LocalSandbox(make_source(tmp_path), limits=LIMITS)
    assert set(Path(tempfile.gettempdir()).glob("patchwarden-sbx-*")) == before


def test_watchdog_sees_none_of_the_owner_environment(tmp_path, monkeypatch):
    """L3: the watchdog outlives commands; its /proc/PID/environ must hold no API key."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-watchdog-must-not-see-this")
    with open_sandbox("local", make_source(tmp_path), limits=LIMITS) as sandbox:
        environ = open(f"/proc/{sandbox._watchdog.pid}/environ", "rb").read()
    assert b"sk-watchdog-must-not-see-this" not in environ


def test_confinement_is_reported(tmp_path):
    from patchwarden.sandboxes.local import confinement

    confined, why = confinement()
    assert isinstance(confined, bool) and why
    with open_sandbox("local", make_source(tmp_path), limits=LIMITS) as sandbox:
        assert sandbox.confined == confined
        assert bool(sandbox.notes) == (not confined)
        if not confined:
            assert "UNCONFINED" in sandbox.notes[0]


def test_an_unconfined_local_sandbox_says_so(tmp_path, monkeypatch):
    """Where bubblewrap cannot run, the sandbox, the run's notes and the doctor say so."""
    import patchwarden.sandboxes.local as local
    from patchwarden.sandboxes.doctor import confinement_line

    monkeypatch.setattr(local, "confinement", lambda: (False, "bubblewrap is not installed"))
    monkeypatch.setattr("patchwarden.sandboxes.local._WARNED", set())
    with open_sandbox("local", make_source(tmp_path), limits=LIMITS) as sandbox:
        assert not sandbox.confined and "UNCONFINED" in sandbox.notes[0]
        assert sandbox.run(["echo", "ok"]).stdout == "ok\n"  # it still runs, unconfined
    assert local.sandbox_notes("local") == sandbox.notes and local.sandbox_notes("docker") == []
    monkeypatch.setattr("patchwarden.sandboxes.local.confinement", lambda: (False, "bubblewrap is not installed"))
    assert "UNCONFINED" in confinement_line(False)


def test_a_command_that_cannot_start_is_named(tmp_path):
    src = make_source(tmp_path)
    (src / "plain.sh").write_text("echo hi\n")
    with open_sandbox("local", src, limits=LIMITS) as sandbox:
        with pytest.raises(SandboxError, match="command not found: 'no-such-program'"):
            sandbox.run(["no-such-program"])
        with pytest.raises(SandboxError, match="not executable"):
            sandbox.run(["./plain.sh"])


@pytest.mark.skipif(os.geteuid() != 0, reason="the disk cap is a tmpfs mount: root only")
def test_a_repository_over_the_disk_cap_is_a_clear_error(tmp_path, monkeypatch):
    import tempfile
    from pathlib import Path

    src = make_source(tmp_path)
    (src / "big.bin").write_bytes(bytes((LIMITS.max_disk_mb + 8) << 20))
    made = []
    real_mkdtemp = tempfile.mkdtemp
    monkeypatch.setattr(tempfile, "mkdtemp", lambda *a, **k: made.append(real_mkdtemp(*a, **k)) or made[-1])
    with pytest.raises(SandboxError, match="does not fit the sandbox's disk cap of 64 MiB"):
        open_sandbox("local", src, limits=LIMITS)
    assert made and not any(Path(p).exists() for p in made)  # nothing left behind, mount included
