"""SRepair end to end on HumanEvalFix with a scripted OpenAI-compatible server.

A local server on 127.0.0.1 answers each suggestion prompt with a plausible root cause and
suggestion, and each patch prompt with the reference fix (declaration + canonical solution of
the bug whose buggy function appears in the prompt), wrapped in prose like a chatty model. The
full pipeline runs for real: baseline tests, localization, prompts, HTTP calls through the
`openai` client, extraction, splicing, validation in a sandbox. It measures everything around
the model: the answers are right, so every lost bug is a loss of the tool.

    python3 -m patchwarden.benchmarks.measure.srepair_scripted [--limit N] [--jobs 2] [--out DIR]
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


from patchwarden.benchmarks.humanevalfix_repos import make_bug_repo
from patchwarden.repair.humanevalfix import load_rows
from patchwarden.repair.candidate import normalize_source
from patchwarden.repair.models.scripted_server import ScriptedChatServer


class ReferenceResponder:
    """Answers like a model that knows the reference fix of every HumanEvalFix bug."""

    def __init__(self, rows: list[dict]):
        self.rows = rows
        self.by_name: dict[str, list[dict]] = {}
        for r in rows:
            self.by_name.setdefault(r["entry_point"], []).append(r)

    def _row(self, prompt: str, name: str) -> dict | None:
        """The bug the prompt shows: its buggy body first (names repeat across bugs), then helpers."""
        named = self.by_name.get(name, [])
        body = normalize_source(prompt)
        exact = [r for r in named if normalize_source(r["buggy_solution"]) in body]
        if exact:
            return exact[0]
        # A helper defined beside the buggy function (e.g. is_palindrome next to make_palindrome):
        # answer with that bug's reference file, where the helper is unchanged.
        sig = re.search(rf"^[ \t]*def {re.escape(name)}\(.*$", prompt, re.M)
        if sig:
            owners = [r for r in self.rows if sig.group(0).strip() in r["declaration"]]
            if owners:
                return owners[0]
        return named[0] if named else None

    def __call__(self, req: dict) -> list[str]:
        prompt = req["messages"][-1]["content"]
        n = req.get("n", 1)
        if "## Answer format" in prompt:  # suggestion prompt
            return ["Root Cause: the implementation does not do what the docstring and the trigger test expect.\n\n"
                    "Suggestion 1: Reimplement the function from its specification\n"
                    "Rewrite the body so that it follows the docstring exactly, keeping the signature."] * n
        names = re.findall(r"complete fixed (?:function )?`(\w+)`", prompt)
        sections = []
        for i, name in enumerate(names, 1):
            row = self._row(prompt, name)
            code = (row["declaration"] + row["canonical_solution"]) if row else f"def {name}():\n    pass\n"
            if len(names) > 1:
                sections.append(f"Function ID: {i}\nFixed function code:\n```python\n{code}```\n")
            else:
                sections.append(f"The fix follows the docstring.\n\n```python\n{code}```\n\nThis passes the tests.")
        return ["\n".join(sections)] * n


def repair_one(row: dict, base_url: str, work: Path) -> dict:
    from patchwarden.repair.config import RepairConfig
    from patchwarden.repair.pipeline import run_repair
    from patchwarden.repair.errors import RepairInputError

    tid = row["task_id"]
    dest = work / tid.replace("/", "_")
    repo, test_cmd = make_bug_repo(row, dest / "repo")
    cfg = RepairConfig(repo=Path(repo), test_cmd=test_cmd, engine="srepair", model="openai:scripted", api_base=base_url,
                       suggestions=1, patches_per_suggestion=1, sandbox="local", out=dest / "run", progress=False,
                       bounce=False)
    t0 = time.monotonic()
    try:
        out = run_repair(cfg)
    except RepairInputError as e:
        return {"task_id": tid, "status": "error", "reason": str(e), "wall": time.monotonic() - t0}
    except Exception as e:  # the benchmark reports crashes instead of dying on the first one
        return {"task_id": tid, "status": "crash", "reason": f"{type(e).__name__}: {e}", "wall": time.monotonic() - t0}
    reason = out.message
    if out.status != "plausible":
        calls = [json.loads(l) for l in (Path(out.run_dir) / "model_calls.jsonl").read_text().splitlines()] \
            if (Path(out.run_dir) / "model_calls.jsonl").exists() else []
        reason += f"; top functions {out.top_functions[:3]}; {out.rejected} rejected; {len(calls)} model calls"
    return {"task_id": tid, "status": out.status, "reason": reason, "wall": round(time.monotonic() - t0, 2),
            "calls": out.calls, "tokens": out.tokens, "rejected": out.rejected}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=None, help="only the first N bugs")
    ap.add_argument("--jobs", type=int, default=2, help="bugs repaired in parallel")
    ap.add_argument("--out", type=Path, default=None, help="write per-bug results as JSON here")
    ap.add_argument("--task", action="append", default=[], help="only these task ids (repeatable)")
    args = ap.parse_args(argv)
    rows = load_rows()[: args.limit] if args.limit else load_rows()
    if args.task:
        rows = [r for r in rows if r["task_id"] in set(args.task)]
    started = time.monotonic()
    with ScriptedChatServer(ReferenceResponder(load_rows())) as srv, tempfile.TemporaryDirectory(prefix="srepair-bench-") as tmp:
        with ThreadPoolExecutor(max(1, args.jobs)) as pool:
            results = []
            for i, res in enumerate(pool.map(lambda r: repair_one(r, srv.base_url, Path(tmp)), rows), 1):
                results.append(res)
                if args.out:  # partial results survive an interrupted run
                    args.out.write_text(json.dumps(results, indent=2))
                print(f"[{i}/{len(rows)}] {res['task_id']}: {res['status']} ({res['wall']:.1f}s)", file=sys.stderr, flush=True)
    wall = time.monotonic() - started
    plausible = sum(r["status"] == "plausible" for r in results)
    walls = sorted(r["wall"] for r in results)
    print(f"plausible: {plausible}/{len(results)}")
    print(f"model calls: {sum(r.get('calls', 0) for r in results)}, tokens: {sum(r.get('tokens', 0) for r in results)}, "
          f"rejected answers: {sum(r.get('rejected', 0) for r in results)}")
    print(f"wall: {wall:.0f}s total, median {walls[len(walls) // 2]:.1f}s per bug, jobs={args.jobs}")
    print("statuses:", dict(Counter(r["status"] for r in results)))
    for r in results:
        if r["status"] != "plausible":
            print(f"LOST {r['task_id']}: {r['status']}: {r['reason']}")
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
