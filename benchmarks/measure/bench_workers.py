"""Scaling of `patchwarden bench run`: the same dataset with 1 worker and with N workers,
side by side, then one report comparing both (PNGs included).

    python -m patchwarden.benchmarks.measure.bench_workers --limit 164 --workers 2 --report docs/bench

Prints bugs, plausible, fixed-equal-to-reference, wall time per run and the speed-up.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def bench_run(dataset: str, out: Path, workers: int, extra: list[str]) -> tuple[dict, float]:
    cmd = [sys.executable, "-m", "patchwarden.cli", "bench", "run", dataset, "--out", str(out), "--workers", str(workers), "--json", *extra]
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        sys.exit(f"bench run failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout), elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="humanevalfix", help="dataset name (default: humanevalfix, the packaged copy)")
    ap.add_argument("--path", default=None, help="dataset --path")
    ap.add_argument("--limit", type=int, default=None, help="only the first N bugs")
    ap.add_argument("--workers", type=int, default=2, help="workers of the parallel run (compared with 1)")
    ap.add_argument("--engine", default="template")
    ap.add_argument("--sandbox", default="local")
    ap.add_argument("--time-budget", default="300", help="seconds of validation per bug (bench run --time-budget)")
    ap.add_argument("--per-test-timeout", default=None, help="seconds one test may run (bench run --per-test-timeout)")
    ap.add_argument("--bug-timeout", default=None, help="wall-clock cap per bug (bench run --bug-timeout)")
    ap.add_argument("--runs", type=Path, default=None, help="where the two run directories go (default: a temp dir)")
    ap.add_argument("--report", type=Path, default=None, help="write the comparison report (md, html, PNGs) here")
    args = ap.parse_args()

    extra = ["--engine", args.engine, "--sandbox", args.sandbox, "--time-budget", args.time_budget]
    if args.bug_timeout:
        extra += ["--bug-timeout", args.bug_timeout]
    if args.per_test_timeout:
        extra += ["--per-test-timeout", args.per_test_timeout]
    if args.path:
        extra += ["--path", args.path]
    if args.limit:
        extra += ["--limit", str(args.limit)]
    runs = args.runs or Path(tempfile.mkdtemp(prefix="pw-bench-workers-"))
    one, many = runs / "workers-1", runs / f"workers-{args.workers}"
    s1, t1 = bench_run(args.dataset, one, 1, extra)
    sn, tn = bench_run(args.dataset, many, args.workers, extra)
    print(f"dataset {args.dataset}: {s1['total']} bugs, engine {args.engine}, sandbox {args.sandbox}")
    for label, s, t in (("1 worker", s1, t1), (f"{args.workers} workers", sn, tn)):
        print(f"  {label:>10}: plausible {s['plausible']}/{s['total']}, fixed=reference {s['fixed']}, errors {s['errors']}, "
              f"wall {s['wall_time']:.1f}s (command {t:.1f}s)")
    print(f"  speed-up with {args.workers} workers: {s1['wall_time'] / sn['wall_time']:.2f}x "
          f"(wall time ratio {sn['wall_time'] / s1['wall_time']:.2f})")
    if args.report:
        proc = subprocess.run([sys.executable, "-m", "patchwarden.cli", "bench", "report", str(one), str(many), "--out", str(args.report)],
                              cwd=ROOT, capture_output=True, text=True)
        print(proc.stdout.strip() or proc.stderr.strip())
    print(f"  runs kept in {runs}")


if __name__ == "__main__":
    main()
