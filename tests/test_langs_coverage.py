"""Per-test coverage for Java (JaCoCo) and JavaScript (V8) baselines, and localization with it."""
import shutil
from pathlib import Path

import pytest

from patchwarden.repair import runtime_coverage
from patchwarden.repair.testrun import run_tests
from patchwarden.sandboxes import open_sandbox

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
RANGE = "src/main/java/com/example/Range.java"
BOTH = "com.example.RangeTest#containsBothEnds"
RANGE_TEST = "com.example.RangeTest#containsRange"


@pytest.mark.skipif(not shutil.which("mvn") or not runtime_coverage.JACOCO_AGENT.is_file(),
                    reason="Maven with an offline ~/.m2 and libjacoco-java (scripts/setup-dev.sh)")
def test_jacoco_coverage_per_failing_test(tmp_path):
    with open_sandbox("local", EXAMPLES / "java-range") as sbx:
        run = run_tests(sbx, "mvn -o -q test", timeout=300)
    assert run.coverage_note.startswith("per-test coverage from JaCoCo: 2 failing test(s) run alone"), run.coverage_note
    lines = run.coverage[RANGE]
    assert set(lines[17]) >= {BOTH, RANGE_TEST}  # `return x > lo && x <= hi;`: both failing tests run it
    assert lines[21] == [RANGE_TEST]  # contains(Range): only the test that calls it
    assert 25 in lines and BOTH not in lines[25]  # length(): passing tests only
    assert run.passing[0] in lines[17]  # the passing tests' run counts too


@pytest.mark.skipif(not shutil.which("mvn"), reason="Maven with an offline ~/.m2 (scripts/setup-dev.sh)")
def test_without_jacoco_the_run_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(runtime_coverage, "JACOCO_AGENT", tmp_path / "missing.jar")
    with open_sandbox("local", EXAMPLES / "java-range") as sbx:
        run = run_tests(sbx, "mvn -o -q test", timeout=300)
    assert run.coverage is None and run.failing
    assert "JaCoCo is not installed (apt-get install libjacoco-java)" in run.coverage_note
    assert "localization uses stack frames and the functions the failing tests call" in run.coverage_note


@pytest.mark.skipif(not shutil.which("node"), reason="Node.js 20")
def test_v8_coverage_per_failing_test_through_npm_test():
    with open_sandbox("local", EXAMPLES / "js-tally") as sbx:
        run = run_tests(sbx, "npm test", timeout=120)
    assert run.coverage_note.startswith("per-test coverage from V8"), run.coverage_note
    trigger = "countZeros ignores values that only compare equal to zero"
    lines = run.coverage["tally.js"]
    assert lines[5] == [trigger]  # countZeros' body ran
    assert 11 not in lines and 12 not in lines  # tally()'s body did not
    assert not any(p.startswith("node_modules") for p in run.coverage)
