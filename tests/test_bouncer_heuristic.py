"""The no-model input bouncer and the evidence output bouncer."""
import json

import pytest
from bouncer_helpers import run_cli

from patchwarden.bouncer import EvidenceOutputBouncer, HeuristicInputBouncer, PatchEvidence, agreeing_counts, input_gate, output_gate
from patchwarden.bouncer.evidence import literals_in_tests, special_cases


DETAILED = """`parse_duration("1h30m")` returns 5400 but `parse_duration("1h 30m")` raises ValueError.

Steps to reproduce:
```
>>> from timeparse import parse_duration
>>> parse_duration("1h 30m")
Traceback (most recent call last):
  File "timeparse.py", line 12, in parse_duration
ValueError: invalid literal for int() with base 10: ' 30'
```
Expected: 5400 (spaces between units should be ignored). Actual: ValueError. timeparse 2.1.0, Python 3.11.
"""
REASONABLE = "The `median` helper in stats.py gives the wrong value for lists with an even number of elements; it should average the two middle values instead of returning the upper one."
VAGUE = "it doesn't work, something is wrong with the app. please fix"


def test_heuristic_orders_issues_by_detail():
    b = HeuristicInputBouncer()
    d, r, v = b.judge(DETAILED), b.judge(REASONABLE), b.judge(VAGUE)
    assert d.confidence > r.confidence > v.confidence
    assert not d.bounce and not r.bounce and v.bounce
    assert d.label == "WELL_SPECIFIED" and v.label in ("VAGUE", "IMPOSSIBLE_TO_SOLVE")
    assert d.features["traceback"] == 1 and d.features["repro"] == 1 and d.features["version"] == 1
    assert v.features["vague"] >= 2 and "lacks" in v.explanation


def test_threshold_is_tunable():
    conf = HeuristicInputBouncer().judge(REASONABLE).confidence
    assert HeuristicInputBouncer(threshold=conf + 0.01).judge(REASONABLE).bounce
    assert not HeuristicInputBouncer(threshold=conf - 0.01).judge(REASONABLE).bounce
    with pytest.raises(ValueError):
        HeuristicInputBouncer(threshold=1.5)


def test_input_gate_none_without_issue():
    assert input_gate(None) is None and input_gate("   ") is None
    assert input_gate(VAGUE).bounce


TEST_SRC = "def test_add():\n    assert add(3, 4) == 7\n    assert add([1, 2], [5]) == [1, 2, 5]\n"


def diff(*added, removed=("    return a - b",), path="calc.py"):
    body = "".join(f"-{r}\n" for r in removed) + "".join(f"+{a}\n" for a in added)
    return f"--- a/{path}\n+++ b/{path}\n@@ -1,2 +1,3 @@\n def add(a, b):\n{body}"


def test_literals_and_special_cases():
    lits = literals_in_tests([TEST_SRC])
    assert {"3", "4", "7", "[1, 2]", "[5]", "[1, 2, 5]"} <= lits and "2" not in lits  # trivial values dropped
    hits = special_cases(["    if a == 3 and b == 4: return 7", "    if a in ([1, 2], [9]):", "        return [1, 2, 5]", "    if x > 3:"], lits)
    assert [h["returns"] for h in hits] == ["7", "[1, 2, 5]"]
    assert hits[0]["literals"] == ["3", "4"]


def test_changing_the_constant_of_an_existing_condition_is_not_a_special_case():
    lits = literals_in_tests([TEST_SRC])
    assert special_cases(["    if a == 4:"], lits, ["    if a == 5:"]) == []
    assert len(special_cases(["    if a == 4:"], lits, ["    if b > 5:"])) == 1


def evidence(patch, **kw):
    base = dict(patch=patch, trigger_tests=["tests/test_calc.py::test_add"], test_sources={"tests/test_calc.py::test_add": TEST_SRC}, trigger_passed=True, regressions=0)
    base.update(kw)
    return PatchEvidence(**base)


def test_evidence_bouncer_trusts_a_clean_general_fix():
    d = EvidenceOutputBouncer().judge_evidence(evidence(diff("    return a + b"), agreeing=2, plausible=3))
    assert not d.bounce and d.confidence > 0.8 and d.label == "CORRECT_AND_PRECISE"
    assert "full suite passes" in d.explanation and "1 other candidate(s) agree" in d.explanation


@pytest.mark.parametrize(
    "kw, reason",
    [
        (dict(patch=diff("    if a == 3 and b == 4:", "        return 7", "    return a - b", removed=())), "special-cases test literal(s) 3, 4"),
        (dict(patch=diff("    assert add(3, 4) == 8", removed=("    assert add(3, 4) == 7",), path="tests/test_calc.py")), "edits test files tests/test_calc.py"),
        (dict(patch=diff("    return a + b"), trigger_passed=False), "trigger tests still fail"),
        (dict(patch=diff("    return a + b"), regressions=2), "2 previously passing test(s) now fail"),
        (dict(patch=""), "the patch changes nothing"),
    ],
)
def test_evidence_bouncer_bounces_untrustworthy_patches(kw, reason):
    d = output_gate(evidence(**kw))
    assert d.bounce and d.confidence < 0.5 and reason in d.explanation


def test_lone_minority_lowers_confidence_and_threshold_moves_decision():
    alone = EvidenceOutputBouncer().judge_evidence(evidence(diff("    return a + b"), regressions=None, agreeing=1, plausible=4))
    backed = EvidenceOutputBouncer().judge_evidence(evidence(diff("    return a + b"), regressions=None, agreeing=3, plausible=4))
    assert alone.confidence < backed.confidence
    assert "none of 3 other plausible candidates agree" in alone.explanation
    assert EvidenceOutputBouncer(threshold=alone.confidence + 0.01).judge_evidence(evidence(diff("    return a + b"), regressions=None, agreeing=1, plausible=4)).bounce


def test_agreeing_counts_ignores_comments_and_spacing():
    a = diff("    return a + b")
    b = diff("    return a + b   # fixed", "    # the operator was wrong")
    c = diff("    return b + a")
    assert agreeing_counts({"a": a, "b": b, "c": c}) == {"a": 2, "b": 2, "c": 1}



def test_bounce_cli_input_and_output(tmp_path):
    issue = tmp_path / "issue.md"
    issue.write_text(VAGUE)
    res = run_cli("bounce", "input", "--issue", str(issue), "--json")
    assert res.returncode == 3, res.stderr
    assert json.loads(res.stdout)["bounce"] is True
    issue.write_text(DETAILED)
    res = run_cli("bounce", "input", "--issue", str(issue))
    assert res.returncode == 0 and "ACCEPT" in res.stdout
    patch = tmp_path / "fix.diff"
    patch.write_text(diff("    assert add(3, 4) == 8", removed=("    assert add(3, 4) == 7",), path="tests/test_calc.py"))
    res = run_cli("bounce", "output", "--issue", str(issue), "--patch", str(patch), "--json")
    assert res.returncode == 3 and json.loads(res.stdout)["features"]["edits_tests"] == ["tests/test_calc.py"]
    res = run_cli("bounce", "output", "--issue", str(issue), "--patch", str(patch), "--repo", str(tmp_path))
    assert res.returncode == 2 and "--repo and --test-cmd go together" in res.stderr
