"""Warm runner: a fork server inside a sandbox, so a test run does not pay interpreter start-up.

    with open_sandbox("local", repo) as sbx, ForkServer(sbx, preload=third_party_imports(repo)) as fs:
        run = fs.run_pytest(["tests/test_x.py::test_a"], files={"pkg/mod.py": new_text}, timeout=5)
        run.results  # list[TestResult], from pytest's JUnit XML
        fs.run_python("assert 1 + 1 == 2", timeout=1).ok

The server (`forkserver_program.py`, stdlib only) imports pytest, its plugins and the given
third-party modules once, and forks a fresh child per request; the child imports the user's
code itself, so results equal a cold `python -m pytest` run. Works on any backend whose
`popen` gives piped stdin/stdout (local process, `docker exec -i`).
"""
from __future__ import annotations

import ast
import io
import itertools
import json
import os
import queue
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable

from .base import Sandbox, SandboxError
from .forkserver_program import local_module_names, walk_py
from .junit import parse_junit
from .safe_ast import safe_parse
from .testresults import TestResult

SERVER_DIR = ".patchwarden"
SERVER_SCRIPT = Path(__file__).with_name("forkserver_program.py")
REPLY_GRACE = 15.0  # seconds a server may take beyond a request's own timeout before it is restarted

class ForkServerError(SandboxError):
    """The fork server could not start or stopped answering."""


@dataclass
class PytestRun:
    results: list[TestResult]
    timed_out: bool
    duration: float
    returncode: int
    output_tail: str = ""
    error: str | None = None  # set when the server itself failed (the run did not happen)
    cpu: float = 0.0  # CPU seconds the child used (user + system)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ExecResult:
    ok: bool
    error: str | None
    stdout: str
    timed_out: bool
    duration: float
    returncode: int = 0
    cpu: float = 0.0  # CPU seconds the child used (user + system)

    def to_dict(self) -> dict:
        return asdict(self)


class ForkServer:
    """One warm server process inside `sandbox`; one request at a time (thread-safe)."""

    def __init__(self, sandbox: Sandbox, python: str = "python3", preload: Iterable[str] = (),
                 cwd: str | None = None, start_timeout: float = 120.0, env: dict[str, str] | None = None,
                 bytecode_cache: str | None = "auto", with_pytest: bool = True):
        self.sandbox, self.python, self.cwd, self.env = sandbox, python, cwd, env
        self.with_pytest = with_pytest  # False: a code-running server that starts in milliseconds
        if bytecode_cache == "auto":
            # A confined local sandbox cannot write the host's cache (and must not: a test could
            # poison what later servers load); with the prefix set but the cache unreadable,
            # Python would recompile every module instead of using site-packages' own pycs.
            shared = sandbox.backend == "local" and not getattr(sandbox, "confined", False)
            bytecode_cache = default_bytecode_cache() if shared else None
        self.bytecode_cache = bytecode_cache
        self.preload = [m for m in dict.fromkeys(preload) if m and "," not in m]
        self.start_timeout = start_timeout
        self.preloaded: list[str] = []
        self.failed_preloads: dict[str, str] = {}
        self.info: dict = {}
        self.starts = 0
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._proc = None
        self._lines: queue.Queue = queue.Queue()
        self._stderr: deque = deque(maxlen=200)
        self._closed = False
        sandbox.put_files({f"{SERVER_DIR}/{SERVER_SCRIPT.name}": SERVER_SCRIPT.read_bytes()})
        with self._lock:
            self._start()

    # -- process -----------------------------------------------------------------------
    def _start(self) -> None:
        argv = [self.python, "-u", f"{SERVER_DIR}/{SERVER_SCRIPT.name}", "--preload", ",".join(self.preload)]
        if self.cwd:
            argv += ["--cwd", self.cwd]
        if self.bytecode_cache:
            argv += ["--bytecode-cache", self.bytecode_cache]
        if not self.with_pytest:
            argv.append("--no-pytest")
        env = {"PYTHONDONTWRITEBYTECODE": "1", **(self.env or {})}
        self._proc = self.sandbox.popen(argv, env=env)
        self.starts += 1
        self._lines = queue.Queue()
        threading.Thread(target=_pump_lines, args=(self._proc.stdout, self._lines), daemon=True).start()
        threading.Thread(target=_pump_stderr, args=(self._proc.stderr, self._stderr), daemon=True).start()
        hello = self._read_line(self.start_timeout)
        if hello is None or not hello.get("ready"):
            why = (hello or {}).get("error") or "no answer"
            self._kill()
            raise ForkServerError(f"fork server did not start ({why}); stderr: {self.stderr_tail()[-800:]!r}. "
                                  f"Check that {self.python!r} and pytest are installed in the sandbox")
        self.info = hello
        self.preloaded = hello.get("preloaded", [])
        self.failed_preloads = hello.get("failed", {})

    def _read_line(self, timeout: float) -> dict | None:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            return None
        return line  # None at EOF

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()  # the server exits on EOF, killing its running child
        except OSError:
            pass
        try:
            proc.wait(timeout=2)
        except Exception:
            proc.kill()
            try:
                proc.wait(timeout=5)
            except Exception:
                pass

    def stderr_tail(self) -> str:
        return "".join(self._stderr)

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _request(self, req: dict, timeout: float) -> dict:
        """Send one request and wait for its answer; a dead or stuck server is restarted."""
        with self._lock:
            if self._closed:
                raise ForkServerError("fork server is closed")
            if not self.alive:
                self._kill()
                self._start()
            req["id"] = next(self._ids)
            try:
                _write_all(self._proc.stdin, (json.dumps(req) + "\n").encode())
            except (BrokenPipeError, OSError) as exc:
                self._kill()
                return {"error": f"fork server died: {exc}; stderr: {self.stderr_tail()[-500:]!r}"}
            deadline = time.monotonic() + timeout + REPLY_GRACE
            while True:
                reply = self._read_line(max(0.0, deadline - time.monotonic()))
                if reply is None:
                    # EOF or no answer in time: this server is unusable, the next request starts a new one.
                    self._kill()
                    return {"error": f"fork server stopped answering; stderr: {self.stderr_tail()[-500:]!r}"}
                if reply.get("id") == req["id"]:
                    return reply

    # -- requests ------------------------------------------------------------------------
    def run_pytest(self, args: list[str], files: dict[str, str] | None = None, timeout: float = 60.0,
                   cwd_on_path: bool = True) -> PytestRun:
        """Run pytest with `args` in a fresh child, with `files` (work-dir relative) patched in
        for this run only. `cwd_on_path`: the work dir comes first on sys.path, as with
        `python -m pytest` (False for the bare `pytest` script)."""
        reply = self._request({"op": "pytest", "args": list(args), "files": files or {}, "timeout": timeout,
                               "cwd_on_path": cwd_on_path}, timeout)
        if reply.get("error"):
            return PytestRun([], False, 0.0, -1, "", reply["error"])
        results: list[TestResult] = []
        error = None
        if reply.get("junit"):
            try:
                results = parse_junit(reply["junit"])
            except ValueError as exc:
                error = str(exc)
        return PytestRun(results, reply["timed_out"], reply["duration"], reply["returncode"],
                         reply.get("output_tail", ""), error, reply.get("cpu", 0.0))

    def run_python(self, code: str, timeout: float = 10.0) -> ExecResult:
        """Exec a code string in a fresh child. ok = ran to the end without an exception
        (sys.exit, os._exit, a crash or the timeout are not ok)."""
        reply = self._request({"op": "python", "code": code, "timeout": timeout}, timeout)
        if "ok" not in reply:
            return ExecResult(False, reply.get("error") or "fork server error", "", False, 0.0, -1)
        return ExecResult(reply["ok"], reply["error"], reply["stdout"], reply["timed_out"], reply["duration"],
                          reply.get("returncode", 0), reply.get("cpu", 0.0))

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._kill()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ForkServerPool:
    """N warm servers for parallel requests; each call borrows a free one (thread-safe).

    `sandbox_factory()` opens one sandbox per server (needed when requests patch files);
    with `sandbox=` all servers share one sandbox (fine for `run_python`). Sandboxes the
    pool opened are closed with it.
    """

    def __init__(self, n: int, sandbox_factory: Callable[[], Sandbox] | None = None, *,
                 sandbox: Sandbox | None = None, **server_kwargs):
        if (sandbox_factory is None) == (sandbox is None):
            raise ValueError("pass exactly one of sandbox_factory or sandbox")
        self._owned: list[Sandbox] = []
        self.servers: list[ForkServer] = []
        self._free: queue.Queue = queue.Queue()
        try:
            for _ in range(max(1, n)):
                sbx = sandbox
                if sbx is None:
                    sbx = sandbox_factory()
                    self._owned.append(sbx)
                server = ForkServer(sbx, **server_kwargs)
                self.servers.append(server)
                self._free.put(server)
        except BaseException:
            self.close()
            raise

    def _call(self, method: str, *args, **kwargs):
        server = self._free.get()
        try:
            return getattr(server, method)(*args, **kwargs)
        finally:
            self._free.put(server)

    def run_pytest(self, args: list[str], files: dict[str, str] | None = None, timeout: float = 60.0,
                   cwd_on_path: bool = True) -> PytestRun:
        return self._call("run_pytest", args, files, timeout, cwd_on_path)

    def run_python(self, code: str, timeout: float = 10.0) -> ExecResult:
        return self._call("run_python", code, timeout)

    def map_python(self, codes: list[str], timeout: float = 10.0) -> list[ExecResult]:
        """Run many code strings in parallel over the pool; results in input order."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=len(self.servers)) as ex:
            return list(ex.map(lambda c: self.run_python(c, timeout), codes))

    def close(self) -> None:
        for server in self.servers:
            server.close()
        for sbx in self._owned:
            sbx.close()
        self.servers, self._owned = [], []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _write_all(pipe, data: bytes) -> None:
    # Unbuffered pipes (bufsize=0, e.g. `docker exec`) may take a write in pieces.
    view = memoryview(data)
    while view:
        n = pipe.write(view)
        view = view[n if n is not None else len(view):]
    pipe.flush()


def _pump_lines(pipe, out: queue.Queue) -> None:
    """Protocol reader: one parsed JSON object per line; None at EOF."""
    if not isinstance(pipe, io.BufferedIOBase):
        pipe = io.BufferedReader(pipe, 1 << 16)  # a raw pipe's readline reads byte by byte
    try:
        for raw in iter(pipe.readline, b""):
            try:
                out.put(json.loads(raw))
            except ValueError:
                continue  # not ours (cannot happen with the fd split, but never crash on it)
    except (OSError, ValueError):
        pass
    out.put(None)


def _pump_stderr(pipe, tail: deque) -> None:
    # Drained so a chatty server never blocks on a full pipe; only a tail is kept.
    try:
        for raw in iter(lambda: pipe.read1(8192) if hasattr(pipe, "read1") else pipe.read(8192), b""):
            tail.append(raw.decode("utf-8", "replace"))
    except (OSError, ValueError):
        pass


def default_bytecode_cache() -> str:
    """Where local servers keep bytecode of preloaded third-party modules (never user code)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "patchwarden", "bytecode")


# -- preload selection --------------------------------------------------------------------
def third_party_imports(repo: Path | str, limit_files: int = 2000) -> list[str]:
    """Top-level modules the repo imports that it does not provide itself (stdlib included).

    Safe to preload in a fork server: the server additionally refuses any name the work dir
    shadows and any module that drags in code from the work dir.
    """
    repo = Path(repo)
    local = local_module_names(str(repo))
    found: dict[str, None] = {}
    for i, path in enumerate(walk_py(str(repo))):
        if i >= limit_files:
            break
        try:
            tree = safe_parse(Path(path).read_bytes())
        except (SyntaxError, ValueError, OSError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                tops = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                tops = [node.module.split(".")[0]]
            else:
                continue
            for top in tops:
                if top not in local and top != "__future__" and top.isidentifier():
                    found[top] = None
    return sorted(found)


__all__ = ["ExecResult", "ForkServer", "ForkServerError", "ForkServerPool", "PytestRun", "local_module_names",
           "third_party_imports"]
