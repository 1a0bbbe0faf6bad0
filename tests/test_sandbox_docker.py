"""The Docker backend: the sandbox contract plus container isolation and cleanup.

These run in CI (they fail there when Docker is not ready) and skip elsewhere without it.
One container serves the whole contract; the cleanup tests start their own.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from patchwarden.sandboxes import Limits, SandboxError, open_sandbox
from sandbox_helpers import SandboxContract, make_source, require_docker, source, source_digest  # noqa: F401 (fixtures)

pytestmark = pytest.mark.docker
ROOT = Path(__file__).resolve().parents[1]
LIMITS = Limits(memory_mb=256, max_procs=64, cpu_seconds=60)
LIMITS.max_disk_mb = 64  # set after construction: the hostile tests also run against older code


@pytest.fixture(scope="module")
def image():
    return require_docker()


@pytest.fixture(scope="module")
def sbx(image, source, source_digest):
    with open_sandbox("docker", source, image=image, limits=LIMITS) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def client(image):
    import docker

    c = docker.from_env()
    yield c
    c.close()


def container_exists(client, cid: str) -> bool:
    import docker.errors

    try:
        client.containers.get(cid)
        return True
    except docker.errors.NotFound:
        return False


def wait_gone(client, cid: str, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while container_exists(client, cid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


class TestDockerSandbox(SandboxContract):
    def require_containment(self, sbx, strict=False):
        """A container always confines: every hostile test runs."""

    def test_network_is_off(self, sbx):
        # 192.0.2.1 is TEST-NET-1 (RFC 5737): never routed, so even a bug here reaches nothing.
        probe = textwrap.dedent("""
            import os, socket
            print(sorted(os.listdir('/sys/class/net')))
            for target in [('192.0.2.1', 80), ('192.0.2.1', 53)]:
                try:
                    socket.create_connection(target, timeout=3)
                    print('CONNECTED', target)
                except OSError as exc:
                    print('refused', exc.errno)
            try:
                socket.getaddrinfo('example.com', 80)
                print('RESOLVED')
            except OSError:
                print('no dns')
        """)
        r = sbx.run(["python3", "-c", probe], timeout=30)
        assert r.returncode == 0, r.stderr
        assert r.stdout.splitlines()[0] == "['lo']"
        assert "CONNECTED" not in r.stdout and "RESOLVED" not in r.stdout
        assert r.stdout.count("refused") == 2

    def test_writes_outside_the_work_dir_fail(self, sbx):
        for target in ("/etc/passwd", "/usr/bin/x", "/x", "/home/x"):
            r = sbx.run(["sh", "-c", f"echo hacked > {target}"])
            assert r.returncode != 0, target
        assert "hacked" not in sbx.run(["cat", "/etc/passwd"]).stdout
        ok = sbx.run("echo fine > /tmp/t && cat /tmp/t && echo fine > in_work && cat in_work")
        assert ok.stdout == "fine\nfine\n", ok.stderr

    def test_runs_unprivileged_with_limits(self, sbx, client):
        assert sbx.run(["id", "-u"]).stdout.strip() == "1000"
        host = client.api.inspect_container(sbx.container_id)["HostConfig"]
        assert host["NetworkMode"] == "none"
        assert host["ReadonlyRootfs"] is True
        assert host["Memory"] == LIMITS.memory_mb * 1024 * 1024
        assert host["PidsLimit"] == LIMITS.max_procs
        assert host["CapDrop"] == ["ALL"]
        assert "no-new-privileges" in host["SecurityOpt"]

    def test_one_container_serves_many_commands(self, sbx):
        first = sbx.run(["cat", "/proc/1/cgroup"]).stdout
        sbx.run(["true"])
        assert sbx.run(["cat", "/proc/1/cgroup"]).stdout == first


def test_missing_image_is_a_clear_error(image):
    with pytest.raises(SandboxError, match="build-image --offline"):
        open_sandbox("docker", None, image="patchwarden/no-such-image:0")


def test_close_removes_the_container(image, client, tmp_path):
    sandbox = open_sandbox("docker", make_source(tmp_path), image=image, limits=LIMITS)
    cid = sandbox.container_id
    assert container_exists(client, cid)
    sandbox.close()
    assert wait_gone(client, cid)


OWNER = """
import sys, time
sys.path.insert(0, {root!r})
from patchwarden.sandboxes import open_sandbox
with open_sandbox("docker", None, image={image!r}) as sbx:
    print(sbx.container_id, flush=True)
    time.sleep(120)
"""


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM], ids=["kill", "ctrl-c", "term"])
def test_container_removed_when_owner_dies(image, client, sig):
    proc = subprocess.Popen([sys.executable, "-c", OWNER.format(root=str(ROOT), image=image)], stdout=subprocess.PIPE, text=True)
    try:
        cid = proc.stdout.readline().strip()
        assert cid and container_exists(client, cid)
        proc.send_signal(sig)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert wait_gone(client, cid), f"container {cid[:12]} outlived its owner ({sig.name})"


def test_prune_removes_leftovers_but_not_live_sandboxes(image, client, sbx):
    from patchwarden.sandboxes.docker_sandbox import LABEL, OWNER_LABEL, prune

    leftover = client.containers.run(
        image, ["sleep", "300"], detach=True, network_mode="none",
        labels={LABEL: "1", OWNER_LABEL: f"{os.uname().nodename}:999999999:1"},
    )
    try:
        removed = prune()
        assert leftover.name in removed
        assert not container_exists(client, leftover.id)
        assert container_exists(client, sbx.container_id)
    finally:
        if container_exists(client, leftover.id):
            leftover.remove(force=True)


def test_warm_runner_works_over_docker_exec(sbx):
    """The fork server (sandboxes/forkserver.py) streams its protocol through popen."""
    from patchwarden.sandboxes.forkserver import ForkServer

    sbx.put_files({"tests_warm/test_calc.py": "from pkg.calc import add\n\ndef test_add():\n    assert add(2, 2) == 4\n\n"
                                               "def test_wrong():\n    assert add(2, 2) == 5\n"})
    with ForkServer(sbx) as fs:
        run = fs.run_pytest(["tests_warm/test_calc.py"], timeout=60)
        fixed = fs.run_pytest(["tests_warm/test_calc.py"], files={"pkg/calc.py": "def add(a, b):\n    return 5\n"}, timeout=60)
    assert sorted((r.nodeid.rsplit("::", 1)[-1], r.status) for r in run.results) == [("test_add", "passed"), ("test_wrong", "failed")]
    assert sorted((r.nodeid.rsplit("::", 1)[-1], r.status) for r in fixed.results) == [("test_add", "failed"), ("test_wrong", "passed")]
