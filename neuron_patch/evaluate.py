"""Evaluate saved repairs: efficacy, generalization, specificity, locality, perplexity.

Every edit of a run (one per case in single mode, one in sequential mode / IRepair) is applied
onto the base, measured against the ORIGINAL model's outputs, and undone.  Teacher-forced
metrics use the target tokens as context; generated metrics compare greedy continuations.
"""
from __future__ import annotations

import json
from pathlib import Path
from statistics import mean

from patchwarden.neuron_patch import delta as deltas
from patchwarden.neuron_patch.arch import ModelParts
from patchwarden.neuron_patch.data import Case, encode_pair
from patchwarden.neuron_patch.scoring import encode_texts, greedy, perplexity, teacher_forced


def _measure(model, tok, case: Case) -> dict:
    p, t = encode_pair(tok, case.prompt, case.target)
    tf = teacher_forced(model, p, t)
    out = {"tf": tf, "gen": greedy(model, p, len(t)), "target": t}
    if case.error:
        _, e = encode_pair(tok, case.prompt, case.error)
        out["error_gen"] = greedy(model, p, len(e)) == e
    return out


def _rate(xs) -> float | None:
    xs = list(xs)
    return sum(map(bool, xs)) / len(xs) if xs else None


def _edit_metrics(model, tok, repaired: list[Case], pool: list[Case], original: dict, held, parts, d) -> dict:
    keys = {c.key for c in repaired}
    groups = {c.group for c in repaired}
    after = {c.key: _measure(model, tok, c) for c in repaired + [c for c in pool if c.key not in keys]}
    same = [c for c in pool if c.key not in keys and c.group in groups]
    other = [c for c in pool if c.key not in keys and c.group not in groups]

    def dprob(c):
        return mean(a - b for a, b in zip(after[c.key]["tf"].probs, original[c.key]["tf"].probs))

    def drank(c):
        return mean(a - b for a, b in zip(after[c.key]["tf"].ranks, original[c.key]["tf"].ranks))

    agree, kls = [], []
    for c in same + other:
        o, a = original[c.key]["tf"], after[c.key]["tf"]
        agree += [x == y for x, y in zip(o.top1, a.top1)]
        kls.append(float((o.logprobs.exp() * (o.logprobs - a.logprobs)).sum(-1).mean()))
    ffn = {parts.ffn_param_name(i) for i in range(parts.num_layers)}
    errs = [c for c in repaired + same if c.error]
    return {
        "efficacy_tf": _rate(after[c.key]["tf"].correct for c in repaired),
        "efficacy_gen": _rate(after[c.key]["gen"] == after[c.key]["target"] for c in repaired),
        "delta_prob": mean(map(dprob, repaired)) if repaired else None,
        "delta_rank": mean(map(drank, repaired)) if repaired else None,
        "generalization_tf": _rate(after[c.key]["tf"].correct for c in same),
        "generalization_tf_before": _rate(original[c.key]["tf"].correct for c in same),
        "generalization_gen": _rate(after[c.key]["gen"] == after[c.key]["target"] for c in same),
        "specificity_tf": _rate(after[c.key]["tf"].top1 == original[c.key]["tf"].top1 for c in other),
        "specificity_gen": _rate(after[c.key]["gen"] == original[c.key]["gen"] for c in other),
        "other_accuracy_tf_before": _rate(original[c.key]["tf"].correct for c in other),
        "other_accuracy_tf_after": _rate(after[c.key]["tf"].correct for c in other),
        "locality_top1_agreement": _rate(agree),
        "locality_kl": mean(kls) if kls else None,
        "error_rate_before": _rate(original[c.key]["error_gen"] for c in errs),
        "error_rate_after": _rate(after[c.key]["error_gen"] for c in errs),
        "perplexity": perplexity(model, held) if held else None,
        "neurons_changed": d.neurons_changed(ffn, parts.spec.neuron_axis),
        "parameters_changed": d.parameters_changed,
    }


def _summary(rows: list[dict]) -> dict:
    out = {}
    for k in rows[0] if rows else []:
        vals = [r[k] for r in rows if r[k] is not None]
        out[k] = mean(vals) if vals else None
    return out


def evaluate(model, tok, run_dir: str | Path, cases: list[Case], heldout: list[str] | None = None,
             progress=None) -> dict:
    """`model` is the loaded base; the run directory holds report.json and the deltas."""
    run_dir = Path(run_dir)
    report_path = run_dir / "report.json"
    if not report_path.is_file():
        raise deltas.DeltaMismatch(f"`{report_path}` not found; pass the --out folder of `neuron mint` or `neuron irepair`")
    report = json.loads(report_path.read_text())
    parts = ModelParts(model)
    base_hash = deltas.weights_hash(model)
    held = encode_texts(tok, heldout) if heldout else []
    edits = report.get("edits", [])
    repaired_all = {json.dumps(c, sort_keys=True): Case(c["prompt"], c["target"], c.get("group", "default"), c.get("error"))
                    for e in edits for c in e["cases"]}
    everything = {c.key: c for c in cases + list(repaired_all.values())}   # repaired rows keep their `error`
    original = {k: _measure(model, tok, c) for k, c in everything.items()}
    base_ppl = perplexity(model, held) if held else None
    rows = []
    for n, edit in enumerate(edits):
        d = deltas.load(run_dir / edit["delta"])
        if d.base_hash != base_hash:
            raise deltas.DeltaMismatch(
                f"{edit['delta']} was made for base `{d.base_model}` (sha256 {d.base_hash[:12]}...), not the "
                f"loaded base (sha256 {base_hash[:12]}...); pass --base hf:{d.base_model}")
        deltas.apply(model, d, check_hash=False)
        try:
            repaired = [Case(c["prompt"], c["target"], c.get("group", "default"), c.get("error")) for c in edit["cases"]]
            rows.append(_edit_metrics(model, tok, repaired, cases, original, held, parts, d))
        finally:
            deltas.undo(model, d)
        if progress:
            progress(n + 1, len(edits))
    times = [c["seconds"] for c in report.get("cases", []) if c.get("status") == "repaired"] or \
        ([report["result"]["seconds"]] if "result" in report else [])
    summary = _summary(rows)
    summary["perplexity_base"] = base_ppl
    summary["seconds_per_repair"] = mean(times) if times else None
    return {"method": report.get("method"), "mode": report.get("mode"), "base_model": report.get("base_model"),
            "edits": len(rows), "skipped": report.get("summary", {}).get("skipped"), "metrics": summary,
            "per_edit": rows}
