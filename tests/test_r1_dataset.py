"""Repair-R1 data: HumanEvalFix rows, hidden-test splitting, AST mutants checked in the sandbox, grouped folds."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from patchwarden.repair.r1.dataset import humaneval_mutants, load_humanevalfix, split_hidden_tests, split_rows
from patchwarden.repair.r1.fork_runner import TestRunner
from patchwarden.repair.r1.mutants import mutants

ROOT = Path(__file__).resolve().parents[1]


def test_humanevalfix_rows_are_complete():
    rows = load_humanevalfix()
    assert len(rows) == 164 and len({r["problem_id"] for r in rows}) == 164
    row = rows[0]
    assert row["problem_id"] == "HumanEval/0" and row["entry_point"] == "has_close_elements"
    assert "```json" in row["prompt"] and "```python" in row["prompt"] and row["buggy_code"] in row["prompt"]
    assert len(row["hidden_tests"]) == 7 and "def has_close_elements" not in row["fix_context"]
    assert "import List" in row["fix_context"]


def test_loops_and_setup_count_as_one_test_each():
    code = ("import math\n\ndef check(candidate):\n    xs = [1, 2]\n    assert candidate(xs) == 3\n"
            "    for x in xs:\n        assert candidate([x]) == x\n\ncheck(f)\n")
    tests = split_hidden_tests(code, "f")
    assert tests == ["import math\ncandidate = f\nxs = [1, 2]\nassert candidate(xs) == 3",
                     "import math\ncandidate = f\nxs = [1, 2]\nfor x in xs:\n    assert candidate([x]) == x"]


def test_folds_group_problems_and_cover_everything():
    rows = load_humanevalfix()
    rows = rows + [dict(r, task_id=r["task_id"] + "/mutant-0") for r in rows[:40]]  # two rows per problem
    seen = set()
    for fold in range(1, 6):
        train, test = split_rows(rows, 5, fold)
        assert len(train) + len(test) == len(rows)
        assert not {r["problem_id"] for r in train} & {r["problem_id"] for r in test}
        seen |= {r["task_id"] for r in test}
    assert seen == {r["task_id"] for r in rows}


def test_mutants_change_one_operator_in_the_body_only():
    src = 'def f(a, b):\n    """a - b, or 0 when equal."""\n    if a == b:\n        return 0\n    return a - b\n'
    found = dict((what, code) for code, what in mutants(src, "f"))
    assert found["comparison Eq -> NotEq"].count("a != b") == 1
    assert "return a + b" in found["operator Sub -> Add"]
    assert all('"""a - b, or 0 when equal."""' in code for code in found.values())


def test_only_mutants_that_fail_the_tests_are_kept():
    problem = {
        "task_id": "HumanEval/900", "entry_point": "relu",
        "prompt": 'def relu(x):\n    """max(x, 0)."""\n',
        "canonical_solution": "    return x if x > 0 else 0 * x\n",
        "test": "def check(candidate):\n    assert candidate(5) == 5\n    assert candidate(-3) == 0\n    assert candidate(0) == 0\n",
    }
    with TestRunner(workers=2) as runner:
        rows = humaneval_mutants(runner, per_problem=10, problems=[problem])
        kinds = {r["bug_type"] for r in rows}
        assert "comparison Gt -> GtE" not in kinds  # `x >= 0` is equivalent on these tests: dropped
        assert "operator Mult -> Add" in kinds
        for row in rows:
            assert not all(runner.run_tests(row["buggy_code"], row["hidden_tests"], 1.0))
            assert all(runner.run_tests(row["reference"], row["hidden_tests"], 1.0))


def test_dataset_cli_writes_jsonl_and_rejects_a_bad_fold(tmp_path):
    run = lambda *a: subprocess.run([sys.executable, "-m", "patchwarden.cli", "train", "dataset", *a],  # noqa: E731
                                    cwd=ROOT, capture_output=True, text=True, timeout=120)
    ok = run("--from", "humanevalfix", "--out", str(tmp_path), "--fold", "3", "--json")
    assert ok.returncode == 0, ok.stderr
    meta = json.loads(ok.stdout)
    assert meta["format"] == "jsonl" and meta["train_rows"] + meta["test_rows"] == 164
    assert len((tmp_path / "test.jsonl").read_text().splitlines()) == meta["test_rows"]
    bad = run("--from", "humanevalfix", "--out", str(tmp_path), "--folds", "5", "--fold", "7")
    assert bad.returncode == 2 and "--fold must be between 1 and 5" in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.mark.slow  # ~500 sandbox jobs
def test_every_humanevalfix_row_is_consistent():
    """References pass every split hidden test, a fix appended to fix_context passes too, the bug fails one."""
    from patchwarden.repair.r1.rewards import fix_program

    rows = load_humanevalfix()
    with TestRunner() as runner:
        ref = runner.run_many([(r["reference"], r["hidden_tests"], 1.0) for r in rows])
        bug = runner.run_many([(r["buggy_code"], r["hidden_tests"], 1.0) for r in rows])
        only_fn = [r["reference"][r["reference"].index("def " + r["entry_point"]):] for r in rows]
        fix = runner.run_many([(fix_program(r["fix_context"], f), r["hidden_tests"], 1.0) for r, f in zip(rows, only_fn)])
    assert [r["task_id"] for r, x in zip(rows, ref) if not all(x)] == []
    assert [r["task_id"] for r, x in zip(rows, fix) if not all(x)] == []
    assert [r["task_id"] for r, x in zip(rows, bug) if all(x)] == []
