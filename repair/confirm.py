"""Confirmation: a patch is plausible only when the user's own test command, exactly as given,
passes on it in a fresh sandbox, cold.

Validation runs a rewritten command (warm, without `-x`/`--lf`..., see `full_suite_command`);
this module is the last word. For each candidate validation calls plausible, `Confirmer.confirm`
applies it to a fresh copy of the repository in a fresh sandbox and runs the test command as
given (pytest is only asked for a JUnit report through PYTEST_ADDOPTS, to name the tests).

The rule (docs/validation.md):
- every test the command runs passes, and every trigger test (failing at baseline) runs and passes;
- except pre-existing unrelated failures: a test that also fails in a cold run of the same command
  on the unpatched tree and is not a trigger may still fail; each one is named in the result;
- when the command stops early (`-x`, `--maxfail`) or narrows the run (`--lf`, `--sw`...) and the
  run stopped at such a tolerated failure (or did not run a trigger), the tests after it were never
  seen: the command without those options is run once more, cold, and judged by the same rule.
"""
from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from patchwarden.sandboxes import open_spec
from patchwarden.sandboxes.base import SandboxSpec
from patchwarden.sandboxes.junit import merge_by_nodeid
from patchwarden.sandboxes.pytest_command import full_suite_command
from patchwarden.sandboxes.suite_run import run_suite

from patchwarden.repair.candidate import Candidate
from patchwarden.repair.splice import patched_files

REPORT = ".patchwarden/confirm.xml"


@dataclass
class CommandRun:
    """One cold run of a command in a fresh sandbox."""
    command: str
    exit_code: int
    duration: float  # the command alone
    timed_out: bool
    tests: dict[str, str]  # node id -> status (empty when the command gives no JUnit report)
    output_tail: str = ""
    wall: float = 0.0  # with the fresh sandbox's set-up and tear-down

    @property
    def failing(self) -> list[str]:
        return sorted(n for n, s in self.tests.items() if s in ("failed", "error"))


@dataclass
class Confirmation:
    confirmed: bool
    reason: str  # why not, or what was tolerated
    command: str  # the command as given
    exit_code: int
    duration: float  # wall seconds of the whole confirmation: sandboxes, the run(s), any unpatched run it needed
    tests: dict[str, str] = field(default_factory=dict)
    preexisting_failures: list[str] = field(default_factory=list)  # tolerated: they fail unpatched too
    full_run: dict | None = None  # the run without early-stop options, when one was needed

    def to_dict(self) -> dict:
        return asdict(self)


def cold_run(spec: SandboxSpec, repo: Path, command: str, files: dict[str, str], timeout: float) -> CommandRun:
    """Run `command` once in a fresh sandbox over a fresh copy of `repo` with `files` written in."""
    start = time.monotonic()
    with open_spec(spec, repo) as sbx:
        if files:
            sbx.put_files(files)
        # The command exactly as given (the cache plugin stays: `--lf` must still parse).
        run = run_suite(sbx, command, REPORT, timeout=timeout, via="env", options=["-o", "junit_family=xunit1"])
    res = run.result
    tests = {n: r.status for n, r in merge_by_nodeid(run.tests or []).items() if n}  # none: not pytest, or it crashed
    tail = (res.stdout[-1500:] + "\n" + res.stderr[-1500:]).strip()
    return CommandRun(command, res.returncode, round(res.duration, 3), res.timed_out, tests, tail,
                      round(time.monotonic() - start, 3))


class Confirmer:
    """Confirms patches with the user's exact command; thread-safe (one per repair run)."""

    def __init__(self, repo: Path, test_cmd: str, spec: SandboxSpec, triggers: list[str], timeout: float = 600.0):
        self.repo = Path(repo).resolve()
        self.test_cmd = test_cmd
        self.full_cmd, self.removed = full_suite_command(test_cmd)
        self.spec = spec
        self.triggers = list(triggers)
        self.timeout = timeout
        self._unpatched: dict[str, CommandRun] = {}
        self._lock = threading.Lock()

    def unpatched(self, command: str) -> CommandRun:
        """The cold run of `command` on the unpatched tree (made once, only when needed)."""
        with self._lock:
            if command not in self._unpatched:
                self._unpatched[command] = cold_run(self.spec, self.repo, command, {}, self.timeout)
            return self._unpatched[command]

    def confirm_candidate(self, candidate: Candidate) -> Confirmation:
        return self.confirm(patched_files(self.repo, candidate))

    def confirm(self, files: dict[str, str]) -> Confirmation:
        start = time.monotonic()
        run = cold_run(self.spec, self.repo, self.test_cmd, files, self.timeout)
        ok, reason, tolerated, incomplete = self._judge(run)
        conf = Confirmation(ok, reason, self.test_cmd, run.exit_code, 0.0, run.tests, tolerated)
        if ok and incomplete and self.removed:
            # `-x`/`--lf`...: the command as given did not run everything; the tests it skipped count too.
            full = cold_run(self.spec, self.repo, self.full_cmd, files, self.timeout)
            ok, reason, tolerated, _ = self._judge(full)
            conf.full_run = asdict(full)
            conf.confirmed = ok
            conf.preexisting_failures = sorted(set(conf.preexisting_failures) | set(tolerated))
            conf.reason = reason if not ok else _tolerated_reason(conf.preexisting_failures) + \
                f"; `{self.full_cmd}` (without {', '.join(self.removed)}) ran the tests the command as given skipped"
        conf.duration = round(time.monotonic() - start, 3)
        return conf

    def _judge(self, run: CommandRun) -> tuple[bool, str, list[str], bool]:
        """(confirmed, reason, tolerated failures, incomplete: the run may not have seen every test)."""
        cmd = f"`{run.command}`"
        if run.timed_out:
            return False, f"{cmd} did not finish within {self.timeout:.0f}s on the patched tree", [], False
        missing = [t for t in self.triggers if run.tests and t not in run.tests]
        if run.exit_code == 0 and not run.failing:
            if missing and not self.removed:
                return False, f"{cmd} passed but did not run the trigger test {missing[0]}", [], False
            if missing:
                return True, f"{cmd} passed but did not run {missing[0]}", [], True
            return True, "", [], False
        if not run.tests:
            return False, f"{cmd} exited {run.exit_code} on the patched tree (no per-test results to tell pre-existing failures apart)", [], False
        if run.exit_code != 1:  # 2: interrupted or collection errors, 3: internal error, 4: usage, 5: no tests
            return False, f"{cmd} exited {run.exit_code} on the patched tree: {_last_line(run.output_tail)}", [], False
        before = self.unpatched(run.command)
        preexisting = set(before.failing) - set(self.triggers)
        unexpected = [n for n in run.failing if n not in preexisting]
        if unexpected:
            what = "trigger test" if unexpected[0] in self.triggers else "test"
            return False, f"{what} {unexpected[0]} {run.tests[unexpected[0]]} under {cmd} on the patched tree" + \
                (f" (and {len(unexpected) - 1} more)" if len(unexpected) > 1 else ""), [], False
        tolerated = list(run.failing)
        return True, _tolerated_reason(tolerated), tolerated, True  # it may have stopped at one of them


def _tolerated_reason(tolerated: list[str]) -> str:
    if not tolerated:
        return ""
    return f"pre-existing unrelated failure{'s' if len(tolerated) > 1 else ''} (fail on the unpatched tree too, not a trigger): " + \
        ", ".join(tolerated)


def _last_line(tail: str) -> str:
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "(no output)"


class ConfirmingValidator:
    """Wraps a candidate validator: a plausible verdict stands only once confirmed."""

    def __init__(self, inner, confirmer: Confirmer):
        self.inner = inner
        self.confirmer = confirmer
        self.kind = inner.kind

    @property
    def sandbox(self):  # validate_candidates kills it on an interrupt
        return getattr(self.inner, "sandbox", None)

    def validate(self, candidate: Candidate):
        res = self.inner.validate(candidate)
        if res.plausible:
            conf = self.confirmer.confirm_candidate(candidate)
            res.confirmation = conf.to_dict()
            res.duration += conf.duration
            if not conf.confirmed:
                res.status, res.stage, res.message = "unconfirmed", "confirm", conf.reason[:2000]
        return res

    def close(self) -> None:
        self.inner.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def confirming(make_validator, confirmer: Confirmer):
    """A validator factory whose validators confirm every plausible verdict."""
    return lambda: ConfirmingValidator(make_validator(), confirmer)


def describe(conf: dict | None) -> str:
    """One line for the CLI: what the confirmation run showed."""
    if not conf:
        return ""
    passed = sum(1 for s in conf["tests"].values() if s == "passed")
    text = f"confirmed by `{conf['command']}` in a fresh sandbox (exit {conf['exit_code']}" + \
        (f", {passed} tests passed" if conf["tests"] else "") + ")"
    if conf.get("preexisting_failures"):
        text += "; " + _tolerated_reason(conf["preexisting_failures"])
    return text


__all__ = ["CommandRun", "Confirmation", "Confirmer", "ConfirmingValidator", "cold_run", "confirming", "describe"]
