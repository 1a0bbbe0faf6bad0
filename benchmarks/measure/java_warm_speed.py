"""Java warm validation vs `mvn -o -q test` per candidate: validated candidates per second, side by side.

    python3 -m patchwarden.benchmarks.measure.java_warm_speed                  # local sandbox, 10 candidates
    python3 -m patchwarden.benchmarks.measure.java_warm_speed --candidates 6 --json

Builds a small Maven project (JUnit 5, two classes, 10 tests, one bug in `Stats.mean`), makes
candidate patches of it (the fix, wrong fixes, a fix that breaks another method, one that does
not compile, one that changes a signature so the warm path must fall back to cold), and
validates every candidate both warm (`repair.validate_maven.MavenWarmValidator`: javac of the
changed class, the tests in a long-lived JVM with a fresh class loader per candidate) and cold
(`MavenColdValidator`: the test command re-run per candidate). Prints candidates/second for
each (start-up apart and included), the speed-up and the per-candidate verdicts, which must be
identical. Target: >= 5x. Needs java, javac, mvn and an offline Maven repository holding
junit-jupiter 5.10.2 and the pinned plugins (see POM).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from patchwarden.repair.candidate import Candidate, FunctionEdit
from patchwarden.benchmarks.measure.warm_runner_speed import Borrowed
from patchwarden.repair.validate import candidate_timeout, validate_candidates
from patchwarden.repair.validate_maven import MavenColdValidator, MavenWarmValidator
from patchwarden.sandboxes.base import SandboxSpec

POM = """\
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>bench</groupId>
  <artifactId>{artifact}</artifactId>
  <version>1.0</version>
  <properties>
    <maven.compiler.release>17</maven.compiler.release>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <dependencies>
    <dependency>
      <groupId>org.junit.jupiter</groupId>
      <artifactId>junit-jupiter</artifactId>
      <version>5.10.2</version>
      <scope>test</scope>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin><artifactId>maven-resources-plugin</artifactId><version>3.3.1</version></plugin>
      <plugin><artifactId>maven-compiler-plugin</artifactId><version>3.13.0</version></plugin>
      <plugin><artifactId>maven-surefire-plugin</artifactId><version>3.2.5</version></plugin>
    </plugins>
  </build>
</project>
"""

STATS = "src/main/java/shop/Stats.java"
SOURCES = {
    STATS: """
        package shop;

        public class Stats {
            public static double mean(int[] xs) {
                int total = 0;
                for (int x : xs) {
                    total += x;
                }
                return (double) total / (xs.length - 1);
            }

            public static int max(int[] xs) {
                int best = Integer.MIN_VALUE;
                for (int x : xs) {
                    if (x > best) {
                        best = x;
                    }
                }
                return best;
            }

            public static int clamp(int x, int lo, int hi) {
                return Math.max(lo, Math.min(hi, x));
            }
        }
    """,
    "src/main/java/shop/Cart.java": """
        package shop;

        import java.util.ArrayList;
        import java.util.List;

        public class Cart {
            private final List<Integer> prices = new ArrayList<>();

            public void add(int price) {
                prices.add(Stats.clamp(price, 0, 1000));
            }

            public double averagePrice() {
                return Stats.mean(prices.stream().mapToInt(Integer::intValue).toArray());
            }

            public int mostExpensive() {
                return Stats.max(prices.stream().mapToInt(Integer::intValue).toArray());
            }
        }
    """,
    "src/test/java/shop/StatsTest.java": """
        package shop;

        import static org.junit.jupiter.api.Assertions.assertEquals;

        import org.junit.jupiter.api.Test;
        import org.junit.jupiter.params.ParameterizedTest;
        import org.junit.jupiter.params.provider.ValueSource;

        class StatsTest {
            @Test
            void meanOfThree() {
                assertEquals(2.0, Stats.mean(new int[] {1, 2, 3}), 1e-9);
            }

            @Test
            void meanOfOne() {
                assertEquals(4.0, Stats.mean(new int[] {4}), 1e-9);
            }

            @Test
            void maxOfMany() {
                assertEquals(9, Stats.max(new int[] {3, 9, 1}));
            }

            @Test
            void maxNegative() {
                assertEquals(-1, Stats.max(new int[] {-5, -1}));
            }

            @ParameterizedTest
            @ValueSource(ints = {-3, 0, 5, 12})
            void clampStaysInRange(int x) {
                int c = Stats.clamp(x, 0, 10);
                assertEquals(Math.max(0, Math.min(10, x)), c);
            }
        }
    """,
    "src/test/java/shop/CartTest.java": """
        package shop;

        import static org.junit.jupiter.api.Assertions.assertEquals;

        import org.junit.jupiter.api.Test;

        class CartTest {
            @Test
            void averageOfTwo() {
                Cart cart = new Cart();
                cart.add(10);
                cart.add(20);
                assertEquals(15.0, cart.averagePrice(), 1e-9);
            }

            @Test
            void pricesAreClamped() {
                Cart cart = new Cart();
                cart.add(5000);
                assertEquals(1000, cart.mostExpensive());
            }
        }
    """,
}
BUGGY_LINE = "return (double) total / (xs.length - 1);"
# (label, replacements in Stats.java): the fix, wrong fixes, a regression, a compile error, a signature change.
VARIANTS = [
    ("fix", [(BUGGY_LINE, "return (double) total / xs.length;")]),
    ("off by two", [(BUGGY_LINE, "return (double) total / (xs.length - 2);")]),
    ("plus one", [(BUGGY_LINE, "return (double) total / (xs.length + 1);")]),
    ("integer division", [(BUGGY_LINE, "return total / xs.length;")]),
    ("fix, max broken", [(BUGGY_LINE, "return (double) total / xs.length;"), ("if (x > best)", "if (x < best)")]),
    ("does not compile", [(BUGGY_LINE, "return (double) total / xs.size();")]),  # parses, javac refuses: arrays have no size()
    ("fix, clamp broken", [(BUGGY_LINE, "return (double) total / xs.length;"), ("Math.min(hi, x)", "Math.min(hi, lo)")]),
    ("multiplies", [(BUGGY_LINE, "return (double) total * (xs.length - 1);")]),
    ("fix via varargs (signature change)", [(BUGGY_LINE, "return (double) total / xs.length;"),
                                            ("mean(int[] xs)", "mean(int... xs)")]),
    ("fix, sum starts at 1", [(BUGGY_LINE, "return (double) total / xs.length;"), ("int total = 0;", "int total = 1;")]),
    ("total squared", [("total += x;", "total += x * x;")]),
    ("max starts at 0", [("Integer.MIN_VALUE", "0")]),
]
TEST_CMD = "mvn -o -q test"


def build_project(root: Path, artifact: str = "stats") -> Path:
    (root / "pom.xml").parent.mkdir(parents=True, exist_ok=True)
    (root / "pom.xml").write_text(POM.format(artifact=artifact))
    for rel, text in SOURCES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


def make_candidates(repo: Path, count: int) -> tuple[list[Candidate], dict[str, str]]:
    """Whole-file edits of Stats.java, one per variant; also returns candidate id -> label."""
    original = (repo / STATS).read_text()
    candidates, labels = [], {}
    for label, replacements in VARIANTS[:count]:
        text = original
        for old, new in replacements:
            assert old in text, old
            text = text.replace(old, new, 1)
        cand = Candidate("bench", [FunctionEdit(STATS, "Stats", 0, len(original.encode()), text)], label)
        candidates.append(cand)
        labels[cand.id] = label
    return candidates, labels


def measure(kind: str, repo: Path, spec: SandboxSpec, baseline: dict, triggers: list[str], candidates: list[Candidate]) -> dict:
    timeout = candidate_timeout(baseline)
    cls = MavenWarmValidator if kind == "warm" else MavenColdValidator
    t0 = time.monotonic()
    validator = cls(repo, TEST_CMD, spec, baseline, triggers, timeout)
    startup = time.monotonic() - t0
    t1 = time.monotonic()
    try:
        results = validate_candidates(candidates, lambda: Borrowed(validator), workers=1)
        wall = time.monotonic() - t1
    finally:
        validator.close()
    return {
        "runner": kind, "candidates": len(results), "startup_s": round(startup, 2), "wall_s": round(wall, 2),
        "candidates_per_s": round(len(results) / wall, 3) if wall else None,
        "candidates_per_s_with_startup": round(len(results) / (wall + startup), 3),
        "cold_fallbacks": getattr(validator, "fallbacks", 0),
        # Only the candidates this runner judged itself (the warm runner's cold fallbacks left out).
        "own_candidates_per_s": _rate([r for r in results if r.runner == kind]),
        "verdicts": {r.candidate_id: r.status for r in results},
        "messages": {r.candidate_id: r.message[:160] for r in results},
    }


def _rate(results) -> float | None:
    spent = sum(r.duration for r in results)
    return round(len(results) / spent, 3) if spent else None


def baseline_of(repo: Path, spec: SandboxSpec) -> dict:
    with MavenColdValidator(repo, TEST_CMD, spec, {}, [], timeout=600) as cold:
        run = cold._run(None, {})
    if not run.results:
        raise SystemExit(f"the benchmark project did not build here (is the offline Maven repository complete?):\n{run.output_tail[-1500:]}")
    return {r.nodeid: r for r in run.results}


def run(count: int, backend: str, image: str | None = None) -> dict:
    spec = SandboxSpec(backend, image if backend == "docker" else None)
    root = Path(tempfile.mkdtemp(prefix="pw-java-warm-"))
    try:
        repo = build_project(root / "repo")
        t0 = time.monotonic()
        baseline = baseline_of(repo, spec)
        bare = time.monotonic() - t0
        triggers = sorted(n for n, r in baseline.items() if r.bad)
        candidates, labels = make_candidates(repo, count)
        warm = measure("warm", repo, spec, baseline, triggers, candidates)
        cold = measure("cold", repo, spec, baseline, triggers, candidates)
        rows = [{"candidate": labels[c.id], "warm": warm["verdicts"][c.id], "cold": cold["verdicts"][c.id]} for c in candidates]
        same = sum(r["warm"] == r["cold"] for r in rows)
        speedup = round(warm["candidates_per_s"] / cold["candidates_per_s"], 1)
        return {"backend": backend, "tests": len(baseline), "triggers": triggers, "bare_test_command_s": round(bare, 2),
                "warm": warm, "cold": cold, "per_candidate": rows, "verdicts_identical": f"{same}/{len(rows)}",
                "speedup": speedup, "target_met": speedup >= 5 and same == len(rows)}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", type=int, default=10, help=f"candidates to validate each way (at most {len(VARIANTS)})")
    parser.add_argument("--sandbox", default="local", choices=["local", "docker"], help="where the tests run")
    parser.add_argument("--image", default=None, help="Docker image for --sandbox docker (default: the sandbox image)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    opts = parser.parse_args(argv)
    for tool in ("java", "javac", "mvn"):
        if shutil.which(tool) is None:
            print(f"java_warm_speed: `{tool}` is not installed: install a JDK 17 and Maven", file=sys.stderr)
            return 2
    if not 1 <= opts.candidates <= len(VARIANTS):
        print(f"java_warm_speed: --candidates must be 1..{len(VARIANTS)}", file=sys.stderr)
        return 2
    load0 = os.getloadavg()
    report = run(opts.candidates, opts.sandbox, opts.image)
    report["load_average"] = [round(x, 2) for x in load0]
    report["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    report["cpus"] = os.cpu_count()
    if opts.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"[{report['backend']}] Maven project: {report['tests']} tests, trigger {', '.join(report['triggers'])}; "
          f"bare `{TEST_CMD}` {report['bare_test_command_s']} s")
    for side in (report["warm"], report["cold"]):
        extra = (f", {side['cold_fallbacks']} validated cold by the warm runner's fallback; the rest "
                 f"{side['own_candidates_per_s']}/s" if side["runner"] == "warm" else "")
        print(f"  {side['runner']:>4}: {side['candidates']} candidates in {side['wall_s']} s = {side['candidates_per_s']} "
              f"candidates/s (start-up {side['startup_s']} s; with start-up {side['candidates_per_s_with_startup']}/s{extra})")
    for row in report["per_candidate"]:
        mark = "same" if row["warm"] == row["cold"] else "DIFFERENT"
        print(f"    {row['candidate']:<36} warm {row['warm']:<13} cold {row['cold']:<13} {mark}")
    print(f"  speed-up warm/cold: {report['speedup']}x; verdicts identical: {report['verdicts_identical']}; "
          f"target >= 5x {'met' if report['target_met'] else 'NOT met'}")
    print(f"load average {report['load_average']} -> {report['load_average_end']} on {report['cpus']} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
