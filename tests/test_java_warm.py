"""Java warm validation (issue 14, item 5) on a real Maven project: real mvn, real javac, a real JVM.

One project and one warm session serve the module (Maven's start-up is the expensive part).
"""
from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from patchwarden.benchmarks.measure.java_warm_speed import STATS, TEST_CMD, build_project, make_candidates
from patchwarden.repair.validate_maven import MavenColdValidator, MavenWarmValidator, maven_validator_factory
from patchwarden.sandboxes.base import SandboxSpec
from patchwarden.sandboxes.jvm_warm import DEBUG_LOG, WarmDoubt, layout_problem, parse_debug_log, surefire_id
from patchwarden.sandboxes.toolchains import maven_repository

JUNIT = "org/junit/jupiter/junit-jupiter/5.10.2"


def _missing() -> str | None:
    for tool in ("java", "javac", "mvn"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    repo = maven_repository()
    if repo is None or not (Path(repo) / JUNIT).is_dir():
        return "no offline Maven repository with junit-jupiter 5.10.2"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=str(_missing()))

# A static counter that leaks if classes survive between candidates: each run must see 1.
COUNTER = {
    "src/main/java/shop/Counter.java": """
        package shop;

        public class Counter {
            private static int calls;

            public static int next() {
                return ++calls;
            }
        }
    """,
    "src/test/java/shop/CounterTest.java": """
        package shop;

        import static org.junit.jupiter.api.Assertions.assertEquals;

        import org.junit.jupiter.api.Test;

        class CounterTest {
            @Test
            void firstCallIsOne() {
                assertEquals(1, Counter.next());
            }
        }
    """,
}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    repo = build_project(tmp_path_factory.mktemp("maven") / "repo")
    for rel, text in COUNTER.items():
        (repo / rel).write_text(textwrap.dedent(text).lstrip("\n"))
    spec = SandboxSpec("local")
    with MavenColdValidator(repo, TEST_CMD, spec, {}, [], timeout=600) as cold:
        run = cold._run(None, {})
    baseline = {r.nodeid: r for r in run.results}
    assert baseline, run.output_tail[-2000:]
    triggers = sorted(n for n, r in baseline.items() if r.bad)
    warm = MavenWarmValidator(repo, TEST_CMD, spec, baseline, triggers, timeout=5.0)
    yield repo, spec, baseline, triggers, warm
    warm.close()


def test_baseline_names_tests_as_surefire(project):
    _repo, _spec, baseline, triggers, _warm = project
    assert triggers == ["shop.CartTest#averageOfTwo", "shop.StatsTest#meanOfOne", "shop.StatsTest#meanOfThree"]
    assert baseline["shop.StatsTest#clampStaysInRange(int)[1]"].status == "passed"
    assert baseline["shop.CounterTest#firstCallIsOne"].status == "passed"


def test_warm_verdicts_identical_to_cold(project):
    repo, spec, baseline, triggers, warm = project
    candidates, labels = make_candidates(repo, 6)
    chosen = [c for c in candidates if labels[c.id] in ("fix", "off by two", "fix, max broken", "does not compile")]
    warm_results = {c.id: warm.validate(c) for c in chosen}
    with MavenColdValidator(repo, TEST_CMD, spec, baseline, triggers, timeout=5.0) as cold:
        cold_results = {c.id: cold.validate(c) for c in chosen}
    verdicts = {labels[c]: (warm_results[c].status, cold_results[c].status) for c in warm_results}
    assert verdicts == {
        "fix": ("plausible", "plausible"),
        "off by two": ("trigger-fail", "trigger-fail"),
        "fix, max broken": ("regression", "regression"),
        "does not compile": ("error", "error"),
    }
    assert all(r.runner == "warm" for r in warm_results.values())
    broken = next(c for c in chosen if labels[c.id] == "fix, max broken")
    assert warm_results[broken.id].newly_failing == cold_results[broken.id].newly_failing
    assert "shop.StatsTest#maxOfMany" in warm_results[broken.id].newly_failing
    bad = next(c for c in chosen if labels[c.id] == "does not compile")
    assert "Stats.java" in warm_results[bad.id].message and warm_results[bad.id].stage == "trigger"


def test_fresh_class_loader_per_candidate(project):
    """Counter.next() must return 1 in every run: static state does not leak between requests."""
    _repo, _spec, _baseline, _triggers, warm = project
    for _ in range(3):
        run = warm.session.run({}, timeout=30, tests=["shop.CounterTest#firstCallIsOne"])
        assert run.status == "ok"
        assert [(surefire_id(t), t["status"]) for t in run.tests] == [("shop.CounterTest#firstCallIsOne", "passed")]
    left = warm.sandbox.run("ls .patchwarden-jvm", timeout=30).stdout.split()
    assert len([d for d in left if d.startswith("req-")]) <= 1  # earlier candidates' files are deleted


def test_infinite_loop_times_out_and_the_next_request_works(project):
    repo, _spec, _baseline, _triggers, warm = project
    text = (repo / STATS).read_text()
    looping = text.replace("int total = 0;", "int total = 0;\n        while (xs.length >= 0) { total++; }")
    run = warm.session.run({STATS: looping}, timeout=2.0, tests=["shop.StatsTest#meanOfThree"])
    assert run.status == "timeout"
    starts = warm.session.starts
    fixed = text.replace("(xs.length - 1)", "xs.length")
    run = warm.session.run({STATS: fixed}, timeout=30, tests=["shop.StatsTest#meanOfThree"])
    assert run.status == "ok" and run.tests[0]["status"] == "passed"
    assert warm.session.starts == starts + 1  # a new JVM after the stuck one was killed


def test_a_test_that_exits_the_jvm_is_a_doubt_and_the_next_request_gets_a_new_jvm(project):
    repo, _spec, _baseline, _triggers, warm = project
    text = (repo / STATS).read_text()
    exiting = text.replace("int total = 0;", "int total = 0;\n        System.exit(0);")
    run = warm.session.run({STATS: exiting}, timeout=20, tests=["shop.StatsTest#meanOfThree"])
    assert run.status == "doubt" and "exited" in run.message
    run = warm.session.run({}, timeout=30, tests=["shop.StatsTest#maxOfMany"])
    assert run.status == "ok" and run.tests[0]["status"] == "passed"


def test_signature_change_is_a_doubt_not_a_verdict(project):
    """Other classes were compiled against the old signature: only a full build can judge."""
    repo, _spec, _baseline, _triggers, warm = project
    text = (repo / STATS).read_text().replace("mean(int[] xs)", "mean(int... xs)")
    run = warm.session.run({STATS: text}, timeout=30)
    assert run.status == "doubt" and "signatures" in run.message
    constant = (repo / "src/main/java/shop/Counter.java").read_text().replace(
        "private static int calls;", "private static int calls;\n    public static final int LIMIT = 3;")
    assert warm.session.run({"src/main/java/shop/Counter.java": constant}, timeout=30).status == "doubt"


def test_surefire_configuration_beyond_defaults_is_a_doubt(project):
    _repo, _spec, _baseline, _triggers, warm = project
    log = warm.sandbox.read_file(DEBUG_LOG).decode()
    assert parse_debug_log(log).launcher[0].endswith(".jar")
    marker = "(s) basedir = "
    assert marker in log
    with pytest.raises(WarmDoubt, match="argLine"):
        parse_debug_log(log.replace(marker, "(s) argLine = -Dfoo=1\n[DEBUG]   " + marker, 1))
    with pytest.raises(WarmDoubt, match="includes"):
        parse_debug_log(log.replace("(s) includes = []", "(s) includes = [**/*IT.java]", 1))


def test_gradle_and_multimodule_projects_are_validated_cold(tmp_path):
    (tmp_path / "build.gradle").write_text("plugins { id 'java' }\n")
    assert "Gradle" in layout_problem(tmp_path)
    reasons = []
    make = maven_validator_factory(tmp_path, "gradle test --offline", SandboxSpec("local"), {}, [], 5.0,
                                   on_fallback=reasons.append)
    with make() as validator:
        assert validator.kind == "cold"
    assert "Gradle" in reasons[0] and "cold" in reasons[0]
    (tmp_path / "pom.xml").write_text("<project><modules><module>a</module></modules></project>")
    assert "multi-module" in layout_problem(tmp_path)
    (tmp_path / "pom.xml").write_text("<project/>")
    with pytest.raises(WarmDoubt, match="not a plain"):
        MavenWarmValidator(tmp_path, "mvn -o verify -Pslow", SandboxSpec("local"), {}, [], 5.0)
