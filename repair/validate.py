"""Candidate validation: trigger tests first, then the whole suite, in a warm sandbox per worker.

    make = validator_factory(repo, "python -m pytest -q tests", SandboxSpec("local"), baseline, triggers)
    results = validate_candidates(candidates, make, workers=2, time_budget=300, on_result=save)

Plausible = every trigger test passes and no test that passed at baseline fails now (a test
that disappeared, e.g. because its module no longer imports, counts as failing; tests absent
at baseline do not count). `Validator` runs pytest through a fork server (no interpreter or
pytest start-up per candidate); `ColdValidator` re-runs the test command itself, for commands
that are not plain pytest and as the reference the warm runner is measured against.
"""
from __future__ import annotations

import itertools
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Protocol

from patchwarden.repair.candidate import Candidate
from patchwarden.repair.splice import patched_files
from patchwarden.repair.source_io import encode_files
from patchwarden.sandboxes import open_spec
from patchwarden.sandboxes.base import SandboxSpec
from patchwarden.sandboxes.forkserver import SERVER_DIR, ForkServer, ForkServerError, PytestRun, third_party_imports
from patchwarden.sandboxes.junit import merge_by_nodeid
from patchwarden.sandboxes.pytest_command import pytest_args, python_of, split_cmd
from patchwarden.sandboxes.suite_run import run_suite
from patchwarden.sandboxes.testresults import TestResult

STATUSES = ("plausible", "trigger-fail", "regression", "timeout", "error", "unconfirmed")

# pytest options whose value is the next token (`-k expr`); needed to tell option values from
# test paths when the trigger run keeps the user's options but not their paths.
VALUE_OPTIONS = {
    "-k", "-m", "-p", "-c", "-o", "-W", "-r", "-n", "--rootdir", "--confcutdir", "--basetemp", "--deselect",
    "--ignore", "--ignore-glob", "--junitxml", "--junit-xml", "--junitprefix", "--junit-prefix", "--tb",
    "--durations", "--durations-min", "--maxfail", "--timeout", "--timeout-method", "--import-mode", "--log-level",
    "--log-cli-level", "--log-file", "--log-file-level", "--log-format", "--log-date-format", "--cov",
    "--cov-report", "--cov-config", "--cov-fail-under", "--override-ini", "--capture", "--color",
    "--code-highlight", "--pythonwarnings", "--doctest-glob", "--dist", "--reruns", "--reruns-delay",
    "--randomly-seed", "--config-file", "--verbosity", "--show-capture", "--assert", "--maxprocesses",
    "--max-worker-restart", "--tx", "--rsyncdir", "--log-auto-indent", "--log-cli-format",
    "--log-cli-date-format", "--log-file-format", "--log-file-date-format", "--log-file-mode", "--log-disable",
}


@dataclass
class ValidationResult:
    candidate_id: str
    status: str  # one of STATUSES
    failing: list[str] = field(default_factory=list)  # tests that did not pass in the runs made
    newly_failing: list[str] = field(default_factory=list)  # passed at baseline, not now
    duration: float = 0.0
    message: str = ""  # why: the first failure, the compile error, the timeout
    stage: str = ""  # where it stopped: apply | compile | trigger | suite | command
    runner: str = ""  # warm | cold
    cpu: float = 0.0  # CPU seconds of the test runs, where the runner can tell (warm)
    confirmation: dict | None = None  # the run of the user's exact command (repair.confirm), when plausible

    @property
    def plausible(self) -> bool:
        return self.status == "plausible"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ValidationResult":
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class CandidateValidator(Protocol):
    kind: str

    def validate(self, candidate: Candidate) -> ValidationResult: ...

    def close(self) -> None: ...


TIMEOUT_FLOOR = 3.0  # seconds: below this, interpreter start-up jitter on a busy machine decides
TIMEOUT_RETRY_FACTOR = 3.0  # a candidate that timed out is re-run once with this much more time
# After this many re-runs in a row that timed out again (infinite loops, common among mutants),
# a validator stops re-running: each one costs 1 + TIMEOUT_RETRY_FACTOR limits of the time budget.
# A re-run that rescues a candidate (slow but correct code exists here) resets the count.
FUTILE_RETRIES = 2


def candidate_timeout(baseline: dict[str, TestResult], floor: float = TIMEOUT_FLOOR) -> float:
    """Seconds one test run of a candidate may take: 5x the estimated time of a correct run + 1 s.

    The estimate comes from a complete baseline (patchwarden's runs drop `-x`/`--maxfail`): each
    passing test's own time, and for each failing test the longest of its own time and the
    slowest passing test's (buggy code often fails fast; the fixed code does the real work).
    Tests that hit the baseline's per-test timeout (an infinite loop) count as the slowest
    passing test too. Never below `floor`; a candidate that times out is re-run once with
    TIMEOUT_RETRY_FACTOR times the limit before it is rejected (`_ValidatorBase.validate`)."""
    passing = [r.duration for r in baseline.values() if r.status == "passed"]
    typical = max(passing, default=0.0)
    estimate = sum(passing)
    for r in baseline.values():
        if r.bad:
            estimate += typical if "per-test timeout" in r.message else max(r.duration, typical)
    return max(floor, 5.0 * estimate + 1.0)


# Any failing trigger already decides "trigger-fail": the trigger stage stops at the first one.
TRIGGER_STOP = ["--maxfail=1"]


def option_args(args: list[str], repo: Path | None = None) -> list[str]:
    """The user's pytest arguments without the positional test paths (kept for trigger runs)."""
    kept: list[str] = []
    takes_value = False
    for tok in args:
        if takes_value:
            kept.append(tok)
            takes_value = False
        elif tok.startswith("-"):
            kept.append(tok)
            takes_value = tok in VALUE_OPTIONS
        elif repo is not None and not (repo / tok.split("::")[0]).exists() and "::" not in tok:
            kept.append(tok)  # not a path of the repo: most likely an option value we do not know
    return kept


def compile_errors(files: dict[str, str]) -> str | None:
    """The first syntax error among the patched files, or None (Python compiles; other languages parse)."""
    from patchwarden.repair.languages import language_for_path
    from patchwarden.repair.languages.base import ParseProblem

    for rel, text in files.items():
        lang = language_for_path(rel)
        if lang is not None and lang.name != "python":
            try:
                lang.functions(text, rel)
            except ParseProblem as exc:
                return str(exc)
        if rel.endswith(".py"):
            try:
                compile(text, rel, "exec", dont_inherit=True)
            except (SyntaxError, ValueError) as exc:
                line = getattr(exc, "lineno", None)
                return f"{rel}:{line}: {type(exc).__name__}: {getattr(exc, 'msg', exc)}"
    return None


class _ValidatorBase:
    """The verdict logic; subclasses say how one pytest run (or the whole command) is made."""

    kind = "base"

    def __init__(self, repo: Path, test_cmd: str, baseline: dict[str, TestResult], trigger_tests: list[str],
                 timeout: float):
        self.repo = Path(repo).resolve()
        self.test_cmd = test_cmd
        self.baseline = baseline
        self.trigger_tests = list(dict.fromkeys(trigger_tests))
        self.timeout = timeout
        self.baseline_passed = sorted(n for n, r in baseline.items() if r.status == "passed")
        self.futile_retries = 0  # re-runs in a row that timed out again

    # A subclass runs pytest with `args` (None = the user's whole command) with `files` patched in.
    def _run(self, args: list[str] | None, files: dict[str, str]) -> PytestRun:
        raise NotImplementedError

    def _trigger_args(self) -> list[str] | None:
        return None  # None: no separate trigger stage

    def validate(self, candidate: Candidate) -> ValidationResult:
        """The verdict; a timeout is re-run once with a larger limit before it stands."""
        first = self._validate_once(candidate)
        if first.status != "timeout":
            return first
        if self.futile_retries >= FUTILE_RETRIES:
            first.message += f" (not re-run: the last {self.futile_retries} re-runs with {TIMEOUT_RETRY_FACTOR:g}x the limit timed out too)"
            return first
        limit = self.timeout
        self.timeout = limit * TIMEOUT_RETRY_FACTOR
        try:
            again = self._validate_once(candidate)
        finally:
            self.timeout = limit
        self.futile_retries = self.futile_retries + 1 if again.status == "timeout" else 0
        again.duration += first.duration
        again.cpu += first.cpu
        note = f"timed out at {limit:.1f}s, re-run with {limit * TIMEOUT_RETRY_FACTOR:.1f}s"
        again.message = f"{again.message} ({note})" if again.message else note
        return again

    def _validate_once(self, candidate: Candidate) -> ValidationResult:
        start = time.monotonic()
        runs: list[PytestRun] = []

        def done(status: str, stage: str, message: str = "", failing=(), newly=()) -> ValidationResult:
            return ValidationResult(candidate.id, status, sorted(failing), sorted(newly), time.monotonic() - start,
                                    message[:2000], stage, self.kind, sum(r.cpu for r in runs))

        try:
            files = patched_files(self.repo, candidate)
        except (OSError, UnicodeError, ValueError) as exc:
            return done("error", "apply", f"cannot apply the candidate: {exc}")
        problem = compile_errors(files)
        if problem:
            return done("error", "compile", problem)

        trigger_args = self._trigger_args()
        if trigger_args is not None and self.trigger_tests:
            run = self._run(trigger_args, files)
            runs.append(run)
            early = self._check_run(run, "trigger", done)
            if early:
                return early
            results = merge_by_nodeid(run.results)
            bad = [t for t in self.trigger_tests if t not in results or results[t].status != "passed"]
            if bad:
                # The stage stops at the first failure: the triggers after it did not run.
                ran = [t for t in bad if t in results]
                return done("trigger-fail", "trigger", _first_message(results, ran or bad), failing=ran or bad)

        stage = "suite" if trigger_args is not None else "command"
        run = self._run(None, files)
        runs.append(run)
        early = self._check_run(run, stage, done)
        if early:
            return early
        results = merge_by_nodeid(run.results)
        triggers = self.trigger_tests
        if stage == "command":
            # The command's own exit code is one more result (the pipeline's baseline calls it by
            # the command's text when there is no per-test output); with no triggers it decides.
            results.setdefault(self.test_cmd, TestResult(
                self.test_cmd, "passed" if run.returncode == 0 else "failed", f"exit code {run.returncode}",
                run.output_tail[-2000:]))
            triggers = triggers or [self.test_cmd]
        failing = [n for n, r in results.items() if r.bad]
        # After a trigger stage, a trigger the suite does not run is fine; without one, it must pass here.
        bad_triggers = [t for t in triggers
                        if (t in results and results[t].status != "passed") or (t not in results and stage == "command")]
        if bad_triggers:
            return done("trigger-fail", stage, _first_message(results, bad_triggers), failing=failing or bad_triggers)
        newly = [n for n in self.baseline_passed if n not in results or results[n].status != "passed"]
        if newly:
            return done("regression", stage, _first_message(results, newly), failing=failing, newly=newly)
        return done("plausible", stage, failing=failing)

    @staticmethod
    def _check_run(run: PytestRun, stage: str, done) -> ValidationResult | None:
        if run.error and not run.results:
            return done("error", stage, run.error)
        if run.timed_out:
            return done("timeout", stage, f"tests did not finish in time ({stage} run)")
        return None

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _first_message(results: dict[str, TestResult], nodeids: list[str]) -> str:
    for nid in nodeids:
        r = results.get(nid)
        if r is None:
            return f"{nid}: did not run (collection error or removed)"
        if r.status != "passed":
            return f"{nid}: {r.status}: {r.message or r.traceback[-300:]}"
    return ""


class Validator(_ValidatorBase):
    """Warm validation for pytest commands: one sandbox over a copy of the repo + a fork server."""

    kind = "warm"

    def __init__(self, repo: Path, test_cmd: str, sandbox_spec: SandboxSpec, baseline: dict[str, TestResult],
                 trigger_tests: list[str], timeout: float, preload: list[str] | None = None):
        super().__init__(repo, test_cmd, baseline, trigger_tests, timeout)
        args = pytest_args(test_cmd)
        if args is None:
            raise ValueError(f"{test_cmd!r} is not a plain pytest command: use ColdValidator")
        self.args = args
        self.sandbox = open_spec(sandbox_spec, self.repo)
        try:
            python, cwd_on_path = interpreter_for(self.sandbox, test_cmd)
            self.cwd_on_path = cwd_on_path
            self.server = ForkServer(self.sandbox, python=python,
                                     preload=third_party_imports(self.repo) if preload is None else preload)
            # pytest's own start-up and collection are not in the baseline's per-test times: measure
            # them once (warm) so that a suite that is slow to collect is not cut off as a timeout.
            probe = self.server.run_pytest(self.args + ["--collect-only", "-q"], timeout=max(60.0, 10 * timeout),
                                           cwd_on_path=self.cwd_on_path)
        except BaseException:
            self.close()
            raise
        self.overhead = 0.0 if probe.timed_out or probe.error else probe.duration
        self.timeout = timeout + 2 * self.overhead

    def _trigger_args(self) -> list[str]:
        return option_args(self.args, self.repo) + TRIGGER_STOP + self.trigger_tests

    def _run(self, args: list[str] | None, files: dict[str, str]) -> PytestRun:
        return self.server.run_pytest(self.args if args is None else args, files=files, timeout=self.timeout,
                                      cwd_on_path=self.cwd_on_path)

    def close(self) -> None:
        try:
            if getattr(self, "server", None) is not None:
                self.server.close()
        finally:
            self.sandbox.close()


class ColdValidator(_ValidatorBase):
    """Re-runs the test command per candidate in a sandbox (a fresh interpreter each time).

    For pytest commands: trigger tests first, then the command, with JUnit XML. For any other
    command: the command once, with PYTEST_ADDOPTS asking a pytest inside it for JUnit XML;
    without XML only the exit code judges. Its timeout adds the command's start-up time.
    """

    kind = "cold"

    def __init__(self, repo: Path, test_cmd: str, sandbox_spec: SandboxSpec, baseline: dict[str, TestResult],
                 trigger_tests: list[str], timeout: float, startup_allowance: float = 30.0):
        super().__init__(repo, test_cmd, baseline, trigger_tests, timeout)
        self.argv = split_cmd(test_cmd)
        self.args = pytest_args(test_cmd)
        self.allowance = startup_allowance  # until a run shows how long start-up takes
        self._slowest = 0.0
        self._runs = itertools.count()
        self.sandbox = open_spec(sandbox_spec, self.repo)

    def _trigger_args(self) -> list[str] | None:
        if self.args is None:
            return None
        return option_args(self.args, self.repo) + TRIGGER_STOP + self.trigger_tests

    def _run(self, args: list[str] | None, files: dict[str, str]) -> PytestRun:
        rel = f"{SERVER_DIR}/cold-{os.getpid()}-{next(self._runs)}.xml"
        if self.args is not None:
            prefix = self.argv[: len(self.argv) - len(self.args)]
            cmd: list[str] | str = prefix + (self.args if args is None else args) + ["-q"]
        else:
            cmd = self.test_cmd  # not plain pytest: a pytest inside it is asked through PYTEST_ADDOPTS
        originals = {rel_path: (self.repo / rel_path).read_bytes() for rel_path in files}
        self.sandbox.put_files(encode_files(self.repo, files))
        try:
            run = run_suite(self.sandbox, cmd, rel, timeout=self.timeout + self.allowance,
                            via="argv" if self.args is not None else "env")
        finally:
            self.sandbox.put_files(originals)
        res, results = run.result, run.tests or []  # no XML: the run crashed (as a warm child can), or it is not pytest
        if not res.timed_out:
            # Later runs may take 3x the slowest finished run (at least 5 s) beyond the tests' time.
            self._slowest = max(self._slowest, res.duration)
            self.allowance = max(5.0, 3.0 * self._slowest)
        error = None
        if res.returncode == 127 and not results:
            error = f"test command cannot start: {res.stderr.strip()[-300:]}"
        return PytestRun(results, res.timed_out, res.duration, res.returncode, (res.stdout + res.stderr)[-4000:], error)


def interpreter_for(sandbox, test_cmd: str) -> tuple[str, bool]:
    """The Python a cold run of `test_cmd` would use in the sandbox, and whether the work dir
    is first on sys.path (`python -m pytest`: yes; the `pytest` script: no)."""
    argv = split_cmd(test_cmd)
    if argv and os.path.basename(argv[0]).startswith("python"):
        return python_of(test_cmd), True
    script = argv[0] if argv else "pytest"
    res = sandbox.run(["/bin/sh", "-c", 'p=$(command -v "$1") && head -n 1 "$p"', "sh", script], timeout=30)
    line = res.stdout.strip()
    if res.ok and line.startswith("#!"):
        parts = line[2:].split()
        if parts and os.path.basename(parts[0]) == "env":
            parts = [p for p in parts[1:] if not p.startswith("-")]
        # A wrapper that is not Python (a pyenv shim is a bash script): the default python3.
        if parts and os.path.basename(parts[0]).startswith("python"):
            return parts[0], False
    return "python3", False


def validator_factory(repo: Path, test_cmd: str, sandbox_spec: SandboxSpec, baseline: dict[str, TestResult],
                      trigger_tests: list[str], timeout: float | None = None, warm: bool = True,
                      on_fallback: Callable[[str], None] | None = None) -> Callable[[], CandidateValidator]:
    """A function that opens one validator (call it once per worker).

    Warm when the command is plain pytest and the fork server starts; otherwise cold (the
    reason goes to `on_fallback`)."""
    timeout = candidate_timeout(baseline) if timeout is None else timeout

    def make() -> CandidateValidator:
        if warm and pytest_args(test_cmd) is not None:
            try:
                return Validator(repo, test_cmd, sandbox_spec, baseline, trigger_tests, timeout)
            except ForkServerError as exc:
                if on_fallback:
                    on_fallback(f"warm runner unavailable, validating cold: {exc}")
        return ColdValidator(repo, test_cmd, sandbox_spec, baseline, trigger_tests, timeout)

    return make


def validate_candidates(candidates: Iterable[Candidate], make_validator: Callable[[], CandidateValidator],
                        workers: int = 1, time_budget: float | None = None,
                        on_result: Callable[[ValidationResult], None] | None = None,
                        already_done: set[str] | None = None,
                        stop_after_plausible: int | None = None) -> list[ValidationResult]:
    """Validate candidates (best first) in parallel, one warm validator per worker thread.

    Duplicates (same `Candidate.id`, i.e. same normalized source) and ids in `already_done`
    (a resumed run) are skipped before anything runs. No new candidate starts once
    `time_budget` seconds have passed or `stop_after_plausible` plausible ones were found.
    `on_result` sees each result as it completes (from worker threads, one at a time).
    Returns the results in completion order.
    """
    deadline = None if time_budget is None else time.monotonic() + time_budget
    skip = set(already_done or ())
    source = iter(candidates)
    pull_lock, result_lock = threading.Lock(), threading.Lock()
    results: list[ValidationResult] = []
    plausible = 0
    stop = threading.Event()

    def next_candidate() -> Candidate | None:
        with pull_lock:
            while not stop.is_set():
                if deadline is not None and time.monotonic() >= deadline:
                    stop.set()
                    return None
                cand = next(source, None)
                if cand is None:
                    stop.set()
                    return None
                if cand.id not in skip:
                    skip.add(cand.id)
                    return cand
            return None

    def worker() -> None:
        nonlocal plausible
        first = next_candidate()
        if first is None:
            return  # nothing left: do not pay for a sandbox
        try:
            validator = make_validator()
        except BaseException:
            stop.set()  # a sandbox that cannot open fails every worker alike: give up, say why
            raise
        with result_lock:
            open_validators.append(validator)
        if stop.is_set() and interrupted:
            validator.close()
            return
        with validator:
            cand = first
            while cand is not None:
                res = validator.validate(cand)
                with result_lock:
                    results.append(res)
                    plausible += res.plausible
                    if stop_after_plausible is not None and plausible >= stop_after_plausible:
                        stop.set()
                    if on_result:
                        on_result(res)
                cand = next_candidate()

    n = max(1, workers)
    open_validators: list = []
    interrupted = False
    with ThreadPoolExecutor(max_workers=n, thread_name_prefix="validate") as pool:
        futures = [pool.submit(worker) for _ in range(n)]
        pending = set(futures)
        errors = []
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                errors += [f.exception() for f in finished if f.exception() is not None]
        except BaseException:
            # Ctrl-C, SIGTERM or a caller's deadline: kill the sandboxes so that workers blocked
            # on a long candidate return at once instead of holding the pool's shutdown.
            interrupted = True
            stop.set()
            with result_lock:
                victims = list(open_validators)
            for v in victims:
                try:  # the sandbox first: a server blocked on a candidate holds its own lock
                    sandbox = getattr(v, "sandbox", None)
                    if sandbox is not None:
                        sandbox.close()
                except Exception:
                    pass
            raise
        if errors:
            raise errors[0]
    return results


__all__ = ["STATUSES", "ColdValidator", "ValidationResult", "Validator", "candidate_timeout", "compile_errors",
           "interpreter_for", "option_args", "validate_candidates", "validator_factory"]
