"""Forward passes shared by MINT, IRepair, evaluation and the benchmark."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


def device_of(model) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def last_probs(model, ids: list[int]) -> torch.Tensor:
    """Next-token distribution after `ids`."""
    x = torch.tensor([ids], device=device_of(model))
    return torch.softmax(model(input_ids=x).logits[0, -1].float(), dim=-1)


@dataclass
class TeacherForced:
    top1: list[int]          # model's top-1 at each target position
    probs: list[float]       # probability of the target token there
    ranks: list[int]         # rank of the target token (0 = top-1)
    logprobs: torch.Tensor   # (len(target), vocab) log-distributions, for locality

    @property
    def correct(self) -> bool:
        return all(r == 0 for r in self.ranks)


@torch.no_grad()
def teacher_forced(model, prompt_ids: list[int], target_ids: list[int]) -> TeacherForced:
    x = torch.tensor([prompt_ids + target_ids], device=device_of(model))
    logits = model(input_ids=x).logits[0, len(prompt_ids) - 1: -1].float()
    logp = torch.log_softmax(logits, dim=-1)
    tgt = torch.tensor(target_ids, device=logits.device)
    tgt_logit = logits.gather(1, tgt[:, None])
    ranks = (logits > tgt_logit).sum(dim=1)
    return TeacherForced(logits.argmax(dim=1).tolist(), logp.gather(1, tgt[:, None]).exp().flatten().tolist(),
                         ranks.tolist(), logp.cpu())


@torch.no_grad()
def greedy(model, prompt_ids: list[int], n_tokens: int) -> list[int]:
    """Greedy continuation of n tokens (no sampling, so runs are comparable)."""
    ids = list(prompt_ids)
    for _ in range(n_tokens):
        ids.append(int(last_probs(model, ids).argmax()))
    return ids[len(prompt_ids):]


def continuation_nll(model, prompt_ids: list[int], cont_ids: list[int]) -> torch.Tensor:
    """Mean negative log-likelihood of the continuation given the prompt (differentiable)."""
    x = torch.tensor([prompt_ids + cont_ids], device=device_of(model))
    logits = model(input_ids=x).logits[0, len(prompt_ids) - 1: -1]
    return F.cross_entropy(logits.float(), torch.tensor(cont_ids, device=logits.device))


def batch_nll(model, pairs: list[tuple[list[int], list[int]]], pad_id: int) -> torch.Tensor:
    """Mean NLL of continuations for a batch of (prompt_ids, cont_ids), right-padded."""
    dev = device_of(model)
    seqs = [p + c for p, c in pairs]
    width = max(map(len, seqs))
    x = torch.full((len(seqs), width), pad_id, device=dev)
    labels = torch.full((len(seqs), width), -100, device=dev)
    mask = torch.zeros((len(seqs), width), dtype=torch.long, device=dev)
    for i, ((p, c), s) in enumerate(zip(pairs, seqs)):
        x[i, : len(s)] = torch.tensor(s)
        labels[i, len(p): len(s)] = torch.tensor(c)
        mask[i, : len(s)] = 1
    logits = model(input_ids=x, attention_mask=mask).logits[:, :-1].float()
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=-100)


def encode_texts(tokenizer, texts: list[str], max_len: int = 256) -> list[list[int]]:
    out = []
    for t in texts:
        ids = tokenizer(t)["input_ids"][:max_len]
        if len(ids) >= 2:
            out.append(ids)
    return out


def padded(batch: list[list[int]], pad_id: int, dev) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(map(len, batch))
    x = torch.full((len(batch), width), pad_id, device=dev)
    mask = torch.zeros((len(batch), width), dtype=torch.long, device=dev)
    for i, s in enumerate(batch):
        x[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
    return x, mask


@torch.no_grad()
def perplexity(model, token_seqs: list[list[int]]) -> float:
    """Token-weighted perplexity over held-out sequences."""
    total, count = 0.0, 0
    for ids in token_seqs:
        x = torch.tensor([ids], device=device_of(model))
        logits = model(input_ids=x).logits[0, :-1].float()
        total += float(F.cross_entropy(logits, x[0, 1:], reduction="sum"))
        count += len(ids) - 1
    return math.exp(total / max(count, 1))
