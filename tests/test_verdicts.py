"""Verdicts a user can trust: the whole suite for patchwarden's runs, confirmation by the
user's exact command, timeouts that do not reject slow correct code, localization without
coverage.py, and the doctor's test-interpreter check."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from patchwarden.benchmarks.measure.claim_integrity import STOP_TRAPS
from patchwarden.repair.config import RepairConfig
from patchwarden.sandboxes.testresults import TestResult
from patchwarden.repair.pipeline import localize_repo, run_repair
from patchwarden.repair.validate import Validator, validate_candidates, validator_factory
from patchwarden.sandboxes.base import SandboxSpec
from tests.helpers import make_repo
from tests.test_validate import candidate
from tests.warm_helpers import QUIET_PLUGINS

PY = sys.executable
LOCAL = SandboxSpec("local")

# A `-x` trap: test_a_zero fails first; `>` -> `>=` passes it but fails the tests after it
# (the claim-integrity benchmark's first trap repo).
NUMS = STOP_TRAPS["trap-first-non-positive"]
TRIGGERS = ["tests/test_a_zero.py::test_zero_first", "tests/test_b_more.py::test_negative", "tests/test_b_more.py::test_none"]


def nums_fix(repo: Path, op: str):
    return candidate(repo, "nums.py", "first_non_positive",
                     f"def first_non_positive(xs):\n    for x in xs:\n        if x {op} 0:\n            return x\n    return None\n",
                     f"`>` -> `{op}`")


@pytest.mark.parametrize("cmd, removed", [
    ("python -m pytest -q -x tests/test_x.py", ["-x"]),
    ("pytest -qx -k fast", ["-x"]),
    ("pytest --maxfail=1 --exitfirst", ["--maxfail=1", "--exitfirst"]),
    ("pytest --maxfail 2 --lf --sw --sw-skip --ff --nf --lfnf=all -v", ["--maxfail 2", "--lf", "--sw", "--sw-skip", "--ff", "--nf", "--lfnf=all"]),
    ("pytest -kx -q", []),  # x is -k's value
    ("make test -x", []),  # not pytest: left alone
])
def test_full_suite_command_drops_early_stop_options(cmd, removed):
    from patchwarden.sandboxes.pytest_command import full_suite_command

    new, gone = full_suite_command(cmd)
    assert gone == removed
    for opt in removed:
        assert opt.split()[0] not in new.split()
    assert (new == cmd) == (not removed)


@pytest.mark.parametrize("option", ["-x", "--maxfail=1", "--lf"])
def test_plausible_means_the_users_command_passes(tmp_path, option):
    """With `-x` the old baseline saw only the first failure and `>=` was claimed; `--lf` did not run."""
    repo = make_repo(tmp_path / "nums", NUMS)
    cmd = f"{PY} -m pytest -q {QUIET_PLUGINS} {option}"
    out = run_repair(RepairConfig(repo=repo, test_cmd=cmd, sandbox="local", out=tmp_path / "run", progress=False,
                                  bounce=False, per_test_timeout=5, time_budget=120))
    assert out.status == "plausible", out.message
    # Independently: the patch on a fresh clone, the command itself.
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    subprocess.run(["git", "apply", str(tmp_path / "run" / "patch.diff")], cwd=clone, check=True)
    assert subprocess.run(cmd, shell=True, cwd=clone, capture_output=True).returncode == 0
    assert any(option in note for note in out.notes)  # the note says what was removed
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    conf = result["confirmation"]
    assert conf["confirmed"] and conf["exit_code"] == 0 and conf["command"] == cmd
    assert sorted(conf["tests"]) == sorted(TRIGGERS) and set(conf["tests"].values()) == {"passed"}


def test_confirmation_demotes_a_false_plausible_and_confirms_the_next(tmp_path):
    from patchwarden.repair.confirm import Confirmer, confirming

    repo = make_repo(tmp_path / "nums", NUMS)
    # Validation that sees only the first test file calls `>=` plausible; the user's command does not.
    narrow = f"{PY} -m pytest -q {QUIET_PLUGINS} tests/test_a_zero.py"
    baseline = {TRIGGERS[0]: TestResult(TRIGGERS[0], "failed", duration=0.01)}
    make = validator_factory(repo, narrow, LOCAL, baseline, TRIGGERS[:1])
    # The pipeline's triggers: every test failing in the (complete) baseline.
    confirmer = Confirmer(repo, f"{PY} -m pytest -q {QUIET_PLUGINS}", LOCAL, TRIGGERS, timeout=120)
    wrong, right = nums_fix(repo, ">="), nums_fix(repo, "<=")
    results = validate_candidates([wrong, right], confirming(make, confirmer), stop_after_plausible=1)
    got = {r.candidate_id: r for r in results}
    assert got[wrong.id].status == "unconfirmed" and got[wrong.id].stage == "confirm"
    assert "tests/test_b_more.py::test_negative" in got[wrong.id].message
    assert got[wrong.id].confirmation["exit_code"] == 1
    assert got[right.id].status == "plausible"
    assert got[right.id].confirmation["confirmed"] and got[right.id].confirmation["exit_code"] == 0


def test_preexisting_unrelated_failure_is_tolerated_and_named_even_under_x(tmp_path):
    from patchwarden.repair.confirm import Confirmer

    files = dict(NUMS)
    # Sorted first, so `-x` stops on it before any trigger runs.
    files["tests/test_a_release.py"] = "import os\n\n\ndef test_changelog():\n    assert os.path.exists('CHANGELOG.md')\n"
    repo = make_repo(tmp_path / "nums", files)
    confirmer = Confirmer(repo, f"{PY} -m pytest -q {QUIET_PLUGINS} -x", LOCAL, TRIGGERS, timeout=120)
    good = confirmer.confirm_candidate(nums_fix(repo, "<="))
    assert good.confirmed, good.reason
    assert good.preexisting_failures == ["tests/test_a_release.py::test_changelog"]
    assert "tests/test_a_release.py::test_changelog" in good.reason
    assert good.exit_code == 1 and good.full_run is not None  # -x stopped at it: the rest ran without -x
    assert good.full_run["tests"]["tests/test_b_more.py::test_negative"] == "passed"
    bad = confirmer.confirm_candidate(nums_fix(repo, ">="))
    assert not bad.confirmed and "tests/test_b_more.py::test_negative" in bad.reason


def test_a_timeout_is_rerun_with_a_larger_limit_before_it_stands(tmp_path):
    repo = make_repo(tmp_path / "slow", {
        "slow.py": "def answer():\n    return 41\n",
        "tests/test_slow.py": "from slow import answer\n\n\ndef test_answer():\n    assert answer() == 42\n",
    })
    cmd = f"{PY} -m pytest -q {QUIET_PLUGINS}"
    trig = ["tests/test_slow.py::test_answer"]
    with Validator(repo, cmd, LOCAL, {trig[0]: TestResult(trig[0], "failed", duration=0.01)}, trig, timeout=1.0) as v:
        # Correct, but 1.5x slower than the first limit allows.
        slow = candidate(repo, "slow.py", "answer",
                         f"def answer():\n    import time\n    time.sleep({1.5 * v.timeout:.2f})\n    return 42\n")
        res = v.validate(slow)
    assert res.status == "plausible", res.message
    assert "re-run with" in res.message


VENV_REPO = {
    "inventory/__init__.py": "",
    "inventory/stock.py": "def restock_needed(level, minimum):\n    return level > minimum\n\n\n"
                          "def describe(level):\n    return f'{level} items'\n",
    # The assertion sits in the test function: no repository frame in the traceback.
    "tests/test_stock.py": "from inventory import stock\n\n\ndef test_low():\n    assert stock.restock_needed(2, 5)\n\n\n"
                           "def test_describe():\n    assert stock.describe(3) == '3 items'\n",
}


@pytest.fixture(scope="module")
def venv_without_coverage(tmp_path_factory):
    from patchwarden.benchmarks.venvs import make_venv_without_coverage

    return make_venv_without_coverage(tmp_path_factory.mktemp("venv") / "v")


def test_localization_without_coverage_in_a_real_virtualenv(tmp_path, venv_without_coverage):
    repo = make_repo(tmp_path / "inv", VENV_REPO, git=False)
    run, ranked = localize_repo(repo, f"{venv_without_coverage} -m pytest -q", sandbox="local")
    assert run.coverage, "the stdlib tracer gave no per-test lines"
    assert "coverage.py is not importable" in run.coverage_note and "tracer" in run.coverage_note
    assert ranked and ranked[0].function.key.endswith("restock_needed")
    assert any("Ochiai" in e for e in ranked[0].evidence)
    assert not any("Ochiai" in e for s in ranked for e in s.evidence if s.function.name == "describe")


def test_static_evidence_from_the_failing_tests_source(tmp_path):
    from patchwarden.repair.source_functions import repo_functions
    from patchwarden.repair.test_calls import functions_used_by_tests

    repo = make_repo(tmp_path / "inv", VENV_REPO, git=False)
    functions, _ = repo_functions(repo)
    used = functions_used_by_tests(repo, ["tests/test_stock.py::test_low"], functions)
    assert list(used) == [next(f.key for f in functions if f.name == "restock_needed")]


def test_no_evidence_says_why(tmp_path):
    repo = make_repo(tmp_path / "r", {"lib.py": "def f():\n    return 1\n",
                                      "tests/test_x.py": "def test_x():\n    assert 1 + 1 == 3\n"}, git=False)
    out = run_repair(RepairConfig(repo=repo, test_cmd=f"{PY} -m pytest -q {QUIET_PLUGINS}", sandbox="local",
                                  out=tmp_path / "run", progress=False, bounce=False))
    assert out.status == "none"
    assert "no repository frame" in out.message and "uses no repository function" in out.message
    assert any("no repository frame" in n for n in out.notes)


def test_doctor_checks_the_test_interpreter(tmp_path, venv_without_coverage):
    from patchwarden.sandboxes import open_spec
    from patchwarden.sandboxes.doctor import check_local, check_test_python

    bare = tmp_path / "bare"
    subprocess.run([PY, "-m", "venv", "--without-pip", str(bare)], check=True)
    with open_spec(LOCAL, tmp_path) as sbx:
        ok, detail = check_test_python(sbx, str(bare / "bin" / "python"))
        assert not ok and "cannot import pytest" in detail and "pytest" in detail.split(":")[-1]
        ok, detail = check_test_python(sbx, str(venv_without_coverage))
        assert ok and ("sys.settrace" in detail or "sys.monitoring" in detail)
    local = check_local()
    assert local.ok and "test interpreter python3: pytest" in local.detail


@pytest.mark.docker
def test_doctor_checks_the_test_interpreter_in_docker():
    from patchwarden.sandboxes.doctor import check_docker
    from tests.sandbox_helpers import require_docker

    check = check_docker(require_docker())
    assert check.ok and "test interpreter python3: pytest" in check.detail and "tracer" in check.detail


def test_reruns_stop_after_futile_ones_so_loops_do_not_eat_the_budget(tmp_path):
    repo = make_repo(tmp_path / "loop", {
        "loop.py": "def answer():\n    return 41\n",
        "tests/test_loop.py": "from loop import answer\n\n\ndef test_answer():\n    assert answer() == 42\n",
    })
    trig = ["tests/test_loop.py::test_answer"]
    with Validator(repo, f"{PY} -m pytest -q {QUIET_PLUGINS}", LOCAL, {trig[0]: TestResult(trig[0], "failed", duration=0.01)},
                   trig, timeout=0.5) as v:
        loops = [candidate(repo, "loop.py", "answer", f"def answer():\n    n = {i}\n    while True:\n        n += 1\n")
                 for i in range(3)]
        results = [v.validate(c) for c in loops]
    assert [r.status for r in results] == ["timeout"] * 3
    assert "re-run with" in results[0].message and "re-run with" in results[1].message
    assert "not re-run" in results[2].message
