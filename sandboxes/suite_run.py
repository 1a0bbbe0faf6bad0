"""Run a test command in a sandbox once and read its per-test results from JUnit XML.

The one way a suite is run cold (a fresh interpreter): the repair's baseline run
(repair/testrun.py), the cold validator (repair/validate.py), the confirmation with the user's
exact command (repair/confirm.py) and the output bouncer's evidence (bouncer/patch_check.py).
The warm fork server (forkserver.py) reads the same XML with the same parser.

Java and JavaScript runners patchwarden recognizes (Maven, Gradle, `node --test`, Jest, Vitest,
Mocha, ...) write their own JUnit reports: for those the run goes through `test_reports.py`, which
adds the reporter flags and reads the reports from their standard places.

How pytest is asked for the XML (`via`):
    "argv"  a plain pytest command: `--junitxml` and `options` are appended to it;
    "env"   the command stays as given: PYTEST_ADDOPTS asks any pytest it starts;
    None    no XML is asked for: only the command's own exit code tells.
"""
from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass

from .base import RunResult, Sandbox
from .junit import parse_junit
from .testresults import TestResult

# No cache (a fresh copy has none for --lf to read) and xunit1 (its `file` attribute gives
# pytest's own node ids).
JUNIT_OPTIONS = ["-p", "no:cacheprovider", "-o", "junit_family=xunit1"]


@dataclass
class SuiteRun:
    result: RunResult  # the command's exit code, output, duration and whether it timed out
    tests: list[TestResult] | None  # one per JUnit test case; None when no readable XML was written
    runner: str | None = None  # a recognized Java/JavaScript runner, None for pytest or any other command
    note: str = ""  # for a recognized runner: what was read, or why nothing was

    @property
    def tail(self) -> str:
        return (self.result.stdout[-3000:] + "\n" + self.result.stderr[-3000:]).strip()


def run_suite(sandbox: Sandbox, command: str | list[str], junit: str, *, timeout: float,
              env: dict[str, str] | None = None, via: str | None = "argv",
              options: list[str] = JUNIT_OPTIONS, runner_env: dict[str, str] | None = None) -> SuiteRun:
    """Run `command` (a shell string or an argv list) in `sandbox` with pytest writing JUnit XML
    to `junit` (a path relative to the sandbox's work dir; the caller keeps it unique per run or
    removes it, so that no run reads an earlier run's results). `runner_env` is added only for a
    recognized Java/JavaScript runner (e.g. its coverage switches)."""
    if isinstance(command, str):
        from .test_reports import recognize, run_with_reports

        if recognize(command, sandbox.read_file) is not None:
            run = run_with_reports(sandbox, command, timeout, env=env, extra_env=runner_env)
            return SuiteRun(run.result, run.cases, run.runner, run.note)
    xml = posixpath.join(sandbox.workdir, junit)
    env = dict(env or {})
    if via == "argv":
        extra = [*options, f"--junitxml={xml}"]
        command = command + " " + shlex.join(extra) if isinstance(command, str) else [*command, *extra]
    elif via == "env":
        env["PYTEST_ADDOPTS"] = " ".join([f"--junitxml={xml}", *options])
    elif via is not None:
        raise ValueError(f"via={via!r}: use 'argv', 'env' or None")
    result = sandbox.run(command, timeout=timeout, env=env or None)
    tests = None
    if via is not None:
        try:
            tests = parse_junit(sandbox.read_file(junit))
        except Exception:  # no XML (the command crashed, or is not pytest) or a torn one; backends raise their own types
            tests = None
    return SuiteRun(result, tests)
