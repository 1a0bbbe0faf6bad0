"""Warm runner vs cold runner: validated candidates per second, side by side, one worker.

    python3 -m patchwarden.benchmarks.measure.warm_runner_speed                 # local, and docker when ready
    python3 -m patchwarden.benchmarks.measure.warm_runner_speed --sandbox local --candidates 50 --json

Builds a small repo (a package of a few functions, 12 tests, one bug), makes ~50 candidate
patches of the buggy function (textual variants), and validates the same candidates with the
warm runner (fork server: trigger tests, then the suite) and with the cold runner (the bare
test command re-run per candidate). Prints candidates/second for each, the speed-up, the
runner's start-up time, CPU seconds per candidate (local), the machine load, and whether both
runners gave the same verdicts. Target: >= 10 validated candidates/second per warm worker.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import resource
import shutil
import sys
import tempfile
import textwrap
import time
from pathlib import Path


from patchwarden.repair.candidate import Candidate, FunctionEdit
from patchwarden.sandboxes.junit import merge_by_nodeid, parse_junit
from patchwarden.sandboxes.safe_ast import safe_parse
from patchwarden.repair.validate import (
    ColdValidator,
    Validator,
    candidate_timeout,
    validate_candidates,
)
from patchwarden.sandboxes import DEFAULT_IMAGE, open_spec
from patchwarden.sandboxes.base import SandboxSpec
from patchwarden.sandboxes.docker_sandbox import docker_ready

PACKAGE = {
    "geo/__init__.py": "",
    "geo/shapes.py": '''
        import math


        def area_circle(r):
            return math.pi * r * r


        def area_rect(w, h):
            return w * h


        def clamp(x, lo, hi):
            if x < lo:
                return lo
            if x > hi:
                return hi
            return x


        def mean(values):
            total = 0
            for v in values:
                total += v
            return total / (len(values) - 1)


        def is_square(w, h):
            return w == h and w > 0
    ''',
    "tests/test_shapes.py": '''
        import math

        import pytest

        from geo.shapes import area_circle, area_rect, clamp, is_square, mean


        def test_circle():
            assert area_circle(1) == pytest.approx(math.pi)

        def test_rect():
            assert area_rect(2, 3) == 6

        @pytest.mark.parametrize("x,expected", [(-1, 0), (5, 5), (11, 10)])
        def test_clamp(x, expected):
            assert clamp(x, 0, 10) == expected

        def test_mean_simple():
            assert mean([1, 2, 3]) == 2

        def test_mean_single():
            assert mean([4]) == 4

        def test_mean_floats():
            assert mean([0.5, 1.5]) == 1.0

        def test_square():
            assert is_square(2, 2) and not is_square(2, 3) and not is_square(0, 0)

        def test_rect_zero():
            assert area_rect(0, 5) == 0

        def test_circle_zero():
            assert area_circle(0) == 0
    ''',
}
TEST_CMD = "python3 -m pytest -q tests"
BUGGY = "mean"


def build_repo(root: Path) -> Path:
    for rel, text in PACKAGE.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


def make_candidates(repo: Path, count: int) -> list[Candidate]:
    """Textual variants of the buggy function: operators, offsets and constants."""
    rel = "geo/shapes.py"
    text = (repo / rel).read_text()
    node = next(n for n in safe_parse(text).body if isinstance(n, ast.FunctionDef) and n.name == BUGGY)
    lines = text.splitlines(keepends=True)
    start = len("".join(lines[: node.lineno - 1]).encode())
    end = len("".join(lines[: node.end_lineno]).encode())
    source = text.encode()[start:end].decode()
    variants = [source.replace("(len(values) - 1)", "len(values)")]  # the fix
    for op in ("+", "*", "//", "%"):
        variants.append(source.replace("total / (", f"total {op} ("))
    for k in range(-3, 40):
        if k != 1:
            variants.append(source.replace("len(values) - 1", f"len(values) - {k}"))
        variants.append(source.replace("total = 0", f"total = {k + 1}"))
    variants.append(source.replace("total += v", "total -= v"))
    variants.append(source.replace("total += v", "total += v * v"))
    unique: dict[str, Candidate] = {}
    for i, new in enumerate(variants):
        cand = Candidate("bench", [FunctionEdit(rel, BUGGY, start, end, new)], f"variant {i}")
        unique.setdefault(cand.id, cand)
    return list(unique.values())[:count]


def baseline_of(repo: Path, spec: SandboxSpec) -> tuple[dict, float]:
    with open_spec(spec, repo) as sbx:
        res = sbx.run(TEST_CMD.split() + ["-p", "no:cacheprovider", "-o", "junit_family=xunit1",
                                          "--junitxml", ".baseline.xml"], timeout=300)
        return merge_by_nodeid(parse_junit(sbx.read_file(".baseline.xml"))), res.duration


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(kind: str, repo: Path, spec: SandboxSpec, baseline: dict, triggers: list[str],
            candidates: list[Candidate]) -> dict:
    timeout = candidate_timeout(baseline)
    cls = Validator if kind == "warm" else ColdValidator
    t0 = time.monotonic()
    cpu0 = children_cpu()
    validator = cls(repo, TEST_CMD, spec, baseline, triggers, timeout)
    startup = time.monotonic() - t0
    t1 = time.monotonic()
    try:
        results = validate_candidates(candidates, lambda: Borrowed(validator), workers=1)
        wall = time.monotonic() - t1
    finally:
        validator.close()
    child_cpu = children_cpu() - cpu0  # local cold runs are our children; a warm server's once closed
    statuses: dict[str, int] = {}
    for r in results:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    warm_cpu = sum(r.cpu for r in results)
    # CPU: warm = the server's children (any backend); cold = our child processes (local only).
    cpu = warm_cpu if kind == "warm" else (child_cpu if spec.backend == "local" else None)
    per_cpu = None if not cpu else round(len(results) / cpu, 2)
    return {
        "runner": kind, "candidates": len(results), "startup_s": round(startup, 3), "wall_s": round(wall, 3),
        "candidates_per_s": round(len(results) / wall, 2) if wall else None,
        "cpu_s_per_candidate": None if cpu is None else round(cpu / max(1, len(results)), 4),
        "candidates_per_cpu_s": per_cpu,  # what one otherwise idle core would give
        "statuses": statuses, "verdicts": {r.candidate_id: r.status for r in results},
    }


class Borrowed:
    """Hands an already-open validator to validate_candidates (start-up is timed apart)."""

    def __init__(self, validator):
        self.v = validator

    def validate(self, cand):
        return self.v.validate(cand)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def run_backend(backend: str, count: int, cold_count: int | None) -> dict:
    spec = SandboxSpec(backend, DEFAULT_IMAGE if backend == "docker" else None)
    root = Path(tempfile.mkdtemp(prefix="pw-warm-bench-"))
    try:
        repo = build_repo(root / "repo")
        baseline, base_wall = baseline_of(repo, spec)
        triggers = sorted(n for n, r in baseline.items() if r.bad)
        candidates = make_candidates(repo, count)
        warm = measure("warm", repo, spec, baseline, triggers, candidates)
        cold_cands = candidates[: cold_count] if cold_count else candidates
        cold = measure("cold", repo, spec, baseline, triggers, cold_cands)
        same = [c.id for c in cold_cands if warm["verdicts"].get(c.id) == cold["verdicts"].get(c.id)]
        return {
            "backend": backend, "tests": len(baseline), "triggers": triggers,
            "bare_test_command_s": round(base_wall, 3), "warm": warm, "cold": cold,
            "speedup": round(warm["candidates_per_s"] / cold["candidates_per_s"], 1)
            if warm["candidates_per_s"] and cold["candidates_per_s"] else None,
            "verdicts_agree": f"{len(same)}/{len(cold_cands)}",
            "target_met": bool(warm["candidates_per_s"] and warm["candidates_per_s"] >= 10),
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sandbox", default="local,docker", help="backends to measure, comma-separated")
    parser.add_argument("--candidates", type=int, default=50, help="candidates per runner")
    parser.add_argument("--cold-candidates", type=int, default=None,
                        help="validate only the first N candidates cold (the rate is per candidate)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    opts = parser.parse_args(argv)
    report = {"load_average": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count(),
              "python": sys.version.split()[0], "workers": 1, "backends": []}
    for backend in [b.strip() for b in opts.sandbox.split(",") if b.strip()]:
        if backend == "docker":
            ok, why = docker_ready(DEFAULT_IMAGE)
            if not ok:
                report["backends"].append({"backend": "docker", "skipped": why})
                if not opts.json:
                    print(f"docker: skipped ({why})")
                continue
        row = run_backend(backend, opts.candidates, opts.cold_candidates)
        report["backends"].append(row)
        if not opts.json:
            _print_row(row)
    report["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    if opts.json:
        for row in report["backends"]:
            for side in ("warm", "cold"):
                if side in row:
                    row[side].pop("verdicts", None)
        print(json.dumps(report, indent=2))
    else:
        print(f"load average {report['load_average']} -> {report['load_average_end']} on {report['cpus']} CPUs")
    return 0


def _print_row(row: dict) -> None:
    w, c = row["warm"], row["cold"]
    print(f"[{row['backend']}] repo: {row['tests']} tests, trigger {', '.join(row['triggers'])}; "
          f"bare test command {row['bare_test_command_s']} s")
    for side in (w, c):
        cpu = (f", {side['cpu_s_per_candidate']} CPU s/candidate = {side['candidates_per_cpu_s']} per CPU-second"
               if side["cpu_s_per_candidate"] is not None else "")
        print(f"  {side['runner']:>4}: {side['candidates']} candidates in {side['wall_s']} s = "
              f"{side['candidates_per_s']} candidates/s (start-up {side['startup_s']} s{cpu}) {side['statuses']}")
    print(f"  speed-up warm/cold: {row['speedup']}x; verdicts agree: {row['verdicts_agree']}; "
          f"target >= 10/s {'met' if row['target_met'] else 'NOT met'}")


if __name__ == "__main__":
    sys.exit(main())
