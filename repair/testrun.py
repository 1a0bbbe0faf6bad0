"""Run a user's test command once in a sandbox and get a status per test (the baseline run).

For pytest commands we add `--junitxml` (through sandboxes/suite_run.py; parsed without relying
on pytest's console format), `--tb=native` (standard Python tracebacks, easy to read frames
from) and a tiny plugin that records per-test line coverage for spectrum-based localization.
Other commands give one pseudo-test whose status is the exit code.
"""
from __future__ import annotations

import json
import re
import shlex
from dataclasses import asdict, dataclass
from pathlib import Path

from patchwarden.sandboxes import Sandbox
from patchwarden.sandboxes.junit import merge_by_nodeid
from patchwarden.sandboxes.pytest_command import pytest_args
from patchwarden.sandboxes.suite_run import run_suite
from patchwarden.sandboxes.testresults import TestResult

PW_DIR = ".patchwarden"
JUNIT = f"{PW_DIR}/junit.xml"
PLUGIN_FILE = Path(__file__).with_name("pw_pytest_plugin.py")
FRAME_RE = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<func>[^\s]+)')


class TestCommandProblem(Exception):
    """The test command could not run the tests at all (bad command, missing pytest, ...)."""
    __test__ = False  # not a pytest test class


@dataclass
class TestRun:
    __test__ = False  # not a pytest test class
    results: dict[str, TestResult]
    returncode: int
    duration: float
    output_tail: str = ""
    junit: bool = False
    coverage: dict[str, dict[int, list[str]]] | None = None  # file -> line -> test node ids
    coverage_note: str = ""  # which tracer gave `coverage` and why, or why there is none

    @property
    def failing(self) -> list[TestResult]:
        return [r for r in self.results.values() if r.bad]

    @property
    def passing(self) -> list[str]:
        return [k for k, r in self.results.items() if r.status == "passed"]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["results"] = {k: asdict(v) for k, v in self.results.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TestRun":
        d = dict(d)
        d["results"] = {k: TestResult(**v) for k, v in d["results"].items()}
        if d.get("coverage") is not None:
            d["coverage"] = {f: {int(line): t for line, t in lines.items()} for f, lines in d["coverage"].items()}
        return cls(**d)


# The test case pytest's JUnit writer adds for an INTERNALERROR (classname "pytest", name "internal").
PYTEST_INTERNAL_ERROR = "pytest.py::internal"


def instrumented_command(test_cmd: str, workdir: str, per_test_timeout: float = 0) -> tuple[str, dict[str, str]]:
    """The command and environment for a baseline pytest run with coverage."""
    pw = f"{workdir}/{PW_DIR}"
    extra = ["-p", "pw_pytest_plugin", "--tb=native"]  # run_suite adds the JUnit XML options
    env = {"PYTHONPATH": pw, "PW_COVERAGE_OUT": f"{pw}/coverage.json", "PW_TEST_TIMEOUT": str(per_test_timeout or 0)}
    return test_cmd + " " + " ".join(shlex.quote(a) for a in extra), env


def run_tests(sandbox: Sandbox, test_cmd: str, timeout: float = 600.0, with_coverage: bool = True, per_test_timeout: float = 60.0) -> TestRun:
    """Run the test command once; raise TestCommandProblem when no test could run.

    `per_test_timeout` (pytest only) fails a single stuck test instead of hanging the run."""
    if pytest_args(test_cmd) is None:
        return _run_plain(sandbox, test_cmd, timeout, with_coverage)
    sandbox.put_files({f"{PW_DIR}/pw_pytest_plugin.py": PLUGIN_FILE.read_text()})
    cmd, env = instrumented_command(test_cmd, sandbox.workdir, per_test_timeout)
    if not with_coverage:
        env.pop("PW_COVERAGE_OUT")
    run = run_suite(sandbox, cmd, JUNIT, timeout=timeout, env=env)
    res, tail = run.result, run.tail
    if res.timed_out:
        raise TestCommandProblem(f"the test command did not finish within {timeout:.0f}s; raise --test-timeout or narrow --test-cmd")
    if run.tests is None or res.returncode in (126, 127):  # no (readable) XML: no test ran
        raise TestCommandProblem(_cannot_start(test_cmd, res.returncode, tail, getattr(sandbox, "backend", "")))
    results = merge_by_nodeid(run.tests)
    internal = results.pop(PYTEST_INTERNAL_ERROR, None)
    results.pop("", None)  # a test case pytest could not name: its report failed half-way
    if internal is not None or res.returncode == 3:
        # The JUnit file is incomplete (failures may be missing): trusting it could call a
        # failing suite green.
        raise TestCommandProblem(f"pytest stopped with an internal error (exit {res.returncode}), so its per-test "
                                 f"results cannot be trusted: {_last_line(tail)}; run the test command by hand to see it")
    if not results and res.returncode not in (0, 5):
        raise TestCommandProblem(_cannot_start(test_cmd, res.returncode, tail, getattr(sandbox, "backend", "")))
    if not results:  # pytest exit 5: "all 0 tests pass" would be no evidence of anything
        raise TestCommandProblem(f"the test command `{test_cmd}` collected no tests (pytest exit {res.returncode}); "
                                 "add tests that show the bug, or point --test-cmd at the folder that holds them")
    coverage, note = None, ""
    if with_coverage:
        try:
            raw = json.loads(sandbox.read_file(f"{PW_DIR}/coverage.json"))
            coverage = {f: {int(line): ids for line, ids in lines.items()} for f, lines in raw["files"].items()}
            if raw.get("tracer") not in (None, "coverage.py"):
                note = f"{raw.get('why') or 'coverage.py unavailable'}: per-test lines came from patchwarden's {raw['tracer']} tracer"
        except Exception as exc:  # the plugin could not write it (a crash in the run)
            coverage, note = None, f"no per-test line coverage from the baseline run ({type(exc).__name__}: {str(exc)[:200]})"
    return TestRun(results, res.returncode, res.duration, tail, True, coverage, note)


def _run_plain(sandbox: Sandbox, test_cmd: str, timeout: float, with_coverage: bool = True) -> TestRun:
    """Any other command: per-test results from its runner's JUnit reports when patchwarden knows
    the runner (sandboxes/test_reports.py: Maven, Gradle, node --test, Jest, Vitest, Mocha...),
    else one pseudo-test whose status is the exit code."""
    from .runtime_coverage import collect_coverage, coverage_env

    cov_env, cov_note = coverage_env(sandbox, test_cmd)
    run = run_suite(sandbox, test_cmd, JUNIT, timeout=timeout, via=None, runner_env=cov_env)
    res, tail = run.result, run.tail
    if res.timed_out:
        raise TestCommandProblem(f"the test command did not finish within {timeout:.0f}s; raise --test-timeout or narrow --test-cmd")
    if res.returncode in (126, 127):
        raise TestCommandProblem(_cannot_start(test_cmd, res.returncode, tail, getattr(sandbox, "backend", "")))
    if run.tests is not None:
        results = {t.nodeid: t for t in run.tests}
        coverage, note = collect_coverage(sandbox, test_cmd, results, timeout) if with_coverage else (None, cov_note)
        return TestRun(results, res.returncode, res.duration, tail, True, coverage, note)
    status = "passed" if res.returncode == 0 else "failed"
    result = TestResult(test_cmd, status, "" if status == "passed" else f"exit code {res.returncode}", tail)
    note = run.note or "the test command is not a plain pytest run, so there is no per-test coverage"
    return TestRun({test_cmd: result}, res.returncode, res.duration, tail, False, None, note)


def _last_line(tail: str) -> str:
    last = [line for line in tail.splitlines() if line.strip()][-1:] or ["(no output)"]
    return last[0].strip()[:300]


def _cannot_start(test_cmd: str, code: int, tail: str, backend: str = "") -> str:
    where = f" in the {backend} sandbox" if backend else ""
    return f"the test command `{test_cmd}` could not run the tests{where} (exit {code}): {_last_line(tail)}; check --test-cmd"


def traceback_frames(text: str, workdir: str) -> list[tuple[str, int, str]]:
    """(repo-relative path, line, function) of each frame inside the work dir, outermost first."""
    frames = []
    root = workdir.rstrip("/") + "/"
    for m in FRAME_RE.finditer(text):
        path = m.group("file")
        if path.startswith(root):
            rel = path[len(root):]
        elif not path.startswith("/") and not path.startswith("<"):
            rel = path  # already relative (pytest rootdir-relative)
        else:
            continue
        if rel.startswith(PW_DIR + "/"):
            continue  # our own plugin (e.g. the per-test timeout handler)
        frames.append((rel, int(m.group("line")), m.group("func")))
    return frames
