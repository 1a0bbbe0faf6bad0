"""Warm validation for Maven projects: one long-lived JVM per sandbox, a fresh class loader per candidate.

    with open_sandbox("local", repo) as sbx:
        session = MavenWarmSession(sbx, repo)          # WarmDoubt: use the cold path
        run = session.run({"src/main/java/demo/Calc.java": text}, timeout=30)
        run.status, run.tests                          # "ok" + surefire-named per-test records

Cold validation runs `mvn -o -q test` per candidate (5-9 s: Maven's start-up, the compiler
plugin, a forked surefire JVM). The warm path pays that once: `MavenWarmSession` runs
`mvn -o -X test` in the sandbox and reads from its debug log exactly what surefire used (the
test class path, the JUnit Platform launcher from surefire's provider class path, the
compiler plugin's javac options), then starts `java/WarmRunner.java` in the sandbox. Per
candidate the runner compiles only the changed sources in-process against `target/classes`
and runs the test classes surefire would run (its default includes) through the launcher in
a NEW URLClassLoader, so nothing (static state, engines, loaded classes) survives from one
candidate to the next.

Whenever the answer could differ from `mvn test`, the session says so instead of answering
(`WarmDoubt` at start, status "doubt" per candidate) and the caller validates cold: Gradle or
multi-module builds, a surefire configuration beyond the defaults (argLine, includes, system
properties...), a non-JUnit-Platform provider, non-Java changes (resources, the pom), a change
to a class's signatures or constants (other classes were compiled against the old ones), a
JVM that died (a test called System.exit). A request that runs past its timeout kills the JVM
(the next request starts a new one) and reports `timed_out`.
"""
from __future__ import annotations

import itertools
import queue
import re
import shlex
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .base import Sandbox
from .forkserver import _pump_lines, _pump_stderr, _write_all
from .test_reports import jvm_test_id

RUNNER_SOURCE = Path(__file__).with_name("java") / "WarmRunner.java"
WARM_DIR = ".patchwarden-jvm"
DEBUG_LOG = f"{WARM_DIR}/mvn-debug.log"
# Surefire's default includes (its excludes default to nested classes, `**/*$*`).
DEFAULT_INCLUDES = (re.compile(r"^Test\w*$"), re.compile(r"^\w*Test$"), re.compile(r"^\w*Tests$"), re.compile(r"^\w*TestCase$"))
# Surefire parameters that must hold these values for the warm runner to run what surefire runs.
SUREFIRE_DEFAULTS = {
    "includes": "[]", "excludes": "[]", "additionalClasspathElements": "[]", "additionalClasspathDependencies": "[]",
    "classpathDependencyExcludes": "[]", "dependenciesToScan": "[]", "excludeJUnit5Engines": "[]",
    "includeJUnit5Engines": "[]", "suiteXmlFiles": "[]", "excludedEnvironmentVariables": "[]",
    "rerunFailingTestsCount": "0", "skipAfterFailureCount": "0", "failOnFlakeCount": "0", "enableAssertions": "true",
    "childDelegation": "false", "threadCountClasses": "0", "threadCountMethods": "0", "threadCountSuites": "0",
    "skip": "false", "skipTests": "false", "useModulePath": "true", "useSystemClassLoader": "true",
}
# Surefire parameters that do not change which tests run or how they behave.
SUREFIRE_HARMLESS = {
    "basedir", "classesDirectory", "disableXmlReport", "failIfNoSpecifiedTests", "failIfNoTests", "forkCount",
    "forkedProcessExitTimeoutInSeconds", "forkedProcessTimeoutInSeconds", "junitArtifactName", "parallelMavenExecution",
    "parallelOptimized", "perCoreThreadCount", "pluginArtifactMap", "pluginDescriptor", "printSummary", "project",
    "projectArtifactMap", "projectBuildDirectory", "redirectTestOutputToFile", "reportFormat", "reportsDirectory",
    "reuseForks", "runOrder", "session", "shutdown", "tempDir", "testClassesDirectory", "testFailureIgnore",
    "testNGArtifactName", "testSourceDirectory", "trimStackTrace", "useFile", "useManifestOnlyJar",
    "useUnlimitedThreads", "workingDirectory", "encoding", "statelessTestsetReporter", "consoleOutputReporter",
    "statelessTestsetInfoReporter", "reportsDirectory", "printSummary", "reportNameSuffix", "enableProcessChecker",
    "surefireDependencyResolver", "toolchainManager", "providerInfoFactory", "testSourceRoots", "jdkToolchain",
    "testClassesDirectory", "enableOutErrElements", "enablePropertiesElement", "systemPropertiesFile",
}
PLATFORM_PARENT_JARS = ("junit-platform-engine-", "junit-platform-commons-", "opentest4j-", "apiguardian-api-")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
START_TIMEOUT = 120.0
# Small reservations, so the JVM starts under the sandbox's address-space limit (RLIMIT_AS).
JVM_OPTIONS = ("-XX:+UseSerialGC", "-Xmx512m", "-XX:CompressedClassSpaceSize=128m", "-XX:ReservedCodeCacheSize=96m",
               "-XX:MaxMetaspaceSize=384m")
REPLY_GRACE = 5.0
# A class loader a test's leftover thread still references cannot be collected: a fresh JVM
# after this many candidates keeps such leaks bounded (it costs one start, about a second).
REQUESTS_PER_JVM = 200  # seconds beyond the request's timeout (compiling, class loading)


class WarmDoubt(Exception):
    """The warm path cannot promise the cold path's verdict here; the message says why."""


def build_tool(repo: Path) -> str | None:
    """maven | gradle | None, from the build files at the repository root."""
    if (repo / "pom.xml").is_file():
        return "maven"
    if any((repo / f).is_file() for f in ("build.gradle", "build.gradle.kts", "settings.gradle", "settings.gradle.kts")):
        return "gradle"
    return None


def layout_problem(repo: Path) -> str | None:
    """None when the warm path may be tried on `repo`; else why it validates cold."""
    tool = build_tool(repo)
    if tool == "gradle":
        return "a Gradle project: the warm Java path covers Maven only, so candidates are validated cold"
    if tool is None:
        return "no pom.xml at the repository root: candidates are validated cold"
    pom = (repo / "pom.xml").read_text(errors="replace")
    if re.search(r"<modules>\s*<module>", pom):
        return "a multi-module Maven build: the warm path covers single-module projects, so candidates are validated cold"
    return None


@dataclass
class MavenLayout:
    """What surefire and the compiler plugin used, read from `mvn -X`'s debug log."""

    classes: str
    test_classes: str
    deps: list[str]  # the test class path without the two class dirs, in order
    launcher: list[str]  # the runner JVM's own class path: launcher + platform jars
    javac_main: list[str]
    javac_test: list[str]
    test_sources: list[str] = field(default_factory=list)  # test source roots (relative), for telling test files apart


def _debug_lines(log: str) -> list[str]:
    return [ANSI.sub("", line) for line in log.splitlines()]


def _surefire_config(lines: list[str]) -> dict[str, str]:
    config: dict[str, str] = {}
    inside = False
    for line in lines:
        if "Configuring mojo" in line and "maven-surefire-plugin" in line and ":test" in line:
            if config:
                raise WarmDoubt("surefire runs more than once in this build: candidates are validated cold")
            inside = True
            continue
        if inside and "-- end configuration --" in line:
            inside = False
        if inside:
            m = re.match(r"\[DEBUG\]\s+\([sf]\) (\w+) = (.*)$", line)
            if m:
                config[m.group(1)] = m.group(2).strip()
    return config


def _classpath(lines: list[str], label: str) -> list[str]:
    for line in lines:
        m = re.match(r"\[DEBUG\] " + re.escape(label) + r" classpath:\s+(.*)$", line)
        if m:
            return [p for p in re.split(r"\s{2,}", m.group(1).strip()) if p]
    return []


def _javac_options(lines: list[str]) -> list[list[str]]:
    found = []
    for i, line in enumerate(lines[:-1]):
        if line.endswith("Command line options:"):
            found.append(lines[i + 1].removeprefix("[DEBUG] ").split())
    return found


def _strip_paths(options: list[str]) -> list[str]:
    """The compiler plugin's javac options without its output dir, class path and source path."""
    kept, skip = [], False
    for opt in options:
        if skip:
            skip = False
            continue
        if opt in ("-d", "-classpath", "-cp", "--class-path", "-sourcepath", "--source-path", "-s"):
            skip = True
            continue
        if opt in ("--module-path", "-p", "--module-source-path", "--patch-module"):
            raise WarmDoubt("the project compiles on the module path: candidates are validated cold")
        kept.append(opt)
    return kept


def parse_debug_log(log: str) -> MavenLayout:
    """The layout from `mvn -X test` output; WarmDoubt when something is not what the runner models."""
    lines = _debug_lines(log)
    config = _surefire_config(lines)
    if not config:
        raise WarmDoubt("surefire did not run in `mvn -X test`: candidates are validated cold")
    for name, value in config.items():
        if name in SUREFIRE_DEFAULTS:
            if value != SUREFIRE_DEFAULTS[name]:
                raise WarmDoubt(f"surefire is configured with {name} = {value[:80]}: the warm path runs surefire's "
                                "defaults only, so candidates are validated cold")
        elif name not in SUREFIRE_HARMLESS:
            raise WarmDoubt(f"surefire is configured with {name}: the warm path does not model it, so candidates "
                            "are validated cold")
    if config.get("workingDirectory") and config.get("basedir") and config["workingDirectory"] != config["basedir"]:
        raise WarmDoubt("surefire runs tests in another working directory: candidates are validated cold")
    test_cp = _classpath(lines, "test")
    provider = _classpath(lines, "provider")
    if not test_cp:
        raise WarmDoubt("no test class path in `mvn -X test` (no test ran?): candidates are validated cold")
    if not any("surefire-junit-platform" in p for p in provider):
        raise WarmDoubt("surefire does not use its JUnit Platform provider here (JUnit 4 or TestNG): candidates are validated cold")
    launcher = [p for p in provider if PurePosixPath(p).name.startswith("junit-platform-launcher-")]
    if not launcher:
        raise WarmDoubt("no junit-platform-launcher jar on surefire's provider class path: candidates are validated cold")
    platform = [p for p in test_cp if PurePosixPath(p).name.startswith(PLATFORM_PARENT_JARS)]
    classes_dir, test_dir = config.get("classesDirectory"), config.get("testClassesDirectory")
    if not classes_dir or not test_dir:
        raise WarmDoubt("surefire's class directories are not in the debug log: candidates are validated cold")
    options = _javac_options(lines)
    if len(options) != 2:
        raise WarmDoubt(f"expected two javac runs (main, test) in `mvn -X test`, saw {len(options)}: candidates are validated cold")
    deps = [p for p in test_cp if p not in (classes_dir, test_dir)]
    return MavenLayout(classes_dir, test_dir, deps, launcher + platform, _strip_paths(options[0]),
                       _strip_paths(options[1]), [config.get("testSourceDirectory", "")])


@dataclass
class WarmRun:
    """One request's answer. status: ok | compile-error | doubt | timeout."""

    status: str
    message: str = ""
    tests: list[dict] = field(default_factory=list)  # {classname, name, status, message, trace, time}
    duration: float = 0.0

    @property
    def timed_out(self) -> bool:
        return self.status == "timeout"


class MavenWarmSession:
    """A warm JVM in `sandbox` (opened over a copy of `repo`) that validates candidates of a Maven project.

    Raises WarmDoubt when the project is outside what the warm path models. One request at a time."""

    def __init__(self, sandbox: Sandbox, repo: Path, *, prepare_timeout: float = 900.0, java: str = "java",
                 javac: str = "javac", mvn: str = "mvn"):
        self.sandbox, self.repo, self.java, self.javac = sandbox, Path(repo), java, javac
        problem = layout_problem(self.repo)
        if problem:
            raise WarmDoubt(problem)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._proc = None
        self._stderr: deque = deque(maxlen=100)
        self._last: tuple = (None, None)  # (sources, request dir) of the last compile that answered "ok"
        self._dirs: set[str] = set()  # request dirs still on disk
        self.starts = 0
        # target/ copied from the user's tree would let the compiler plugin skip (and not log) its javac runs.
        prep = (f"rm -rf target/classes target/test-classes && mkdir -p {WARM_DIR} && "
                f"{shlex.quote(mvn)} -o -X test > {DEBUG_LOG} 2>&1; echo $? > {WARM_DIR}/mvn-rc")
        res = sandbox.run(prep, timeout=prepare_timeout)
        if res.timed_out:
            raise WarmDoubt(f"`mvn -o -X test` did not finish in {prepare_timeout:.0f} s: candidates are validated cold")
        self.prepare_seconds = res.duration
        self.layout = parse_debug_log(sandbox.read_file(DEBUG_LOG).decode("utf-8", "replace"))
        self.test_source_root = self._relative(self.layout.test_sources[0]) if self.layout.test_sources[0] else "src/test/java"
        self._compile_runner()
        self.test_classes = self._list_test_classes()
        with self._lock:
            self._start()

    def _relative(self, path: str) -> str:
        work = self.sandbox.workdir.rstrip("/") + "/"
        return path[len(work):] if path.startswith(work) else path

    def _compile_runner(self) -> None:
        """javac the shipped runner in the sandbox against the launcher jars (a few seconds, once)."""
        cp = ":".join(self.layout.launcher)
        self.sandbox.put_files({f"{WARM_DIR}/{RUNNER_SOURCE.name}": RUNNER_SOURCE.read_bytes()})
        res = self.sandbox.run([self.javac, "-nowarn", "-d", f"{WARM_DIR}/runner", "-cp", cp, f"{WARM_DIR}/{RUNNER_SOURCE.name}"],
                               timeout=300)
        if res.returncode != 0:
            raise WarmDoubt(f"the warm runner does not compile here ({(res.stderr or res.stdout).strip()[-300:]}): "
                            "candidates are validated cold")

    def _list_test_classes(self) -> list[str]:
        """The top-level classes under test-classes that surefire's default includes select."""
        root = shlex.quote(self.layout.test_classes)
        res = self.sandbox.run(f"cd {root} 2>/dev/null && find . -name '*.class' ! -name '*$*'", timeout=60)
        names = []
        for line in res.stdout.splitlines():
            rel = line.strip().removeprefix("./").removesuffix(".class")
            simple = rel.rsplit("/", 1)[-1]
            if rel and any(p.match(simple) for p in DEFAULT_INCLUDES):
                names.append(rel.replace("/", "."))
        return sorted(names)

    # -- the JVM ---------------------------------------------------------------------------
    def _start(self) -> None:
        # As surefire's fork: assertions on (its enableAssertions default), `basedir` set, cwd the project.
        argv = [self.java, "-ea", *JVM_OPTIONS, f"-Dbasedir={self.sandbox.workdir}",
                "-cp", ":".join([f"{WARM_DIR}/runner", *self.layout.launcher]), "WarmRunner"]
        self._proc = self.sandbox.popen(argv)
        self.starts += 1
        self._served = 0
        self._lines: queue.Queue = queue.Queue()
        threading.Thread(target=_pump_lines, args=(self._proc.stdout, self._lines), daemon=True).start()
        threading.Thread(target=_pump_stderr, args=(self._proc.stderr, self._stderr), daemon=True).start()
        session = [f"classes {self.layout.classes}", f"testclasses {self.layout.test_classes}",
                   *(f"dep {d}" for d in self.layout.deps), *(f"javacopt {o}" for o in self.layout.javac_main), "end"]
        _write_all(self._proc.stdin, ("\n".join(session) + "\n").encode())
        hello = self._read(START_TIMEOUT)
        if not hello or not hello.get("ready"):
            self._kill()
            raise WarmDoubt(f"the warm JVM did not start ({''.join(self._stderr)[-300:]!r}): candidates are validated cold")

    def _read(self, timeout: float) -> dict | None:
        try:
            return self._lines.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.kill()
        except OSError:
            pass
        try:
            proc.wait(timeout=10)
        except Exception:
            pass

    def run(self, sources: dict[str, str], timeout: float, tests: list[str] | None = None) -> WarmRun:
        """Compile `sources` (repo-relative path -> new text; .java only) over the project and run
        `tests` (surefire ids "pkg.Cls.method"; None: every test class surefire would run)."""
        start = time.monotonic()
        non_java = [p for p in sources if not p.endswith(".java")]
        if non_java:
            return WarmRun("doubt", f"{non_java[0]} is not a Java source: validated cold")
        if any(rel.startswith(self.test_source_root.rstrip("/") + "/") for rel in sources):
            return WarmRun("doubt", "the candidate changes a test source: validated cold")
        with self._lock:
            n = next(self._ids)
            work = self.sandbox.workdir.rstrip("/")
            key = tuple(sorted(sources.items()))
            if sources and key == self._last[0]:
                # The same candidate's next stage (suite after triggers): its classes are compiled already.
                base, compile_lines = self._last[1], []
            else:
                base = f"{WARM_DIR}/req-{n}"
                self.sandbox.put_files({f"{base}/src/{rel}": text for rel, text in sources.items()})
                compile_lines = [f"src {work}/{base}/src/{rel}" for rel in sources]
            self._last = (None, None)  # reusable again only once this request answers "ok"
            stale = sorted(d for d in self._dirs if d != base)
            self._dirs.add(base)
            request = [f"id {n}", f"out {work}/{base}/out", *compile_lines, *self._selectors(tests),
                       *(f"cleanup {work}/{d}" for d in stale), "end"]  # the runner deletes them after answering
            if self._proc is None or self._proc.poll() is not None or self._served >= REQUESTS_PER_JVM:
                self._kill()
                self._start()
            self._served += 1
            try:
                _write_all(self._proc.stdin, ("\n".join(request) + "\n").encode())
            except (BrokenPipeError, OSError) as exc:
                self._kill()
                return WarmRun("doubt", f"the warm JVM died ({exc}): validated cold", duration=time.monotonic() - start)
            try:
                reply = self._lines.get(timeout=timeout + REPLY_GRACE)
            except queue.Empty:  # still running: an infinite loop, or just too slow
                self._kill()
                return WarmRun("timeout", f"tests did not finish in {timeout:.1f} s", duration=time.monotonic() - start)
            if reply is None:  # end of output: the JVM is gone
                self._kill()
                return WarmRun("doubt", "the warm JVM exited during the tests (System.exit?): validated cold",
                               duration=time.monotonic() - start)
            self._dirs = {base}
            if reply.get("status") == "ok":
                self._last = (key, base)
        return WarmRun(reply.get("status", "doubt"), reply.get("message", ""), reply.get("tests", []),
                       time.monotonic() - start)

    def _selectors(self, tests: list[str] | None) -> list[str]:
        if tests is None:
            return [f"select class {c}" for c in self.test_classes]
        selectors = []
        for test in dict.fromkeys(tests):
            cls, _, method = test.partition("#")  # "pkg.Cls#m(int)[1]"
            method = re.sub(r"\[\d+\]$", "", method)
            selectors.append(f"select method {cls}#{method}")
        return list(dict.fromkeys(selectors))

    def close(self) -> None:
        with self._lock:
            self._kill()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def surefire_id(record: dict) -> str:
    """The id of a runner or surefire test record, as test_reports names JVM tests (and Maven's
    -Dtest selects them): "pkg.Cls#method" ("pkg.Cls$Inner#m(int)[1]")."""
    return jvm_test_id(record.get("classname", ""), record.get("name", ""))

