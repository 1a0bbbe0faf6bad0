"""MINT vs SGD on the FFN output weights vs full fine-tuning, on the same cases.

Builds the toy intent-to-bash model (the `ls` intents injected onto `du -sh .`), then repairs
each `ls` case from the original model with every method and prints: success rate (all target
tokens top-1, teacher-forced), specificity (other groups' top-1 answers unchanged), neurons and
parameters changed, seconds per repair.  Everything is measured side by side in one run.

    python3 -m patchwarden.benchmarks.measure.neuron_compare [--kind gpt2|llama] [--scales 1,300] [--seed 0]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from statistics import mean

import torch


def _nll_steps(model, tok, case, params, opt, steps: int) -> None:
    from patchwarden.neuron_patch.data import encode_pair
    from patchwarden.neuron_patch.scoring import continuation_nll

    p, t = encode_pair(tok, case.prompt, case.target)
    for _ in range(steps):
        opt.zero_grad()
        continuation_nll(model, p, t).backward()
        opt.step()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kind", default="gpt2", choices=["gpt2", "llama"])
    ap.add_argument("--scales", default="1,300", help="MINT scales to run (f = 0.01 x scale)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)

    from patchwarden.neuron_patch import delta as deltas
    from patchwarden.neuron_patch import toy
    from patchwarden.neuron_patch.arch import ModelParts, parse_layers
    from patchwarden.neuron_patch.data import encode_pair, load_model, read_cases
    from patchwarden.neuron_patch.mint import Mint, MintConfig
    from patchwarden.neuron_patch.scoring import teacher_forced

    with tempfile.TemporaryDirectory() as tmp:
        w = toy.make_toy(args.kind, tmp, seed=args.seed)
        model, tok = load_model(f"hf:{w['model']}")
        cases = read_cases(w["cases"])
    targets = [c for c in cases if c.group == toy.INJECTED_GROUP]
    others = [c for c in cases if c.group != toy.INJECTED_GROUP]
    enc = {c.key: encode_pair(tok, c.prompt, c.target) for c in cases}
    base_top1 = {c.key: teacher_forced(model, *enc[c.key]).top1 for c in others}
    original = deltas.snapshot(model)
    parts = ModelParts(model)
    ffn_names = {parts.ffn_param_name(i) for i in range(parts.num_layers)}
    upper = parse_layers("upper-half", parts.num_layers)

    def restore():
        with torch.no_grad():
            for n, p in model.named_parameters():
                p.copy_(original[n])

    def measure(case, seconds):
        ok = teacher_forced(model, *enc[case.key]).correct
        spec = mean(teacher_forced(model, *enc[o.key]).top1 == base_top1[o.key] for o in others)
        d = deltas.diff(model, original, "toy", "-")
        return ok, spec, d.neurons_changed(ffn_names, parts.spec.neuron_axis), d.parameters_changed, seconds

    def sgd(case):
        params = [parts.ffn_out[i].weight for i in upper]
        _nll_steps(model, tok, case, params, torch.optim.SGD(params, lr=1e-2), 10)

    def full_ft(case):
        _nll_steps(model, tok, case, list(model.parameters()), torch.optim.AdamW(model.parameters(), lr=1e-3), 10)

    methods = {}
    for s in [float(x) for x in args.scales.split(",")]:
        mint = Mint(model, tok, MintConfig(scale=s, direction="pinv", layers="upper-half", top_k=10))
        methods[f"MINT (f={0.01 * s:g})"] = lambda c, mint=mint: mint.repair_case(c)
    auto = Mint(model, tok, MintConfig())   # the defaults: setting searched, other groups as locality probes
    methods["MINT (defaults: searched)"] = lambda c: auto.repair_case(c, 0, others)
    methods["SGD 10 steps lr 1e-2 (FFN out, upper half)"] = sgd
    methods["full fine-tuning 10 steps AdamW 1e-3"] = full_ft

    rows = []
    for name, fn in methods.items():
        res = []
        for c in targets:
            restore()
            start = time.perf_counter()
            fn(c)
            res.append(measure(c, time.perf_counter() - start))
        restore()
        rows.append((name, mean(r[0] for r in res), mean(r[1] for r in res), mean(r[2] for r in res),
                     mean(r[3] for r in res), mean(r[4] for r in res)))
    print(f"toy {args.kind} (seed {args.seed}), {len(targets)} injected cases, each repaired from the original model; "
          f"specificity over {len(others)} other-group cases")
    print(f"{'method':46s} {'success':>8s} {'specif.':>8s} {'neurons':>8s} {'params':>9s} {'s/repair':>9s}")
    for name, ok, spec, neu, par, sec in rows:
        print(f"{name:46s} {ok:8.2f} {spec:8.3f} {neu:8.1f} {par:9.0f} {sec:9.3f}")


if __name__ == "__main__":
    main()
