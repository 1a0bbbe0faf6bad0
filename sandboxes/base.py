"""The sandbox protocol: where untrusted code runs.

A sandbox works on a private *copy* of a source directory (the original is never
written), runs commands in it with a timeout and resource limits, and returns a
`RunResult`. Backends: `local` (a process group with rlimits) and `docker`
(a network-less container).
"""
from __future__ import annotations

import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

DEFAULT_OUTPUT_CAP = 1 << 20  # 1 MiB per stream


def exit_on_signal(signum, _frame):
    """Signal handler (SIGTERM, SIGHUP): unwind normally, so `with` blocks close their sandboxes
    (containers removed, process groups killed) and atexit runs, then exit with 128+N."""
    raise SystemExit(128 + signum)


class SandboxError(Exception):
    """A sandbox could not be created or used. The message names the fix.

    environment=True: the machine is at fault (Docker engine, image, container), not the user's
    input; the CLI exits 4 for it (docs/json.md)."""

    def __init__(self, *args, environment: bool = False):
        super().__init__(*args)
        self.environment = environment


@dataclass
class Limits:
    """Resource limits applied to every command of a sandbox."""

    memory_mb: int = 2048
    cpu_seconds: int = 600
    max_procs: int = 256
    max_file_mb: int = 256
    max_disk_mb: int = 4096  # everything a sandbox writes (local: root only; docker: /work)
    output_cap: int = DEFAULT_OUTPUT_CAP
    cpus: float = 1.0  # docker only


@dataclass
class RunResult:
    returncode: int
    stdout: str
    stderr: str
    duration: float
    timed_out: bool = False
    stdout_truncated: bool = False
    stderr_truncated: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


@runtime_checkable
class Sandbox(Protocol):
    """What every backend provides."""

    backend: str
    workdir: str  # the work directory as commands inside the sandbox see it
    limits: Limits

    def put_files(self, files: dict[str, str | bytes]) -> None:
        """Write files (paths relative to the work dir) into the sandbox."""

    def read_file(self, relpath: str) -> bytes:
        """Read a file (relative to the work dir) back out of the sandbox."""

    def run(
        self,
        cmd: list[str] | str,
        timeout: float = 60.0,
        env: dict[str, str] | None = None,
        stdin: str | None = None,
    ) -> RunResult:
        """Run a command (a list, or a string run by /bin/sh) in the work dir."""

    def popen(self, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        """Start a long-lived process in the work dir with piped stdin/stdout (binary).

        Used by warm runners; the caller owns the process and must kill it.
        """

    def close(self) -> None:
        """Kill everything still running and delete the copy."""


@dataclass
class SandboxSpec:
    """How to open a sandbox; kept as data so workers can open their own."""

    backend: str = "local"  # local | docker | auto
    image: str | None = None
    limits: Limits = field(default_factory=Limits)
    mounts: "object | None" = None  # docker: a sandboxes.envmount.EnvMounts made available read-only


def cap_output(data: bytes, cap: int) -> tuple[str, bool]:
    """Decode at most `cap` bytes; say whether anything was cut."""
    truncated = len(data) > cap
    text = data[:cap].decode("utf-8", errors="replace")
    if truncated:
        text += f"\n[... output truncated at {cap} bytes ...]\n"
    return text, truncated


class CappedBuffer:
    """Keeps the first `cap` bytes of a stream and counts the rest (100 MB costs no memory)."""

    def __init__(self, cap: int):
        self.cap = cap
        self.chunks: list[bytes] = []
        self.kept = 0
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        if self.kept <= self.cap:
            self.chunks.append(chunk)
            self.kept += len(chunk)

    def text(self) -> tuple[str, bool]:
        """The kept output as text (marked when cut) and whether anything was cut."""
        text, _cut = cap_output(b"".join(self.chunks), self.cap)
        return text, self.total > self.cap


def check_source_dir(source: Path | str | None) -> Path | None:
    if source is None:
        return None
    path = Path(source)
    if not path.exists():
        raise SandboxError(f"work dir {path} does not exist: pass an existing directory with --workdir")
    if not path.is_dir():
        raise SandboxError(f"work dir {path} is not a directory: pass a directory with --workdir")
    return path.resolve()
