"""HumanEvalFix with the template engine: how many bugs get a plausible patch, how fast.

Each of the 164 bugs becomes a one-file git repo with its tests; `run_repair` runs with the
template engine and one validation worker. Printed: plausible count, median and total wall
time per bug, candidates validated per second, and — on the same candidates, side by side —
the speed-up of the warm runner over re-running the bare test command per candidate.

    python3 benchmarks/measure/template_on_humanevalfix.py --sandbox local [--limit N] [--cold-sample 10] [--json]
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from patchwarden.benchmarks.humanevalfix_repos import bug_id, make_bug_repo
from patchwarden.repair.humanevalfix import load_rows
from patchwarden.sandboxes.files import read_json, read_jsonl
from patchwarden.repair.config import RepairConfig
from patchwarden.repair.candidate import Candidate
from patchwarden.sandboxes.testresults import TestResult
from patchwarden.repair.pipeline import run_repair
from patchwarden.repair.validate import ColdValidator, Validator, candidate_timeout
from patchwarden.sandboxes import Limits, SandboxSpec, resolve_backend


def repair_all(rows, backend: str, work: Path, max_candidates: int, time_budget: float, jobs: int = 1) -> list[dict]:
    from concurrent.futures import ThreadPoolExecutor

    from rich.progress import Progress

    with Progress(transient=True) as progress:
        task = progress.add_task(f"repairing ({backend})", total=len(rows))

        def one(row) -> dict:
            repo, test_cmd = make_bug_repo(row, work / "repos" / bug_id(row))
            cfg = RepairConfig(repo=repo, test_cmd=test_cmd, engine="template", sandbox=backend, workers=1,
                               max_candidates=max_candidates, time_budget=time_budget, per_test_timeout=5,
                               test_timeout=120, out=work / "runs" / bug_id(row), progress=False, bounce=False)
            start = time.monotonic()
            try:
                out = run_repair(cfg)
                rec = {"id": row["task_id"], "status": out.status, "validated": out.candidates_validated,
                       "validate_time": out.validate_time, "run_dir": str(out.run_dir),
                       "confirm_s": (getattr(out, "confirmation", None) or {}).get("duration")}
            except Exception as exc:  # a benchmark reports failures, it does not stop on them
                rec = {"id": row["task_id"], "status": "error", "validated": 0, "validate_time": 0.0, "error": str(exc)[:200]}
            rec["wall"] = time.monotonic() - start
            rec["bug_type"] = row.get("bug_type", "")
            progress.advance(task)
            return rec

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            return list(pool.map(one, rows))


def warm_vs_cold(records: list[dict], backend: str, sample: int, per_bug: int) -> dict:
    """Validate the same candidates with the warm runner and with the bare test command."""
    spec = SandboxSpec(backend, None, Limits())
    warm_t = cold_t = 0.0
    n = 0
    agree = 0
    for rec in [r for r in records if r.get("run_dir") and r["validated"] > 0][:sample]:
        run_dir = Path(rec["run_dir"])
        cfg = read_json(run_dir / "config.json")
        base = read_json(run_dir / "baseline.json")["run"]
        baseline = {k: TestResult(**v) for k, v in base["results"].items()}
        triggers = [k for k, v in baseline.items() if v.bad]
        cands = [Candidate.from_dict(c) for c in read_jsonl(run_dir / "candidates.jsonl")][:per_bug]
        timeout = candidate_timeout(baseline)
        repo = Path(cfg["repo"])
        results = {}
        for kind, cls in (("warm", Validator), ("cold", ColdValidator)):
            with cls(repo, cfg["test_cmd"], spec, baseline, triggers, timeout) as v:
                start = time.monotonic()
                results[kind] = [v.validate(c).status for c in cands]
                took = time.monotonic() - start
            if kind == "warm":
                warm_t += took
            else:
                cold_t += took
        agree += sum(a == b for a, b in zip(results["warm"], results["cold"]))
        n += len(cands)
    return {"candidates": n, "warm_per_s": n / warm_t if warm_t else 0.0, "cold_per_s": n / cold_t if cold_t else 0.0,
            "speedup": cold_t / warm_t if warm_t else 0.0, "same_verdicts": agree}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sandbox", default="local", help="local, docker or auto")
    ap.add_argument("--limit", type=int, default=None, help="only the first N bugs")
    ap.add_argument("--max-candidates", type=int, default=300)
    ap.add_argument("--time-budget", type=float, default=120.0, help="seconds per bug for validation")
    ap.add_argument("--cold-sample", type=int, default=10, help="bugs whose candidates are re-validated cold")
    ap.add_argument("--cold-per-bug", type=int, default=20, help="candidates per sampled bug")
    ap.add_argument("--path", default=None, help="HumanEvalFix JSONL (default: the packaged copy)")
    ap.add_argument("--work", default=None, help="folder for repos and runs (default: a temp dir)")
    ap.add_argument("--jobs", type=int, default=1, help="bugs repaired at once (each with 1 validation worker)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    backend = resolve_backend(args.sandbox)
    rows = load_rows(args.path)[: args.limit]
    work = Path(args.work or tempfile.mkdtemp(prefix="pw-hefix-"))
    start = time.monotonic()
    records = repair_all(rows, backend, work, args.max_candidates, args.time_budget, args.jobs)
    total = time.monotonic() - start
    walls = [r["wall"] for r in records]
    validated = sum(r["validated"] for r in records)
    vtime = sum(r["validate_time"] for r in records)
    summary = {
        "sandbox": backend, "bugs": len(records),
        "plausible": sum(r["status"] == "plausible" for r in records),
        "errors": sum(r["status"] == "error" for r in records),
        "median_wall_s": statistics.median(walls) if walls else 0.0, "total_wall_s": total,
        "candidates_validated": validated, "validated_per_s": validated / vtime if vtime else 0.0,
        "by_type": {},
        "median_confirm_s": statistics.median(c) if (c := [r["confirm_s"] for r in records if r.get("confirm_s") is not None]) else None,
    }
    for r in records:
        t = summary["by_type"].setdefault(r["bug_type"] or "?", [0, 0])
        t[0] += r["status"] == "plausible"
        t[1] += 1
    summary["warm_vs_cold"] = warm_vs_cold(records, backend, args.cold_sample, args.cold_per_bug) if args.cold_sample else None
    (work / "records.json").write_text(json.dumps(records, indent=1))
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"HumanEvalFix, template engine, {backend} sandbox, 1 worker, {args.jobs} bug(s) at once — work dir {work}")
    print(f"plausible: {summary['plausible']}/{summary['bugs']} (errors: {summary['errors']})")
    print(f"wall time per bug: median {summary['median_wall_s']:.2f} s; total {total:.1f} s")
    if summary["median_confirm_s"] is not None:
        print(f"confirmation by the test command as given: median {summary['median_confirm_s']:.2f} s per plausible bug")
    print(f"candidates validated: {validated}, {summary['validated_per_s']:.1f} per second (validation time only)")
    for t, (ok, n) in sorted(summary["by_type"].items()):
        print(f"  {t:<16} {ok}/{n}")
    wc = summary["warm_vs_cold"]
    if wc:
        print(f"warm vs bare test command on the same {wc['candidates']} candidates: warm {wc['warm_per_s']:.1f}/s, "
              f"cold {wc['cold_per_s']:.2f}/s, speed-up x{wc['speedup']:.1f} (same verdicts: {wc['same_verdicts']}/{wc['candidates']})")


if __name__ == "__main__":
    main()
