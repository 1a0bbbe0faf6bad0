"""SRepair on multi-function bugs, with and without --functions, against a scripted model server.

The bugs (benchmarks/measure/multifunction_bugs.py) are real functions copied from CPython's standard
library with a bug injected across 2 to 4 of them; three fixes need an import the buggy module
lacks. A local OpenAI-compatible server on 127.0.0.1 answers like a model that knows the
reference: each patch prompt gets the stdlib version of every function it shows (with the
imports the fix needs above it), each suggestion prompt a generic root cause. The full pipeline
runs for real (baseline in a sandbox, localization, HTTP calls, extraction, import merging,
validation), once with `--functions` pinned to the functions the fix changes and once without.

    python3 -m patchwarden.benchmarks.measure.multifunction_scripted [--mode both|pinned|auto] [--bug ID] [--check]
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path


from patchwarden.benchmarks.measure.multifunction_bugs import BUGS, Bug, check, make_repo, reference
from patchwarden.repair.source_functions import extract_functions
from patchwarden.repair.models.scripted_server import ScriptedChatServer


class ReferenceModel:
    """Answers every patch prompt with the reference version of each function it shows."""

    def __init__(self, bug: Bug):
        self.fixed = {f.name: f.source for f in extract_functions(reference(bug), f"{bug.file}.py")}
        self.imports = "\n".join(bug.new_imports)

    def _code(self, name: str) -> str:
        head = self.imports + "\n\n\n" if self.imports else ""
        return head + self.fixed.get(name, f"def {name}():\n    pass") + "\n"

    def __call__(self, req: dict) -> list[str]:
        prompt = req["messages"][-1]["content"]
        n = req.get("n", 1)
        if "## Answer format" in prompt:
            return ["Root Cause: the functions do not do what the tests expect.\n\n"
                    "Suggestion 1: Restore the intended behaviour\nRewrite the code to match its documentation."] * n
        names = re.findall(r"complete fixed (?:function )?`(\w+)`", prompt)
        if len(names) == 1:
            return [f"Here is the fixed function.\n\n```python\n{self._code(names[0])}```"] * n
        return ["\n".join(f"Function ID: {i}\nFixed function code:\n```python\n{self._code(name)}```\n"
                          for i, name in enumerate(names, 1))] * n


def repair_one(bug: Bug, pinned: bool, work: Path) -> dict:
    from patchwarden.repair.config import RepairConfig
    from patchwarden.repair.pipeline import run_repair
    from patchwarden.repair.errors import RepairInputError

    dest = work / f"{bug.id}-{'pinned' if pinned else 'auto'}"
    repo = make_repo(bug, dest / "repo")
    t0 = time.monotonic()
    with ScriptedChatServer(ReferenceModel(bug)) as srv:
        cfg = RepairConfig(repo=repo, test_cmd=f"{sys.executable} -m pytest -q", engine="srepair", model="openai:scripted",
                           api_base=srv.base_url, suggestions=1, patches_per_suggestion=1, sandbox="local",
                           out=dest / "run", progress=False, bounce=False,
                           functions=[f"{bug.file}.py:{f}" for f in bug.functions] if pinned else [])
        try:
            out = run_repair(cfg)
        except RepairInputError as e:
            return {"bug": bug.id, "status": "error", "reason": str(e), "calls": len(srv.requests)}
    run = dest / "run"
    groups = json.loads((run / "groups.json").read_text()) if (run / "groups.json").exists() else []
    winner = ""
    if out.status == "plausible":
        cands = {json.loads(l)["id"]: json.loads(l) for l in (run / "candidates.jsonl").read_text().splitlines()}
        fns = cands[out.candidate_id]["meta"].get("functions", [])
        reasons = [g["reasons"] for g in groups if g["functions"] == fns]
        winner = f"{len(fns)} functions" + (f" ({'; '.join(reasons[0])})" if reasons else "")
    return {"bug": bug.id, "status": out.status, "calls": out.calls, "tokens": out.tokens, "rejected": out.rejected,
            "imports_in_patch": sum(1 for ln in out.patch.splitlines() if re.match(r"^\+(import|from) ", ln)),
            "groups_tried": sum(g["tried"] for g in groups), "winner": winner, "wall": round(time.monotonic() - t0, 1),
            "message": out.message}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", choices=["both", "pinned", "auto"], default="both",
                    help="pinned: --functions names the fixed functions; auto: no --functions; both (default)")
    ap.add_argument("--bug", action="append", default=[], help="only this bug id (repeatable)")
    ap.add_argument("--check", action="store_true", help="first prove each bug needs every function of its fix")
    ap.add_argument("--out", type=Path, default=None, help="write per-bug results as JSON here")
    args = ap.parse_args(argv)
    bugs = [b for b in BUGS if not args.bug or b.id in args.bug]
    if not bugs:
        print(f"no bug named {args.bug}; choose from {', '.join(b.id for b in BUGS)}", file=sys.stderr)
        return 2
    print(f"{len(bugs)} bugs from CPython {sys.version.split()[0]} stdlib; functions per fix: "
          f"{[len(b.functions) for b in bugs]}; fixes needing a new import: {sum(bool(b.new_imports) for b in bugs)}")
    results = []
    with tempfile.TemporaryDirectory(prefix="multifn-bench-") as tmp:
        if args.check:
            for b in bugs:
                problems = check(b, Path(tmp) / "check" / b.id)
                print(f"check {b.id}: {'ok' if not problems else '; '.join(problems)}")
        modes = {"both": [True, False], "pinned": [True], "auto": [False]}[args.mode]
        for pinned in modes:
            for b in bugs:
                res = {**repair_one(b, pinned, Path(tmp)), "mode": "pinned" if pinned else "auto"}
                results.append(res)
                print(f"[{res['mode']}] {b.id} ({len(b.functions)} functions): {res['status']}, {res['calls']} calls"
                      + (f", won by {res['winner']}" if res.get("winner") else f" — {res.get('message') or res.get('reason')}"),
                      flush=True)
    for mode in ("pinned", "auto"):
        rs = [r for r in results if r["mode"] == mode]
        if rs:
            ok = [r for r in rs if r["status"] == "plausible"]
            imp = [r for r in ok if any(b.id == r["bug"] and b.new_imports for b in bugs)]
            print(f"{mode:>6} ({'with' if mode == 'pinned' else 'without'} --functions): repaired {len(ok)}/{len(rs)}, "
                  f"model calls {sum(r['calls'] for r in rs)} (per repaired bug {[r['calls'] for r in ok]}), "
                  f"fixes with a new import repaired {len(imp)}/{sum(bool(b.new_imports) for b in bugs)}")
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
