"""Run MINT or IRepair end to end and write `--out DIR`: deltas + report.json."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from statistics import mean

from patchwarden.neuron_patch import delta as deltas
from patchwarden.neuron_patch.data import Case
from patchwarden.neuron_patch.irepair import IRepair, IRepairConfig
from patchwarden.neuron_patch.mint import Mint, MintConfig
from patchwarden.sandboxes.files import write_json


def _case_json(c: Case) -> dict:
    row = {"prompt": c.prompt, "target": c.target, "group": c.group}
    if c.error:
        row["error"] = c.error
    return row


def run_mint(model, tok, base_id: str, cases: list[Case], out: Path, config: MintConfig, mode: str,
             progress=None, locality: list[Case] | None = None) -> dict:
    """single: each case from the original model (one delta per repaired case, then undone);
    sequential: repairs accumulate into one delta.

    Locality probes (answers a repair must not change): `locality` when given, else the cases of
    the other groups in `cases`."""
    if mode not in ("single", "sequential"):
        raise ValueError(f"--mode {mode}: use single or sequential")
    base_hash = deltas.weights_hash(model)
    mint = Mint(model, tok, config)
    pool = list(locality) if locality is not None else list(cases)
    answers = dict(zip([c.key for c in pool], mint.probe_answers(pool)))   # on the original model
    results, edits, accumulated = [], [], {}
    for i, case in enumerate(cases):
        probes = [c for c in pool if c.group != case.group and c.key != case.key]
        if mode == "sequential" and i:   # earlier repairs are part of the model now
            answers.update(zip([c.key for c in probes], mint.probe_answers(probes)))
        result, patched = mint.repair_case(case, i, probes, [answers[c.key] for c in probes])
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
            "settings_chosen": _chosen(repaired),
        },
    }
    write_json(out / "report.json", report)
    return report


def _chosen(repaired) -> dict:
    """How often each (scale, layers, top_k) was the one kept: what the search settled on."""
    counts: dict[str, int] = {}
    for r in repaired:
        if r.setting:
            key = f"direction={r.setting['direction']} scale={r.setting['scale']:g} layers={r.setting['layers']} top_k={r.setting['top_k']}"
            counts[key] = counts.get(key, 0) + 1
    return counts


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
