"""The local backend against the sandbox contract (process group, rlimits, pids cgroup)."""
from __future__ import annotations

import os

import pytest

from sandboxes import Limits, SandboxError, open_sandbox
from sandbox_helpers import SandboxContract, make_source, source, source_digest  # noqa: F401 (fixtures)

LIMITS = Limits(memory_mb=256, max_procs=64, cpu_seconds=60)


@pytest.fixture(scope="module")
def sbx(source, source_digest):
    with open_sandbox("local", source, limits=LIMITS) as sandbox:
        yield sandbox


class TestLocalSandbox(SandboxContract):
    def require_process_cap(self, sbx):
        if sbx._cgroup is None and os.geteuid() == 0:
            pytest.skip("root without a writable pids cgroup: a fork bomb would not be contained here")

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
    from sandboxes.local import pids_cgroup_parent

    v1, v2 = tmp_path / "pids", tmp_path / "unified"
    v2.mkdir()
    (v2 / "cgroup.subtree_control").write_text("cpu memory\n")
    assert pids_cgroup_parent(v1, v2) is None
    (v2 / "cgroup.subtree_control").write_text("cpu memory pids\n")
    assert pids_cgroup_parent(v1, v2) == v2
    v1.mkdir()
    (v1 / "cgroup.procs").write_text("")
    assert pids_cgroup_parent(v1, v2) == v1
