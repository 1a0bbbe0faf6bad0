"""Read one repair run directory (see repair/pipeline.py) into plain data for `patchwarden show`.

Known artifacts get a structure (candidates joined with their verdicts); every other JSON,
JSONL or text file, and every result.json key not listed here, is kept as it is under
`other` / `result_extra`, so artifacts added later still show up without a change here.
"""
from __future__ import annotations

import json
from pathlib import Path

from patchwarden.sandboxes.files import read_jsonl

KNOWN_FILES = {"config.json", "baseline.json", "localization.json", "candidates.jsonl", "validations.jsonl",
               "result.json", "patch.diff", "bounce_input.json", "bounce_output.json", "model_calls.jsonl"}
RESULT_SHOWN = {"status", "run_dir", "patch", "candidate_id", "plausible_ids", "candidates_generated", "candidates_validated",
                "rejected", "trigger_tests", "top_functions", "wall_time", "validate_time", "calls", "tokens", "cost",
                "message", "notes", "bounce"}
TEXT_LIMIT = 200_000  # characters of one unknown text file shown


class RunDirError(Exception):
    """Not a readable run directory; the message names the fix."""


def _json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return {"unreadable": f"{path.name}: {exc}"}


def read_run(run_dir: Path) -> dict:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunDirError(f"{run_dir} is not a directory: pass a repair run directory (the --out of `patchwarden repair`, or runs/<bug> of a bench run)")
    if not any((run_dir / name).exists() for name in ("config.json", "result.json", "baseline.json", "bench-error.txt")):
        raise RunDirError(f"{run_dir} holds no config.json, baseline.json or result.json: pass a repair run directory")
    get = lambda name: _json(run_dir / name) if (run_dir / name).is_file() else None  # noqa: E731
    result = get("result.json") or {}
    validations = {v.get("candidate_id"): v for v in read_jsonl(run_dir / "validations.jsonl")}
    candidates = []
    for cand in read_jsonl(run_dir / "candidates.jsonl"):
        edits = cand.get("edits") or []
        candidates.append({
            "id": cand.get("id"), "engine": cand.get("engine"), "description": cand.get("description", ""),
            "prior": cand.get("prior"), "files": sorted({e.get("path", "?") for e in edits}),
            "functions": [f"{e.get('path', '?')}::{e.get('qualname', '?')}" for e in edits],
            "new_source": "\n\n".join(e.get("new_source", "") for e in edits),
            "verdict": validations.get(cand.get("id")), "best": cand.get("id") == result.get("candidate_id"),
        })
    baseline = get("baseline.json")
    tests = []
    if isinstance(baseline, dict) and isinstance(baseline.get("run"), dict):
        for nodeid, res in (baseline["run"].get("results") or {}).items():
            res = res if isinstance(res, dict) else {"status": res}
            tests.append({"nodeid": nodeid, "status": res.get("status", "?"), "message": res.get("message", ""),
                          "duration": res.get("duration"), "traceback": res.get("traceback", "")})
    other = {}
    for path in sorted(run_dir.iterdir()):
        if path.name in KNOWN_FILES or not path.is_file() or path.name.startswith("."):
            continue
        if path.suffix == ".json":
            other[path.name] = _json(path)
        elif path.suffix == ".jsonl":
            other[path.name] = list(read_jsonl(path))
        else:
            try:
                other[path.name] = path.read_text()[:TEXT_LIMIT]
            except (OSError, UnicodeDecodeError):
                other[path.name] = f"({path.stat().st_size} bytes, not text)"
    return {
        "run_dir": str(run_dir),
        "config": get("config.json"),
        "result": result,
        "result_extra": {k: v for k, v in result.items() if k not in RESULT_SHOWN},
        "baseline": {k: v for k, v in (baseline or {}).items() if k != "run"} | (
            {k: v for k, v in baseline["run"].items() if k not in ("results", "coverage")} if isinstance(baseline, dict) and isinstance(baseline.get("run"), dict) else {}),
        "tests": tests,
        "localization": get("localization.json") or [],
        "candidates": candidates,
        "validations_without_candidate": [v for cid, v in validations.items() if cid not in {c["id"] for c in candidates}],
        "patch": (run_dir / "patch.diff").read_text() if (run_dir / "patch.diff").is_file() else "",
        "bounce": {k: get(f"bounce_{k}.json") for k in ("input", "output") if (run_dir / f"bounce_{k}.json").is_file()},
        "model_calls": list(read_jsonl(run_dir / "model_calls.jsonl")),
        "other": other,
    }
