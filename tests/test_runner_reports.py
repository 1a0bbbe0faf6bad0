"""Each report reader of sandboxes/test_reports.py on real runner output, produced here.

Jest (jest-junit), Vitest (its junit reporter, on TypeScript), Mocha (mocha-junit-reporter) and
the JUnit Platform console launcher run for real in the local sandbox, through the command a user
would type; patchwarden adds the reporter flags and reads the reports. The runners come from
scripts/setup-dev.sh (pinned, in /opt/patchwarden/js-runners; the launcher from Debian's junit5):
these tests fail under CI when they are missing and skip elsewhere. Maven Surefire and
`node --test` are run for real in tests/test_test_reports.py. Gradle is Debian's 4.4.1 (too old
for the JUnit Platform, so its project uses JUnit 4 jars from Debian's junit4).
"""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from patchwarden.sandboxes import open_sandbox
from patchwarden.sandboxes.suite_run import run_suite
from patchwarden.sandboxes.test_reports import run_with_reports

JS_RUNNERS = Path("/opt/patchwarden/js-runners/node_modules")
CONSOLE_JAR = Path("/usr/share/java/junit-platform-console-standalone.jar")
JUNIT4_JARS = [Path("/usr/share/java/junit4.jar"), Path("/usr/share/java/hamcrest-core.jar")]


def need(ok: bool, what: str) -> None:
    """Skip without the runner, except under CI, which must run these tests."""
    if ok:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing: CI must run the real-runner report tests (run scripts/setup-dev.sh)",
                    pytrace=False)
    pytest.skip(f"{what} (scripts/setup-dev.sh installs it)")


def js_project(tmp_path: Path, runner: str, files: dict[str, str]) -> Path:
    need(shutil.which("node") is not None and shutil.which("npx") is not None, "Node.js 20 with npx")
    need((JS_RUNNERS / ".bin" / runner).exists(), f"{runner} in {JS_RUNNERS}")
    repo = tmp_path / "proj"
    repo.mkdir()
    (repo / "package.json").write_text('{"name": "proj", "private": true}\n')
    (repo / "node_modules").symlink_to(JS_RUNNERS)  # as `npm install` would leave it, shared here
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    return repo


def statuses(cases) -> dict[str, str]:
    return {c.nodeid: c.status for c in cases}


def test_jest_with_jest_junit_real_run(tmp_path):
    repo = js_project(tmp_path, "jest", {"src/math.test.js": (
        "const add = (a, b) => a + b;\n"
        "describe('math', () => {\n"
        "  it('adds', () => { expect(add(1, 2)).toBe(3); });\n"
        "  it('subtracts', () => { expect(add(1, 2)).toBe(0); });\n"
        "});\n")})
    with open_sandbox("local", repo) as sbx:
        rr = run_with_reports(sbx, "npx jest", timeout=120)
    assert rr.runner == "jest" and rr.cases is not None, (rr.note, rr.result.stderr[-2000:])
    assert rr.result.returncode == 1
    assert statuses(rr.cases) == {"src/math.test.js > math adds": "passed",
                                  "src/math.test.js > math subtracts": "failed"}
    bad = next(c for c in rr.cases if c.status == "failed")
    assert "src/math.test.js:4:" in bad.traceback  # the frame localization reads
    assert "Tests:       1 failed, 1 passed" in rr.result.stderr  # the default reporter still prints


def test_vitest_junit_reporter_real_run_on_typescript(tmp_path):
    repo = js_project(tmp_path, "vitest", {"src/math.test.ts": (
        "import { describe, it, expect } from 'vitest';\n"
        "const add = (a: number, b: number): number => a + b;\n"
        "describe('math', () => {\n"
        "  it('adds', () => { expect(add(1, 2)).toBe(3); });\n"
        "  it('subtracts', () => { expect(add(1, 2)).toBe(0); });\n"
        "});\n")})
    with open_sandbox("local", repo) as sbx:
        run = run_suite(sbx, "npx vitest run", "unused.xml", timeout=120)
    assert run.runner == "vitest" and run.tests is not None, (run.note, run.tail)
    assert run.result.returncode == 1
    assert statuses(run.tests) == {"src/math.test.ts > math > adds": "passed",
                                   "src/math.test.ts > math > subtracts": "failed"}
    assert "expected 3 to be +0" in next(c for c in run.tests if c.status == "failed").message


def test_mocha_with_mocha_junit_reporter_real_run(tmp_path):
    repo = js_project(tmp_path, "mocha", {"test/stack.test.js": (
        "const assert = require('node:assert');\n"
        "describe('Stack', () => {\n"
        "  describe('pop', () => {\n"
        "    it('returns the last item', () => { assert.strictEqual([1, 2].pop(), 2); });\n"
        "    it('empties it', () => { assert.strictEqual([1].pop(), 2); });\n"
        "  });\n"
        "});\n")})
    with open_sandbox("local", repo) as sbx:
        rr = run_with_reports(sbx, "npx mocha", timeout=120)
    assert rr.runner == "mocha" and rr.cases is not None, (rr.note, rr.result.stderr[-2000:])
    assert rr.result.returncode == 1
    # The reporter names the file by its absolute sandbox path: the id holds it relative to the
    # work dir, the same in every sandbox.
    assert statuses(rr.cases) == {"test/stack.test.js > Stack pop returns the last item": "passed",
                                  "test/stack.test.js > Stack pop empties it": "failed"}
    assert "test/stack.test.js:5:" in next(c for c in rr.cases if c.status == "failed").traceback


@pytest.mark.parametrize("own_dir", ["", " --reports-dir reports"], ids=["added", "users-own"])
def test_junit_console_launcher_real_run(tmp_path, own_dir):
    need(shutil.which("javac") is not None, "a JDK (javac)")
    need(CONSOLE_JAR.is_file(), f"the JUnit console launcher {CONSOLE_JAR} (Debian package junit5)")
    repo = tmp_path / "sums"
    src = repo / "src" / "com" / "acme" / "SumsTest.java"
    src.parent.mkdir(parents=True)
    src.write_text(
        "package com.acme;\n"
        "import static org.junit.jupiter.api.Assertions.assertEquals;\n"
        "import org.junit.jupiter.api.Test;\n"
        "import org.junit.jupiter.params.ParameterizedTest;\n"
        "import org.junit.jupiter.params.provider.ValueSource;\n"
        "class SumsTest {\n"
        "    @Test void adds() { assertEquals(3, 1 + 2); }\n"
        "    @Test void subtracts() { assertEquals(1, 2 - 2); }\n"
        "    @ParameterizedTest @ValueSource(ints = {1, 2}) void one(int n) { assertEquals(1, n); }\n"
        "}\n")
    subprocess.run(["javac", "-d", str(repo / "out"), "-cp", str(CONSOLE_JAR), str(src)], check=True, timeout=120)
    (repo / "reports").mkdir()  # a report left by an earlier run of the user's own tree
    (repo / "reports" / "TEST-junit-jupiter.xml").write_text(
        '<testsuite><testcase classname="com.acme.Gone" name="old()"/></testsuite>')
    with open_sandbox("local", repo) as sbx:
        rr = run_with_reports(sbx, f"java -jar {CONSOLE_JAR} -cp out --scan-classpath --disable-banner{own_dir}",
                              timeout=120)
    assert rr.runner == "junit-console" and rr.cases is not None, (rr.note, rr.result.stderr[-2000:])
    assert ("--reports-dir=" in rr.command) == (not own_dir)  # the user's own folder is read, not replaced
    assert rr.result.returncode == 1
    assert statuses(rr.cases) == {"com.acme.SumsTest#adds": "passed", "com.acme.SumsTest#subtracts": "failed",
                                  "com.acme.SumsTest#one(int)[1]": "passed", "com.acme.SumsTest#one(int)[2]": "failed"}
    bad = next(c for c in rr.cases if c.nodeid.endswith("subtracts"))
    assert "expected: <1> but was: <0>" in bad.message
    assert "at com.acme.SumsTest.subtracts(SumsTest.java:8)" in bad.traceback


def test_gradle_real_offline_run(tmp_path):
    need(shutil.which("gradle") is not None, "gradle (Debian package gradle)")
    need(all(j.is_file() for j in JUNIT4_JARS), "JUnit 4 jars (Debian package junit4)")
    repo = tmp_path / "sums"
    files = {
        "build.gradle": "apply plugin: 'java'\n"
                        f"dependencies {{ testCompile files({', '.join(repr(str(j)) for j in JUNIT4_JARS)}) }}\n",
        "src/main/java/com/acme/Sums.java":
            "package com.acme;\npublic class Sums { public static int sub(int a, int b) { return a + b; } }\n",
        "src/test/java/com/acme/SumsTest.java": (
            "package com.acme;\n"
            "import static org.junit.Assert.assertEquals;\n"
            "import org.junit.Test;\n"
            "public class SumsTest {\n"
            "    @Test public void adds() { assertEquals(3, 1 + 2); }\n"
            "    @Test public void subtracts() { assertEquals(1, Sums.sub(2, 1)); }\n"
            "}\n"),
        # a report left by an earlier build of the user's own tree
        "build/test-results/test/TEST-com.acme.Gone.xml": '<testsuite><testcase classname="com.acme.Gone" name="old"/></testsuite>',
    }
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    with open_sandbox("local", repo) as sbx:
        rr = run_with_reports(sbx, "gradle test --offline -q", timeout=300)
    assert rr.runner == "gradle" and rr.cases is not None, (rr.note, rr.result.stderr[-3000:])
    assert rr.result.returncode == 1
    assert statuses(rr.cases) == {"com.acme.SumsTest#adds": "passed", "com.acme.SumsTest#subtracts": "failed"}
    bad = next(c for c in rr.cases if c.status == "failed")
    assert "expected:<1> but was:<3>" in bad.message
    assert "at com.acme.SumsTest.subtracts(SumsTest.java:6)" in bad.traceback
