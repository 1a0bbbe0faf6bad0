"""Run MINT or IRepair end to end and write `--out DIR`: deltas + report.json."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from statistics import mean

from neuron_patch import delta as deltas
from neuron_patch.data import Case
from neuron_patch.irepair import IRepair, IRepairConfig
from neuron_patch.mint import Mint, MintConfig
from repair.artifacts import write_json


def _case_json(c: Case) -> dict:
    row = {"prompt": c.prompt, "target": c.target, "group": c.group}
    if c.error:
        row["error"] = c.error
    return row


def run_mint(model, tok, base_id: str, cases: list[Case], out: Path, config: MintConfig, mode: str,
             progress=None) -> dict:
    """single: each case from the original model (one delta per repaired case, then undone);
    sequential: repairs accumulate into one delta."""
    if mode not in ("single", "sequential"):
        raise ValueError(f"--mode {mode}: use single or sequential")
    base_hash = deltas.weights_hash(model)
    mint = Mint(model, tok, config)
    results, edits, accumulated = [], [], {}
    for i, case in enumerate(cases):
        result, patched = mint.repair_case(case, i)
        results.append(result)
        if mode == "single":
            if patched:
                d = deltas.from_neurons(mint.parts, patched, base_id, base_hash, {"method": "mint", "case": i})
                name = f"deltas/case-{i:04d}.safetensors"
                deltas.save(d, out / name)
                edits.append({"delta": name, "cases": [_case_json(case)]})
                mint.rollback(patched)
        else:
            for key, value in patched.items():
                accumulated.setdefault(key, value)   # keep the ORIGINAL value of each neuron
        if progress:
            progress(i + 1, len(cases), result)
    if mode == "sequential" and accumulated:
        d = deltas.from_neurons(mint.parts, accumulated, base_id, base_hash, {"method": "mint", "mode": mode})
        deltas.save(d, out / "delta.safetensors")
        edits.append({"delta": "delta.safetensors",
                      "cases": [_case_json(cases[r.index]) for r in results if r.status == "repaired"]})
    repaired = [r for r in results if r.status == "repaired"]
    report = {
        "method": "mint", "mode": mode, "base_model": base_id, "base_hash": base_hash,
        "config": asdict(config), "cases": [r.to_json() for r in results], "edits": edits,
        "summary": {
            "cases": len(results), "repaired": len(repaired),
            "skipped": sum(r.status == "skipped" for r in results),
            "already_correct": sum(r.status == "already-correct" for r in results),
            "mean_neurons": mean(len(r.neurons) for r in repaired) if repaired else None,
            "seconds_per_repair": mean(r.seconds for r in repaired) if repaired else None,
        },
    }
    write_json(out / "report.json", report)
    return report


def run_irepair(model, tok, base_id: str, errors: list[Case], utility: list[str], out: Path,
                config: IRepairConfig, progress=None) -> dict:
    base_hash = deltas.weights_hash(model)
    before = deltas.snapshot(model)
    result = IRepair(model, tok, config).run(errors, utility, progress)
    d = deltas.diff(model, before, base_id, base_hash, {"method": config.method})
    del before
    edits = []
    if d.entries:
        deltas.save(d, out / "delta.safetensors")
        edits.append({"delta": "delta.safetensors", "cases": [_case_json(c) for c in errors]})
    report = {"method": config.method, "mode": "batch", "base_model": base_id, "base_hash": base_hash,
              "config": asdict(config), "result": result.to_json(), "edits": edits,
              "summary": {"parameters_changed": d.parameters_changed, "seconds": result.seconds,
                          "error_rate_before": result.error_rate_before,
                          "error_rate_after": result.error_rate_after}}
    write_json(out / "report.json", report)
    return report
