"""How often the template engine's candidates contain the real fix, on HumanEvalFix (164 bugs).

A sanity figure for the operator set, not a repair benchmark (no tests are run): for each bug the
buggy function goes through `TemplateEngine` with uniform line scores, and a bug counts as covered
when one candidate equals the canonical solution after `ast.unparse` normalisation.

    python3 -m patchwarden.benchmarks.measure.template_coverage [--max-candidates N] [--misses] [--json]
"""
from __future__ import annotations

import argparse
import ast
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path


from patchwarden.repair.bug_context import BugContext, SuspiciousFunction
from patchwarden.repair.candidate import normalize_source
from patchwarden.repair.engines.template import TemplateEngine, function_info
from patchwarden.repair.humanevalfix import BUNDLED
from patchwarden.sandboxes.safe_ast import safe_parse

DATA = BUNDLED


def extract(text: str, name: str) -> tuple[str, int, int]:
    """Source, first line and start byte of the last top-level function `name` in `text`."""
    tree = safe_parse(text)
    node = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name][-1]
    first = node.decorator_list[0] if node.decorator_list else node
    lines = text.splitlines(keepends=True)
    def offset(line: int, col: int) -> int:  # ast columns are utf-8 byte offsets
        return len("".join(lines[: line - 1]).encode()) + col
    indent = len(lines[first.lineno - 1]) - len(lines[first.lineno - 1].lstrip())  # decorators: include the `@`
    start, end = offset(first.lineno, indent), offset(node.end_lineno, node.end_col_offset)
    return text.encode()[start:end].decode(), first.lineno, start


def canonical_form(source: str) -> str:
    try:
        return normalize_source(ast.unparse(safe_parse(source)))
    except SyntaxError:
        return ""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA, help="HumanEvalFix jsonl file")
    ap.add_argument("--max-candidates", type=int, default=2000, help="candidates per bug")
    ap.add_argument("--misses", action="store_true", help="print the buggy and canonical lines of each miss")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)

    rows = [json.loads(line) for line in args.data.read_text().splitlines() if line.strip()]
    engine = TemplateEngine(max_candidates=args.max_candidates, time_budget=None)
    ranks: dict[str, int] = {}
    counts, found_ops, types_total, types_found = [], Counter(), Counter(), Counter()
    misses = []
    t0 = time.perf_counter()
    for row in rows:
        name = row["entry_point"]
        src, line, start = extract(row["declaration"] + row["buggy_solution"], name)
        fixed, _, _ = extract(row["declaration"] + row["canonical_solution"], name)
        target = canonical_form(fixed)
        fn = function_info("solution.py", name, src, start_line=line, start_byte=start)
        uniform = {ln: 1.0 for ln in range(fn.start_line, fn.end_line + 1)}
        ctx = BugContext(repo=Path("."), test_cmd="", failing=[], suspicious=[SuspiciousFunction(fn, 1.0, line_scores=uniform)])
        n = 0
        types_total[row["bug_type"]] += 1
        for n, cand in enumerate(engine.generate(ctx), 1):
            if row["task_id"] not in ranks and canonical_form(cand.edits[0].new_source) == target:
                ranks[row["task_id"]] = n
                found_ops[cand.meta["operator"]] += 1
                types_found[row["bug_type"]] += 1
        if row["task_id"] not in ranks:
            misses.append((row, src, fixed))
        counts.append(n)
    elapsed = time.perf_counter() - t0

    found = list(ranks.values())
    figures = {
        "bugs": len(rows),
        "covered": len(found),
        "median_rank": statistics.median(found) if found else None,
        "covered_in_top_10": sum(r <= 10 for r in found),
        "covered_in_top_100": sum(r <= 100 for r in found),
        "median_candidates_per_bug": statistics.median(counts),
        "max_candidates_per_bug": max(counts),
        "seconds": round(elapsed, 1),
        "by_bug_type": {t: f"{types_found[t]}/{types_total[t]}" for t in types_total},
        "by_operator": dict(found_ops.most_common()),
    }
    if args.misses:
        import difflib
        for row, src, fixed in misses:
            print(f"--- {row['task_id']} ({row['bug_type']})")
            for d in difflib.unified_diff(src.splitlines(), fixed.splitlines(), lineterm="", n=0):
                if d[:1] in "+-" and not d.startswith(("+++", "---")):
                    print("   ", d)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(f"covered {figures['covered']}/{figures['bugs']} bugs (fix among candidates); "
              f"median rank {figures['median_rank']}; top-10 {figures['covered_in_top_10']}, "
              f"top-100 {figures['covered_in_top_100']}; median {figures['median_candidates_per_bug']} "
              f"candidates per bug (max {figures['max_candidates_per_bug']}); {figures['seconds']} s")
        print("by bug type:", figures["by_bug_type"])
        print("by operator:", figures["by_operator"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
