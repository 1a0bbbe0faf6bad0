"""Per-test results of Java and JavaScript runners (sandboxes/test_reports.py).

Maven Surefire and `node --test` reports are produced here by the real runners (mvn offline,
Node 20); Gradle, the JUnit console launcher, Jest (jest-junit), Vitest and Mocha
(mocha-junit-reporter) run for real in tests/test_runner_reports.py. Here their readers are also
checked on fixed XML (fast, without the runners), and the flags patchwarden adds as text.
"""
import shutil
from pathlib import Path

import pytest

from patchwarden.sandboxes import open_sandbox
from patchwarden.sandboxes.test_reports import prepare, read_junit, recognize, run_with_reports

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
needs_mvn = pytest.mark.skipif(not shutil.which("mvn") or not (Path.home() / ".m2" / "repository").is_dir(),
                               reason="Maven with an offline ~/.m2 cache (scripts/setup-dev.sh)")
needs_node = pytest.mark.skipif(not shutil.which("node"), reason="Node.js 20")


@needs_mvn
def test_surefire_reports_of_a_real_maven_run_and_stale_ones_ignored(tmp_path):
    repo = tmp_path / "range"
    shutil.copytree(EXAMPLES / "java-range", repo)
    stale = repo / "target" / "surefire-reports"
    stale.mkdir(parents=True)  # a report left by an earlier build of the user's own tree
    (stale / "TEST-com.example.Gone.xml").write_text('<testsuite><testcase classname="com.example.Gone" name="old"/></testsuite>')
    with open_sandbox("local", repo) as sbx:
        rr = run_with_reports(sbx, "mvn -o -q test", timeout=300)
    assert rr.runner == "maven" and rr.result.returncode == 1
    statuses = {c.nodeid: c.status for c in rr.cases}
    assert statuses == {
        "com.example.RangeTest#containsInside": "passed",
        "com.example.RangeTest#containsBothEnds": "failed",
        "com.example.RangeTest#excludesOutside": "passed",
        "com.example.RangeTest#containsRange": "failed",
        "com.example.RangeTest#length": "passed",
    }
    failed = next(c for c in rr.cases if c.nodeid.endswith("containsBothEnds"))
    assert "expected: <true> but was: <false>" in failed.message
    assert "at com.example.RangeTest.containsBothEnds(RangeTest.java:" in failed.traceback


@needs_node
def test_node_test_junit_report_through_npm_test(tmp_path):
    repo = tmp_path / "tally"
    shutil.copytree(EXAMPLES / "js-tally", repo)
    (repo / "test" / "suite.test.js").write_text(
        "const { describe, it } = require('node:test');\nconst assert = require('node:assert');\n"
        "describe('outer', () => { describe('inner', () => { it('adds', () => assert.strictEqual(1 + 1, 2)); }); });\n")
    with open_sandbox("local", repo) as sbx:
        rr = run_with_reports(sbx, "npm test", timeout=120)  # the script in package.json is `node --test`
        assert sbx.read_file("test/tally.test.js")  # the tree is untouched
    assert rr.runner == "node-test", rr.note
    statuses = {c.nodeid: c.status for c in rr.cases}
    assert statuses["countZeros ignores values that only compare equal to zero"] == "failed"
    assert statuses["countZeros counts numeric zeros"] == "passed"
    assert statuses["mode picks the most frequent value"] == "passed"
    assert statuses["outer > inner > adds"] == "passed"
    bad = next(c for c in rr.cases if c.nodeid.startswith("countZeros ignores"))
    assert "test/tally.test.js:" in bad.traceback  # the frames localization reads
    assert "✖" in rr.result.stdout  # the user's own console output is kept


@needs_node
def test_a_command_without_a_known_runner_is_judged_by_exit_code(tmp_path):
    repo = tmp_path / "tally"
    shutil.copytree(EXAMPLES / "js-tally", repo)
    with open_sandbox("local", repo) as sbx:
        rr = run_with_reports(sbx, "node test/tally.test.js", timeout=120)
    assert rr.runner is None and rr.cases is None and rr.result.returncode == 1


def test_a_recognised_runner_without_reports_says_so(tmp_path):
    repo = tmp_path / "r"
    repo.mkdir()
    (repo / "mvn").write_text("#!/bin/sh\nexit 1\n")
    (repo / "mvn").chmod(0o755)
    with open_sandbox("local", repo) as sbx:
        rr = run_with_reports(sbx, "./mvn -o -q test", timeout=60)
    assert rr.runner == "maven" and rr.cases is None
    assert "no per-test results could be read from the maven run" in rr.note and "exit code alone decides" in rr.note


def test_runners_are_recognised_and_reporters_asked_for(tmp_path):
    assert recognize("./mvnw -B test") == "maven" and recognize("./gradlew test --offline") == "gradle"
    assert recognize("java -jar junit-platform-console-standalone.jar -cp out --scan-classpath") == "junit-console"
    assert recognize("node --test test/") == "node-test" and recognize("node app.js") is None
    assert recognize("npx jest") == "jest" and recognize("npx vitest run") == "vitest" and recognize("npx mocha") == "mocha"
    cmd, env, _ = prepare("node --test test/", "/w")
    assert cmd == "node --test test/" and "--test-reporter=junit" in env["NODE_OPTIONS"]
    cmd, _, _ = prepare("java -jar junit-platform-console-standalone.jar -cp out --scan-classpath", "/w")
    assert cmd.endswith("--reports-dir=/w/.patchwarden/reports")
    cmd, _, _ = prepare("npx vitest run", "/w")
    assert "--reporter=junit" in cmd and "--outputFile.junit=/w/.patchwarden/reports/vitest-junit.xml" in cmd
    # jest-junit / mocha-junit-reporter are used only when the project has them
    cmd, env, note = prepare("npx jest", "/w", read=lambda rel: (tmp_path / rel).read_bytes())
    assert cmd == "npx jest" and "jest-junit is not installed" in note
    (tmp_path / "node_modules" / "jest-junit").mkdir(parents=True)
    (tmp_path / "node_modules" / "jest-junit" / "package.json").write_text("{}")
    cmd, env, note = prepare("npx jest", "/w", read=lambda rel: (tmp_path / rel).read_bytes())
    assert "--reporters=jest-junit" in cmd and env["JEST_JUNIT_OUTPUT_DIR"] == "/w/.patchwarden/reports" and not note


# Layouts as each tool writes them (real runs: tests/test_runner_reports.py).
GRADLE = """<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="com.acme.SumsTest" tests="2" skipped="0" failures="1" errors="0" timestamp="2024-01-01T00:00:00" hostname="h" time="0.02">
  <properties/>
  <testcase name="adds()" classname="com.acme.SumsTest" time="0.01"/>
  <testcase name="subtracts()" classname="com.acme.SumsTest" time="0.01">
    <failure message="expected: &lt;1&gt; but was: &lt;2&gt;" type="org.opentest4j.AssertionFailedError">org.opentest4j.AssertionFailedError: expected: &lt;1&gt; but was: &lt;2&gt;
\tat com.acme.Sums.sub(Sums.java:7)</failure>
  </testcase>
  <system-out><![CDATA[]]></system-out>
</testsuite>"""
JUNIT_CONSOLE = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites><testsuite name="JUnit Jupiter" tests="2" skipped="1" failures="0" errors="1">
<testcase name="parses(String)[1]" classname="com.acme.ParserTest" time="0.003"><error message="boom" type="java.lang.IllegalStateException">java.lang.IllegalStateException: boom</error></testcase>
<testcase name="later()" classname="com.acme.ParserTest" time="0"><skipped/></testcase>
</testsuite></testsuites>"""
JEST_JUNIT = """<testsuites name="jest tests" tests="2" failures="1"><testsuite name="math" tests="2" failures="1" file="src/math.test.js">
<testcase classname="math adds" name="math adds" time="0.001"/>
<testcase classname="math subtracts" name="math subtracts" time="0.002"><failure>Error: expect(received).toBe(expected)
    at Object.toBe (/w/src/math.test.js:9:20)</failure></testcase>
</testsuite></testsuites>"""
VITEST = """<testsuites name="vitest tests" tests="1" failures="0"><testsuite name="src/math.test.ts" tests="1">
<testcase classname="src/math.test.ts" name="math &gt; adds" time="0.001"/>
</testsuite></testsuites>"""
MOCHA = """<testsuites name="Mocha Tests" tests="1" failures="1"><testsuite name="Root Suite" tests="0"/>
<testsuite name="Stack" tests="0" file="/w/test/stack.test.js"/>
<testsuite name="pop" tests="1" failures="1" file="/w/test/stack.test.js"><testcase name="Stack pop empties it" classname="empties it" time="0.001">
<failure message="expected 1 to equal 2" type="AssertionError">AssertionError: expected 1 to equal 2</failure></testcase></testsuite></testsuites>"""


def test_readers_for_each_documented_report_layout():
    gradle = {c.nodeid: c.status for c in read_junit(GRADLE, "gradle")}
    assert gradle == {"com.acme.SumsTest#adds": "passed", "com.acme.SumsTest#subtracts": "failed"}
    console = {c.nodeid: c.status for c in read_junit(JUNIT_CONSOLE, "junit-console")}
    assert console == {"com.acme.ParserTest#parses(String)[1]": "error", "com.acme.ParserTest#later": "skipped"}
    jest = {c.nodeid: c.status for c in read_junit(JEST_JUNIT, "jest")}
    assert jest == {"src/math.test.js > math adds": "passed", "src/math.test.js > math subtracts": "failed"}
    assert {c.nodeid for c in read_junit(VITEST, "vitest")} == {"src/math.test.ts > math > adds"}
    # mocha-junit-reporter: flat suites naming the file by its absolute path in the work dir
    assert {c.nodeid: c.status for c in read_junit(MOCHA, "mocha", "/w")} == {"test/stack.test.js > Stack pop empties it": "failed"}
    with pytest.raises(ValueError, match="unreadable JUnit XML"):
        read_junit("<testsuite", "maven")
