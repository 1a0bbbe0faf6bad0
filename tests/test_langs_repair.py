"""End to end: the Java (Maven, JUnit 5) and Node (node:test) examples repaired by the template
engine, validated cold and confirmed by the command as given, in the local sandbox."""
import shutil
from pathlib import Path

import pytest

from patchwarden.repair.config import RepairConfig
from patchwarden.repair.pipeline import run_repair

from helpers import tree_snapshot

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def repair(tmp_path, example: str, cmd: str, **kw):
    repo = tmp_path / example
    shutil.copytree(EXAMPLES / example, repo)
    before = tree_snapshot(repo)
    out = run_repair(RepairConfig(repo=repo, test_cmd=cmd, sandbox="local", out=tmp_path / "run", progress=False, **kw))
    assert tree_snapshot(repo) == before  # the user's tree is never written
    return out


@pytest.mark.skipif(not shutil.which("mvn") or not (Path.home() / ".m2" / "repository").is_dir(),
                    reason="Maven with an offline ~/.m2 cache (scripts/setup-dev.sh)")
def test_java_example_repaired_and_confirmed(tmp_path):
    out = repair(tmp_path, "java-range", "mvn -o -q test")
    assert out.status == "plausible", out.message
    assert "-        return x > lo && x <= hi;\n+        return x >= lo && x <= hi;" in out.patch
    assert out.trigger_tests == ["com.example.RangeTest#containsBothEnds", "com.example.RangeTest#containsRange"] or \
        sorted(out.trigger_tests) == ["com.example.RangeTest#containsBothEnds", "com.example.RangeTest#containsRange"]
    assert any("contains(int)" in key for key in out.top_functions)
    assert out.confirmation["confirmed"] and out.confirmation["tests"]["com.example.RangeTest#containsBothEnds"] == "passed"


@pytest.mark.skipif(not shutil.which("node"), reason="Node.js 20")
def test_javascript_example_repaired_and_confirmed(tmp_path):
    out = repair(tmp_path, "js-tally", "node --test")
    assert out.status == "plausible", out.message
    assert "+  return values.filter((v) => v === 0).length;" in out.patch
    assert out.top_functions[0] == "tally.js::countZeros"
    assert out.trigger_tests == ["countZeros ignores values that only compare equal to zero"]
    assert out.confirmation["confirmed"] and len(out.confirmation["tests"]) == 4
