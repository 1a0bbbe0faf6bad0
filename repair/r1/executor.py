"""Run a program against tests, each test on its own with a timeout, inside a sandbox.

    runner = TestRunner(workers=4)
    runner.run_tests(program, ["assert f(1) == 2", ...], timeout=3.0)  # -> [True, False, ...]
    runner.run_many([(program, tests, timeout), ...])                    # jobs in parallel

One sandbox, `workers` jobs at a time. A job is one interpreter inside the sandbox that forks a
child per test (see `harness_child.py`), so a test costs a fork, not an interpreter start-up.
"""
from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sandboxes import Limits, open_sandbox

HARNESS = Path(__file__).with_name("harness_child.py")
JOB_SLACK_S = 10.0  # start-up and bookkeeping on top of the per-test timeouts


class TestRunner:
    __test__ = False  # not a pytest class

    def __init__(self, workers: int | None = None, backend: str = "local", limits: Limits | None = None):
        self.workers = max(1, workers or (os.cpu_count() or 1))
        self.limits = limits or Limits(memory_mb=1024, cpu_seconds=120)
        self._sandbox = open_sandbox(backend, limits=self.limits)
        self._sandbox.put_files({"harness_child.py": HARNESS.read_text()})
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="r1-tests")
        self._lock = threading.Lock()
        self._closed = False

    def run_tests(self, program: str, tests: list[str], timeout: float) -> list[bool]:
        """Whether each test passes when appended to `program` (exception or timeout = fails)."""
        if not tests:
            return []
        job = json.dumps({"program": program, "tests": list(tests), "timeout": timeout})
        res = self._sandbox.run(
            ["python3", "-I", "harness_child.py"], timeout=timeout * len(tests) + JOB_SLACK_S, stdin=job
        )
        try:
            out = json.loads(res.stdout)
        except json.JSONDecodeError:
            return [False] * len(tests)
        if not isinstance(out, list) or len(out) != len(tests):
            return [False] * len(tests)
        return [x is True for x in out]

    def submit(self, program: str, tests: list[str], timeout: float):
        return self._pool.submit(self.run_tests, program, tests, timeout)

    def run_many(self, jobs: list[tuple[str, list[str], float]]) -> list[list[bool]]:
        futures = [self.submit(*job) for job in jobs]
        return [f.result() for f in futures]

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._sandbox.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
