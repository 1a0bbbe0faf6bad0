"""What both sandbox backends must do, as one test class each backend's module subclasses,
plus the Docker readiness check (fails in CI, skips elsewhere)."""
from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from sandboxes import SandboxError

SECRETS = {"OPENAI_API_KEY": "sk-test-do-not-leak-123", "HF_TOKEN": "hf_do_not_leak_456", "GITHUB_TOKEN": "ghp_do_not_leak_789"}


def require_docker(image: str | None = None) -> str:
    """The image to use when Docker is ready; otherwise fail in CI and skip locally."""
    from sandboxes import DEFAULT_IMAGE
    from sandboxes.docker_sandbox import docker_ready

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

    # -- helpers -----------------------------------------------------------------
    def require_process_cap(self, sbx):
        """Hook: a backend that cannot cap processes here skips the fork bomb."""

    @staticmethod
    def assert_usable(sbx):
        start = time.monotonic()
        r = sbx.run(["echo", "still-alive"], timeout=30)
        assert r.stdout == "still-alive\n" and r.returncode == 0, r
        assert time.monotonic() - start < 10
