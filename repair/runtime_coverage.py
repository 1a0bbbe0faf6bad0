"""Per-test line coverage for Java (JaCoCo) and JavaScript (V8) baselines, for spectrum localization.

After the baseline run, each failing test (up to MAX_FAILING) runs once more alone with a coverage
agent, so each line knows which failing tests ran it:
- Maven: `-Dtest=Class#method` with JaCoCo's agent in surefire's `-DargLine` (Debian's
  libjacoco-java; the agent jar is unpacked from it and copied into the sandbox, and the exec file
  is read with the JaCoCo core API by a single-file Java program, coverage_tools/PwJacocoLines.java).
  The passing tests run once more together (`-Dtest=!Class#method,...`): a line they run counts
  as run by one passing test (their individual split is not measured);
- `node --test`: `--test-name-pattern` with NODE_V8_COVERAGE; V8's block counts give the lines.
  Passing tests are not separated in JavaScript (no skip pattern in Node 20): lines count by
  failing tests only.
Where coverage cannot be had (another runner, no JaCoCo, a test that cannot be run alone), the
note says so and localization ranks by stack frames and the functions the failing tests call.
"""
from __future__ import annotations

import json
import re
import shlex
import zipfile
from pathlib import Path

from patchwarden.sandboxes.test_reports import recognize

MAX_FAILING = 6
JACOCO_AGENT = Path("/usr/share/java/org.jacoco.agent.jar")
JACOCO_JARS = [Path("/usr/share/java") / n for n in ("org.jacoco.core.jar", "asm.jar", "asm-commons.jar", "asm-tree.jar")]
LINES_TOOL = Path(__file__).with_name("coverage_tools") / "PwJacocoLines.java"
COV_DIR = ".patchwarden/cov"
FALLBACK = "localization uses stack frames and the functions the failing tests call"
NO_COVERAGE = f"no per-test coverage for this test command ({FALLBACK})"


def coverage_env(sandbox, test_cmd: str) -> tuple[dict[str, str], str]:
    """Nothing is added to the baseline run itself (its timing and output stay the user's)."""
    return {}, NO_COVERAGE


def collect_coverage(sandbox, test_cmd: str, results: dict, timeout: float) -> tuple[dict | None, str]:
    """(file -> line -> test ids, note) for a baseline with failing tests; (None, why) without coverage."""
    failing = [n for n, r in results.items() if r.bad]
    if not failing:
        return None, ""
    runner = recognize(test_cmd, sandbox.read_file)
    try:
        if runner == "maven":
            return _maven(sandbox, test_cmd, results, failing, timeout)
        if runner == "node-test":
            return _node(sandbox, test_cmd, failing, timeout)
    except Exception as exc:  # coverage is evidence, never a reason to fail the run
        return None, f"no per-test coverage: {type(exc).__name__}: {str(exc)[:200]}; {FALLBACK}"
    return None, NO_COVERAGE


# -- Java ---------------------------------------------------------------------------------------
def _maven(sandbox, test_cmd, results, failing, timeout):
    if not JACOCO_AGENT.is_file() or not all(j.is_file() for j in JACOCO_JARS):
        return None, f"no per-test coverage: JaCoCo is not installed (apt-get install libjacoco-java); {FALLBACK}"
    with zipfile.ZipFile(JACOCO_AGENT) as z:
        agent = z.read("jacocoagent.jar")
    files = {f"{COV_DIR}/jacocoagent.jar": agent, f"{COV_DIR}/PwJacocoLines.java": LINES_TOOL.read_bytes()}
    files.update({f"{COV_DIR}/lib/{j.name}": j.read_bytes() for j in JACOCO_JARS})
    sandbox.put_files(files)
    root = f"{sandbox.workdir}/{COV_DIR}"
    execs: dict[str, str] = {}
    chosen = [n for n in failing if "#" in n][:MAX_FAILING]
    for i, nodeid in enumerate(chosen):
        execs[f"{root}/f{i}.exec"] = nodeid
        _mvn_run(sandbox, test_cmd, nodeid.split("[")[0].split("(")[0], f"{root}/f{i}.exec", root, timeout)
    passing = [n for n, r in results.items() if r.status == "passed"]
    if passing:
        excluded = ",".join("!" + n.split("[")[0].split("(")[0] for n in failing if "#" in n)
        execs[f"{root}/passing.exec"] = passing[0]  # stands for "run by passing tests"
        _mvn_run(sandbox, test_cmd, excluded, f"{root}/passing.exec", root, timeout)
    listing = sandbox.run(["/bin/sh", "-c", f"ls {shlex.quote(root)}/*.exec 2>/dev/null; find . -path '*/target/classes' -type d "
                           "-not -path '*/node_modules/*'"], timeout=60).stdout.split()
    made = [p for p in listing if p.endswith(".exec")]
    classes = [p for p in listing if p.endswith("target/classes")]
    if not made or not classes:
        return None, f"no per-test coverage: the JaCoCo runs wrote no data; {FALLBACK}"
    cp = ":".join(f"{root}/lib/{j.name}" for j in JACOCO_JARS)
    out = {}
    for cls in classes:  # each module's classes
        res = sandbox.run(["java", "-cp", cp, f"{root}/PwJacocoLines.java", cls, *made], timeout=timeout)
        if res.returncode != 0:
            return None, f"no per-test coverage: JaCoCo could not read its data ({_last(res.stderr + res.stdout)}); {FALLBACK}"
        base = cls[2:] if cls.startswith("./") else cls
        module = base[: -len("target/classes")]
        _parse_lines(res.stdout, execs, module, out)
    coverage = _to_repo_paths(sandbox, out)
    note = (f"per-test coverage from JaCoCo: {len(chosen)} failing test(s) run alone"
            + (", the passing tests together" if passing else ""))
    return coverage, note


def _mvn_run(sandbox, test_cmd, selector, destfile, root, timeout):
    extra = ["-Dtest=" + selector, "-Dsurefire.failIfNoSpecifiedTests=false", "-DfailIfNoTests=false",
             f"-DargLine=-javaagent:{root}/jacocoagent.jar=destfile={destfile}"]
    sandbox.run(test_cmd + " " + " ".join(shlex.quote(a) for a in extra), timeout=timeout)


def _parse_lines(text: str, execs: dict[str, str], module: str, out: dict) -> None:
    test = None
    for line in text.splitlines():
        if line.startswith("#"):
            test = execs.get(line[1:])
            continue
        src, _, num = line.rpartition(" ")
        if test and src and num.isdigit():
            out.setdefault((module, src), {}).setdefault(int(num), []).append(test)


def _to_repo_paths(sandbox, out: dict) -> dict:
    """JaCoCo names `pkg/File.java`; the repository path is `<module>src/main/java/pkg/File.java` (or wherever it is)."""
    found = sandbox.run(["/bin/sh", "-c", "find . -name '*.java' -not -path '*/node_modules/*' -not -path '*/target/*'"],
                        timeout=60).stdout.split()
    files = [f[2:] if f.startswith("./") else f for f in found]
    coverage: dict[str, dict[int, list[str]]] = {}
    for (module, src), lines in out.items():
        matches = [f for f in files if f.startswith(module) and (f.endswith("/" + src) or f == src)]
        if len(matches) == 1:
            coverage[matches[0]] = lines
    return coverage


# -- JavaScript ---------------------------------------------------------------------------------
def _node_argv(test_cmd: str, read) -> list[str] | None:
    words = shlex.split(test_cmd)
    if words and Path(words[0]).name in ("npm", "yarn", "pnpm"):
        from patchwarden.sandboxes.test_reports import _npm_script

        script = _npm_script(words, read)
        words = shlex.split(script) if script else []
    if "node" not in [Path(w).name for w in words] or "--test" not in words:
        return None
    return words


def _node(sandbox, test_cmd, failing, timeout):
    words = _node_argv(test_cmd, sandbox.read_file)
    if words is None:
        return None, f"no per-test coverage: `{test_cmd}` cannot be narrowed to one test; {FALLBACK}"
    at = words.index("--test") + 1
    root = f"{sandbox.workdir}/{COV_DIR}"
    coverage: dict[str, dict[int, list[str]]] = {}
    chosen = failing[:MAX_FAILING]
    for i, nodeid in enumerate(chosen):
        name = nodeid.split(" > ")[-1]
        out = f"{root}/v8-{i}"
        argv = words[:at] + [f"--test-name-pattern=^{re.escape(name)}$"] + words[at:]
        sandbox.run(["/bin/sh", "-c", f"mkdir -p {shlex.quote(out)} && exec \"$@\"", "sh", *argv], timeout=timeout,
                    env={"NODE_V8_COVERAGE": out})
        names = sandbox.run(["/bin/sh", "-c", f"ls {shlex.quote(out)}"], timeout=60).stdout.split()
        for fname in names:
            data = json.loads(sandbox.read_file(f"{COV_DIR}/v8-{i}/{fname}"))
            for script in data.get("result", []):
                rel = _repo_path(script.get("url", ""), sandbox.workdir)
                if rel is None:
                    continue
                try:
                    text = sandbox.read_file(rel).decode("utf-8", errors="replace")
                except Exception:
                    continue
                for line in _covered_lines(text, script.get("functions", [])):
                    ids = coverage.setdefault(rel, {}).setdefault(line, [])
                    if nodeid not in ids:
                        ids.append(nodeid)
    if not coverage:
        return None, f"no per-test coverage: V8 wrote no coverage for the repository's files; {FALLBACK}"
    return coverage, f"per-test coverage from V8 (NODE_V8_COVERAGE): {len(chosen)} failing test(s) run alone; passing tests not separated"


def _repo_path(url: str, workdir: str) -> str | None:
    if not url.startswith("file://"):
        return None
    path = url[len("file://"):]
    root = workdir.rstrip("/") + "/"
    if not path.startswith(root) or "/node_modules/" in path or "/.patchwarden/" in path:
        return None
    return path[len(root):]


def _covered_lines(text: str, functions: list[dict]) -> list[int]:
    """Lines whose first code character lies in a range V8 counted, judged by the innermost range."""
    ranges = [(r["startOffset"], r["endOffset"], r["count"]) for fn in functions for r in fn.get("ranges", [])]
    if not ranges:
        return []
    covered = []
    offset = 0
    for number, line in enumerate(text.split("\n"), 1):
        stripped = len(line) - len(line.lstrip())
        pos = offset + stripped
        offset += len(line) + 1
        if not line.strip():
            continue
        inner = [r for r in ranges if r[0] <= pos < r[1]]
        if inner and min(inner, key=lambda r: r[1] - r[0])[2] > 0:
            covered.append(number)
    return covered


def _last(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[-1][:200] if lines else "no output"
