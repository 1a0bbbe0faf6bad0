"""Local sandbox: bubblewrap namespaces, rlimits and a process group, over a private copy.

Containment, in layers:
- where bubblewrap works (see confine.py), every command runs in its own pid, network, ipc
  and mount namespaces over a read-only host whose secrets are masked, writing only the
  sandbox root; run by root it drops to a uid of its own; as root the sandbox root is a
  size-limited tmpfs (the total disk cap). Where bubblewrap cannot run, the sandbox says
  plainly that it runs unconfined (`confinement()`, `sandbox doctor`, the run's notes);
- every command starts its own session (process group); a timeout kills the group;
- rlimits cap address space, CPU time, file size and (for non-root users) processes;
- as root, where a `pids` cgroup controller is writable (v1, or v2 with pids enabled at
  the root), each sandbox gets its own pids cgroup: it caps the number of processes
  (RLIMIT_NPROC does not bind root) and lets `close()` kill processes that escaped the
  group with setsid;
- the environment is rebuilt from an allow-list, so API keys and tokens never leak in,
  and HOME / TMPDIR point inside the sandbox;
- a watchdog process outlives its owner: if the owner dies without closing the sandbox
  (kill -9, the OOM killer), it kills the sandbox's processes and removes its files.
"""
from __future__ import annotations

import atexit
import os
import resource
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
import weakref
from pathlib import Path

from .base import CappedBuffer, Limits, RunResult, SandboxError, check_source_dir
from .confine import bwrap_argv, hidden_paths, hidden_program_binds, chown_tree, confinement, mount_disk_cap, sandbox_uid
from .toolchains import jvm_env, maven_env, maven_repository, node_env
from .watchdog import kill_cgroup, unmount

# Variables a test run legitimately needs; everything else is dropped.
ENV_ALLOW = ("PATH", "JAVA_HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TERM", "VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONHASHSEED")
CGROUP_V1_PIDS = Path("/sys/fs/cgroup/pids")
CGROUP_V2_ROOT = Path("/sys/fs/cgroup")
WATCHDOG_SCRIPT = Path(__file__).with_name("watchdog.py")
COPY_IGNORE = shutil.ignore_patterns(".git", "__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache", ".tox", ".venv", "venv", "node_modules")


def scrubbed_env(home: str, tmp: str, extra: dict[str, str] | None = None, memory_mb: int | None = None) -> dict[str, str]:
    env = {k: os.environ[k] for k in ENV_ALLOW if k in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.update(HOME=home, TMPDIR=tmp, TMP=tmp, TEMP=tmp, PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
    env.update(maven_env(maven_repository()))  # the home that holds it is not the command's
    if memory_mb:
        env.update(jvm_env(memory_mb, home, tmp))  # JVMs reserve more address space than RLIMIT_AS allows by default
    if extra:
        env.update(extra)
    if memory_mb:
        env.update(node_env(env.get("NODE_OPTIONS", "")))  # wasm under RLIMIT_AS, as for JVMs above
    return env


_WARNED: set[str] = set()


def unconfined_note(reason: str) -> str:
    return (f"the local sandbox runs UNCONFINED here ({reason}): tests can read and write whatever "
            "this user can; install bubblewrap or use --sandbox docker")


def sandbox_notes(backend: str) -> list[str]:
    """What a run's notes must say about its sandbox: that a local one runs unconfined."""
    confined, reason = confinement()
    return [unconfined_note(reason)] if backend == "local" and not confined else []


def _warn_once(note: str) -> None:
    if note not in _WARNED:
        _WARNED.add(note)
        import sys

        print(f"patchwarden: warning: {note}", file=sys.stderr)


def _user_process_count(uid: int) -> int:
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += 1
            except OSError:
                pass
    return count


def pids_cgroup_parent(v1: Path = CGROUP_V1_PIDS, v2: Path = CGROUP_V2_ROOT) -> Path | None:
    """Where this process (as root) can create pids cgroups: the v1 `pids` hierarchy, or the
    v2 root when its pids controller is enabled for children; None otherwise."""
    if os.geteuid() != 0:
        return None
    if (v1 / "cgroup.procs").exists() and os.access(v1, os.W_OK):
        return v1
    try:
        if "pids" in (v2 / "cgroup.subtree_control").read_text().split() and os.access(v2, os.W_OK):
            return v2
    except OSError:
        pass
    return None


def _make_pids_cgroup(max_procs: int, parent: Path | None = None) -> Path | None:
    parent = parent or pids_cgroup_parent()
    if parent is None:
        return None
    path = parent / f"patchwarden-{uuid.uuid4().hex[:12]}"
    try:
        path.mkdir()
        # Leaves below (one per command) are charged to this cgroup in v1 and v2 alike.
        (path / "pids.max").write_text(str(max_procs))
        return path
    except OSError:
        try:
            path.rmdir()
        except OSError:
            pass
        return None


def _link_envs(src: Path, work: Path) -> list[str]:
    """The repository's own virtualenv (`.venv`, `venv`) and its `node_modules` folders (at any
    depth) are not copied, but a test command runs them (`.venv/bin/python -m pytest`, `npx jest`):
    link each into the copy instead, read-only in effect. Returns the folders linked to."""
    linked = []
    for name in (".venv", "venv"):
        if (src / name / "pyvenv.cfg").is_file() and not (work / name).exists():
            (work / name).symlink_to(src / name)
            linked.append(os.path.realpath(src / name))
    for dirpath, dirnames, _ in os.walk(src):
        rel = Path(dirpath).relative_to(src)
        if "node_modules" in dirnames and (work / rel).is_dir() and not (work / rel / "node_modules").exists():
            target = os.path.realpath(Path(dirpath) / "node_modules")
            if os.path.isdir(target):
                (work / rel / "node_modules").symlink_to(target)
                linked.append(target)
        dirnames[:] = [d for d in dirnames if not COPY_IGNORE(dirpath, [d]) and d != ".git"]
    return linked


class LocalSandbox:
    backend = "local"

    def __init__(self, source: Path | str | None = None, limits: Limits | None = None, copy_git: bool = False,
                 confine: bool = True):
        _register_exit_hook()
        src = check_source_dir(source)
        self.limits = limits or Limits()
        # confine=False: the plain process-group sandbox (benchmarks compare the two).
        self.confined, self.confinement = confinement() if confine else (False, "confinement turned off by the caller")
        self.notes: list[str] = []
        if not self.confined:
            self.notes.append(unconfined_note(self.confinement))
            if confine:
                _warn_once(self.notes[-1])
        self.uid = sandbox_uid() if self.confined else None
        self.root = Path(tempfile.mkdtemp(prefix="patchwarden-sbx-"))
        # Mounted before the watchdog starts, which unmounts it if the owner dies.
        self.disk_capped = mount_disk_cap(self.root, self.limits.max_disk_mb)
        if self.uid is not None:
            os.chmod(self.root, 0o755)  # the sandbox uid must reach work/, home/ and tmp/
        self._work = self.root / "work"
        self.home = self.root / "home"
        self.tmp = self.root / "tmp"
        self._cgroup = _make_pids_cgroup(self.limits.max_procs)
        # Started before anything is copied: an owner killed from here on leaves nothing behind.
        self._watchdog_lock = threading.Lock()
        self._watchdog = _start_watchdog(self._cgroup, self.root)
        self._procs: list[subprocess.Popen] = []
        self._closed = False
        self._linked: list[str] = []
        try:
            if src is not None:
                ignore = COPY_IGNORE if not copy_git else shutil.ignore_patterns("__pycache__", "*.pyc")
                shutil.copytree(src, self._work, symlinks=True, ignore=ignore)
                self._linked = _link_envs(src, self._work)
            else:
                self._work.mkdir()
            self.home.mkdir()
            self.tmp.mkdir()
            for path in (self._work, self.home, self.tmp):
                chown_tree(path, self.uid)
        except BaseException as exc:  # a failed copy (or Ctrl-C) must not leave the half copy behind
            self.close()
            if self.disk_capped and _no_space(exc):
                raise SandboxError(f"{src} does not fit the sandbox's disk cap of {self.limits.max_disk_mb} MiB: "
                                   "raise Limits.max_disk_mb or trim the repository") from exc
            raise
        self.workdir = str(self._work)
        self._nproc = None
        if self.uid is not None:  # a uid of its own: RLIMIT_NPROC counts this sandbox only
            self._nproc = self.limits.max_procs
        elif self._cgroup is None and os.geteuid() != 0:
            self._nproc = _user_process_count(os.geteuid()) + self.limits.max_procs
        self._owner_pid = os.getpid()
        _LIVE.add(self)

    # -- files ---------------------------------------------------------------
    def _inside(self, relpath: str) -> Path:
        path = (self._work / relpath).resolve()
        if not path.is_relative_to(self._work.resolve()):
            raise SandboxError(f"path {relpath!r} leaves the sandbox work dir")
        return path

    def put_files(self, files: dict[str, str | bytes]) -> None:
        for rel, content in files.items():
            path = self._inside(rel)
            missing = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
            path.parent.mkdir(parents=True, exist_ok=True)
            data = content.encode() if isinstance(content, str) else content
            path.write_bytes(data)
            if self.uid is not None:  # the sandbox's uid must be able to change what we wrote
                for made in (path, *missing):
                    os.lchown(made, self.uid, self.uid)

    def read_file(self, relpath: str) -> bytes:
        return self._inside(relpath).read_bytes()

    # -- processes -------------------------------------------------------------
    def _preexec(self, leaf: Path | None) -> None:
        lim = self.limits
        mem = lim.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_CPU, (lim.cpu_seconds, lim.cpu_seconds + 5))
        fsize = lim.max_file_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if self._nproc is not None:
            resource.setrlimit(resource.RLIMIT_NPROC, (self._nproc, self._nproc))
        if leaf is not None:
            with open(leaf / "cgroup.procs", "w") as fh:
                fh.write(str(os.getpid()))

    def _popen(self, argv: list[str], env: dict[str, str] | None, stdin) -> subprocess.Popen:
        if self._closed:
            raise SandboxError("sandbox is closed")
        _check_command(argv, self._work)
        # Each process tree gets a leaf cgroup under the sandbox's, so that killing one
        # command's leftovers (even setsid escapees) never touches a warm server beside it.
        leaf = None
        if self._cgroup is not None:
            _wait_for_pids_headroom(self._cgroup, self.limits.max_procs)
            leaf = self._cgroup / uuid.uuid4().hex[:12]
            leaf.mkdir()
        if self.confined:
            expose = hidden_program_binds(argv, self.root, self._work) + hidden_paths(self._linked, self.root)
            argv = bwrap_argv(self.root, self._work, self.limits.max_disk_mb << 20, self.uid, expose=expose) + list(argv)
        try:
            proc = subprocess.Popen(
                argv,
                cwd=self._work,
                env=scrubbed_env(str(self.home), str(self.tmp), env, self.limits.memory_mb),
                stdin=stdin,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                preexec_fn=lambda: self._preexec(leaf),
            )
        except FileNotFoundError as exc:
            raise SandboxError(f"command not found: {argv[0]!r}; check the command or install it") from exc
        proc._pw_leaf = leaf  # type: ignore[attr-defined]
        self._procs.append(proc)
        self._tell_watchdog(f"+{proc.pid}")  # its own session: pid = process group id
        return proc

    def _tell_watchdog(self, line: str) -> None:
        if self._watchdog is None:
            return
        with self._watchdog_lock:
            try:
                self._watchdog.stdin.write(line.encode() + b"\n")
                self._watchdog.stdin.flush()
            except (OSError, ValueError):  # the watchdog is gone: nothing more to tell it
                self._watchdog = None

    def popen(self, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        return self._popen(argv, env, subprocess.PIPE)

    def run(self, cmd, timeout: float = 60.0, env: dict[str, str] | None = None, stdin: str | None = None) -> RunResult:
        argv = ["/bin/sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        start = time.monotonic()
        try:
            proc = self._popen(argv, env, subprocess.PIPE if stdin is not None else subprocess.DEVNULL)
        except PermissionError:  # found but not executable: 126, as a shell (and Docker) answers
            return RunResult(126, "", f"patchwarden: cannot execute {argv[0]}: permission denied; make it executable "
                             f"(chmod +x {argv[0]}) or run it through its interpreter\n", time.monotonic() - start)
        cap = self.limits.output_cap
        out = _CappedReader(proc.stdout, cap)
        err = _CappedReader(proc.stderr, cap)
        if stdin is not None:
            threading.Thread(target=_feed, args=(proc.stdin, stdin.encode()), daemon=True).start()
        timed_out = not _wait_exit(proc, timeout)
        # Kill the whole group either way: background children must not outlive the command.
        self._kill(proc)
        proc.wait()
        self._tell_watchdog(f"-{proc.pid}")
        out.join(5)
        err.join(5)
        self._procs.remove(proc)
        stdout, out_cut = out.buffer.text()
        stderr, err_cut = err.buffer.text()
        code = 124 if timed_out else proc.returncode
        return RunResult(code, stdout, stderr, time.monotonic() - start, timed_out, out_cut, err_cut)

    def _kill(self, proc: subprocess.Popen) -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        leaf = getattr(proc, "_pw_leaf", None)
        if leaf is not None:
            kill_cgroup(leaf)
            try:
                leaf.rmdir()
            except OSError:
                pass

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for proc in list(self._procs):
            self._kill(proc)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        if self._cgroup is not None:
            kill_cgroup(self._cgroup)
            try:
                self._cgroup.rmdir()
            except OSError:
                pass
        unmount(self.root)
        shutil.rmtree(self.root, ignore_errors=True)
        self._tell_watchdog("q")
        if self._watchdog is not None:
            self._watchdog.stdin.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


_LIVE: "weakref.WeakSet[LocalSandbox]" = weakref.WeakSet()
_HOOK_INSTALLED = False


def _register_exit_hook() -> None:
    """Close sandboxes still open at interpreter exit (their processes would outlive us)."""
    global _HOOK_INSTALLED
    if not _HOOK_INSTALLED:
        _HOOK_INSTALLED = True
        atexit.register(_close_all)


def _close_all() -> None:
    for sbx in list(_LIVE):
        if sbx._owner_pid == os.getpid():  # a forked child must not close its parent's sandboxes
            try:
                sbx.close()
            except Exception:
                pass


def _start_watchdog(cgroup: Path | None, root: Path) -> subprocess.Popen | None:
    """A process that cleans up after the owner if the owner dies (see watchdog.py)."""
    import sys

    try:
        return subprocess.Popen(
            [sys.executable, "-I", "-S", str(WATCHDOG_SCRIPT), str(cgroup or ""), str(root)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={"PATH": os.defpath},  # nothing of the owner's environment (API keys) to read
            start_new_session=True,  # a Ctrl-C meant for the owner must not kill it first
        )
    except OSError:  # no watchdog: close() and the exit hook still clean up in the normal case
        return None


def _no_space(exc: BaseException) -> bool:
    import errno

    errors = exc.args[0] if isinstance(exc, shutil.Error) and exc.args else []
    nested = [e for e in errors if isinstance(e, tuple) and len(e) == 3 and "No space left" in str(e[2])]
    return getattr(exc, "errno", None) == errno.ENOSPC or bool(nested)


def _check_command(argv: list[str], cwd: Path) -> None:
    """Name a program that cannot start (bwrap would report it as its own exit 1)."""
    prog = argv[0]
    path = str(cwd / prog) if "/" in prog else shutil.which(prog, path=os.environ.get("PATH", os.defpath))
    if not path or not os.path.exists(path):
        raise SandboxError(f"command not found: {prog!r}; check the command or install it")
    if os.path.isdir(path) or not os.access(path, os.X_OK):
        raise SandboxError(f"{prog!r} is not executable: chmod +x it, or run it through its interpreter (sh {prog})")


def _wait_for_pids_headroom(cgroup: Path, limit: int, headroom: int = 16, patience: float = 5.0) -> None:
    """Killed processes count against the cgroup's pids.max (`limit`) until init reaps them
    (here, up to ~2 s after a fork bomb), so a command started right after one could not
    fork: wait for them to go."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        try:
            current = int((cgroup / "pids.current").read_text())
        except (OSError, ValueError):
            return
        if current + headroom <= limit:
            return
        time.sleep(0.05)


def _wait_exit(proc: subprocess.Popen, timeout: float | None) -> bool:
    """Wait for the process to exit; False on timeout. A pidfd wakes us the moment it exits
    (Popen.wait(timeout) polls with sleeps of up to 50 ms)."""
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        try:
            proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
        return bool(ready)
    finally:
        os.close(fd)


def _feed(pipe, data: bytes) -> None:
    try:
        pipe.write(data)
        pipe.close()
    except (BrokenPipeError, OSError):
        pass


class _CappedReader(threading.Thread):
    """Drains a pipe into a CappedBuffer."""

    def __init__(self, pipe, cap: int):
        super().__init__(daemon=True)
        self.pipe = pipe
        self.buffer = CappedBuffer(cap)
        self.start()

    def run(self) -> None:
        while True:
            chunk = self.pipe.read1(1 << 16) if hasattr(self.pipe, "read1") else self.pipe.read(1 << 16)
            if not chunk:
                break
            self.buffer.feed(chunk)
        self.pipe.close()
