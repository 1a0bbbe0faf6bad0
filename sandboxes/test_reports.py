"""Per-test results of the Java and JavaScript test runners, read from their JUnit XML reports.

After the user's command ran in a sandbox, the reports are read from the runners' standard places:
Maven Surefire (`**/target/surefire-reports/TEST-*.xml`), Gradle (`**/build/test-results/**/TEST-*.xml`),
and `.patchwarden/reports/` where patchwarden asked a recognised runner for a report:
`node --test` (built-in junit reporter), the JUnit Platform console launcher (`--reports-dir`),
Vitest (built-in junit reporter), Jest (jest-junit) and Mocha (mocha-junit-reporter) when the
project has those reporter packages installed. Stale reports of the copied tree are removed
first, so a result is always from this run. When none can be read, `cases` is None and the
caller judges by exit code alone (and says so).

Node ids: JVM tests `pkg.Class#method` (Surefire's own `-Dtest=` syntax); JavaScript tests
`suite > ... > test name`, prefixed by the file when the report names one.

Bottom layer: imports nothing from patchwarden.repair.
"""
from __future__ import annotations

import posixpath
import shlex
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from .testresults import TestResult
from pathlib import Path

REPORT_DIR = ".patchwarden/reports"
JVM_RUNNERS = ("maven", "gradle", "junit-console")
JS_RUNNERS = ("node-test", "jest", "vitest", "mocha")
# Report places that runners write by themselves (relative to the work dir, any depth).
STANDARD_DIRS = ("target/surefire-reports", "build/test-results")


@dataclass
class ReportRun:
    result: object  # the sandbox's RunResult
    cases: list[TestResult] | None  # None: no per-test report could be read
    runner: str | None  # the recognised runner, or None
    note: str = ""  # what was read or why nothing was
    command: str = ""  # the command as run (with any reporter flags added)


def _words(cmd: str) -> list[str]:
    try:
        return shlex.split(cmd)
    except ValueError:
        return cmd.split()


def _npm_script(words: list[str], read) -> str | None:
    """`npm test` / `npm run X` / `yarn test`: the script's text from package.json."""
    if read is None or not words or Path(words[0]).name not in ("npm", "yarn", "pnpm"):
        return None
    rest = [w for w in words[1:] if not w.startswith("-")]
    if not rest:
        return None
    name = rest[1] if rest[0] in ("run", "run-script") and len(rest) > 1 else rest[0]
    try:
        import json

        return json.loads(read("package.json")).get("scripts", {}).get(name)
    except Exception:  # no package.json, not JSON, or a backend's own error type
        return None


def repo_reader(repo: Path | None):
    """A `read(relpath) -> bytes` over a repository folder (None when there is no folder)."""
    return None if repo is None else (lambda rel: (Path(repo) / rel).read_bytes())


def recognize(cmd: str, read=None) -> str | None:
    """The test runner a command runs, when patchwarden knows it (see module doc), else None.
    `read(relpath)` reads the project's files (package.json for `npm test`)."""
    words = _words(cmd)
    script = _npm_script(words, read)
    if script:
        return recognize(script, None)
    names = [Path(w).name for w in words]
    if any(n in ("mvn", "mvnw", "mvn.cmd") for n in names):
        return "maven"
    if any(n in ("gradle", "gradlew") for n in names):
        return "gradle"
    if any("junit-platform-console" in n for n in names):
        return "junit-console"
    if "node" in names and "--test" in words:
        return "node-test"
    for runner in ("jest", "vitest", "mocha"):
        if runner in names:
            return runner
    return None


def _has_package(read, name: str) -> bool:
    try:
        return read is not None and bool(read(f"node_modules/{name}/package.json"))
    except Exception:
        return False


def _resolvable(sandbox, name: str) -> bool:
    """Whether Node in the sandbox resolves package `name` from the work dir, as the runner would
    (node_modules is a link to the repository's own, which the host-side reader may not follow)."""
    probe = f"require.resolve({name!r} + '/package.json')"
    try:
        return sandbox.run(["node", "-e", probe], timeout=60).returncode == 0
    except Exception:  # no node in this sandbox, or a backend's own error
        return False


def prepare(cmd: str, workdir: str, read=None, installed=None) -> tuple[str, dict[str, str], str]:
    """(command, environment, note): `cmd` with a reporter asked for when its runner is recognised
    and does not write a report by itself. Only reporter options are added; the tests run are the same.
    `node --test` gets them through NODE_OPTIONS, so `npm test` and test paths keep working.
    `installed(package)`: whether the project has a reporter package (default: read its node_modules)."""
    runner = recognize(cmd, read)
    installed = installed or (lambda name: _has_package(read, name))
    out = posixpath.join(workdir, REPORT_DIR)
    words = _words(cmd)
    if runner == "node-test" and not any(w.startswith("--test-reporter") for w in words):
        opts = ("--test-reporter=spec --test-reporter-destination=stdout "
                f"--test-reporter=junit --test-reporter-destination={out}/node-junit.xml")
        return cmd, {"NODE_OPTIONS": opts}, ""
    if runner == "junit-console" and not any(w.startswith("--reports-dir") for w in words):
        return cmd + " " + shlex.quote(f"--reports-dir={out}"), {}, ""
    if runner == "vitest" and not any(w.startswith("--reporter") for w in words):
        return cmd + " " + shlex.join(["--reporter=default", "--reporter=junit", f"--outputFile.junit={out}/vitest-junit.xml"]), {}, ""
    if runner == "jest" and not any(w.startswith("--reporters") for w in words):
        if not installed("jest-junit"):
            return cmd, {}, "jest-junit is not installed in the project (npm i -D jest-junit gives per-test results)"
        # jest-junit names no file by default (its suite is the first describe's title): ask for it.
        return (cmd + " --reporters=default --reporters=jest-junit",
                {"JEST_JUNIT_OUTPUT_DIR": out, "JEST_JUNIT_OUTPUT_NAME": "jest-junit.xml",
                 "JEST_JUNIT_ADD_FILE_ATTRIBUTE": "true"}, "")
    if runner == "mocha" and not any(w in ("--reporter", "-R") or w.startswith("--reporter=") for w in words):
        if not installed("mocha-junit-reporter"):
            return cmd, {}, "mocha-junit-reporter is not installed in the project (npm i -D mocha-junit-reporter gives per-test results)"
        return cmd + " " + shlex.join(["--reporter", "mocha-junit-reporter", "--reporter-options",
                                       f"mochaFile={out}/mocha-junit.xml"]), {}, ""
    return cmd, {}, ""


# Removes stale reports of the copied tree and lists the new ones (prunes dependency folders).
_CLEAN = ("find . -name node_modules -prune -o -type d \\( -path '*/target/surefire-reports' "
          "-o -path '*/build/test-results' \\) -prune -exec rm -rf {} + ; rm -rf " + REPORT_DIR + " && mkdir -p " + REPORT_DIR)
_LIST = ("find . -name node_modules -prune -o -type f -name '*.xml' \\( -path '*/target/surefire-reports/TEST-*' "
         "-o -path '*/build/test-results/*TEST-*' -o -path './" + REPORT_DIR + "/*' \\) -print")


def own_report_dir(cmd: str, runner: str | None, workdir: str) -> str | None:
    """The report folder the user's own command names (the console launcher's `--reports-dir X`),
    relative to the work dir; None when it names none or one outside the work dir."""
    if runner != "junit-console":
        return None
    words = _words(cmd)
    for i, w in enumerate(words):
        value = w.split("=", 1)[1] if w.startswith("--reports-dir=") else (
            words[i + 1] if w == "--reports-dir" and i + 1 < len(words) else None)
        if value:
            rel = posixpath.relpath(posixpath.normpath(posixpath.join(workdir, value)), workdir)
            return None if rel == ".." or rel.startswith("../") else rel
    return None


def run_with_reports(sandbox, cmd: str, timeout: float, env: dict[str, str] | None = None,
                     extra_env: dict[str, str] | None = None) -> ReportRun:
    """Run `cmd` in `sandbox` and read its runner's per-test reports (see module doc).
    `extra_env` is added only when the runner is recognised (e.g. coverage switches)."""
    runner = recognize(cmd, sandbox.read_file)
    if runner is None:
        return ReportRun(sandbox.run(cmd, timeout=timeout, env=env), None, None, "", cmd)
    command, extra, note = prepare(cmd, sandbox.workdir, sandbox.read_file,
                                   lambda name: _has_package(sandbox.read_file, name) or _resolvable(sandbox, name))
    extra = {**(extra_env or {}), **extra}
    own = own_report_dir(command, runner, sandbox.workdir)
    clean, listing_cmd = _CLEAN, _LIST
    if own:  # the user's own report folder: its stale reports go, its new ones are read
        quoted = shlex.quote(own)
        clean += f" && rm -f {quoted}/TEST-*.xml"
        listing_cmd += f"; find {quoted} -maxdepth 1 -type f -name 'TEST-*.xml' 2>/dev/null"
    sandbox.run(["/bin/sh", "-c", clean], timeout=60)
    res = sandbox.run(command, timeout=timeout, env={**(env or {}), **extra})
    listing = sandbox.run(["/bin/sh", "-c", listing_cmd], timeout=60)
    paths = sorted({posixpath.normpath(p) for p in listing.stdout.split()})
    cases: list[TestResult] = []
    unreadable = []
    for rel in paths:
        try:
            cases.extend(read_junit(sandbox.read_file(rel), runner, sandbox.workdir))
        except (OSError, ValueError) as exc:
            unreadable.append(f"{rel} ({exc})")
        except Exception as exc:  # a backend's own error type for a file that vanished
            unreadable.append(f"{rel} ({type(exc).__name__})")
    if not cases:
        why = note or (f"unreadable: {unreadable[0]}" if unreadable else "the runner wrote none")
        return ReportRun(res, None, runner, f"no per-test results could be read from the {runner} run ({why}), "
                                            f"so its exit code alone decides", command)
    return ReportRun(res, _unique(cases), runner, f"per-test results from {len(paths)} {runner} report file(s)", command)


def _unique(cases: list[TestResult]) -> list[TestResult]:
    """Repeated ids (reruns, a parameterized test without index): the bad outcome wins, once."""
    merged: dict[str, TestResult] = {}
    for c in cases:
        if c.nodeid not in merged or c.bad:
            merged[c.nodeid] = c
    return list(merged.values())


def jvm_test_id(cls: str, name: str) -> str:
    """A JVM test's id: "pkg.Cls#method" ("pkg.Cls$Inner#m(int)[1]"), Maven's -Dtest form."""
    name = name[:-2] if name.endswith("()") else name
    return f"{cls}#{name}" if cls and name else cls or name


def _relative(path: str, workdir: str) -> str:
    """A report's file path relative to the work dir (mocha-junit-reporter writes absolute ones,
    which differ per sandbox), so the same test has the same id in every run."""
    root = workdir.rstrip("/") + "/"
    return path[len(root):] if workdir and path.startswith(root) else path


def _case_id(case: ET.Element, suites: list[str], runner: str, workdir: str = "") -> str:
    name = case.get("name", "")
    if runner in JVM_RUNNERS:
        return jvm_test_id(case.get("classname") or (suites[-1] if suites else ""), name)
    prefix = [_relative(case.get("file"), workdir)] if case.get("file") else []
    inner = [s for s in suites if s and s not in prefix and not name.startswith(s + " ")]
    return " > ".join([*prefix, *inner, name])


def read_junit(xml: bytes | str, runner: str, workdir: str = "") -> list[TestResult]:
    """The test cases of one JUnit XML report; ValueError when it is not readable XML.
    `workdir`: where the run's files were, so that reported file paths are given relative to it."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise ValueError(f"unreadable JUnit XML: {exc}") from exc
    out: list[TestResult] = []

    def walk(node: ET.Element, suites: list[str]) -> None:
        for child in node:
            if child.tag == "testsuite":
                # A JS suite that names its file (mocha-junit-reporter: each describe block is a flat
                # suite with the file and the case's name is its full title).
                name = _relative(child.get("file"), workdir) if child.get("file") else child.get("name", "")
                # A JVM suite is the class (the case carries it); a JS suite is a describe block or file.
                walk(child, suites if runner in JVM_RUNNERS else [*suites, name])
            elif child.tag == "testcase":
                out.append(_case(child, suites, runner, workdir))

    if root.tag == "testsuite" and runner not in JVM_RUNNERS:
        walk(root, [root.get("name", "")])
    else:
        walk(root, [])
    return out


def _case(case: ET.Element, suites: list[str], runner: str, workdir: str = "") -> TestResult:
    status, message, text = "passed", "", ""
    for child in case:
        if child.tag in ("failure", "error"):
            status = "failed" if child.tag == "failure" else "error"
            message = child.get("message", "") or ""
            text = (child.text or "").strip()
            break
        if child.tag == "skipped":
            status, message = "skipped", child.get("message", "") or ""
    try:
        duration = float(case.get("time", "0") or 0)
    except ValueError:
        duration = 0.0
    return TestResult(_case_id(case, suites, runner, workdir), status, message.strip(), text, duration)
