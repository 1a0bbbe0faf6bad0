"""bouncerbench run / export and `bounce output` with tests run in a real sandbox."""
import json
from pathlib import Path

import pytest
import yaml
from bouncer_helpers import run_cli

from patchwarden.bouncer.data import load_predictions

ISSUES = [
    {"instance_id": "p__1", "problem_statement": "`f(2)` returns 5 but should return 4.\n```\n>>> f(2)\n5\n```", "input_quality": 0,
     "patch": "--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-    return x + 3\n+    return x * 2\n", "output_quality": 1.0},
    {"instance_id": "p__2", "problem_statement": "doesn't work", "input_quality": 3,
     "patch": "--- a/tests/test_m.py\n+++ b/tests/test_m.py\n@@ -1 +1 @@\n-    assert f(2) == 4\n+    assert f(2) == 5\n", "output_quality": 0.0},
    {"instance_id": "p__3", "problem_statement": "something weird happens sometimes", "input_quality": 2,
     "patch": "--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-    return x + 3\n+    return x + 2\n", "output_quality": 0.5},
]



def test_run_resume_score_and_export(tmp_path):
    data = tmp_path / "lite.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ISSUES))
    out = tmp_path / "preds.json"
    res = run_cli("bouncerbench", "run", "--split", "lite", "--bouncer", "heuristic", "--data", str(data), "--limit", "2", "--out", str(out))
    assert res.returncode == 0, res.stderr
    first = json.loads(out.read_text())
    assert sorted(first) == ["p__1", "p__2"]
    assert first["p__1"]["input_bounce"] is False and first["p__2"]["input_bounce"] is True
    assert first["p__2"]["output_bounce"] is True  # edits a test file
    assert first["p__1"]["trace"]["input"]["bouncer"] == "heuristic-input" and "explanation" in first["p__1"]["trace"]["output"]
    res = run_cli("bouncerbench", "run", "--split", "lite", "--bouncer", "heuristic", "--data", str(data), "--out", str(out))
    assert res.returncode == 0 and "1 judged now, 2 resumed" in res.stdout.replace("\n", " ")
    assert sorted(json.loads(out.read_text())) == ["p__1", "p__2", "p__3"]

    res = run_cli("bouncerbench", "score", "--split", "lite", "--predictions", str(out), "--labels", str(data), "--json")
    assert res.returncode == 0, res.stderr
    scores = json.loads(res.stdout)
    assert set(scores["input_metrics"]) == {"F_m", "I_Score", "R_b", "FNR_a"}
    assert set(scores["output_metrics"]) == {"F_m", "O_Score", "R_b", "FNR_a"}

    folder = tmp_path / "submission"
    res = run_cli("bouncerbench", "export", "--name", "Patchwarden Heuristic", "--site", "https://example.org", "--lite", str(out), "--out", str(folder), "--json")
    assert res.returncode == 0, res.stderr
    config = yaml.safe_load((folder / "config.yaml").read_text())
    assert config == {"name": "Patchwarden Heuristic", "oss": True, "site": "https://example.org",
                      "entries": {"lite": "patchwarden-heuristic_lite.json", "input": None, "output": None}, "icon": "bouncerbench.svg"}
    exported = folder / "data" / "patchwarden-heuristic_lite.json"
    assert load_predictions(exported, "lite") == load_predictions(out, "lite")
    res = run_cli("bouncerbench", "export", "--name", "x", "--site", "s", "--out", str(folder))
    assert res.returncode == 2 and "nothing to export" in res.stderr


def test_run_refuses_a_corrupt_out_and_unknown_bouncer(tmp_path):
    data = tmp_path / "in.csv"
    data.write_text("instance_id,problem_statement,input_quality\na,text,1\n")
    out = tmp_path / "preds.json"
    out.write_text("{half")
    res = run_cli("bouncerbench", "run", "--split", "input", "--data", str(data), "--out", str(out))
    assert res.returncode == 2 and "not a submission" in res.stderr and out.read_text() == "{half"
    res = run_cli("bouncerbench", "run", "--split", "input", "--bouncer", "oracle", "--data", str(data), "--out", str(out))
    assert res.returncode == 2 and "unknown --bouncer" in res.stderr
    res = run_cli("bouncerbench", "run", "--split", "input", "--bouncer", "llm", "--data", str(data), "--out", str(out))
    assert res.returncode == 2 and "needs a model" in res.stderr


def make_repo(root: Path) -> Path:
    (root / "tests").mkdir(parents=True)
    (root / "m.py").write_text("def f(x):\n    return x + 3\n\n\ndef g(x):\n    return x\n")
    (root / "tests" / "test_m.py").write_text(
        "from m import f, g\n\n\ndef test_f():\n    assert f(2) == 4\n    assert f(5) == 10\n\n\ndef test_g():\n    assert g(1) == 1\n"
    )
    return root


PYTEST = "python3 -m pytest -q -p no:cacheprovider"


def test_bounce_output_runs_tests_in_a_sandbox(tmp_path):
    repo = make_repo(tmp_path / "repo")
    before = (repo / "m.py").read_text()
    issue = tmp_path / "issue.md"
    issue.write_text("f should double its argument: f(2) must be 4")
    bad = tmp_path / "bad.diff"
    bad.write_text("--- a/m.py\n+++ b/m.py\n@@ -1,2 +1,2 @@\n def nothere(x):\n-    return 0\n+    return 1\n")
    res = run_cli("bounce", "output", "--issue", str(issue), "--patch", str(bad), "--repo", str(repo), "--test-cmd", PYTEST)
    assert res.returncode == 2 and "does not apply" in res.stderr
    good = tmp_path / "good.diff"
    good.write_text("--- a/m.py\n+++ b/m.py\n@@ -1,2 +1,2 @@\n def f(x):\n-    return x + 3\n+    return x * 2\n")
    res = run_cli("bounce", "output", "--issue", str(issue), "--patch", str(good), "--repo", str(repo), "--test-cmd", PYTEST, "--json")
    assert res.returncode == 0, res.stderr + res.stdout
    feats = json.loads(res.stdout)["features"]
    assert feats["trigger_passed"] is True and feats["regressions"] == 0
    assert (repo / "m.py").read_text() == before  # the user's tree is never written


@pytest.mark.slow
def test_bounce_output_catches_an_overfitting_patch_in_a_sandbox(tmp_path):
    repo = make_repo(tmp_path / "repo")
    issue = tmp_path / "issue.md"
    issue.write_text("f should double its argument")
    overfit = tmp_path / "overfit.diff"
    overfit.write_text(
        "--- a/m.py\n+++ b/m.py\n@@ -1,2 +1,6 @@\n def f(x):\n+    if x == 5:\n+        return 10\n+    if x == 2:\n+        return 4\n     return x + 3\n"
    )
    res = run_cli("bounce", "output", "--issue", str(issue), "--patch", str(overfit), "--repo", str(repo), "--test-cmd", PYTEST, "--json")
    decision = json.loads(res.stdout)
    assert res.returncode == 3 and decision["bounce"]
    assert decision["features"]["trigger_passed"] is True  # the tests pass, yet the patch special-cases their values
    assert {"literals": ["5"], "returns": "10", "line": "if x == 5:"} in decision["features"]["special_cases"]
