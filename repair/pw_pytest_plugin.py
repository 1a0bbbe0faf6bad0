"""A pytest plugin (stdlib + coverage only) loaded inside the sandbox for the baseline run.

It records which lines each test executes (a coverage context per test node id) and
writes them as portable JSON: {"files": {relpath: {line: [nodeid, ...]}}}. JSON instead
of coverage's own database, so the coverage version inside the sandbox does not matter.
Enabled by PW_COVERAGE_OUT=<path>; without it the plugin does nothing.

PW_TEST_TIMEOUT=<seconds> also gives each test a deadline: a test stuck in an infinite loop
fails with a TimeoutError raised *inside* the looping code, so the baseline run finishes and
its traceback points at the loop.
"""
import json
import os
import signal
import traceback

import pytest

_cov = None
_root = None


def pytest_configure(config):
    global _cov, _root
    out = os.environ.get("PW_COVERAGE_OUT")
    if not out or _cov is not None:
        return
    try:
        import coverage
    except ImportError:
        return
    _root = os.getcwd()
    _cov = coverage.Coverage(data_file=None, source=[_root], config_file=False)
    _cov.start()


def pytest_runtest_setup(item):
    if _cov is not None:
        _cov.switch_context(item.nodeid)


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
    global _cov
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
    tmp = os.environ["PW_COVERAGE_OUT"] + ".tmp"
    with open(tmp, "w") as fh:
        json.dump({"files": files}, fh)
    os.replace(tmp, os.environ["PW_COVERAGE_OUT"])
