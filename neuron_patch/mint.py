"""MINT: repair a causal LM by patching a few FFN neurons (Gu et al., arXiv 2312.05356).

One *token* is the unit of repair.  For a case (prompt, target) every target position whose
top-1 differs from the desired token is repaired teacher-forced (context = prompt + correct
prefix so far):

1. Localise: gradient x activation on the input of each FFN output projection, against the
   softmax probability of the desired token at the last position; a neuron's score is the L2
   norm over positions; the `top_k` best across the chosen layers are the candidates.
2. Semantic drift (closed form): with ``U = pinv(W_head^T)`` (row t = the least-norm hidden
   state whose logits are one-hot on t), ``drift = U[desired] - U[wrong]``, divided by its
   range ``max - min`` and then multiplied by ``(layer+1)/L`` (in the other order the range
   normalisation would cancel the layer factor).  The final norm before the head is ignored,
   as in the released code: the drift is a direction in residual space.
3. Patch rule: ``w <- (w + f * drift) / (1 + f)`` with ``f = 0.01 * scale``.
4. Trial-and-keep: each candidate is patched, re-run and undone; the one with the smallest
   ``p(wrong) - p(desired)`` is kept; repeat until the desired token is top-1, or roll back
   every patch of the case after `max_neurons` and report it skipped.

Reading of f / scale: the drift is range-normalised (unitless, range 1) and the layer factor
(layer+1)/L makes later layers move further; ``f`` is the mixing weight of the convex update
(the value vector moves a fraction f/(1+f) of the way towards the drift) and ``scale`` is the
user's multiplier on the released default 0.01.  On tiny models (activations ~1) the released
f = 0.01 flips nothing and the right f differs by 100x and more between models.  A neuron
already patched may be chosen again (its update compounds); ``neurons`` counts distinct
neurons, ``steps`` patches.

DEFAULTS (no --scale/--layers/--top-k/--direction): the *fitted* patch of `mint_fit` -- the same
unit (value vectors of <= max_neurons neurons, ranked by gradient x activation) but the change is
fitted by gradient steps on the whole target's margin with a KL penalty on the locality probes,
in steps sized to the model, so no factor has to be guessed.  Tried with 1, 2, 4, ... neurons,
upper-half layers then all; the first setting that repairs the case with the probes' answers
held is kept (trial and keep, smallest edit first).  `--direction pinv|grad` (or `--scale` alone)
selects the released closed-form rule above, with its scale search.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import torch

from patchwarden.neuron_patch.arch import ModelParts, parse_layers
from patchwarden.neuron_patch.data import Case, encode_pair
from patchwarden.neuron_patch.mint_fit import NeuronFit, neuron_schedule
from patchwarden.neuron_patch.probe_variants import probe_variants
from patchwarden.neuron_patch.scoring import device_of, padded, teacher_forced

BASE_F = 0.01


# The closed-form search (--direction pinv|grad, or --scale without --direction): settings from the
# smallest change to the largest; the first that repairs the case within `max_neurons` distinct
# neurons while the locality probes keep their answers is kept.  Scales grow 10x a step, and the
# narrow candidate set comes before the wide one.  The default search (fit) is in `settings`.
AUTO_SCALES = (1.0, 10.0, 100.0, 1000.0)
AUTO_CANDIDATES = (("upper-half", 10), ("all", 50))
DIRECTIONS = ("fit", "pinv", "grad")
VARIANTS = 3         # reworded copies of each locality probe guarded by the fit (probe_variants)
LOCALITY_TRIES = 10  # best candidates checked against the locality probes per step


@dataclass
class MintConfig:
    max_neurons: int = 10        # patch steps per token, and distinct neurons per case, before a roll back
    layers: str | None = None    # None: searched (upper-half, then all)
    top_k: int | None = None     # pinv/grad: candidates tried per step (None: 10, then 50); fit: neurons fitted (None: 1, 2, 4, ...)
    scale: float | None = None   # pinv/grad: f = 0.01 * scale (None: searched over AUTO_SCALES); fit: step-size multiplier (1)
    max_passes: int = 2          # teacher-forced passes over the target (later patches can disturb earlier tokens)
    min_locality: float = 0.9    # share of locality probes whose answer (every top-1 token) must stay unchanged
    direction: str | None = None  # fit | pinv (the paper) | grad; None: fit, or pinv then grad when scale is given

    @property
    def auto(self) -> bool:
        return None in (self.scale, self.layers, self.top_k, self.direction)

    def settings(self) -> list[tuple[str, float, str, int]]:
        """(direction, scale, layers, top_k) to try in order; explicit values pin their axis.

        No knob given: the fitted patch (mint_fit), with 1, 2, 4, ... `max_neurons` neurons, in the
        upper half of the layers and then in all.  `--scale` without `--direction` means the
        released rule (scale is its f), so pinv and grad are searched as before."""
        dirs = (self.direction,) if self.direction else (("fit",) if self.scale is None else ("pinv", "grad"))
        out = []
        for d in dirs:
            if d == "fit":   # top_k = neurons fitted; scale = step-size multiplier
                ks = (self.top_k,) if self.top_k else tuple(neuron_schedule(self.max_neurons))
                cands = [(lay if self.layers is None else self.layers, k) for lay, _ in AUTO_CANDIDATES for k in ks]
                out += [(d, 1.0 if self.scale is None else self.scale, lay, k) for lay, k in dict.fromkeys(cands)]
                continue
            cands = [(lay if self.layers is None else self.layers, k if self.top_k is None else self.top_k)
                     for lay, k in AUTO_CANDIDATES]
            cands = list(dict.fromkeys(cands))   # pinned axes collapse duplicates
            out += [(d, s, lay, k) for s in (AUTO_SCALES if self.scale is None else (self.scale,)) for lay, k in cands]
        return out


@dataclass
class CaseResult:
    index: int
    prompt: str
    target: str
    group: str
    status: str                           # repaired | skipped | already-correct
    neurons: list[tuple[int, int]] = field(default_factory=list)   # distinct (layer, neuron)
    steps: int = 0
    tokens_repaired: int = 0
    seconds: float = 0.0
    setting: dict | None = None            # the (scale, layers, top_k) kept, and the locality it held
    tried: int = 0                         # settings tried (1 when every knob is given)

    def to_json(self) -> dict:
        return asdict(self)


class Mint:
    def __init__(self, model, tokenizer, config: MintConfig | None = None):
        self.model, self.tokenizer = model, tokenizer
        self.config = config or MintConfig()
        self.parts = ModelParts(model)
        self._pinv_gram = None
        self._probes, self._before = [], []
        self._use(*self.config.settings()[0])

    def _use(self, direction: str, scale: float, layers: str, top_k: int) -> None:
        """The knobs the single-setting repair reads."""
        if direction not in DIRECTIONS:
            raise ValueError(f"--direction {direction}: use one of {', '.join(DIRECTIONS)}")
        self.direction, self.scale, self.top_k = direction, scale, top_k
        self._grad_cache: dict = {}
        self.layer_spec = layers
        self.layers = parse_layers(layers, self.parts.num_layers)

    # --- semantic drift --------------------------------------------------------------
    def _u_rows(self, tokens: list[int]) -> torch.Tensor:
        """Rows of pinv(W^T) for the given tokens: pinv(W)[:, t] = pinv(W^T W) W[t]."""
        w = self.parts.lm_head.weight.detach().float()
        if self._pinv_gram is None:
            self._pinv_gram = torch.linalg.pinv(w.T @ w)
        return (self._pinv_gram @ w[tokens].T).T

    def drift(self, layer: int, desired: int, wrong: int) -> torch.Tensor:
        u = self._u_rows([desired, wrong])
        d = u[0] - u[1]
        span = d.max() - d.min()
        # Normalise first, then apply the layer factor: the other order would cancel the factor.
        return (d / span if span > 0 else d) * (layer + 1) / self.parts.num_layers

    def grad_drift(self, ids: list[int], layer: int, desired: int, wrong: int) -> torch.Tensor:
        """The direction measured through the network: d(log p(desired) - log p(wrong)) / d(output of
        the layer's FFN) at the last position, scaled to the norm of the residual stream there.

        The pinv direction ignores the final norm and the later layers; on small models it may not
        raise the desired token at all (measured: head(norm(drift)) picks a third token)."""
        key = (tuple(ids), desired, wrong)
        if key not in self._grad_cache:
            outs, hooks = {}, []
            for l in self.layers:
                hooks.append(self.parts.ffn_out[l].register_forward_hook(lambda _m, _a, o, l=l: outs.__setitem__(l, o)))
            resid = {}
            for l in self.layers:
                hooks.append(self.parts.blocks[l].register_forward_hook(
                    lambda _m, _a, o, l=l: resid.__setitem__(l, (o[0] if isinstance(o, tuple) else o).detach())))
            try:
                with torch.enable_grad():
                    logp = torch.log_softmax(self.model(input_ids=torch.tensor([ids], device=device_of(self.model)))
                                             .logits[0, -1].float(), -1)
                    grads = torch.autograd.grad(logp[desired] - logp[wrong], [outs[l] for l in self.layers])
            finally:
                for h in hooks:
                    h.remove()
            self._grad_cache[key] = {l: (g[0, -1].float(), resid[l][0, -1].float().norm())
                                     for l, g in zip(self.layers, grads)}
        g, norm = self._grad_cache[key][layer]
        return g / g.norm().clamp_min(1e-12) * norm

    # --- localisation ----------------------------------------------------------------
    def localise(self, ids: list[int], desired: int, exclude=()) -> list[tuple[int, int]]:
        acts: dict[int, torch.Tensor] = {}
        hooks = []
        for layer in self.layers:
            def pre(_mod, args, layer=layer):
                acts[layer] = args[0]
            hooks.append(self.parts.ffn_out[layer].register_forward_pre_hook(pre))
        try:
            x = torch.tensor([ids], device=device_of(self.model))
            with torch.enable_grad():
                logits = self.model(input_ids=x).logits[0, -1].float()
                prob = torch.softmax(logits, -1)[desired]
                layer_list = list(acts)
                grads = torch.autograd.grad(prob, [acts[l] for l in layer_list], allow_unused=True)
        finally:
            for h in hooks:
                h.remove()
        scored = []
        for layer, g in zip(layer_list, grads):
            if g is None:
                continue
            score = (g * acts[layer]).detach().float()[0].norm(dim=0)   # L2 over positions
            for idx, s in zip(*[t.tolist() for t in reversed(score.topk(min(self.top_k, score.numel())))]):
                if (layer, idx) not in exclude:
                    scored.append((s, layer, idx))
        scored.sort(reverse=True)
        return [(layer, idx) for _, layer, idx in scored[: self.top_k]]

    # --- one token -------------------------------------------------------------------
    def _patched_value(self, layer: int, idx: int, desired: int, wrong: int, ids: list[int]) -> torch.Tensor:
        w = self.parts.neuron_vector(layer, idx).detach()
        f = BASE_F * self.scale
        d = self.drift(layer, desired, wrong) if self.direction == "pinv" else self.grad_drift(ids, layer, desired, wrong)
        d = d.to(device=w.device, dtype=torch.float32)
        return ((w.float() + f * d) / (1 + f)).to(w.dtype)

    @torch.no_grad()
    def _probs(self, ids: list[int]) -> torch.Tensor:
        x = torch.tensor([ids], device=device_of(self.model))
        return torch.softmax(self.model(input_ids=x).logits[0, -1].float(), -1)

    @torch.no_grad()
    def _score(self, ids: list[int], guard, desired: int, wrong: int) -> tuple[int, float]:
        """(earlier target tokens of `guard` that lost top-1, p(wrong) - p(desired)) in one forward."""
        logits = self.model(input_ids=torch.tensor([ids], device=device_of(self.model))).logits[0].float()
        p = torch.softmax(logits[-1], -1)
        return sum(int(logits[pos].argmax()) != tok for pos, tok in guard), float(p[wrong] - p[desired])

    def repair_token(self, ids: list[int], desired: int, patched: dict,
                     guard: list[tuple[int, int]] = ()) -> tuple[bool, int]:
        """Patch neurons until `desired` is top-1 after `ids`; returns (success, steps).

        `patched` maps (layer, neuron) -> its value before the current case touched it.  `guard`
        lists (position, token) of the target's earlier tokens: among candidates, one that keeps
        them top-1 is preferred (the same neurons fire at every position of the answer)."""
        probs = self._probs(ids)
        steps = 0
        while int(probs.argmax()) != desired:
            if steps >= self.config.max_neurons:
                return False, steps
            wrong = int(probs.argmax())
            self._grad_cache = {}   # the measured direction follows the patched model
            scored = []
            for layer, idx in self.localise(ids, desired):
                old = self.parts.neuron_vector(layer, idx).detach().clone()
                self.parts.set_neuron(layer, idx, self._patched_value(layer, idx, desired, wrong, ids))
                scored.append((self._score(ids, guard, desired, wrong), layer, idx))
                self.parts.set_neuron(layer, idx, old)
            kept = False
            # Best first; the locality probes veto a candidate that moves other answers (checked
            # for the few best only: one batched forward each).
            for _, layer, idx in sorted(scored)[:LOCALITY_TRIES]:
                old = self.parts.neuron_vector(layer, idx).detach().clone()
                self.parts.set_neuron(layer, idx, self._patched_value(layer, idx, desired, wrong, ids))
                if self._local_ok():
                    patched.setdefault((layer, idx), old)
                    kept = True
                    break
                self.parts.set_neuron(layer, idx, old)
            if not kept:
                return False, steps
            steps += 1
            probs = self._probs(ids)
        return True, steps

    # --- one case --------------------------------------------------------------------
    def rollback(self, patched: dict) -> None:
        for (layer, idx), value in patched.items():
            self.parts.set_neuron(layer, idx, value)

    # --- locality --------------------------------------------------------------------
    @torch.no_grad()
    def probe_answers(self, probes: list[Case]) -> list[list[int]]:
        """Teacher-forced top-1 tokens of each probe (the answers a repair must not change), in one
        right-padded batch."""
        if not probes:
            return []
        pairs = [encode_pair(self.tokenizer, c.prompt, c.target) for c in probes]
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        x, mask = padded([p + t for p, t in pairs], pad, device_of(self.model))
        top = self.model(input_ids=x, attention_mask=mask).logits.argmax(-1)
        return [top[i, len(p) - 1: len(p) + len(t) - 1].tolist() for i, (p, t) in enumerate(pairs)]

    def _local_ok(self) -> bool:
        """The locality probes of the case being repaired still hold (`min_locality`)."""
        if not self._probes:
            return True
        return self.locality(self._probes, self._before) >= self.config.min_locality

    def locality(self, probes: list[Case], before: list[list[int]]) -> float:
        """Share of probes whose answer (top-1 at every target position) is unchanged since `before`."""
        if not probes:
            return 1.0
        after = self.probe_answers(probes)
        return sum(a == b for a, b in zip(after, before)) / len(probes)

    def repair_case(self, case: Case, index: int = 0, probes: list[Case] | None = None,
                    before: list[list[int]] | None = None) -> tuple[CaseResult, dict]:
        """Repair one case in place; returns the result and {(layer, neuron): value before}.

        Tries `config.settings()` in order (one setting when every knob is given) and keeps the
        first that repairs the case with at most `max_neurons` distinct neurons while the
        `probes` (cases whose answers must not change) keep at least `min_locality` of their
        answers; `before` holds their answers before this case (computed when omitted)."""
        probes = probes or []
        start = time.perf_counter()
        settings = self.config.settings()
        if probes and before is None:
            before = self.probe_answers(probes)
        self._probes, self._before = probes, before
        last = None
        for n, (direction, scale, layers, top_k) in enumerate(settings, 1):
            self._use(direction, scale, layers, top_k)
            result, patched = self._repair_once(case, index)
            result.tried = n
            if result.status == "already-correct":
                break
            if result.status == "repaired":
                loc = self.locality(probes, before) if probes else None
                small = len(patched) <= self.config.max_neurons
                if small and (loc is None or loc >= self.config.min_locality):
                    result.setting = {"direction": direction, "scale": scale, "layers": layers,
                                      "top_k": top_k, "locality": loc}
                    if direction != "fit":   # f is the released rule's mixing weight
                        result.setting["f"] = BASE_F * scale
                    break
                self.rollback(patched)   # repaired, but too many neurons or other answers moved
                result.status, result.neurons, patched = "skipped", [], {}
                result.setting = {"direction": direction, "scale": scale, "layers": layers, "top_k": top_k, "locality": loc,
                                  "rejected": "locality" if small else "neurons"}
            last = (result, patched)
        else:
            result, patched = last
        result.seconds = time.perf_counter() - start
        return result, patched

    def _repair_once(self, case: Case, index: int = 0) -> tuple[CaseResult, dict]:
        """Repair one case in place with the current setting."""
        start = time.perf_counter()
        prompt_ids, target_ids = encode_pair(self.tokenizer, case.prompt, case.target)
        result = CaseResult(index, case.prompt, case.target, case.group, "already-correct")
        patched: dict[tuple[int, int], torch.Tensor] = {}
        if self.direction == "fit":
            return self._fit_once(result, prompt_ids, target_ids, start)
        ok = True
        for _ in range(self.config.max_passes):
            if teacher_forced(self.model, prompt_ids, target_ids).correct:
                break
            for j in range(len(target_ids)):
                ctx = prompt_ids + target_ids[:j]
                if int(self._probs(ctx).argmax()) == target_ids[j]:
                    continue
                guard = [(len(prompt_ids) - 1 + i, target_ids[i]) for i in range(j)]
                ok, steps = self.repair_token(ctx, target_ids[j], patched, guard)
                result.steps += steps
                result.tokens_repaired += 1
                if not ok:
                    break
            if not ok:
                break
        if result.tokens_repaired:
            if ok and teacher_forced(self.model, prompt_ids, target_ids).correct:
                result.status = "repaired"
            else:   # limit reached, or later tokens undid earlier ones: leave the model as it was
                self.rollback(patched)
                result.status, patched = "skipped", {}
        result.neurons = sorted(patched)
        result.seconds = time.perf_counter() - start
        return result, patched

    def _same_requests(self) -> list[Case]:
        """Reworded probes (probe_variants) that the model, before the edit, answers exactly as the
        probe itself: the same request in other words, whose answer the edit must keep too.  A
        rewording the model already answers differently is noise to the fit, not a guard."""
        if not self._probes:
            return []
        pairs = probe_variants(self._probes, VARIANTS)
        answers = self.probe_answers([v for _, v in pairs])
        return [v for (n, v), a in zip(pairs, answers) if a == self._before[n]]

    def _fit_once(self, result: CaseResult, prompt_ids: list[int], target_ids: list[int], start: float):
        """The fitted patch (mint_fit): the `top_k` best neurons of the chosen layers for the whole
        target, their value vectors fitted against the target's loss and the probes' KL."""
        before = teacher_forced(self.model, prompt_ids, target_ids)
        if before.correct:
            result.seconds = time.perf_counter() - start
            return result, {}
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        fitter = NeuronFit(self.model, self.parts, pad)
        probes = [encode_pair(self.tokenizer, c.prompt, c.target) for c in self._probes]
        guard = [encode_pair(self.tokenizer, c.prompt, c.target) for c in self._same_requests()]
        neurons = fitter.candidates(prompt_ids, target_ids, self.layers, min(self.top_k, self.config.max_neurons), probes)
        patched = fitter.fit(prompt_ids, target_ids, neurons, probes, self.scale, self.config.min_locality,
                             guard) or {}
        result.tokens_repaired = sum(r != 0 for r in before.ranks)   # wrong tokens the fit had to flip
        result.status = "repaired" if patched else "skipped"
        result.steps = len(patched)
        result.neurons = sorted(patched)
        result.seconds = time.perf_counter() - start
        return result, patched
