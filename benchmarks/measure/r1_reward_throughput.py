"""Sandboxed Repair-R1 reward throughput: completions scored per second, in parallel vs one at a time.

    python3 benchmarks/measure/r1_reward_throughput.py [--bugs 24] [--workers N]

Completions are built from real HumanEvalFix bugs: three generated tests (taken from the hidden
asserts) and a fix (the reference for even rows, the buggy code for odd rows), so every reward
runs its sandbox jobs. Measured side by side in one run:
- sequential: one warm server, one completion at a time;
- parallel: `--workers` warm servers, the whole batch at once (as TRL calls the async rewards);
- cold: the same tests with a fresh interpreter per test (`sandbox.run`), one at a time, on a subset.
"""
from __future__ import annotations

import argparse
import os
import time

from patchwarden.repair.r1.answer import render_answer
from patchwarden.repair.r1.dataset import load_humanevalfix
from patchwarden.repair.r1.fork_runner import TestRunner
from patchwarden.repair.r1.rewards import score_completion, score_many


def completions(rows: list[dict]) -> list[str]:
    texts = []
    for i, row in enumerate(rows):
        tests = [t for t in row["hidden_tests"][:3]]
        code = row["reference"] if i % 2 == 0 else row["buggy_code"]
        texts.append(render_answer(tests, code))
    return texts


def executions(rows: list[dict]) -> int:
    """Sandbox executions per batch: each test on reference and buggy, plus every hidden test."""
    return sum(2 * min(3, len(r["hidden_tests"])) + len(r["hidden_tests"]) for r in rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bugs", type=int, default=24)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--cold-bugs", type=int, default=6)
    args = ap.parse_args()
    rows = [r for r in load_humanevalfix() if r["bug_type"] != "infinite loop"][: args.bugs]
    texts = completions(rows)
    n_exec = executions(rows)
    print(f"{len(rows)} completions, {n_exec} sandboxed executions per pass, {args.workers} workers, "
          f"{os.cpu_count()} CPUs")

    with TestRunner(workers=1) as one:
        score_many(one, rows[:2], texts[:2])  # warm-up
        start = time.monotonic()
        seq = [score_completion(one, r, t) for r, t in zip(rows, texts)]
        t_seq = time.monotonic() - start
    with TestRunner(workers=args.workers) as many:
        score_many(many, rows[:2], texts[:2])
        start = time.monotonic()
        par = score_many(many, rows, texts)
        t_par = time.monotonic() - start
    assert [s.to_dict() for s in seq] == [s.to_dict() for s in par], "parallel and sequential scores differ"

    from patchwarden.sandboxes import open_sandbox
    from patchwarden.repair.r1.answer import parse_answer
    from patchwarden.repair.r1.rewards import fix_program

    cold_rows = rows[: args.cold_bugs]
    cold_exec = executions(cold_rows)
    with open_sandbox("local") as sbx:
        start = time.monotonic()
        for row, text in zip(cold_rows, texts):
            ans = parse_answer(text)
            for program in (row["reference"], row["buggy_code"]):
                for test in ans.tests:
                    sbx.run(["python3", "-c", f"{program}\n{test}"], timeout=3)
            for test in row["hidden_tests"]:
                sbx.run(["python3", "-c", f"{fix_program(row['fix_context'], ans.fix)}\n{test}"], timeout=1)
        t_cold = time.monotonic() - start

    print(f"sequential (1 warm server):   {len(rows) / t_seq:7.2f} completions/s  {n_exec / t_seq:8.1f} executions/s")
    print(f"parallel ({args.workers} warm servers):   {len(rows) / t_par:7.2f} completions/s  {n_exec / t_par:8.1f} executions/s")
    print(f"cold (interpreter per test): {len(cold_rows) / t_cold:7.2f} completions/s  {cold_exec / t_cold:8.1f} executions/s")
    print(f"parallel / sequential: {t_seq / t_par:.2f}x   warm sequential / cold: {(n_exec / t_seq) / (cold_exec / t_cold):.2f}x")


if __name__ == "__main__":
    main()
