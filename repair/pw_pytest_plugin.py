"""A pytest plugin (stdlib + coverage only) loaded inside the sandbox for the baseline run.

It records which lines each test executes (a coverage context per test node id) and
writes them as portable JSON: {"files": {relpath: {line: [nodeid, ...]}}, "tracer": name}.
JSON instead of coverage's own database, so the coverage version inside the sandbox does not
matter. When the test interpreter cannot import coverage.py (a user's virtualenv without it),
a stdlib tracer gives the same data: sys.monitoring on Python 3.12+, sys.settrace before.
Enabled by PW_COVERAGE_OUT=<path>; without it the plugin does nothing.

PW_TEST_TIMEOUT=<seconds> also gives each test a deadline: a test stuck in an infinite loop
fails with a TimeoutError raised *inside* the looping code, so the baseline run finishes and
its traceback points at the loop.
"""
import json
import os
import signal
import sys
import threading
import traceback

import pytest

_cov = None
_tracer = None
_root = None
_why = ""  # why coverage.py was not used


class LineTracer:
    """Lines executed per test, with the stdlib only: what coverage.py's contexts give."""

    def __init__(self, root: str):
        self.root = os.path.join(root, "")
        self.current = None  # node id of the running test
        self.lines = {}  # absolute path -> {line: set of node ids}
        self._wanted = {}
        self._tool = None
        self.name = "sys.monitoring" if hasattr(sys, "monitoring") else "sys.settrace"

    def wanted(self, filename: str) -> bool:
        w = self._wanted.get(filename)
        if w is None:
            w = self._wanted[filename] = (filename.startswith(self.root) and filename.endswith(".py")
                                          and os.sep + ".patchwarden" + os.sep not in filename)
        return w

    def _record(self, filename: str, line: int) -> None:
        self.lines.setdefault(filename, {}).setdefault(line, set()).add(self.current)

    def start(self) -> None:
        if self.name == "sys.monitoring":
            mon = sys.monitoring
            for tool in (mon.COVERAGE_ID, mon.PROFILER_ID, 5):
                try:
                    mon.use_tool_id(tool, "patchwarden")
                except ValueError:  # in use
                    continue
                self._tool = tool
                break
            else:
                raise RuntimeError("no free sys.monitoring tool id")
            mon.register_callback(self._tool, mon.events.LINE, self._on_line)
            mon.set_events(self._tool, mon.events.LINE)
        else:
            threading.settrace(self._on_call)
            sys.settrace(self._on_call)

    def switch(self, nodeid) -> None:
        self.current = nodeid
        if self._tool is not None:
            sys.monitoring.restart_events()  # re-arm the lines disabled during the previous test

    def _on_line(self, code, line):
        if self.current is not None and self.wanted(code.co_filename):
            self._record(code.co_filename, line)
        return sys.monitoring.DISABLE  # once per test and line is enough

    def _on_call(self, frame, event, arg):
        return self._on_local if self.wanted(frame.f_code.co_filename) else None

    def _on_local(self, frame, event, arg):
        if event == "line" and self.current is not None:
            self._record(frame.f_code.co_filename, frame.f_lineno)
        return self._on_local

    def stop(self) -> None:
        if self._tool is not None:
            sys.monitoring.set_events(self._tool, 0)
            sys.monitoring.register_callback(self._tool, sys.monitoring.events.LINE, None)
            sys.monitoring.free_tool_id(self._tool)
            self._tool = None
        else:
            sys.settrace(None)
            threading.settrace(None)


def self_test() -> str:
    """For `sandbox doctor`: the stdlib tracer records the lines of a small function."""
    import tempfile

    with tempfile.TemporaryDirectory() as root:
        path = os.path.join(root, "probe.py")
        with open(path, "w") as fh:
            fh.write("def f(x):\n    y = x + 1\n    return y\n")
        tracer = LineTracer(root)
        namespace = {}
        exec(compile(open(path).read(), path, "exec"), namespace)
        tracer.start()
        try:
            tracer.switch("probe")
            namespace["f"](1)
        finally:
            tracer.stop()
        got = sorted(tracer.lines.get(path, {}))
    if got != [2, 3]:
        raise RuntimeError(f"{tracer.name} recorded lines {got} of a 3-line function, expected [2, 3]")
    return tracer.name


def pytest_configure(config):
    global _cov, _tracer, _root, _why
    out = os.environ.get("PW_COVERAGE_OUT")
    if not out or _cov is not None or _tracer is not None:
        return
    _root = os.getcwd()
    try:
        if os.environ.get("PW_TRACER") == "stdlib":
            raise ImportError("PW_TRACER=stdlib")
        import coverage
    except ImportError as exc:
        _why = f"coverage.py is not importable by {sys.executable} ({exc})"
        _tracer = LineTracer(_root)
        _tracer.start()
        return
    _cov = coverage.Coverage(data_file=None, source=[_root], config_file=False)
    _cov.start()


def pytest_runtest_setup(item):
    if _cov is not None:
        _cov.switch_context(item.nodeid)
    elif _tracer is not None:
        _tracer.switch(item.nodeid)


def _on_alarm(signum, frame):
    raise TimeoutError(f"test exceeded the per-test timeout of {os.environ.get('PW_TEST_TIMEOUT')} s")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    limit = float(os.environ.get("PW_TEST_TIMEOUT") or 0)
    if limit <= 0 or not hasattr(signal, "setitimer"):
        _free_memory_of_failed_test((yield))
        return
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        outcome = yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    _free_memory_of_failed_test(outcome)


def _free_memory_of_failed_test(outcome):
    """A test that ran out of memory (or was stopped in a loop that grows a list) still holds
    that memory in its traceback's frames; pytest would then fail writing the report (an
    INTERNALERROR and a JUnit file without the failure). Drop the frames' locals: file, line
    and code of every frame stay, so the report and its traceback are intact."""
    excinfo = getattr(outcome, "excinfo", None)
    if excinfo and issubclass(excinfo[0], (MemoryError, TimeoutError)):
        traceback.clear_frames(excinfo[2])


def pytest_unconfigure(config):
    global _cov, _tracer
    if _tracer is not None:
        tracer, _tracer = _tracer, None
        tracer.stop()
        files = {}
        for path, by_line in tracer.lines.items():
            rel = os.path.relpath(path, _root).replace(os.sep, "/")
            files[rel] = {str(line): sorted(ids) for line, ids in sorted(by_line.items())}
        _write({"files": files, "tracer": tracer.name, "why": _why})
        return
    if _cov is None:
        return
    cov, _cov = _cov, None
    cov.stop()
    data = cov.get_data()
    files = {}
    for path in data.measured_files():
        rel = os.path.relpath(path, _root)
        if rel.startswith(".."):
            continue
        by_line = data.contexts_by_lineno(path)
        kept = {str(line): [c for c in ctxs if c] for line, ctxs in by_line.items()}
        files[rel.replace(os.sep, "/")] = {k: v for k, v in kept.items() if v}
    _write({"files": files, "tracer": "coverage.py"})


def _write(data: dict) -> None:
    tmp = os.environ["PW_COVERAGE_OUT"] + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(data, fh)
    os.replace(tmp, os.environ["PW_COVERAGE_OUT"])
