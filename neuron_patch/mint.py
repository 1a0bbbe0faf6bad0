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
user's multiplier on the released default 0.01.  Because the update is convex, one neuron can at
most become the drift itself: a repair needs neurons with large activations or several steps.
On tiny models (activations ~1) the released f = 0.01 flips nothing; scale 300 (f = 3) does.  A neuron already patched may
be chosen again (its update compounds); ``neurons`` counts distinct neurons, ``steps`` patches.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import torch

from neuron_patch.arch import ModelParts, parse_layers
from neuron_patch.data import Case, encode_pair
from neuron_patch.scoring import device_of, teacher_forced

BASE_F = 0.01


@dataclass
class MintConfig:
    max_neurons: int = 10        # patch steps per token before the case is rolled back
    layers: str = "upper-half"
    top_k: int = 10              # candidates tried per step
    scale: float = 1.0           # f = 0.01 * scale
    max_passes: int = 2          # teacher-forced passes over the target (later patches can disturb earlier tokens)


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

    def to_json(self) -> dict:
        return asdict(self)


class Mint:
    def __init__(self, model, tokenizer, config: MintConfig | None = None):
        self.model, self.tokenizer = model, tokenizer
        self.config = config or MintConfig()
        self.parts = ModelParts(model)
        self.layers = parse_layers(self.config.layers, self.parts.num_layers)
        self._pinv_gram = None

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
            for idx, s in zip(*[t.tolist() for t in reversed(score.topk(min(self.config.top_k, score.numel())))]):
                if (layer, idx) not in exclude:
                    scored.append((s, layer, idx))
        scored.sort(reverse=True)
        return [(layer, idx) for _, layer, idx in scored[: self.config.top_k]]

    # --- one token -------------------------------------------------------------------
    def _patched_value(self, layer: int, idx: int, desired: int, wrong: int) -> torch.Tensor:
        w = self.parts.neuron_vector(layer, idx).detach()
        f = BASE_F * self.config.scale
        d = self.drift(layer, desired, wrong).to(device=w.device, dtype=torch.float32)
        return ((w.float() + f * d) / (1 + f)).to(w.dtype)

    @torch.no_grad()
    def _probs(self, ids: list[int]) -> torch.Tensor:
        x = torch.tensor([ids], device=device_of(self.model))
        return torch.softmax(self.model(input_ids=x).logits[0, -1].float(), -1)

    def repair_token(self, ids: list[int], desired: int, patched: dict) -> tuple[bool, int]:
        """Patch neurons until `desired` is top-1 after `ids`; returns (success, steps).

        `patched` maps (layer, neuron) -> its value before the current case touched it."""
        probs = self._probs(ids)
        steps = 0
        while int(probs.argmax()) != desired:
            if steps >= self.config.max_neurons:
                return False, steps
            wrong = int(probs.argmax())
            best = None
            for layer, idx in self.localise(ids, desired):
                old = self.parts.neuron_vector(layer, idx).detach().clone()
                self.parts.set_neuron(layer, idx, self._patched_value(layer, idx, desired, wrong))
                p = self._probs(ids)
                gap = float(p[wrong] - p[desired])
                self.parts.set_neuron(layer, idx, old)
                if best is None or gap < best[0]:
                    best = (gap, layer, idx)
            if best is None:
                return False, steps
            _, layer, idx = best
            patched.setdefault((layer, idx), self.parts.neuron_vector(layer, idx).detach().clone())
            self.parts.set_neuron(layer, idx, self._patched_value(layer, idx, desired, wrong))
            steps += 1
            probs = self._probs(ids)
        return True, steps

    # --- one case --------------------------------------------------------------------
    def rollback(self, patched: dict) -> None:
        for (layer, idx), value in patched.items():
            self.parts.set_neuron(layer, idx, value)

    def repair_case(self, case: Case, index: int = 0) -> tuple[CaseResult, dict]:
        """Repair one case in place; returns the result and {(layer, neuron): value before}."""
        start = time.perf_counter()
        prompt_ids, target_ids = encode_pair(self.tokenizer, case.prompt, case.target)
        result = CaseResult(index, case.prompt, case.target, case.group, "already-correct")
        patched: dict[tuple[int, int], torch.Tensor] = {}
        ok = True
        for _ in range(self.config.max_passes):
            if teacher_forced(self.model, prompt_ids, target_ids).correct:
                break
            for j in range(len(target_ids)):
                ctx = prompt_ids + target_ids[:j]
                if int(self._probs(ctx).argmax()) == target_ids[j]:
                    continue
                ok, steps = self.repair_token(ctx, target_ids[j], patched)
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
