"""Validation of Maven (JUnit Platform) candidates: cold (`mvn -o -q test` per candidate) and warm.

    make = maven_validator_factory(repo, "mvn -o -q test", SandboxSpec("local"), baseline, triggers)
    results = validate_candidates(candidates, make)

Both share `_ValidatorBase`'s verdict rule (trigger tests pass, nothing that passed at baseline
fails) and name tests as the baseline run does (sandboxes/test_reports.py): "pkg.Cls#method" ("pkg.Cls$Inner#m(int)[1]").

- `MavenColdValidator` runs the test command itself per candidate in a sandbox and reads
  `target/surefire-reports/TEST-*.xml`; a build that fails in javac is an "error" at the
  "compile" stage.
- `MavenWarmValidator` drives `sandboxes.jvm_warm.MavenWarmSession` (javac of the changed
  class only, the tests in a long-lived JVM, a fresh class loader per candidate): trigger tests
  first, then every test class surefire runs. Whenever the session doubts it would agree with
  the cold run (see jvm_warm), that candidate is validated cold, and the result says so.
"""
from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Callable

from patchwarden.repair.candidate import Candidate
from patchwarden.repair.source_io import encode_files
from patchwarden.repair.validate import CandidateValidator, ValidationResult, _ValidatorBase, candidate_timeout
from patchwarden.sandboxes import open_spec
from patchwarden.sandboxes.base import SandboxSpec
from patchwarden.sandboxes.forkserver import PytestRun
from patchwarden.sandboxes.test_reports import read_junit
from patchwarden.sandboxes.testresults import TestResult
from patchwarden.sandboxes.jvm_warm import MavenWarmSession, WarmDoubt, layout_problem, surefire_id

REPORTS_DIR = "target/surefire-reports"
# The only Maven commands the warm path stands in for: `mvn test` with flags that change no test.
PLAIN_MVN_TEST = re.compile(r"\s*mvn(\s+(-o|--offline|-q|--quiet|-B|--batch-mode|-ntp|--no-transfer-progress))*\s+test\s*")
COMPILE_FAILURE = re.compile(r"COMPILATION ERROR|Compilation failure")


def read_surefire_reports(files: dict[str, bytes]) -> list[TestResult]:
    """TestResults from surefire's TEST-*.xml files (name -> bytes), ids "pkg.Cls#method"."""
    results = []
    for name in sorted(files):
        try:
            results.extend(read_junit(files[name], "maven"))
        except ValueError:
            continue
    return results


def runner_results(tests: list[dict]) -> list[TestResult]:
    return [TestResult(surefire_id(t), t["status"], (t.get("message") or "").strip(), t.get("trace", ""),
                       float(t.get("time", 0.0))) for t in tests]


class MavenColdValidator(_ValidatorBase):
    """The test command (`mvn -o -q test`) per candidate in one sandbox, surefire's reports read back."""

    kind = "cold"

    def __init__(self, repo: Path, test_cmd: str, sandbox_spec: SandboxSpec, baseline: dict[str, TestResult],
                 trigger_tests: list[str], timeout: float, startup_allowance: float = 120.0, sandbox=None):
        super().__init__(repo, test_cmd, baseline, trigger_tests, timeout)
        self.allowance = startup_allowance  # Maven's own start-up, until a run shows how long it takes
        self._slowest = 0.0
        self._owns = sandbox is None
        self.sandbox = sandbox if sandbox is not None else open_spec(sandbox_spec, self.repo)

    def _run(self, args: list[str] | None, files: dict[str, str]) -> PytestRun:
        originals = {rel: (self.repo / rel).read_bytes() for rel in files}
        self.sandbox.run(["rm", "-rf", REPORTS_DIR], timeout=60)
        self.sandbox.put_files(encode_files(self.repo, files))
        try:
            res = self.sandbox.run(self.test_cmd, timeout=self.timeout + self.allowance)
        finally:
            self.sandbox.put_files(originals)
        if not res.timed_out:
            self._slowest = max(self._slowest, res.duration)
            self.allowance = max(10.0, 3.0 * self._slowest)
        output = res.stdout + res.stderr
        listing = self.sandbox.run(f"ls {REPORTS_DIR} 2>/dev/null", timeout=60).stdout.split()
        reports = {n: self.sandbox.read_file(posixpath.join(REPORTS_DIR, n)) for n in listing
                   if n.startswith("TEST-") and n.endswith(".xml")}
        results = read_surefire_reports(reports)
        error = None
        if not results and not res.timed_out and COMPILE_FAILURE.search(output):
            error = "compile error: " + _compile_message(output)
        return PytestRun(results, res.timed_out, res.duration, res.returncode, output[-4000:], error)

    def close(self) -> None:
        if self._owns:
            self.sandbox.close()


def _compile_message(output: str) -> str:
    lines = [ln for ln in re.sub(r"\x1b\[[0-9;]*m", "", output).splitlines() if "ERROR" in ln and ".java" in ln]
    return (lines[0].split("] ", 1)[-1] if lines else "the build failed in javac")[:500]


class MavenWarmValidator(_ValidatorBase):
    """Maven candidates in a warm JVM (see module doc); raises WarmDoubt when the project is
    outside what the warm path models (then use MavenColdValidator)."""

    kind = "warm"

    def __init__(self, repo: Path, test_cmd: str, sandbox_spec: SandboxSpec, baseline: dict[str, TestResult],
                 trigger_tests: list[str], timeout: float):
        super().__init__(repo, test_cmd, baseline, trigger_tests, timeout)
        problem = layout_problem(self.repo)  # Gradle, multi-module: said first, it is the real reason
        if problem:
            raise WarmDoubt(problem)
        if not PLAIN_MVN_TEST.fullmatch(test_cmd):
            raise WarmDoubt(f"{test_cmd!r} is not a plain `mvn [-o] [-q] [-B] test`: candidates are validated cold")
        self.sandbox = open_spec(sandbox_spec, self.repo)
        try:
            self.session = MavenWarmSession(self.sandbox, self.repo)
        except BaseException:
            self.sandbox.close()
            raise
        self.spec = sandbox_spec
        self._cold: MavenColdValidator | None = None
        self._doubt: str | None = None
        self.fallbacks = 0

    def _trigger_args(self) -> list[str]:
        return list(self.trigger_tests)

    def _run(self, args: list[str] | None, files: dict[str, str]) -> PytestRun:
        run = self.session.run(files, timeout=self.timeout, tests=args)
        if run.status == "doubt":
            self._doubt = run.message
            return PytestRun([], False, run.duration, -1, run.message, "doubt: " + run.message)
        if run.status == "compile-error":
            return PytestRun([], False, run.duration, 1, run.message, "compile error: " + run.message)
        if run.timed_out:
            return PytestRun([], True, run.duration, 124, run.message, None)
        results = runner_results(run.tests)
        return PytestRun(results, False, run.duration, 0 if all(not r.bad for r in results) else 1, "", None)

    def _validate_once(self, candidate: Candidate) -> ValidationResult:
        self._doubt = None
        result = super()._validate_once(candidate)
        if self._doubt is None:
            return result
        # The warm runner could not promise the cold verdict: this candidate is validated cold.
        self.fallbacks += 1
        if self._cold is None:  # a sandbox of its own: a cold build rewrites target/classes, which the warm JVM reads
            self._cold = MavenColdValidator(self.repo, self.test_cmd, self.spec, self.baseline, self.trigger_tests,
                                            self.timeout)
        self._cold.timeout = self.timeout
        cold = self._cold._validate_once(candidate)
        cold.message = f"{cold.message} (validated cold: {self._doubt})".strip()
        return cold

    def close(self) -> None:
        try:
            self.session.close()
            if self._cold is not None:
                self._cold.close()
        finally:
            self.sandbox.close()


def uses_maven_test(repo: Path, test_cmd: str) -> bool:
    """A plain `mvn [-o] [-q] test` over a project with a pom.xml: the Maven validators apply."""
    return (Path(repo) / "pom.xml").is_file() and PLAIN_MVN_TEST.fullmatch(test_cmd) is not None


def maven_validator_factory(repo: Path, test_cmd: str, sandbox_spec: SandboxSpec, baseline: dict[str, TestResult],
                            trigger_tests: list[str], timeout: float | None = None, warm: bool = True,
                            on_fallback: Callable[[str], None] | None = None) -> Callable[[], CandidateValidator]:
    """One validator per call: warm when the project allows it, else cold (why goes to `on_fallback`)."""
    timeout = candidate_timeout(baseline) if timeout is None else timeout

    def make() -> CandidateValidator:
        if warm:
            try:
                return MavenWarmValidator(repo, test_cmd, sandbox_spec, baseline, trigger_tests, timeout)
            except WarmDoubt as exc:
                if on_fallback:
                    on_fallback(str(exc))
        return MavenColdValidator(repo, test_cmd, sandbox_spec, baseline, trigger_tests, timeout)

    return make
