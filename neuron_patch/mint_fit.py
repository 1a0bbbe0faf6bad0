"""MINT's default patch: a few neurons' value vectors fitted by gradient steps (`--direction fit`).

The released rule moves a value vector towards a closed-form drift, ``w <- (w + f*drift)/(1+f)``,
and needs a factor ``f`` that differs by 100x and more between models; one token at a time it
also cannot see the later tokens of a multi-token answer.  Here the same unit is edited (the
value vectors of at most `max_neurons` FFN neurons: rows of GPT-2's ``c_proj``, columns of
LLaMA's ``down_proj``), but the change is *fitted*:

1. Candidates: gradient x activation on the input of each FFN output projection against the
   log-likelihood of the whole target (teacher-forced, every position at once), L2 over
   positions, as MINT's localisation, times a selectivity factor (a neuron that fires as strongly
   on the probes' answers would move them as much); the best `k` across the chosen layers.
2. Fit: ``w_i <- w_i + delta_i`` for those `k` neurons only, Adam on a hinge on each target
   position's margin plus ``KL(P_before || P_now)`` on the locality probes' answer positions.
   Steps are taken in units of output change (`_gains`: a neuron's value-vector change is
   scaled by the FFN output's RMS over the neuron's peak activation), so one step size
   ``BASE_LR * scale`` adapts to every model width and every neuron.
3. Accepted once every target token is top-1 (by MARGIN) while the probes keep `min_locality` of
   their answers; then POLISH_STEPS more steps, keeping the state where the most probes held.
   The caller (``Mint.repair_case``) tries the next setting otherwise (more neurons, then all
   layers): the smallest edit that works is kept.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from patchwarden.neuron_patch.scoring import device_of, padded

BASE_LR = 0.3         # Adam step: output change per element at the neuron's peak, as a share of the FFN output RMS
MAX_STEPS = 200       # per fit; most fits stop (solved) within a few dozen
MARGIN = 0.02         # logits by which each target token must lead the runner-up to count as repaired
PUSH = 1.0            # the margin the hinge loss aims at (beyond MARGIN, so the fit does not stall at the edge)
POLISH_STEPS = 60     # steps after the first good state, with the KL pulling the change back (probes' locality on unseen prompts)
KL_WEIGHT = 3.0       # the locality term (measured on the grid: 1 -> 3 kept more unseen answers, 10 no more than 3)
SELECTIVITY = 4.0     # exponent on (activity on the case) / (on the case + on the probes) in the ranking


def neuron_schedule(max_neurons: int) -> list[int]:
    """Neuron counts tried from the fewest up: 1, 2, 4, ... and the budget itself."""
    ks, k = [], 1
    while k < max_neurons:
        ks.append(k)
        k *= 2
    return ks + [max_neurons]


class NeuronFit:
    def __init__(self, model, parts, pad_id: int):
        self.model, self.parts, self.pad_id = model, parts, pad_id

    # --- candidates --------------------------------------------------------------------
    def candidates(self, prompt_ids: list[int], target_ids: list[int], layers: list[int], k: int,
                   probes=()) -> list[tuple[int, int]]:
        """The `k` neurons with the largest gradient x activation (L2 over positions) for
        log p(target | prompt), across `layers`, weighted by selectivity: a neuron that fires as
        strongly on the probes' answers moves them as much as the target."""
        acts, hooks = {}, []
        for layer in layers:
            hooks.append(self.parts.ffn_out[layer].register_forward_pre_hook(
                lambda _m, args, layer=layer: acts.__setitem__(layer, args[0])))
        try:
            x = torch.tensor([prompt_ids + target_ids], device=device_of(self.model))
            with torch.enable_grad():
                logits = self.model(input_ids=x).logits[0, len(prompt_ids) - 1: -1].float()
                ll = -F.cross_entropy(logits, x[0, len(prompt_ids):], reduction="sum")
                grads = torch.autograd.grad(ll, [acts[l] for l in layers], allow_unused=True)
        finally:
            for h in hooks:
                h.remove()
        span = slice(len(prompt_ids) - 1, x.shape[1] - 1)
        on_case = {l: a.detach().float()[0, span].abs().amax(0) for l, a in acts.items()}
        on_probes = self._probe_activity(probes, layers)
        scored = []
        for layer, g in zip(layers, grads):
            if g is None:
                continue
            score = (g * acts[layer]).detach().float()[0].norm(dim=0)
            if on_probes:
                c = on_case[layer]
                score = score * (c / (c + on_probes[layer]).clamp_min(1e-12)) ** SELECTIVITY
            top = score.topk(min(k, score.numel()))
            scored += [(float(s), layer, int(i)) for s, i in zip(top.values, top.indices)]
        scored.sort(reverse=True)
        return [(layer, idx) for _, layer, idx in scored[:k]]

    @torch.no_grad()
    def _probe_activity(self, probes, layers) -> dict:
        """Per layer, each neuron's largest |activation| at the probes' answer positions."""
        if not probes:
            return {}
        x, mask, pos, _ = self._probe_batch(probes, with_before=False)
        acts, hooks = {}, []
        for layer in layers:
            hooks.append(self.parts.ffn_out[layer].register_forward_pre_hook(
                lambda _m, args, layer=layer: acts.__setitem__(layer, args[0])))
        try:
            self.model(input_ids=x, attention_mask=mask)
        finally:
            for h in hooks:
                h.remove()
        return {l: a.float()[pos].abs().amax(0) for l, a in acts.items()}

    # --- the fit -----------------------------------------------------------------------
    def fit(self, prompt_ids: list[int], target_ids: list[int], neurons: list[tuple[int, int]],
            probes: list[tuple[list[int], list[int]]], scale: float = 1.0, min_locality: float = 0.9,
            guard: list[tuple[list[int], list[int]]] = ()) -> dict | None:
        """Fit the value vectors of `neurons` so that the target is top-1 (teacher-forced) at every
        position while at least `min_locality` of the probes keep their answers (top-1 at every
        answer position); on success write them into the model and return
        {(layer, neuron): value before}, else leave the model untouched and return None.
        `guard`: reworded probes (probe_variants) that join the KL term, the acceptance (they too
        must keep `min_locality` of their answers) and the polish's count, so the change also
        keeps the answers of phrasings the probes do not show literally."""
        dev = device_of(self.model)
        by_layer: dict[int, list[int]] = {}
        for layer, idx in neurons:
            by_layer.setdefault(layer, []).append(idx)
        x = torch.tensor([prompt_ids + target_ids], device=dev)
        gain = self._gains(x, by_layer)
        hidden = self.parts.neuron_vector(*neurons[0]).numel()
        deltas = {layer: torch.zeros(len(idxs), hidden, device=dev, requires_grad=True) for layer, idxs in by_layer.items()}
        opt = torch.optim.Adam(list(deltas.values()), lr=BASE_LR * scale)

        def hook_for(layer):
            idx = torch.tensor(by_layer[layer], device=dev)

            def hook(_mod, args, out):
                change = deltas[layer] * gain[layer]   # value-vector change of each fitted neuron
                return out + (args[0].index_select(-1, idx).float() @ change).to(out.dtype)
            return hook

        tgt = x[0, len(prompt_ids):]
        span = slice(len(prompt_ids) - 1, x.shape[1] - 1)
        n_probes, probes = len(probes), list(probes) + list(guard)
        probe_x, probe_mask, probe_pos, probe_before = self._probe_batch(probes)
        hooks = [self.parts.ffn_out[l].register_forward_hook(hook_for(l)) for l in by_layer]
        solved, best, polish = None, 0.0, POLISH_STEPS
        try:
            with torch.enable_grad():
                for _ in range(MAX_STEPS):
                    logits = self.model(input_ids=x).logits[0, span].float()
                    loss, kept, held, guard_kept = self._hinge(logits, tgt), 1.0, 1.0, 1.0
                    if probe_x is not None:
                        now = torch.log_softmax(self.model(input_ids=probe_x, attention_mask=probe_mask)
                                                .logits.float()[probe_pos], -1)
                        # KL summed over each probe's answer positions, averaged over probes: the
                        # same footing as the hinge, which sums over the target's positions.
                        loss = loss + KL_WEIGHT * F.kl_div(now, probe_before, log_target=True,
                                                           reduction="sum") / max(n_probes, 1)
                        moved = probe_pos[0][now.argmax(-1) != probe_before.argmax(-1)].unique()
                        kept = 1 - int((moved < n_probes).sum()) / n_probes if n_probes else 1.0
                        held = 1 - moved.numel() / len(probes)   # the reworded ones too
                        if guard:
                            guard_kept = 1 - int((moved >= n_probes).sum()) / (len(probes) - n_probes)
                    # Good when repaired and the probes keep their answers; while they do not, the
                    # KL term pulls the change back (the hinge holds the repair).
                    # Then polish: more steps, keeping the state where the most probes held.
                    if self._solved(logits, tgt) and kept >= min_locality and held >= best and \
                            guard_kept >= min_locality:
                        solved, best = {l: d.detach().clone() for l, d in deltas.items()}, held
                    if solved is not None:
                        if probe_x is None or polish == 0:
                            break
                        polish -= 1
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
        finally:
            for h in hooks:
                h.remove()
        if not solved:
            return None
        deltas = solved
        patched = {}
        for layer, idxs in by_layer.items():
            for row, idx in enumerate(idxs):
                old = self.parts.neuron_vector(layer, idx).detach().clone()
                patched[(layer, idx)] = old
                change = (deltas[layer][row] * gain[layer][row]).detach()
                self.parts.set_neuron(layer, idx, (old.float() + change).to(old.dtype))
        return patched

    @torch.no_grad()
    def _gains(self, x, by_layer) -> dict:
        """Per layer, (neurons, 1): the size of FFN output (RMS over the case's positions) over the
        neuron's largest |activation| there.  The fit steps in units of output change, so one
        learning rate suits every model width and every neuron, weak or strong."""
        acts, outs, hooks = {}, {}, []
        for layer in by_layer:
            def hook(_m, args, out, layer=layer):
                acts[layer], outs[layer] = args[0], out
            hooks.append(self.parts.ffn_out[layer].register_forward_hook(hook))
        try:
            self.model(input_ids=x)
        finally:
            for h in hooks:
                h.remove()
        gain = {}
        for layer, idxs in by_layer.items():
            a = acts[layer].float()[0, :, idxs].abs().amax(0).clamp_min(1e-6)
            gain[layer] = (outs[layer].float().pow(2).mean().sqrt() / a)[:, None]
        return gain

    @staticmethod
    def _margins(logits: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        """Per target position: the target's logit minus the best other logit."""
        rest = logits.scatter(1, tgt[:, None], float("-inf")).max(-1).values
        return logits.gather(1, tgt[:, None])[:, 0] - rest

    def _solved(self, logits, tgt) -> bool:
        return bool((self._margins(logits, tgt) >= MARGIN).all())

    def _hinge(self, logits, tgt) -> torch.Tensor:
        """Pushes only the positions still short of the margin (cross-entropy would keep pushing
        the solved ones, moving the model further than the repair needs)."""
        return torch.relu(PUSH - self._margins(logits, tgt)).sum()

    @torch.no_grad()
    def _probe_batch(self, probes, with_before: bool = True):
        """Right-padded probe batch, the (row, position) index of every target-predicting
        position, and the model's log-distributions there before the fit."""
        if not probes:
            return None, None, None, None
        x, mask = padded([p + t for p, t in probes], self.pad_id, device_of(self.model))
        rows, cols = [], []
        for i, (p, t) in enumerate(probes):
            rows += [i] * len(t)
            cols += range(len(p) - 1, len(p) + len(t) - 1)
        pos = (torch.tensor(rows, device=x.device), torch.tensor(cols, device=x.device))
        if not with_before:
            return x, mask, pos, None
        before = torch.log_softmax(self.model(input_ids=x, attention_mask=mask).logits.float()[pos], -1)
        return x, mask, pos, before
