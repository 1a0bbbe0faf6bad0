"""Run a program against tests, each test on its own with a timeout, through the warm runner.

    runner = TestRunner(workers=4)
    runner.run_tests(program, ["assert f(1) == 2", ...], timeout=3.0)  # -> [True, False, ...]
    runner.submit(program, tests, timeout)                             # a Future of the same list

One sandbox holds `workers` fork servers (`sandboxes.forkserver.ForkServerPool`): every test is
`program + "\\n" + test` exec'd in a freshly forked child, so it costs a fork, not an interpreter
start-up, and a hanging or crashing test costs only its own timeout. A test passes only if it
ran to its end: an exception, `sys.exit`, `os._exit` or the timeout is a failure.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from patchwarden.sandboxes import Limits, open_sandbox
from patchwarden.sandboxes.forkserver import ForkServerPool


class TestRunner:
    __test__ = False  # not a pytest class

    def __init__(self, workers: int | None = None, backend: str = "local", limits: Limits | None = None):
        self.workers = max(1, workers or (os.cpu_count() or 1))
        self.limits = limits or Limits(memory_mb=1024, cpu_seconds=600)
        self._sandbox = open_sandbox(backend, limits=self.limits)
        try:
            self._servers = ForkServerPool(self.workers, sandbox=self._sandbox)
        except BaseException:
            self._sandbox.close()
            raise
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="r1-tests")
        self._closed = False

    def _run_one(self, source: str, timeout: float) -> bool:
        try:
            return self._servers.run_python(source, timeout).ok
        except Exception:  # a server that cannot run the code fails the test, never the caller
            return False

    def submit(self, program: str, tests: list[str], timeout: float) -> Future:
        """Whether each test passes when appended to `program`; the tests spread over the servers."""
        combined: Future = Future()
        parts = [self._pool.submit(self._run_one, f"{program}\n{test}", timeout) for test in tests]
        if not parts:
            combined.set_result([])
            return combined
        left = [len(parts)]
        lock = threading.Lock()

        def one_done(_f):
            with lock:
                left[0] -= 1
                last = left[0] == 0
            if last:
                combined.set_result([p.result() for p in parts])

        for part in parts:
            part.add_done_callback(one_done)
        return combined

    def run_tests(self, program: str, tests: list[str], timeout: float) -> list[bool]:
        return self.submit(program, tests, timeout).result()

    def run_many(self, jobs: list[tuple[str, list[str], float]]) -> list[list[bool]]:
        futures = [self.submit(*job) for job in jobs]
        return [f.result() for f in futures]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._servers.close()
        self._sandbox.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
