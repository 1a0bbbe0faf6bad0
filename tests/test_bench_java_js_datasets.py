"""`bench run` datasets for folders of Java and JavaScript bugs (issue 14, item 7)."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from patchwarden.benchmarks.datasets import DatasetError, available, get_dataset, load_bugs

CALC_BUGGY = "package demo;\n\npublic class Calc {\n    public static int max(int a, int b) {\n        return a < b ? a : b;\n    }\n}\n"
CALC_FIXED = CALC_BUGGY.replace("a < b ? a : b", "a > b ? a : b")
CALC_TEST = ("package demo;\n\nimport static org.junit.jupiter.api.Assertions.assertEquals;\nimport org.junit.jupiter.api.Test;\n\n"
             "class CalcTest {\n    @Test\n    void max() { assertEquals(3, Calc.max(2, 3)); }\n}\n")
SUM_BUGGY = "exports.sum = (a, b) => a - b;\n"
SUM_FIXED = "exports.sum = (a, b) => a + b;\n"
SUM_TEST = ("const test = require('node:test');\nconst assert = require('node:assert');\nconst { sum } = require('./sum.js');\n"
            "test('adds', () => { assert.strictEqual(sum(1, 2), 3); });\n")


def write(root, files):
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def make_folder(tmp_path):
    """One Java bug (Maven, with fixed/), one JavaScript bug (node:test, with fixed/), one without fixed/."""
    root = tmp_path / "bugs"
    java = root / "java" / "calc-1"
    for version, calc in (("buggy", CALC_BUGGY), ("fixed", CALC_FIXED)):
        write(java / version, {"pom.xml": "<project/>\n", "src/main/java/demo/Calc.java": calc,
                               "src/test/java/demo/CalcTest.java": CALC_TEST})
    write(java / "buggy", {"target/classes/demo/Calc.class": "stale build output"})
    (java / "bug.json").write_text(json.dumps({"issue": "max returns the smaller number", "bug_type": "operator"}))
    js = root / "js" / "sum-1"
    for version, code in (("buggy", SUM_BUGGY), ("fixed", SUM_FIXED)):
        write(js / version, {"sum.js": code, "sum.test.js": SUM_TEST})
    (js / "bug.json").write_text("{}")
    (js / "issue.md").write_text("sum subtracts\n")
    other = root / "js" / "noref"
    write(other / "buggy", {"package.json": json.dumps({"scripts": {"test": "node --test"}}), "a.js": "exports.a = 1;\n"})
    (other / "bug.json").write_text(json.dumps({"test_cmd": "node --test --test-reporter=junit"}))
    return root


def test_both_datasets_are_registered():
    assert {"java_bugs", "js_bugs"} <= set(available())
    assert "_bugfolder" not in available()


def test_java_bugs_load_with_defaults_and_the_fixed_version_as_reference(tmp_path):
    root = make_folder(tmp_path)
    bugs = load_bugs("java_bugs", str(root))
    assert [b.id for b in bugs] == ["java/calc-1"]  # the JavaScript bugs belong to js_bugs
    bug = bugs[0]
    assert bug.test_cmd == "mvn -o -q test" and bug.bug_type == "operator" and "smaller" in bug.issue
    # Only the changed source file; the identical test file is not part of the reference.
    assert bug.reference == {"files": {"src/main/java/demo/Calc.java": CALC_FIXED}}


def test_js_bugs_load_with_each_default_test_command(tmp_path):
    root = make_folder(tmp_path)
    bugs = {b.id: b for b in load_bugs("js_bugs", str(root))}
    assert sorted(bugs) == ["js/noref", "js/sum-1"]
    assert bugs["js/sum-1"].test_cmd == "node --test" and bugs["js/sum-1"].issue == "sum subtracts\n"
    assert bugs["js/sum-1"].reference == {"files": {"sum.js": SUM_FIXED}}
    assert bugs["js/noref"].test_cmd == "node --test --test-reporter=junit" and bugs["js/noref"].reference is None


def test_materialise_is_a_clean_git_copy_without_build_output(tmp_path):
    root = make_folder(tmp_path)
    bug = load_bugs("java_bugs", str(root))[0]
    repo, cmd = get_dataset("java_bugs").materialise(bug, tmp_path / "work")
    assert cmd == "mvn -o -q test"
    assert (repo / "src/main/java/demo/Calc.java").read_text() == CALC_BUGGY
    assert not (repo / "target").exists()
    status = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True, check=True)
    assert status.stdout == ""
    assert (root / "java/calc-1/buggy/target").exists()  # the dataset folder is untouched


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_materialised_js_bug_fails_its_tests_and_the_reference_passes(tmp_path):
    root = make_folder(tmp_path)
    bug = next(b for b in load_bugs("js_bugs", str(root)) if b.id == "js/sum-1")
    repo, cmd = get_dataset("js_bugs").materialise(bug, tmp_path / "work")
    assert subprocess.run(cmd.split(), cwd=repo, capture_output=True).returncode != 0
    for rel, text in bug.reference["files"].items():
        (repo / rel).write_text(text)
    assert subprocess.run(cmd.split(), cwd=repo, capture_output=True).returncode == 0


@pytest.mark.parametrize("setup, message", [
    (lambda b: (b / "x").mkdir() or (b / "x" / "bug.json").write_text("{}"), "has no buggy/"),
    (lambda b: (b / "y" / "buggy").mkdir(parents=True) or (b / "y" / "bug.json").write_text("{oops"), "is not valid JSON"),
    (lambda b: None, "no bug.json"),
])
def test_bad_folders_are_named(tmp_path, setup, message):
    setup(tmp_path)
    with pytest.raises(DatasetError, match=message):
        load_bugs("java_bugs", str(tmp_path))


def test_a_folder_without_bugs_of_the_language_says_so(tmp_path):
    write(tmp_path / "only-js" / "buggy", {"index.js": "exports.x = 1;\n"})
    (tmp_path / "only-js" / "bug.json").write_text("{}")
    with pytest.raises(DatasetError, match="no Java bugs"):
        load_bugs("java_bugs", str(tmp_path))
