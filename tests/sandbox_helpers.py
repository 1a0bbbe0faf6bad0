"""What both sandbox backends must do, as one test class each backend's module subclasses,
plus the Docker readiness check (fails in CI, skips elsewhere)."""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from patchwarden.sandboxes import SandboxError

SECRETS = {"OPENAI_API_KEY": "sk-test-do-not-leak-123", "HF_TOKEN": "hf_do_not_leak_456", "GITHUB_TOKEN": "ghp_do_not_leak_789"}


def require_docker(image: str | None = None) -> str:
    """The image to use when Docker is ready; otherwise fail in CI and skip locally."""
    from patchwarden.sandboxes import DEFAULT_IMAGE
    from patchwarden.sandboxes.docker_sandbox import docker_ready

    image = image or DEFAULT_IMAGE
    ok, why = docker_ready(image)
    if not ok:
        message = f"Docker sandbox not ready: {why}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must run the Docker tests: run scripts/setup-dev.sh)", pytrace=False)
        pytest.skip(message)
    return image


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A small project directory; import this fixture into a test module to use it."""
    return make_source(tmp_path_factory.mktemp("sandbox"))


@pytest.fixture(scope="module")
def source_digest(source):
    """The project's digest before any sandbox touched it."""
    return tree_digest(source)


def make_source(root: Path) -> Path:
    src = root / "project"
    (src / "pkg").mkdir(parents=True)
    (src / "pkg" / "__init__.py").write_text("")
    (src / "pkg" / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (src / "data.txt").write_text("original\n")
    (src / "delete_me.txt").write_text("keep me\n")
    (src / "run.sh").write_text("#!/bin/sh\necho from-script\n")
    os.chmod(src / "run.sh", 0o755)
    return src


def tree_digest(root: Path) -> str:
    """Names, modes and contents of every entry under root."""
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        h.update(f"{path.relative_to(root)}\0{st.st_mode}\0".encode())
        if path.is_file() and not path.is_symlink():
            h.update(path.read_bytes())
    return h.hexdigest()


def gone_check(pidfile: str) -> list[str]:
    """A command that prints `gone` when the pid in `pidfile` no longer runs (zombies count as gone)."""
    code = (
        "import sys\n"
        f"pid = open({pidfile!r}).read().split()[0]\n"
        "try:\n"
        "    state = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()[0]\n"
        "except OSError:\n"
        "    state = 'gone'\n"
        "print('gone' if state in ('gone', 'Z', 'X') else 'alive:' + state)\n"
    )
    return ["python3", "-c", code]


def host_pids(cmdline: str) -> list[int]:
    """Pids of host processes (containers' included) whose command line is exactly `cmdline`."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                raw = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if raw.rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace") == cmdline:
                found.append(int(entry))
    return found


class SandboxContract:
    """Tests every backend passes. Subclasses provide the fixtures `sbx` (module-scoped,
    opened over `source`) and `source` (its original directory) and `source_digest`."""

    def test_output_and_exit_code_come_back(self, sbx):
        r = sbx.run(["python3", "-c", "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"])
        assert (r.returncode, r.stdout, r.stderr, r.timed_out) == (3, "out\n", "err\n", False)
        assert r.duration > 0

    def test_string_command_stdin_and_copied_files(self, sbx):
        r = sbx.run("cat; ./run.sh; python3 -c 'from pkg.calc import add; print(add(2, 3))'", stdin="from-stdin\n")
        assert r.returncode == 0, r.stderr
        assert r.stdout == "from-stdin\nfrom-script\n5\n"

    def test_put_and_read_files(self, sbx):
        sbx.put_files({"new/deep/f.txt": "hello", "bin.dat": b"\x00\x01"})
        assert sbx.read_file("new/deep/f.txt") == b"hello"
        assert sbx.read_file("bin.dat") == b"\x00\x01"
        r = sbx.run("cat new/deep/f.txt && echo more >> new/deep/f.txt")
        assert r.stdout == "hello" and r.returncode == 0, r.stderr
        assert sbx.read_file("new/deep/f.txt") == b"hellomore\n"
        with pytest.raises(SandboxError):
            sbx.put_files({"../escape.txt": "x"})
        with pytest.raises(FileNotFoundError):
            sbx.read_file("no/such/file")

    def test_timeout_kills_loop_and_children(self, sbx):
        cmd = "sleep 300 & echo $! > child.pid; setsid sleep 301 & echo $! > escaped.pid; while :; do :; done"
        start = time.monotonic()
        r = sbx.run(["sh", "-c", cmd], timeout=1.5)
        assert r.timed_out and r.returncode == 124
        assert time.monotonic() - start < 10
        for pidfile in ("child.pid", "escaped.pid"):
            check = sbx.run(gone_check(pidfile), timeout=30)
            assert check.stdout.strip() == "gone", (pidfile, check.stdout, check.stderr)

    def test_background_children_do_not_outlive_a_finished_command(self, sbx):
        r = sbx.run(["sh", "-c", "sleep 300 & echo $! > bg.pid; echo done"], timeout=30)
        assert r.stdout == "done\n" and not r.timed_out
        assert sbx.run(gone_check("bg.pid"), timeout=30).stdout.strip() == "gone"

    def test_fork_bomb_is_contained(self, sbx):
        self.require_process_cap(sbx)
        r = sbx.run(["bash", "-c", ":(){ :|:& };:"], timeout=5)
        assert r.duration < 30
        self.assert_usable(sbx)

    def test_memory_bomb_is_contained(self, sbx):
        bomb = "chunks = []\nwhile True:\n    chunks.append(bytearray(32 * 1024 * 1024))\n"
        r = sbx.run(["python3", "-c", bomb], timeout=60)
        assert r.returncode != 0 and not r.timed_out, r
        self.assert_usable(sbx)

    def test_huge_output_is_capped(self, sbx):
        r = sbx.run("yes 0123456789 | head -c 100000000; echo tail >&2", timeout=60)
        assert r.returncode == 0, r.stderr
        assert r.stdout_truncated and not r.stderr_truncated
        assert sbx.limits.output_cap <= len(r.stdout.encode()) <= sbx.limits.output_cap + 200
        assert r.stdout.startswith("0123456789\n") and "truncated" in r.stdout[-100:]
        assert r.stderr == "tail\n"
        self.assert_usable(sbx)

    def test_secret_env_is_not_visible(self, sbx, monkeypatch):
        for key, value in SECRETS.items():
            monkeypatch.setenv(key, value)
        r = sbx.run(["env"], env={"EXPLICIT": "passed"})
        assert r.returncode == 0
        assert "EXPLICIT=passed" in r.stdout
        for key, value in SECRETS.items():
            assert key not in r.stdout and value not in r.stdout

    def test_popen_streams_lines_and_dies_on_kill(self, sbx):
        server = "import sys\nfor line in sys.stdin:\n    print(line.strip().upper(), flush=True)\n"
        proc = sbx.popen(["python3", "-u", "-c", server, "pw-echo-server"])
        try:
            for word in (b"alpha", b"beta"):
                proc.stdin.write(word + b"\n")
                proc.stdin.flush()
                assert proc.stdout.readline() == word.upper() + b"\n"
        finally:
            proc.kill()
            proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while True:
            ps = sbx.run(["ps", "-eo", "args"]).stdout
            if "pw-echo-server" not in ps or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert "pw-echo-server" not in ps

    def test_original_directory_is_unchanged(self, sbx, source, source_digest):
        r = sbx.run("echo changed > data.txt && rm delete_me.txt && mkdir -p made && touch made/x && chmod 600 run.sh")
        assert r.returncode == 0, r.stderr
        assert sbx.read_file("data.txt") == b"changed\n"
        assert tree_digest(source) == source_digest
        assert (source / "data.txt").read_text() == "original\n"

    # -- hostile tests: what a test must not do to its host -------------------------
    def test_symlink_out_of_the_copy_cannot_write_outside(self, sbx, tmp_path):
        """L1: a (committed) symlink pointing outside the copy."""
        self.require_containment(sbx)
        outside = [tmp_path / "outside", Path(tempfile.mkdtemp(prefix="pw-outside-", dir="/var/tmp"))]
        try:
            for i, target in enumerate(outside):
                target.mkdir(exist_ok=True)
                sbx.run(f"ln -sfn {target} out{i} && echo pwned > out{i}/PWNED.txt")
                assert not (target / "PWNED.txt").exists(), f"a test wrote through a symlink to {target}"
        finally:
            shutil.rmtree(outside[1], ignore_errors=True)

    def test_original_repository_is_not_writable_by_path(self, sbx, source, source_digest):
        """L2: the original tree by absolute path."""
        self.require_containment(sbx)
        sbx.run(f"echo pwned >> {source}/pkg/calc.py; echo pwned > {source}/PWNED.txt; rm -f {source}/data.txt")
        assert tree_digest(source) == source_digest

    def test_host_secrets_and_owner_processes_are_out_of_reach(self, sbx):
        """L3: /etc/shadow, /root, and the environment / command line of processes outside."""
        self.require_containment(sbx)
        token = uuid.uuid4().hex
        sbx.put_files({"token.txt": token})  # not in the probe's command line, which others show
        outsider = subprocess.Popen(["sleep", "1000"], env={"PW_TOKEN": token, "PATH": os.defpath})
        try:
            probe = (
                "import os\n"
                "token = open('token.txt', 'rb').read()\n"
                "for path in ('/etc/shadow', '/root/.bash_history'):\n"
                "    try:\n"
                "        open(path).read(); print('READ', path)\n"
                "    except OSError:\n"
                "        pass\n"
                "try:\n"
                "    print('LISTED /root', os.listdir('/root'))\n"
                "except OSError:\n"
                "    pass\n"
                "for pid in filter(str.isdigit, os.listdir('/proc')):\n"
                "    for part in ('environ', 'cmdline'):\n"
                "        try:\n"
                "            if token in open(f'/proc/{pid}/{part}', 'rb').read():\n"
                "                print('LEAK', pid, part)\n"
                "        except OSError:\n"
                "            pass\n"
            )
            r = sbx.run(["python3", "-c", probe], timeout=60)
        finally:
            outsider.kill()
            outsider.wait()
        assert r.returncode == 0, r.stderr
        assert "READ" not in r.stdout and "LEAK" not in r.stdout, r.stdout
        # /root may show the toolchains re-exposed read-only (~/.pyenv), never the rest.
        listed = next((line for line in r.stdout.splitlines() if line.startswith("LISTED")), "")
        for private in (".ssh", ".bash_history", ".netrc", ".docker", ".gitconfig", ".config", ".python_history"):
            assert f"'{private}'" not in listed, listed

    def test_signalling_the_parent_does_not_kill_the_owner(self, sbx):
        """L4: os.kill(os.getppid(), SIGKILL) (run only where it cannot hit this test runner)."""
        self.require_containment(sbx, strict=True)
        r = sbx.run(["python3", "-c", "import os, signal; os.kill(os.getppid(), signal.SIGKILL); print('sent')"], timeout=30)
        assert not r.timed_out
        self.assert_usable(sbx)

    def test_escaping_daemon_does_not_outlive_its_command(self, sbx):
        """L5 and D1: a daemon that leaves for the root cgroup, double-forks, calls setsid and
        clears its environment must die with the command that started it."""
        self.require_containment(sbx)
        name = f"1000.{uuid.uuid4().int % 10**9}"  # `sleep 1000.N`: unique on this host
        daemon = (
            "import os\n"
            "for procs in ('/sys/fs/cgroup/pids/cgroup.procs', '/sys/fs/cgroup/cgroup.procs'):\n"
            "    try:\n"
            "        open(procs, 'w').write(str(os.getpid()))\n"
            "    except OSError:\n"
            "        pass\n"
            "if os.fork() == 0:\n"
            "    os.setsid()\n"
            "    if os.fork() == 0:\n"
            f"        os.execve('/bin/sleep', ['sleep', {name!r}], {{}})\n"
            "    os._exit(0)\n"
            "print('started', flush=True)\n"
        )
        r = sbx.run(["python3", "-c", daemon], timeout=30)
        assert r.stdout == "started\n", r
        deadline = time.monotonic() + 10
        while host_pids(f"sleep {name}") and time.monotonic() < deadline:
            time.sleep(0.1)
        left = host_pids(f"sleep {name}")
        for pid in left:  # never leave it behind, even when the test fails
            os.kill(pid, signal.SIGKILL)
        assert not left, "a daemon outlived the command that started it"
        self.assert_usable(sbx)

    def test_kill_all_reaches_only_the_sandbox(self, sbx):
        """L6: kill(-1, SIGKILL). First counted without harm: a test must see nothing it could
        signal outside its own command; only then is the real signal sent."""
        self.require_containment(sbx)
        outsider = subprocess.Popen(["sleep", "1000"])
        try:
            count = (
                "import os\n"
                "mine = {os.getpid(), os.getppid()}\n"
                "seen = [p for p in map(int, filter(str.isdigit, os.listdir('/proc'))) if p not in mine]\n"
                "print(len(seen))\n"
            )
            visible = sbx.run(["python3", "-c", count], timeout=30)
            assert visible.returncode == 0, visible.stderr
            assert int(visible.stdout) <= 8, f"the sandbox sees {visible.stdout.strip()} processes: not isolated"
            r = sbx.run(["python3", "-c", "import os, signal; os.kill(-1, signal.SIGKILL)"], timeout=30)
            assert not r.timed_out
            assert outsider.poll() is None, "kill(-1) from a sandbox killed a host process"
        finally:
            outsider.kill()
            outsider.wait()
        self.assert_usable(sbx)

    def test_host_loopback_services_are_unreachable(self, sbx):
        """A service listening on the host's 127.0.0.1."""
        self.require_containment(sbx)
        with socket.socket() as server:
            server.bind(("127.0.0.1", 0))
            server.listen(1)
            port = server.getsockname()[1]
            probe = (
                "import socket\n"
                "try:\n"
                f"    socket.create_connection(('127.0.0.1', {port}), timeout=3); print('CONNECTED')\n"
                "except OSError as exc:\n"
                "    print('refused', exc)\n"
            )
            r = sbx.run(["python3", "-c", probe], timeout=30)
        assert "CONNECTED" not in r.stdout and "refused" in r.stdout, (r.stdout, r.stderr)

    def test_total_disk_use_is_capped(self, sbx):
        """Many files, each under the per-file limit, together over the sandbox's disk cap."""
        self.require_disk_cap(sbx)
        cap = sbx.limits.max_disk_mb
        files = cap // 8 + 4  # 8 MiB each: the total passes the cap by 32 MiB
        fill = f"mkdir fill && for i in $(seq 1 {files}); do head -c 8388608 /dev/zero > fill/f$i || exit 7; done"
        r = sbx.run(["sh", "-c", fill], timeout=120)
        used = sbx.run(["du", "-sm", "fill"]).stdout.split()[0]
        sbx.run(["rm", "-rf", "fill"])
        assert r.returncode == 7, (r.returncode, r.stderr[-300:])
        assert int(used) <= cap, used
        self.assert_usable(sbx)

    # -- helpers -----------------------------------------------------------------
    def require_containment(self, sbx, strict: bool = False):
        """Hook: skip hostile tests where the backend says it does not contain them. `strict`
        attacks (they could hit this test runner or the host) also need the backend to say
        that it does (an older backend that says nothing is attacked only when not strict)."""
        confined = getattr(sbx, "confined", None)
        if confined is False or (strict and confined is not True):
            reason = getattr(sbx, "confinement", "no confinement") or "no confinement"
            if os.environ.get("CI"):
                pytest.fail(f"CI must run hostile tests confined: {reason} (run scripts/setup-dev.sh)", pytrace=False)
            pytest.skip(f"not confined here: {reason}")

    def require_disk_cap(self, sbx):
        """Hook: a backend that cannot cap disk use here skips the disk fill."""

    def require_process_cap(self, sbx):
        """Hook: a backend that cannot cap processes here skips the fork bomb."""

    @staticmethod
    def assert_usable(sbx):
        start = time.monotonic()
        r = sbx.run(["echo", "still-alive"], timeout=30)
        assert r.stdout == "still-alive\n" and r.returncode == 0, r
        assert time.monotonic() - start < 10
