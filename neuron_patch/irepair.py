"""IRepair: intent-aware dynamic slicing (Imtiaz et al., FSE 2025), and its baselines.

Every step: (1) NLL of a batch of *error* continuations is backpropagated and each transformer
block's sensitivity is sqrt(sum of squared gradient norms of its parameters); (2) only the most
sensitive block(s) are trained that step (``fixed=True`` picks them once, on the whole error set)
with loss = beta * NLL(desired continuation) + gamma * KL(P_ref || P_model) on utility text.

Baselines through the same entry point: ``ft-kl`` (same loss, every parameter), ``sft`` (NLL of the
desired continuation only, every parameter) and ``dpo`` (TRL's DPOTrainer, chosen = desired,
rejected = error).
"""
from __future__ import annotations

import copy
import random
import time
from dataclasses import asdict, dataclass, field

import torch

from patchwarden.neuron_patch.arch import ModelParts
from patchwarden.neuron_patch.data import Case, encode_pair
from patchwarden.neuron_patch.scoring import batch_nll, device_of, encode_texts, padded, teacher_forced

METHODS = ("irepair", "ft-kl", "sft", "dpo")


@dataclass
class IRepairConfig:
    method: str = "irepair"
    blocks: int = 1              # blocks trained per step
    fixed: bool = False          # pick the blocks once instead of every step
    beta: float = 0.5            # weight of NLL(desired)
    gamma: float = 1.0           # weight of KL(P_ref || P_model) on utility text
    lr: float = 5e-5
    steps: int = 300             # upper bound; early stop usually ends sooner
    warmup: int = 150            # linear warm-up steps (capped at steps // 5)
    batch_size: int = 4
    clip: float = 0.5
    eval_every: int = 10
    patience: int = 5            # checks without improvement of the repair loss before stopping
    dpo_beta: float = 0.1
    seed: int = 0


@dataclass
class IRepairResult:
    method: str
    steps: int
    seconds: float
    stopped: str                                   # repaired | patience | max-steps
    error_rate_before: float
    error_rate_after: float
    block_picks: dict[str, int] = field(default_factory=dict)   # block -> steps it was trained

    def to_json(self) -> dict:
        return asdict(self)


def error_rate(model, pairs_ok: list[tuple[list[int], list[int]]]) -> float:
    """Share of error prompts where the model does not produce the desired continuation top-1
    at every teacher-forced position (0 = every error repaired)."""
    wrong = sum(not teacher_forced(model, p, c).correct for p, c in pairs_ok)
    return wrong / max(len(pairs_ok), 1)


def _kl_ref(model, ref, batch: list[list[int]], pad_id: int) -> torch.Tensor:
    """Mean over real tokens of KL(P_ref || P_model)."""
    x, mask = padded(batch, pad_id, device_of(model))
    with torch.no_grad():
        ref_logp = torch.log_softmax(ref(input_ids=x, attention_mask=mask).logits.float(), -1)
    logp = torch.log_softmax(model(input_ids=x, attention_mask=mask).logits.float(), -1)
    kl = (ref_logp.exp() * (ref_logp - logp)).sum(-1)
    return (kl * mask).sum() / mask.sum()


def _block_sensitivity(parts: ModelParts) -> list[float]:
    out = []
    for block in parts.blocks:
        sq = sum(float(p.grad.float().pow(2).sum()) for p in block.parameters() if p.grad is not None)
        out.append(sq ** 0.5)
    return out


class IRepair:
    def __init__(self, model, tokenizer, config: IRepairConfig | None = None):
        self.model, self.tokenizer = model, tokenizer
        self.config = config or IRepairConfig()
        if self.config.method not in METHODS:
            raise ValueError(f"--method {self.config.method}: use one of {', '.join(METHODS)}")
        self.parts = ModelParts(model)

    def run(self, errors: list[Case], utility_texts: list[str], progress=None) -> IRepairResult:
        cfg = self.config
        random.seed(cfg.seed)
        torch.manual_seed(cfg.seed)
        tok = self.tokenizer
        err_pairs = [encode_pair(tok, c.prompt, c.error) for c in errors]
        ok_pairs = [encode_pair(tok, c.prompt, c.target) for c in errors]
        before = error_rate(self.model, ok_pairs)
        start = time.perf_counter()
        if cfg.method == "dpo":
            steps = self._dpo(errors)
            after = error_rate(self.model, ok_pairs)
            return IRepairResult("dpo", steps, time.perf_counter() - start, "max-steps", before, after)
        utility = encode_texts(tok, utility_texts)
        if cfg.method in ("irepair", "ft-kl") and not utility:
            raise ValueError("the utility data has no text of 2+ tokens; pass general text for the KL term")
        result = self._train(err_pairs, ok_pairs, utility, progress)
        result.seconds = time.perf_counter() - start
        result.error_rate_before = before
        result.error_rate_after = error_rate(self.model, ok_pairs)
        return result

    # --- gradient methods --------------------------------------------------------------
    def _train(self, err_pairs, ok_pairs, utility, progress) -> IRepairResult:
        cfg, model = self.config, self.model
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        ref = copy.deepcopy(model).eval() if cfg.method in ("irepair", "ft-kl") else None
        for p in (ref.parameters() if ref is not None else []):
            p.requires_grad_(False)
        params = [p for p in model.parameters()]
        block_params = [list(b.parameters()) for b in self.parts.blocks]
        opt = torch.optim.RMSprop(params, lr=cfg.lr)
        warmup = max(1, min(cfg.warmup, cfg.steps // 5))
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup))
        picks: dict[str, int] = {}
        fixed_choice = None
        best, stale, stopped, step = float("inf"), 0, "max-steps", 0
        model.train()
        try:
            for step in range(1, cfg.steps + 1):
                idx = random.sample(range(len(err_pairs)), min(cfg.batch_size, len(err_pairs)))
                chosen = None
                if cfg.method == "irepair":
                    if fixed_choice is None or not cfg.fixed:
                        batch = err_pairs if (cfg.fixed and fixed_choice is None) else [err_pairs[i] for i in idx]
                        chosen = self._most_sensitive(batch, pad)
                        fixed_choice = chosen
                    chosen = fixed_choice
                    for i in chosen:
                        picks[self.parts.block_names[i]] = picks.get(self.parts.block_names[i], 0) + 1
                    for p in params:
                        p.requires_grad_(False)
                    for i in chosen:
                        for p in block_params[i]:
                            p.requires_grad_(True)
                opt.zero_grad(set_to_none=True)
                loss = self._loss([ok_pairs[i] for i in idx], utility, ref, pad)
                loss.backward()
                trainable = [p for p in params if p.grad is not None]
                torch.nn.utils.clip_grad_norm_(trainable, cfg.clip)
                opt.step()
                sched.step()
                if progress:
                    progress(step, loss.item())
                if step % cfg.eval_every == 0:
                    model.eval()
                    if error_rate(model, ok_pairs) == 0:
                        stopped = "repaired"
                        break
                    with torch.no_grad():
                        full = float(self._loss(ok_pairs, utility, ref, pad))
                    model.train()
                    if full < best - 1e-4:
                        best, stale = full, 0
                    else:
                        stale += 1
                        if stale >= cfg.patience:
                            stopped = "patience"
                            break
        finally:
            for p in params:
                p.requires_grad_(True)
            model.eval()
        return IRepairResult(cfg.method, step, 0.0, stopped, 0.0, 0.0, picks)

    def _most_sensitive(self, err_batch, pad) -> list[int]:
        for p in self.model.parameters():
            p.requires_grad_(False)
        for b in self.parts.blocks:
            for p in b.parameters():
                p.requires_grad_(True)
        self.model.zero_grad(set_to_none=True)
        batch_nll(self.model, err_batch, pad).backward()
        sens = _block_sensitivity(self.parts)
        self.model.zero_grad(set_to_none=True)
        order = sorted(range(len(sens)), key=lambda i: -sens[i])
        return order[: self.config.blocks]

    def _loss(self, ok_batch, utility, ref, pad) -> torch.Tensor:
        cfg = self.config
        nll = batch_nll(self.model, ok_batch, pad)
        if cfg.method == "sft":
            return nll
        ubatch = random.sample(utility, min(cfg.batch_size, len(utility)))
        return cfg.beta * nll + cfg.gamma * _kl_ref(self.model, ref, ubatch, pad)

    # --- DPO through TRL ---------------------------------------------------------------
    def _dpo(self, errors: list[Case]) -> int:
        import tempfile

        from datasets import Dataset
        from trl import DPOConfig, DPOTrainer

        from patchwarden.neuron_patch.data import joiner

        cfg = self.config
        rows = [{"prompt": c.prompt, "chosen": joiner(c.prompt, c.target) + c.target,
                 "rejected": joiner(c.prompt, c.error) + c.error} for c in errors]
        with tempfile.TemporaryDirectory() as tmp:
            args = DPOConfig(output_dir=tmp, max_steps=cfg.steps, per_device_train_batch_size=cfg.batch_size,
                             learning_rate=cfg.lr, beta=cfg.dpo_beta, max_grad_norm=cfg.clip,
                             warmup_steps=max(0, min(cfg.warmup, cfg.steps // 5)), optim="rmsprop",
                             report_to="none", save_strategy="no", logging_steps=max(1, cfg.steps // 10),
                             seed=cfg.seed, use_cpu=not torch.cuda.is_available(), disable_tqdm=True)
            trainer = DPOTrainer(model=self.model, args=args, train_dataset=Dataset.from_list(rows),
                                 processing_class=self.tokenizer)
            trainer.train()
            steps = trainer.state.global_step
        self.model.eval()
        return steps
