"""Candidate validation on small real repos: verdicts, timeouts, warm == cold, parallel runs."""
from __future__ import annotations

import ast
import hashlib
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from patchwarden.repair.candidate import Candidate, FunctionEdit
from patchwarden.sandboxes.junit import merge_by_nodeid, parse_junit
from patchwarden.repair.validate import (ColdValidator, ValidationResult, Validator, TIMEOUT_RETRY_FACTOR, candidate_timeout, option_args,
                             validate_candidates, validator_factory)
from patchwarden.sandboxes import open_sandbox
from patchwarden.sandboxes.base import SandboxSpec
from tests.warm_helpers import BACKENDS, QUIET_PLUGINS, backend_params

TEST_CMD = f"{sys.executable} -m pytest -q {QUIET_PLUGINS} tests"

SHOP = {
    # conftest imports the module under repair at collection time: a runner that kept it
    # imported between candidates would test stale code.
    "conftest.py": """
        import pytest
        from shop import pricing

        @pytest.fixture
        def rate():
            return pricing.RATE
    """,
    "shop/__init__.py": "",
    "shop/pricing.py": """
        RATE = 10


        def discount(total):
            \"\"\"10% off from 100 on.\"\"\"
            if total > 100:
                return total - total * RATE // 100
            return total


        def shipping(total):
            return 0 if total >= 50 else 5
    """,
    "tests/test_pricing.py": """
        from shop.pricing import discount, shipping

        def test_discount_at_threshold():
            assert discount(100) == 90

        def test_discount_above():
            assert discount(200) == 180

        def test_no_discount_below():
            assert discount(99) == 99

        def test_shipping(rate):
            assert shipping(10) == 5 and shipping(60) == 0 and rate == 10
    """,
}
TRIGGER = "tests/test_pricing.py::test_discount_at_threshold"


def write_repo(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


def candidate(repo: Path, rel: str, func: str, new_body: str, description: str = "") -> Candidate:
    """Replace function `func` of `rel` (by its byte span) with `new_body`."""
    text = (repo / rel).read_text()
    node = next(n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef) and n.name == func)
    lines = text.splitlines(keepends=True)
    start = len("".join(lines[: node.lineno - 1]).encode())
    end = len("".join(lines[: node.end_lineno]).encode())
    edit = FunctionEdit(rel, func, start, end, textwrap.dedent(new_body).lstrip("\n"))
    return Candidate("test", [edit], description or func)


def discount_variant(repo: Path, condition: str, extra: str = "") -> Candidate:
    body = f"""
        def discount(total):
            \"\"\"10% off from 100 on.\"\"\"
            {extra}
            if {condition}:
                return total - total * RATE // 100
            return total
    """
    return candidate(repo, "shop/pricing.py", "discount", body, condition)


def tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def baseline_of(repo: Path) -> dict:
    with open_sandbox("local", repo) as sbx:
        sbx.run(TEST_CMD.split() + ["-p", "no:cacheprovider", "-o", "junit_family=xunit1", "--junitxml", "b.xml"],
                timeout=120)
        return merge_by_nodeid(parse_junit(sbx.read_file("b.xml")))


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    repo = write_repo(tmp_path_factory.mktemp("shop"), SHOP)
    baseline = baseline_of(repo)
    assert baseline[TRIGGER].status == "failed" and baseline["tests/test_pricing.py::test_shipping"].status == "passed"
    return repo, baseline


def shop_candidates(repo: Path) -> dict[str, Candidate]:
    return {
        "fix": discount_variant(repo, "total >= 100"),
        "wrong": discount_variant(repo, "total > 101"),
        "regression": discount_variant(repo, "total >= 99"),
        "crash": discount_variant(repo, "total >= 100", extra="import os; os._exit(7)"),
        "noisy": discount_variant(repo, "total >= 100", extra="print('{\"id\": 1}'); import sys; sys.stdout.flush()"),
        "syntax": discount_variant(repo, "total >= = 100"),
    }


@pytest.fixture(scope="module", params=backend_params())
def warm(request, shop):
    repo, baseline = shop
    backend = request.param
    spec = SandboxSpec(backend, BACKENDS[backend])
    cmd = TEST_CMD if backend == "local" else TEST_CMD.replace(sys.executable, "python3")
    with Validator(repo, cmd, spec, baseline, [TRIGGER], timeout=3.0) as validator:
        yield repo, baseline, validator


def test_verdicts_of_a_warm_validator(warm):
    repo, baseline, validator = warm
    before = tree_digest(repo)
    cands = shop_candidates(repo)
    got = {name: validator.validate(c) for name, c in cands.items()}
    assert got["fix"].status == "plausible", got["fix"]
    assert got["fix"].stage == "suite" and got["fix"].runner == "warm"
    assert got["wrong"].status == "trigger-fail" and got["wrong"].failing == [TRIGGER]
    assert got["wrong"].stage == "trigger"  # the suite never ran
    assert got["regression"].status == "regression"
    assert got["regression"].newly_failing == ["tests/test_pricing.py::test_no_discount_below"]
    assert got["crash"].status == "trigger-fail"  # os._exit in the code under test: no results
    assert got["noisy"].status == "plausible"  # its stdout never reaches the protocol
    assert got["syntax"].status == "error" and got["syntax"].stage == "compile"
    assert "SyntaxError" in got["syntax"].message
    assert tree_digest(repo) == before  # the user's repo is never written
    again = validator.validate(cands["fix"])
    assert ValidationResult.from_dict(again.to_dict()).status == "plausible"


def test_hanging_candidate_is_killed_and_the_validator_stays_usable(warm):
    repo, _, validator = warm
    # The timeout is the given one plus twice pytest's measured start-up and collection.
    assert 0 < validator.overhead < 30 and validator.timeout == pytest.approx(3.0 + 2 * validator.overhead)
    hang = discount_variant(repo, "total >= 100", extra="while True: pass")
    res = validator.validate(hang)
    assert res.status == "timeout" and res.stage == "trigger"
    # A timeout stands only after one re-run with TIMEOUT_RETRY_FACTOR times the limit.
    assert "re-run with" in res.message
    assert res.duration < (1 + TIMEOUT_RETRY_FACTOR) * validator.timeout + 8  # plus slack for a loaded machine
    assert validator.validate(discount_variant(repo, "total >= 100")).status == "plausible"


@pytest.mark.parametrize("backend", backend_params())
def test_warm_equals_cold_including_stale_import_traps(shop, backend):
    """Same candidates, same verdicts. The conftest imports the module under repair, and the
    candidates alternate between fixing and breaking it with edits of equal byte length: a
    runner that reused imports or cached bytecode between candidates would disagree."""
    repo, baseline = shop
    cands = shop_candidates(repo)
    order = [cands["fix"], cands["wrong"], cands["regression"], cands["crash"], cands["syntax"]]
    spec = SandboxSpec(backend, BACKENDS[backend])
    cmd = TEST_CMD if backend == "local" else TEST_CMD.replace(sys.executable, "python3")
    with Validator(repo, cmd, spec, baseline, [TRIGGER], timeout=5.0) as warm_v:
        warm_results = [warm_v.validate(c) for c in order]
    with ColdValidator(repo, cmd, spec, baseline, [TRIGGER], timeout=5.0) as cold_v:
        cold_results = [cold_v.validate(c) for c in order]

    def verdicts(results):
        return [(r.status, r.failing, r.newly_failing) for r in results]

    assert verdicts(warm_results) == verdicts(cold_results)
    assert [r.status for r in warm_results] == ["plausible", "trigger-fail", "regression", "trigger-fail", "error"]


def test_validate_candidates_dedupes_resumes_and_runs_in_parallel(shop):
    repo, baseline = shop
    cands = shop_candidates(repo)
    # Same code, different comment: the same normalized source, so one validation.
    twin = discount_variant(repo, "total >= 100", extra="# a comment only")
    assert twin.id == cands["fix"].id
    stream = [cands["fix"], twin, cands["wrong"], cands["regression"], cands["syntax"]]
    make = validator_factory(repo, TEST_CMD, SandboxSpec("local"), baseline, [TRIGGER], timeout=5.0)
    seen, threads = [], set()

    def on_result(res):
        seen.append(res.candidate_id)
        threads.add(threading.current_thread().name)

    results = validate_candidates(iter(stream), make, workers=2, on_result=on_result,
                                  already_done={cands["syntax"].id})
    assert sorted(seen) == sorted(r.candidate_id for r in results)
    assert sorted(seen) == sorted({cands["fix"].id, cands["wrong"].id, cands["regression"].id})
    assert {r.candidate_id: r.status for r in results}[cands["fix"].id] == "plausible"
    assert all(r.runner == "warm" for r in results)
    assert len(threads) == 2  # both workers validated something


class ScriptedValidator:
    """Stands in for a sandbox to test the scheduling alone: verdict = candidate description."""

    kind = "scripted"
    opened = 0

    def __init__(self, delay: float = 0.0):
        ScriptedValidator.opened += 1
        self.delay = delay

    def validate(self, cand):
        import time

        time.sleep(self.delay)
        return ValidationResult(cand.id, cand.description, runner=self.kind)

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def scripted(statuses: list[str]) -> list[Candidate]:
    return [Candidate("t", [FunctionEdit("m.py", "f", 0, 1, f"def f(): return {i}")], s)
            for i, s in enumerate(statuses)]


def test_budget_stop_and_failures_of_the_scheduler():
    cands = scripted(["trigger-fail", "plausible", "regression", "plausible"])
    ScriptedValidator.opened = 0
    # Out of time before the first candidate: nothing runs, not even a sandbox.
    assert validate_candidates(cands, ScriptedValidator, workers=2, time_budget=0.0) == []
    assert ScriptedValidator.opened == 0
    # Stop at the first plausible one.
    first = validate_candidates(cands, ScriptedValidator, workers=1, stop_after_plausible=1)
    assert [r.status for r in first] == ["trigger-fail", "plausible"]
    # The budget stops new candidates; the one running finishes.
    slow = validate_candidates(scripted(["error"] * 20), lambda: ScriptedValidator(0.1), workers=1, time_budget=0.25)
    assert 2 <= len(slow) <= 4

    def broken():
        raise RuntimeError("no sandbox today")

    with pytest.raises(RuntimeError, match="no sandbox today"):
        validate_candidates(cands, broken, workers=2)


def test_non_pytest_commands_validate_cold(tmp_path, shop):
    # A wrapper script that runs pytest itself: PYTEST_ADDOPTS still gets per-test results.
    script = f"import sys\nimport pytest\nsys.exit(pytest.main(['-q', *{QUIET_PLUGINS.split()!r}, 'tests']))\n"
    repo = write_repo(tmp_path, {**SHOP, "run_tests.py": script})
    cmd = f"{sys.executable} run_tests.py"
    baseline = shop[1]  # same tests, same node ids
    fallbacks = []
    make = validator_factory(repo, cmd, SandboxSpec("local"), baseline, [TRIGGER], timeout=5.0,
                             on_fallback=fallbacks.append)
    with make() as validator:
        assert isinstance(validator, ColdValidator)
        fix = validator.validate(discount_variant(repo, "total >= 100"))
        reg = validator.validate(discount_variant(repo, "total >= 99"))
    assert fix.status == "plausible" and fix.stage == "command"
    assert reg.status == "regression" and reg.newly_failing == ["tests/test_pricing.py::test_no_discount_below"]


def test_exit_code_only_commands(tmp_path):
    from patchwarden.sandboxes.testresults import TestResult

    repo = write_repo(tmp_path, {"mod.py": "def f():\n    return 1\n",
                                 "check.py": "import mod, sys\nsys.exit(0 if mod.f() == 2 else 1)\n"})
    cmd = f"{sys.executable} check.py"
    # As the pipeline's baseline gives it: one pseudo-test named by the command.
    baseline = {cmd: TestResult(cmd, "failed", "exit code 1")}
    with ColdValidator(repo, cmd, SandboxSpec("local"), baseline, [cmd], timeout=5.0) as v:
        good = v.validate(candidate(repo, "mod.py", "f", "def f():\n    return 2\n"))
        bad = v.validate(candidate(repo, "mod.py", "f", "def f():\n    return 3\n"))
    assert (good.status, bad.status) == ("plausible", "trigger-fail")


def test_timeout_and_trigger_args_helpers():
    from patchwarden.sandboxes.testresults import TestResult

    base = {"a": TestResult("a", "passed", duration=0.1), "b": TestResult("b", "failed", duration=2.0)}
    assert candidate_timeout(base) == pytest.approx(11.5)
    assert candidate_timeout({}) == 3.0  # the floor
    # Buggy code that fails fast: the failing test is allowed as long as the slowest passing one.
    fast_fail = {"a": TestResult("a", "passed", duration=1.0), "b": TestResult("b", "failed", duration=0.01)}
    assert candidate_timeout(fast_fail) == pytest.approx(11.0)
    args = ["-q", "-k", "fast", "tests", "--tb", "short", "-x", "tests/test_a.py::test_b", "--maxfail=2"]
    assert option_args(args) == ["-q", "-k", "fast", "--tb", "short", "-x", "--maxfail=2"]


def test_factory_falls_back_to_cold_when_the_warm_runner_cannot_start(shop, monkeypatch):
    import patchwarden.repair.validate as validate_mod
    from patchwarden.sandboxes.forkserver import ForkServerError

    def no_server(*args, **kwargs):
        raise ForkServerError("fork server did not start (no pytest)")

    monkeypatch.setattr(validate_mod, "Validator", no_server)
    notes = []
    make = validator_factory(shop[0], TEST_CMD, SandboxSpec("local"), shop[1], [TRIGGER], on_fallback=notes.append)
    with make() as validator:
        assert isinstance(validator, ColdValidator) and validator.timeout == candidate_timeout(shop[1])
    assert notes and "validating cold" in notes[0]


def test_interpreter_of_a_bare_pytest_command(tmp_path):
    from patchwarden.repair.validate import interpreter_for

    with open_sandbox("local", tmp_path) as sbx:
        python, cwd_first = interpreter_for(sbx, "pytest -q tests")
        assert not cwd_first and Path(python).name.startswith("python")
        res = sbx.run([python, "-c", "import pytest"], timeout=60)
        assert res.ok, res.stderr
        assert interpreter_for(sbx, "python3 -m pytest tests") == ("python3", True)
