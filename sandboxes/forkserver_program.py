"""The fork server that runs *inside* a sandbox (stdlib only; shipped there as a file).

It imports pytest, its plugins and some third-party modules once, then answers JSON-line
requests: for each one it forks a fresh child that runs pytest (or a code string) and dies.
The parent never imports the user's code, so every child sees the code as a cold run would.

Protocol: one JSON object per line. The protocol fds are private duplicates of stdin/stdout;
fd 1 is pointed at stderr right away and children get their own output pipe, so nothing the
user's code (or an imported module) prints can corrupt a protocol line.

    -> {"id": 1, "op": "pytest", "args": [...], "files": {rel: text}, "timeout": 5.0}
    <- {"id": 1, "returncode": 0, "timed_out": false, "duration": 0.1, "junit": "<xml>",
        "output_tail": "...", "error": null}
    -> {"id": 2, "op": "python", "code": "...", "timeout": 1.0}
    <- {"id": 2, "ok": true, "error": null, "stdout": "...", "timed_out": false, ...}
"""
from __future__ import annotations

import gc
import importlib
import io
import json
import os
import select
import shutil
import signal
import sys
import tempfile
import time

PROTOCOL = 1
OUTPUT_CAP = 64 * 1024  # bytes of child output kept (head for python, tail for pytest)
ERROR_CAP = 4000  # a result message must fit a pipe buffer so the child never blocks on it


# Folders that never hold the project's own importable code (virtualenvs, build output, VCS).
SKIP_DIRS = {"node_modules", "build", "dist", "__pycache__", "venv", "env", "site-packages"}


def walk_py(root: str):
    """Every .py file of a source tree, skipping hidden folders, virtualenvs and build output."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.startswith(".")]
        for name in files:
            if name.endswith(".py"):
                yield os.path.join(folder, name)


def local_module_names(root: str) -> set[str]:
    """Names the tree itself can provide at import time: every .py stem and every folder
    holding Python code (pytest may put any test folder on sys.path)."""
    names = set()
    for path in walk_py(root):
        rel = os.path.relpath(path, root)
        parts = rel.split(os.sep)
        names.add(parts[-1][:-3])
        names.update(parts[:-1])
    return names


def _under(path: str | None, root: str) -> bool:
    if not path:
        return False
    try:
        return os.path.realpath(path).startswith(root + os.sep)
    except (TypeError, ValueError):
        return False


def _plugin_packages() -> list[str]:
    """Public top-level modules of the distributions that ship pytest plugins (e.g. hypothesis,
    which its plugin imports at every session end)."""
    try:
        import importlib.metadata as md

        from _pytest.config import _iter_rewritable_modules

        files = [str(f) for d in md.distributions() if any(ep.group == "pytest11" for ep in d.entry_points)
                 for f in d.files or []]
        return [n for n in _iter_rewritable_modules(files) if not n.startswith("_")]
    except Exception:
        return []


def _warm_config(tmp: str):
    """Build (and later tear down) a throwaway pytest config, as a cold run would at start-up.

    While it is alive, pytest's assertion-rewriting import hook is installed and plugins are
    loaded through it, exactly as in a cold run; so preloaded plugin modules count as
    rewritten and children see no "already imported" warnings (which `-W error` would turn
    into failures). Returns the config, or None where this pytest does not allow it.
    """
    from _pytest.config import _prepareconfig

    empty = os.path.join(tmp, "warmup")
    os.makedirs(empty, exist_ok=True)
    ini = os.path.join(empty, "pytest.ini")
    with open(ini, "w") as fh:
        fh.write("[pytest]\n")
    here = os.getcwd()
    os.chdir(empty)
    try:
        return _prepareconfig([empty, "-c", ini, "--rootdir", empty, "-p", "no:cacheprovider"])
    except BaseException:
        return None
    finally:
        os.chdir(here)


WARMUP_TESTS = """
import pytest


def test_pass():
    assert [1, 2] == [1, 2]


def test_fail():
    assert {"a": 1, "b": [1, 2]} == {"a": 2, "b": [1, 3]}


@pytest.mark.skip(reason="warm-up")
def test_skip():
    pass


@pytest.fixture
def broken():
    raise RuntimeError("warm-up")


def test_error(broken):
    pass
"""


def _warm_session(tmp: str) -> None:
    """Run one throwaway pytest session (pass, fail, skip, error, JUnit XML) in the server.

    A session imports modules lazily (pdb for --pdb support, plugins' helpers, the failure
    formatting and XML code) and fills pure caches; doing that once here spares every child.
    Children still build their own config and session, so their results are a cold run's.
    """
    import pytest

    folder = os.path.join(tmp, "warm-session")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "pytest.ini"), "w") as fh:
        fh.write("[pytest]\n")
    with open(os.path.join(folder, "test_patchwarden_warmup.py"), "w") as fh:
        fh.write(WARMUP_TESTS)
    here, path, modules = os.getcwd(), list(sys.path), set(sys.modules)
    os.chdir(folder)
    try:
        pytest.main([folder, "-c", os.path.join(folder, "pytest.ini"), "--rootdir", folder, "-p", "no:cacheprovider",
                     "-q", "-o", "junit_family=xunit1", "--junitxml", os.path.join(folder, "warmup.xml")])
    finally:
        os.chdir(here)
        sys.path[:] = path
        for name in set(sys.modules) - modules:
            if _under(getattr(sys.modules.get(name), "__file__", None), os.path.realpath(folder)):
                sys.modules.pop(name, None)
        for name in ("last_type", "last_value", "last_traceback", "last_exc"):
            if hasattr(sys, name):
                delattr(sys, name)
        shutil.rmtree(folder, ignore_errors=True)


def _freeze_metadata() -> None:
    """Read installed-distribution metadata once, here, instead of in every child.

    pytest and pluggy scan every distribution's entry points (twice) at each start-up; the
    children inherit these in-memory copies. Installed packages do not change while a
    server lives (a repair run), so the answers are the same as a cold run's.
    """
    import importlib.metadata as md

    class FrozenDistribution(md.Distribution):
        def __init__(self, dist):
            self._dist, self._texts = dist, {}

        def read_text(self, filename):
            if filename not in self._texts:
                self._texts[filename] = self._dist.read_text(filename)
            return self._texts[filename]

        def locate_file(self, path):
            return self._dist.locate_file(path)

        @property
        def entry_points(self):
            if "eps" not in self._texts:
                self._texts["eps"] = super().entry_points
            return self._texts["eps"]

        @property
        def files(self):
            if "files" not in self._texts:
                self._texts["files"] = super().files
            found = self._texts["files"]
            return None if found is None else list(found)

        @property
        def _normalized_name(self):
            return getattr(self._dist, "_normalized_name", None) or super()._normalized_name

    frozen = [FrozenDistribution(d) for d in md.distributions()]
    for dist in frozen:
        dist.read_text("entry_points.txt")
        if any(ep.group == "pytest11" for ep in dist.entry_points):
            dist.files  # noqa: B018  (caches RECORD for pytest's rewrite marking)
            dist.metadata  # noqa: B018
    original = md.distributions

    def distributions(**kwargs):
        return iter(frozen) if not kwargs else original(**kwargs)

    md.distributions = distributions


def _memoize_pluggy_varnames() -> None:
    """pluggy reads every hook function's signature at each registration; a function's
    signature never changes, so the children reuse what the warm-up read."""
    import inspect

    from pluggy import _hooks

    original = _hooks.varnames
    cache: dict = {}

    def varnames(func):
        key = (func.__func__, True) if inspect.ismethod(func) else (func, False)
        try:
            return cache[key]
        except KeyError:
            found = cache[key] = original(func)
            return found
        except TypeError:  # unhashable callable
            return original(func)

    _hooks.varnames = varnames


def _cache_rewrites(folder: str) -> None:
    """Keep pytest's assertion-rewritten code of test modules (and conftests) across children.

    Every child would parse and rewrite the same unchanged test files again. The cache is keyed
    by the file's path and its exact bytes (plus what else the rewrite reads), so a patched file
    is never served the code of other contents; files whose rewrite warns are never cached (a
    cold run would warn again each time).
    """
    import hashlib
    import marshal
    import warnings

    from _pytest.assertion import rewrite

    original = rewrite._rewrite_test
    os.makedirs(folder, exist_ok=True)
    import _pytest

    salt = f"{sys.version}|{getattr(_pytest, '__version__', '?')}|"

    def cached_rewrite_test(fn, config):
        __tracebackhide__ = True  # a collection error's traceback reads as a cold run's
        try:
            source = fn.read_bytes()
            hook = bool(config.getini("enable_assertion_pass_hook")) if config is not None else False
        except Exception:
            return original(fn, config)
        digest = hashlib.sha256(f"{salt}{fn}|{hook}|".encode() + source).hexdigest()
        path = os.path.join(folder, digest + ".code")
        try:
            with open(path, "rb") as fh:
                return os.stat(fn), marshal.loads(fh.read())
        except (OSError, ValueError, EOFError, TypeError):
            pass
        stat, co = original(fn, config)  # warns (or errs) as in a cold run
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                _, quiet = original(fn, config)
            if not caught and fn.read_bytes() == source:
                part = f"{path}.{os.getpid()}.part"
                with open(part, "wb") as fh:
                    fh.write(marshal.dumps(quiet))
                os.replace(part, path)
        except Exception:  # a cache that cannot be written only costs speed
            pass
        return stat, co

    rewrite._rewrite_test = cached_rewrite_test


def _warm_caches() -> None:
    """Fill pure caches every child would otherwise fill again: inspect's module-by-file maps
    (walked to show a failure's source), regexes of the JUnit writer and of test-file globs."""
    import fnmatch
    import inspect

    inspect.getmodule(compile("0", os.path.join(os.sep, "patchwarden-warmup.py"), "eval"))
    try:
        from _pytest.junitxml import bin_xml_escape, mangle_test_address

        bin_xml_escape("warm-up")
        mangle_test_address("a.py::b")
    except Exception:
        pass
    for pattern in ("test_*.py", "*_test.py", "*.py", "conftest.py"):
        fnmatch.fnmatch("warm_up.py", pattern)


def preload(names: list[str], workdir: str, tmp: str, with_pytest: bool = True) -> tuple[list[str], dict[str, str]]:
    """Import pytest, its internals and plugins, and the given modules; never the user's code."""
    loaded: list[str] = []
    failed: dict[str, str] = {}
    config = None
    if with_pytest:
        import pkgutil

        import _pytest
        import pytest  # noqa: F401  (a missing pytest is reported by the caller)

        loaded.append("pytest")
        for info in pkgutil.walk_packages(_pytest.__path__, "_pytest."):
            try:
                importlib.import_module(info.name)
            except BaseException:  # optional internals (e.g. needing a missing extra)
                pass
        for speedup in (_freeze_metadata, _memoize_pluggy_varnames):
            try:
                speedup()
            except Exception:  # an odd installation or pluggy: children just do the work themselves
                pass
        config = _warm_config(tmp)
    local = local_module_names(workdir)
    mine = os.path.realpath(os.path.dirname(os.path.abspath(__file__)))
    try:
        wanted = (_plugin_packages() if config is not None else []) + list(names)
        for name in dict.fromkeys(wanted):
            top = name.split(".")[0]
            if top in local:
                failed[name] = "shadowed by a module of the work dir"
                continue
            before = set(sys.modules)
            try:
                importlib.import_module(name)
            except BaseException as exc:  # SystemExit and friends from odd modules, too
                failed[name] = f"{type(exc).__name__}: {exc}"[:300]
                for new in set(sys.modules) - before:
                    sys.modules.pop(new, None)
                continue
            # A module that dragged in the user's code would make children see stale code.
            new = [sys.modules[n] for n in set(sys.modules) - before if n in sys.modules]
            if any(_under(getattr(m, "__file__", None), workdir) and not _under(getattr(m, "__file__", None), mine)
                   for m in new):
                failed[name] = "imports code from the work dir"
                for new in set(sys.modules) - before:
                    sys.modules.pop(new, None)
                continue
            loaded.append(name)
    finally:
        if config is not None:
            config._ensure_unconfigure()  # removes the import hook, stops capturing
    # Never leave an import hook of the warm-up config behind in the parent.
    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "AssertionRewritingHook"]
    if config is not None:
        try:
            _warm_session(tmp)
        except BaseException:  # a plugin that objects: children just do the work themselves
            pass
        sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "AssertionRewritingHook"]
        try:
            _cache_rewrites(os.path.join(tmp, "rewritten"))
        except Exception:  # another pytest layout: children rewrite as usual
            pass
    _warm_caches()
    return loaded, failed


class Capture:
    """Keep the first and the last OUTPUT_CAP bytes of a stream."""

    def __init__(self, cap: int = OUTPUT_CAP):
        self.cap, self.head, self.tail, self.total = cap, bytearray(), bytearray(), 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        if len(self.head) < self.cap:
            room = self.cap - len(self.head)
            self.head += data[:room]
        self.tail += data
        if len(self.tail) > 2 * self.cap:
            del self.tail[: len(self.tail) - self.cap]

    def text_head(self) -> str:
        text = bytes(self.head).decode("utf-8", "replace")
        if self.total > len(self.head):
            text += f"\n[... output truncated: {self.total} bytes in all ...]\n"
        return text

    def text_tail(self) -> str:
        data = bytes(self.tail[-self.cap :])
        prefix = f"[... {self.total - len(data)} bytes cut ...]\n" if self.total > len(data) else ""
        return prefix + data.decode("utf-8", "replace")


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            data = os.read(fd, 65536)
        except (BlockingIOError, OSError):
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


class Server:
    def __init__(self, proto_in: int, proto_out: int, workdir: str):
        self.proto_in, self.proto_out, self.workdir = proto_in, proto_out, workdir
        try:
            self.tmp = tempfile.mkdtemp(prefix="pw-fork-")
        except OSError:
            self.tmp = os.path.join(workdir, ".patchwarden", "tmp")
            os.makedirs(self.tmp, exist_ok=True)
        self.script_dir = os.path.realpath(os.path.dirname(os.path.abspath(__file__)))
        # sys.path of a cold interpreter, less the entry for this script's folder.
        self.base_path = [p for p in sys.path if os.path.realpath(p or ".") != self.script_dir]

    # -- protocol --------------------------------------------------------------
    def send(self, obj: dict) -> None:
        data = (json.dumps(obj) + "\n").encode()
        while data:
            n = os.write(self.proto_out, data)
            data = data[n:]

    def serve(self) -> None:
        stream = os.fdopen(self.proto_in, "rb", buffering=0)
        buf = b""
        while True:
            chunk = stream.read(1 << 20)
            if not chunk:
                break  # the client is gone: the sandbox or its owner closed our stdin
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.strip():
                    self.handle(line)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def handle(self, line: bytes) -> None:
        try:
            req = json.loads(line)
        except ValueError as exc:
            self.send({"id": None, "error": f"bad request: {exc}"})
            return
        rid, op = req.get("id"), req.get("op")
        try:
            if op == "pytest":
                res = self.run_pytest(req)
            elif op == "python":
                res = self.run_python(req)
            elif op == "ping":
                res = {"pong": True}
            else:
                res = {"error": f"unknown op {op!r}"}
        except Exception as exc:  # keep serving: one bad request must not kill the server
            res = {"error": f"server error: {type(exc).__name__}: {exc}"}
        res["id"] = rid
        self.send(res)

    # -- files -------------------------------------------------------------------
    def _path(self, rel: str) -> str:
        path = os.path.realpath(os.path.join(self.workdir, rel))
        if not path.startswith(self.workdir + os.sep):
            raise ValueError(f"path {rel!r} leaves the work dir")
        return path

    def write_files(self, files: dict[str, str]) -> dict[str, bytes | None]:
        saved: dict[str, bytes | None] = {}
        try:
            for rel, text in files.items():
                path = self._path(rel)
                try:
                    with open(path, "rb") as fh:
                        saved[path] = fh.read()
                except FileNotFoundError:
                    saved[path] = None
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as fh:
                    fh.write(text.encode(_declared_encoding(text)))  # a PEP 263 cookie wins over UTF-8
                _drop_pyc(path)
        except BaseException:
            self.restore(saved)
            raise
        return saved

    def restore(self, saved: dict[str, bytes | None]) -> None:
        for path, data in saved.items():
            if data is None:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
            else:
                with open(path, "wb") as fh:
                    fh.write(data)
            _drop_pyc(path)

    # -- children ----------------------------------------------------------------
    def fork_child(self, target, timeout: float) -> dict:
        """Fork; the child runs target(result_fd) in its own session and exits.

        Returns the child's exit status, its captured output and what it wrote to the
        result pipe. A child past its timeout is killed with its whole process group.
        """
        out_r, out_w = os.pipe()
        res_r, res_w = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:  # child
            code = 70
            try:
                os.setsid()
                os.close(out_r)
                os.close(res_r)
                os.close(self.proto_in)
                os.close(self.proto_out)
                null = os.open(os.devnull, os.O_RDONLY)
                os.dup2(null, 0)
                os.dup2(out_w, 1)
                os.dup2(out_w, 2)
                os.close(null)
                os.close(out_w)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                code = target(res_w)
            except BaseException:
                code = 70
            finally:
                try:
                    sys.stdout.flush()
                    sys.stderr.flush()
                except BaseException:
                    pass
                os._exit(code if isinstance(code, int) and 0 <= code < 256 else 1)
        os.close(out_w)
        os.close(res_w)
        cap = Capture()
        status, timed_out, cpu = self._wait(pid, out_r, cap, start + timeout)
        # Whatever the child left in its group (background processes) dies with it.
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if status is None:
            _, status, usage = os.wait4(pid, 0)
            cpu = usage.ru_utime + usage.ru_stime
        self._drain(out_r, cap, time.monotonic() + 1.0)
        os.close(out_r)
        os.set_blocking(res_r, False)
        result = _read_all(res_r)
        os.close(res_r)
        if os.WIFEXITED(status):
            rc = os.WEXITSTATUS(status)
        else:
            rc = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else -1
        return {"returncode": rc, "timed_out": timed_out, "duration": time.monotonic() - start,
                "cpu": cpu, "capture": cap, "result": result}

    def _wait(self, pid: int, out_r: int, cap: Capture, deadline: float):
        """Drain output until the child exits or the deadline passes; (status, timed_out, cpu s)."""
        pidfd = None
        if hasattr(os, "pidfd_open"):
            try:
                pidfd = os.pidfd_open(pid)
            except OSError:
                pidfd = None
        fds = [out_r] + ([pidfd] if pidfd is not None else [])
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None, True, 0.0
                ready, _, _ = select.select(fds, [], [], remaining if pidfd is not None else min(remaining, 0.005))
                if out_r in ready:
                    data = os.read(out_r, 65536)
                    if data:
                        cap.add(data)
                    else:
                        fds.remove(out_r)
                if pidfd is None or pidfd in ready:
                    done, status, usage = os.wait4(pid, os.WNOHANG)
                    if done:
                        return status, False, usage.ru_utime + usage.ru_stime
        finally:
            if pidfd is not None:
                os.close(pidfd)

    @staticmethod
    def _drain(fd: int, cap: Capture, deadline: float) -> None:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                return
            data = os.read(fd, 65536)
            if not data:
                return
            cap.add(data)

    def _child_path(self, cwd_on_path: bool) -> None:
        """sys.path as a cold run sees it: no server dir; the work dir first for `python -m`."""
        sys.path[:] = ([self.workdir] if cwd_on_path else []) + self.base_path

    # -- requests ------------------------------------------------------------------
    def run_pytest(self, req: dict) -> dict:
        args = [str(a) for a in req.get("args", [])]
        xml = os.path.join(self.tmp, f"junit-{req.get('id')}-{time.monotonic_ns()}.xml")
        full = args + ["-p", "no:cacheprovider", "-o", "junit_family=xunit1", "--junitxml", xml, "-q"]
        cwd_on_path = bool(req.get("cwd_on_path", True))

        def child(_res_fd: int) -> int:
            import pytest

            self._child_path(cwd_on_path)
            sys.argv = ["pytest"] + full
            importlib.invalidate_caches()
            return int(pytest.main(full))

        saved = self.write_files(req.get("files") or {})
        try:
            out = self.fork_child(child, float(req.get("timeout", 60.0)))
        finally:
            self.restore(saved)
        junit = None
        if os.path.exists(xml):
            with open(xml, "rb") as fh:
                junit = fh.read().decode("utf-8", "replace")
            os.unlink(xml)
        return {"returncode": out["returncode"], "timed_out": out["timed_out"], "duration": out["duration"],
                "cpu": out["cpu"], "junit": junit, "output_tail": out["capture"].text_tail(), "error": None}

    def run_python(self, req: dict) -> dict:
        code = str(req.get("code", ""))

        def child(res_fd: int) -> int:
            self._child_path(True)
            sys.argv = ["-c"]
            error = None
            try:
                exec(compile(code, "<code>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
            except SystemExit as exc:
                # Exiting early is not finishing: an assert after it never ran.
                error = f"SystemExit: {exc.code!r}"
            except BaseException as exc:
                error = f"{type(exc).__name__}: {exc}"
            msg = json.dumps({"ok": error is None, "error": error and error[:ERROR_CAP]}).encode()
            os.write(res_fd, msg)
            return 0

        out = self.fork_child(child, float(req.get("timeout", 10.0)))
        ok, error = False, None
        try:
            reported = json.loads(out["result"]) if out["result"] else None
        except ValueError:
            reported = None
        if out["timed_out"]:
            error = f"timed out after {float(req.get('timeout', 10.0)):g} s"
        elif reported is None:
            error = f"exited before finishing (exit status {out['returncode']})"
        else:
            ok, error = bool(reported["ok"]), reported["error"]
        return {"ok": ok, "error": error, "stdout": out["capture"].text_head(), "timed_out": out["timed_out"],
                "duration": out["duration"], "returncode": out["returncode"], "cpu": out["cpu"]}


def _declared_encoding(text: str) -> str:
    import tokenize

    try:
        return tokenize.detect_encoding(io.BytesIO(text[:1024].encode("utf-8", "replace")).readline)[0].replace("-sig", "")
    except SyntaxError:
        return "utf-8"


def _drop_pyc(path: str) -> None:
    """Remove cached bytecode of a rewritten source: an equal size and mtime would be trusted."""
    folder, name = os.path.split(path)
    stem = name[:-3] if name.endswith(".py") else None
    cache = os.path.join(folder, "__pycache__")
    if stem is None or not os.path.isdir(cache):
        return
    for entry in os.listdir(cache):
        if entry.startswith(stem + ".") and entry.endswith(".pyc"):
            try:
                os.unlink(os.path.join(cache, entry))
            except OSError:
                pass


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="patchwarden fork server (speaks JSON lines on stdin/stdout)")
    parser.add_argument("--preload", default="", help="comma-separated modules to import once")
    parser.add_argument("--no-pytest", action="store_true", help="do not preload pytest (code runs only)")
    parser.add_argument("--cwd", default=None, help="directory to serve from (default: the current one)")
    parser.add_argument("--bytecode-cache", default=None,
                        help="folder for bytecode of the preloaded (third-party) modules, reused across servers")
    opts = parser.parse_args(argv)
    # Take the protocol fds private, then point fd 1 at stderr: from here on, prints from
    # preloaded modules or children can never land in the protocol stream.
    proto_in, proto_out = os.dup(0), os.dup(1)
    os.dup2(2, 1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    if opts.cwd:
        os.chdir(opts.cwd)
    workdir = os.path.realpath(os.getcwd())
    sys.dont_write_bytecode = True  # cached bytecode of a patched file could outlive the patch
    server = Server(proto_in, proto_out, workdir)
    names = [n.strip() for n in opts.preload.split(",") if n.strip()]
    # While preloading, nothing of the work dir may be importable.
    sys.path[:] = [p for p in server.base_path if os.path.realpath(p or ".") != workdir]
    if opts.bytecode_cache:
        # Only the preloads (never the user's code) compile while this is set; pytest keeps
        # its assertion-rewritten plugin modules there too, so the next server starts fast.
        sys.pycache_prefix, sys.dont_write_bytecode = opts.bytecode_cache, False
    try:
        loaded, failed = preload(names, workdir, server.tmp, not opts.no_pytest)
    except BaseException as exc:
        server.send({"ready": False, "protocol": PROTOCOL, "error": f"cannot import pytest: {type(exc).__name__}: {exc}"})
        return 3
    finally:
        sys.pycache_prefix, sys.dont_write_bytecode = None, True
    gc.collect()
    gc.freeze()  # children share these pages instead of copying them when the GC walks them
    server.send({"ready": True, "protocol": PROTOCOL, "pid": os.getpid(), "python": sys.version.split()[0],
                 "workdir": workdir, "preloaded": loaded, "failed": failed})
    server.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
