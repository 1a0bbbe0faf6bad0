"""The bouncer hooks of the repair pipeline, on a real repo, real candidates and their diffs."""
import json
from pathlib import Path

import pytest

from patchwarden.repair.config import RepairConfig
from patchwarden.repair.bug_context import BugContext
from patchwarden.repair.candidate import Candidate, FunctionEdit
from patchwarden.sandboxes.testresults import TestResult
from patchwarden.repair.emit import unified_diff
from patchwarden.repair.splice import patched_files
from patchwarden.repair.pipeline import _input_gate, _output_gate

SRC = "def f(x):\n    return x + 3\n"
TEST = "from m import f\n\n\ndef test_f():\n    assert f(5) == 10\n"


def setup(tmp_path: Path, issue: str | None = "f(5) returns 8, expected 10: `f` should double its argument"):
    repo = tmp_path / "repo"
    (repo / "tests").mkdir(parents=True)
    (repo / "m.py").write_text(SRC)
    (repo / "tests" / "test_m.py").write_text(TEST)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    cfg = RepairConfig(repo=repo, test_cmd="python -m pytest -q", issue=issue)
    failing = [TestResult("tests/test_m.py::test_f", "failed", "assert 8 == 10")]
    ctx = BugContext(repo, cfg.test_cmd, failing, [], issue, {"tests/test_m.py::test_f": TEST.split("\n\n\n")[1]}, run_dir)
    return cfg, ctx


def candidate(new_source: str) -> Candidate:
    return Candidate("template", [FunctionEdit("m.py", "f", 0, len(SRC.encode()), new_source)], "test candidate")


def judge(cfg, ctx, best, others=()):
    cands = {c.id: c.to_dict() for c in (best, *others)}
    plausible = list(cands)
    validations = {cid: {"candidate_id": cid, "status": "plausible", "stage": "suite", "newly_failing": []} for cid in plausible}
    patch = unified_diff(ctx.repo, patched_files(ctx.repo, best))
    return _output_gate(cfg, ctx, best, patch, plausible, validations, cands)


def test_input_gate_bounces_vague_issues_only(tmp_path):
    cfg, ctx = setup(tmp_path)
    assert _input_gate(cfg, ctx) is None
    assert json.loads((ctx.run_dir / "bounce_input.json").read_text())["bounce"] is False
    cfg, ctx = setup(tmp_path / "vague", issue="it doesn't work")
    gate = _input_gate(cfg, ctx)
    assert gate["bounce"] and gate["label"] in ("VAGUE", "IMPOSSIBLE_TO_SOLVE")
    cfg.bounce = False  # --no-bounce
    assert _input_gate(cfg, ctx) is None
    cfg, ctx = setup(tmp_path / "none", issue=None)
    assert _input_gate(cfg, ctx) is None


def test_output_gate_accepts_a_general_fix_with_agreement(tmp_path):
    cfg, ctx = setup(tmp_path)
    best = candidate("def f(x):\n    return x * 2\n")
    same = candidate("def f(x):\n    return x * 2  # double\n")
    gate = judge(cfg, ctx, best, [same])
    assert not gate["bounce"] and gate["confidence"] > 0.8
    assert gate["evidence"]["agreeing"] == 2 and gate["evidence"]["regressions"] == 0
    saved = json.loads((ctx.run_dir / "bounce_output.json").read_text())
    assert saved["features"]["special_cases"] == []


def test_output_gate_bounces_a_special_case_and_respects_threshold(tmp_path):
    cfg, ctx = setup(tmp_path)
    overfit = candidate("def f(x):\n    if x == 5:\n        return 10\n    return x + 3\n")
    gate = judge(cfg, ctx, overfit)
    assert gate["bounce"] and "special-cases test literal(s) 5" in gate["explanation"]
    assert gate["features"]["special_cases"][0]["returns"] == "10"
    cfg.bounce_threshold = 0.01
    assert not judge(cfg, ctx, overfit)["bounce"]
    cfg.bounce = False
    assert judge(cfg, ctx, overfit) is None


def repair_cli(repo, out, *extra):
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ)
    args = [sys.executable, "-m", "patchwarden.cli", "repair", str(repo), "--test-cmd", "python3 -m pytest -q", "--sandbox", "local", "--out", str(out), "--json", *extra]
    proc = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert proc.stdout.strip(), proc.stderr
    return proc, json.loads(proc.stdout)


def test_repair_abstains_on_a_vague_issue_with_exit_3(tmp_path):
    from helpers import SHAPES, make_repo

    repo = make_repo(tmp_path / "shapes", SHAPES)
    issue = tmp_path / "issue.md"
    issue.write_text("it doesn't work, please fix")
    proc, result = repair_cli(repo, tmp_path / "run", "--issue", str(issue))
    assert proc.returncode == 3 and result["status"] == "abstained"
    assert result["bounce"]["bounce"] and "too vague" in result["message"]
    assert json.loads((tmp_path / "run" / "bounce_input.json").read_text())["label"] in ("VAGUE", "IMPOSSIBLE_TO_SOLVE")
    assert not (tmp_path / "run" / "validations.jsonl").exists()  # abstained before generating anything


@pytest.mark.slow
def test_repair_keeps_the_patch_when_the_output_gate_abstains(tmp_path):
    from helpers import SHAPES, make_repo

    repo = make_repo(tmp_path / "shapes", SHAPES)
    proc, result = repair_cli(repo, tmp_path / "run", "--bounce-threshold", "0.99")
    assert proc.returncode == 3 and result["status"] == "abstained", proc.stderr
    assert "not trustworthy enough" in result["message"] and result["bounce"]["evidence"]["trigger_passed"] is True
    assert (tmp_path / "run" / "patch.diff").read_text() == result["patch"] != ""
    proc, result = repair_cli(repo, tmp_path / "run2", "--bounce-threshold", "0.99", "--no-bounce")
    assert proc.returncode == 0 and result["status"] == "plausible" and result["bounce"] is None
