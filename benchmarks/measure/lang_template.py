"""The template engine on small Java and JavaScript bugs, end to end in a sandbox.

The bugs are single edits injected into the two bundled examples (examples/java-range with
`mvn -o -q test`, examples/js-tally with `node --test`), each caught by the examples' own tests;
the examples' own bugs are two of them. Each bug is repaired with `run_repair` (template engine,
one worker); a plausible patch is "correct" when it restores the fixed source exactly.
Printed: per bug the status, whether the patch is the real fix, candidates validated and wall
time; then the totals per language.

    python3 -m patchwarden.benchmarks.measure.lang_template [--sandbox local] [--only java|javascript] [--json]
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from patchwarden.repair.config import RepairConfig
from patchwarden.repair.pipeline import run_repair

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
RANGE = "src/main/java/com/example/Range.java"
# (id, language, example, command, file, fixed text, buggy text); the examples ship with the first bug of each.
BUGS = [
    ("java-lower-bound", "java", "java-range", "mvn -o -q test", RANGE, "x >= lo && x <= hi", "x > lo && x <= hi"),
    ("java-upper-bound", "java", "java-range", "mvn -o -q test", RANGE, "x >= lo && x <= hi", "x >= lo && x < hi"),
    ("java-and-or", "java", "java-range", "mvn -o -q test", RANGE, "x >= lo && x <= hi", "x >= lo || x <= hi"),
    ("java-length-plus-one", "java", "java-range", "mvn -o -q test", RANGE, "return hi - lo + 1;", "return hi - lo - 1;"),
    ("java-length-swapped", "java", "java-range", "mvn -o -q test", RANGE, "return hi - lo + 1;", "return lo - hi + 1;"),
    ("js-loose-equality", "javascript", "js-tally", "node --test", "tally.js", "(v) => v === 0", "(v) => v == 0"),
    ("js-initial-count", "javascript", "js-tally", "node --test", "tally.js", "(counts.get(v) || 0) + 1", "(counts.get(v) || 1) + 1"),
    ("js-decrement", "javascript", "js-tally", "node --test", "tally.js", "(counts.get(v) || 0) + 1", "(counts.get(v) || 0) - 1"),
    ("js-mode-comparison", "javascript", "js-tally", "node --test", "tally.js", "if (n > bestCount)", "if (n < bestCount)"),
]
SHIPPED = {"java-range": ("x > lo && x <= hi", "x >= lo && x <= hi"), "js-tally": ("(v) => v == 0", "(v) => v === 0")}


def make_bug(root: Path, bug: tuple) -> Path:
    _, _, example, _, rel, fixed, buggy = bug
    repo = root / bug[0]
    shutil.copytree(EXAMPLES / example, repo)
    path = repo / rel
    text = path.read_text()
    shipped_bug, shipped_fix = SHIPPED[example]
    text = text.replace(shipped_bug, shipped_fix)  # the fixed version first
    assert fixed in text, (bug[0], fixed)
    path.write_text(text.replace(fixed, buggy, 1))
    (repo / ".fixed").write_text(text)
    return repo


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sandbox", default="local", help="local, docker or auto")
    ap.add_argument("--only", choices=["java", "javascript"], help="one language's bugs only")
    ap.add_argument("--time-budget", type=float, default=300.0, help="seconds of validation per bug")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    bugs = [b for b in BUGS if not args.only or b[1] == args.only]
    rows = []
    with tempfile.TemporaryDirectory(prefix="pw-lang-bench-") as tmp:
        for bug in bugs:
            repo = make_bug(Path(tmp), bug)
            fixed = (repo / ".fixed").read_text()
            (repo / ".fixed").unlink()
            start = time.monotonic()
            out = run_repair(RepairConfig(repo=repo, test_cmd=bug[3], sandbox=args.sandbox, out=Path(tmp) / f"run-{bug[0]}",
                                          time_budget=args.time_budget, progress=False))
            wall = time.monotonic() - start
            correct = False
            if out.status == "plausible":
                from patchwarden.repair.candidate import Candidate
                from patchwarden.repair.splice import patched_files
                from patchwarden.sandboxes.files import read_jsonl

                cands = {c["id"]: c for c in read_jsonl(Path(tmp) / f"run-{bug[0]}" / "candidates.jsonl")}
                correct = patched_files(repo, Candidate.from_dict(cands[out.candidate_id])).get(bug[4]) == fixed
            rows.append({"bug": bug[0], "language": bug[1], "status": out.status, "correct": correct,
                         "validated": out.candidates_validated, "wall_s": round(wall, 1)})
            if not args.json:
                print(f"{bug[0]:24} {out.status:10} correct={str(correct):5} validated={out.candidates_validated:3} {wall:6.1f}s",
                      flush=True)
    summary = {}
    for lang in sorted({r["language"] for r in rows}):
        mine = [r for r in rows if r["language"] == lang]
        summary[lang] = {"bugs": len(mine), "plausible": sum(r["status"] == "plausible" for r in mine),
                         "correct": sum(r["correct"] for r in mine),
                         "median_wall_s": sorted(r["wall_s"] for r in mine)[len(mine) // 2]}
    if args.json:
        print(json.dumps({"sandbox": args.sandbox, "rows": rows, "summary": summary}))
    else:
        for lang, s in summary.items():
            print(f"{lang}: {s['plausible']}/{s['bugs']} plausible, {s['correct']}/{s['bugs']} the real fix, "
                  f"median {s['median_wall_s']}s per bug ({args.sandbox} sandbox)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
