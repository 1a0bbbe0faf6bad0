"""Model repair on models nobody tuned for: MINT and IRepair with their DEFAULTS, beside fine-tuning.

A grid of small models the tests never use (benchmarks/measure/repair_worlds.py: GPT-2 and LLaMA layouts,
2/4/8 layers, widths 64-256, four corpora, several seeds, one or two injected errors each, a
byte-level BPE tokenizer) is trained once and cached.  Every injected error is repaired from the
original model by each method; per method the table gives

- success: the repaired case's target is top-1 at every position (teacher-forced),
- specificity: other intents' answers unchanged, teacher-forced top-1 at every position, on the
  *unseen* second phrasing of each intent (never shown to any method),
- neurons / parameters changed, seconds per repair.

MINT gets the cases file a user would write (the error plus the other intents' first phrasing,
which it uses as locality probes); IRepair gets the error rows and the other intents' lines as
utility text.  Run (CPU, a few minutes per model):

    python3 -m patchwarden.benchmarks.measure.model_repair_generalization [--models 12] [--cache .cache/repair-worlds] [--out results.json]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from statistics import mean

import torch

from patchwarden.benchmarks.measure.repair_worlds import World, cases, load_or_train, prompt_of, SECOND

GRID = [  # kind, layers, width, corpus, seed, errors (alternating layouts: any prefix is a mixed grid)
    ("gpt2", 2, 64, "bash", 0, 1), ("llama", 2, 64, "git", 0, 2), ("gpt2", 4, 96, "python", 1, 2),
    ("llama", 4, 96, "bash", 1, 1), ("gpt2", 4, 128, "git", 2, 1), ("llama", 4, 128, "sql", 2, 1),
    ("gpt2", 8, 128, "sql", 3, 2), ("llama", 8, 128, "python", 3, 1), ("gpt2", 2, 256, "python", 4, 1),
    ("llama", 2, 256, "sql", 4, 2), ("gpt2", 8, 256, "bash", 5, 1), ("llama", 8, 256, "git", 5, 1),
    ("gpt2", 4, 64, "sql", 6, 1), ("llama", 4, 64, "python", 6, 1), ("gpt2", 2, 128, "git", 7, 2),
    ("llama", 2, 128, "bash", 7, 1),
]


def _case(row):
    from patchwarden.neuron_patch.data import Case
    return Case(row["prompt"], row["target"], row["group"], row.get("error"))


def run_model(world: World, cache: Path, methods: list[str]) -> list[dict]:
    from patchwarden.neuron_patch import delta as deltas
    from patchwarden.neuron_patch.arch import ModelParts, parse_layers
    from patchwarden.neuron_patch.data import encode_pair, load_model
    from patchwarden.neuron_patch.irepair import IRepair, IRepairConfig
    from patchwarden.neuron_patch.mint import Mint, MintConfig
    from patchwarden.neuron_patch.scoring import continuation_nll, teacher_forced

    path, meta = load_or_train(world, cache)
    model, tok = load_model(f"hf:{path}")
    repair, shown, unseen = (list(map(_case, rows)) for rows in cases(world, meta["wrong"]))
    enc = {c.key: encode_pair(tok, c.prompt, c.target) for c in repair + unseen}
    base = {c.key: teacher_forced(model, *enc[c.key]).top1 for c in unseen}
    original = deltas.snapshot(model)
    parts = ModelParts(model)
    ffn = {parts.ffn_param_name(i) for i in range(parts.num_layers)}
    utility = [prompt_of(c.prompt[:-1]) + c.target for c in shown] + \
              [prompt_of(SECOND + c.prompt[:-1]) + c.target for c in shown]

    def restore():
        with torch.no_grad():
            for n, p in model.named_parameters():
                p.copy_(original[n])

    def nll_steps(case, params, opt, steps=10):
        p, t = enc[case.key]
        for _ in range(steps):
            opt.zero_grad()
            continuation_nll(model, p, t).backward()
            opt.step()

    def mint(case):
        m = Mint(model, tok, MintConfig())
        result, _ = m.repair_case(case, 0, shown, m.probe_answers(shown))
        st = result.setting or {}
        return f"{result.status}: {st.get('direction')} scale={st.get('scale')} {st.get('layers')} k={st.get('top_k')} " \
               f"locality={st.get('locality')} {st.get('rejected', '')} tried={result.tried}"

    def irepair(case):
        r = IRepair(model, tok, IRepairConfig()).run([case], utility)
        return f"{r.steps} steps ({r.stopped})"

    def sgd(case):
        ps = [parts.ffn_out[i].weight for i in parse_layers("upper-half", parts.num_layers)]
        nll_steps(case, ps, torch.optim.SGD(ps, lr=1e-2))

    def full_ft(case):
        nll_steps(case, None, torch.optim.AdamW(model.parameters(), lr=1e-3))

    table = {"mint": mint, "irepair": irepair, "sgd-ffn": sgd, "full-ft": full_ft}
    rows = []
    for name in methods:
        for case in repair:
            restore()
            model.eval()
            start = time.perf_counter()
            note = table[name](case)
            seconds = time.perf_counter() - start
            model.eval()
            ok = teacher_forced(model, *enc[case.key]).correct
            spec = mean(teacher_forced(model, *enc[o.key]).top1 == base[o.key] for o in unseen)
            d = deltas.diff(model, original, "bench", "-")
            rows.append({"model": world.tag, "method": name, "case": case.prompt, "success": ok, "specificity": spec,
                         "neurons": d.neurons_changed(ffn, parts.spec.neuron_axis), "parameters": d.parameters_changed,
                         "seconds": seconds, "note": note})
    restore()
    return rows


def summarise(rows: list[dict]) -> str:
    out = [f"{'method':10s} {'repairs':>8s} {'success':>8s} {'specif.':>8s} {'spec>=.9':>9s} {'neurons':>8s} "
           f"{'params':>9s} {'s/repair':>9s}"]
    for name in dict.fromkeys(r["method"] for r in rows):
        rs = [r for r in rows if r["method"] == name]
        ok = [r for r in rs if r["success"]]
        out.append(f"{name:10s} {len(rs):8d} {mean(r['success'] for r in rs):8.2f} {mean(r['specificity'] for r in rs):8.3f} "
                   f"{mean(r['specificity'] >= 0.9 for r in rs):9.2f} "
                   f"{(mean(r['neurons'] for r in ok) if ok else float('nan')):8.1f} "
                   f"{(mean(r['parameters'] for r in ok) if ok else float('nan')):9.0f} {mean(r['seconds'] for r in rs):9.2f}")
    return "\n".join(out)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=len(GRID), help="first N models of the grid")
    ap.add_argument("--methods", default="mint,irepair,sgd-ffn,full-ft")
    ap.add_argument("--cache", default=".cache/repair-worlds", help="trained models are kept here")
    ap.add_argument("--out", default=None, help="also write every row as JSON here")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for spec in GRID[: args.models]:
        world = World(f"w{len(rows)}", *spec)
        t0 = time.perf_counter()
        got = run_model(world, Path(args.cache), args.methods.split(","))
        rows += got
        for r in got:
            print(f"{r['model']:34s} {r['method']:8s} ok={int(r['success'])} spec={r['specificity']:.3f} "
                  f"neurons={r['neurons']} params={r['parameters']} {r['seconds']:.1f}s {r['note'] or ''}", flush=True)
        print(f"-- {world.tag} done in {time.perf_counter() - t0:.0f}s", flush=True)
        if args.out:
            Path(args.out).write_text(json.dumps(rows, indent=1))
    print(f"\n{args.models} models, {len({r['case'] + r['model'] for r in rows})} injected errors; "
          "specificity on unseen phrasings of the other intents")
    print(summarise(rows))


if __name__ == "__main__":
    main()
