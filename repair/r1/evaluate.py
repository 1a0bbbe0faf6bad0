"""Repair-R1 evaluation: Bugfix@k, Test and Tcov over `samples` answers per bug.

- Bugfix@k: share of bugs where some sample among the first k passes every hidden test (the
  method's definition); `pass@k` is the unbiased estimator over all samples, reported beside it.
- Test: mean, over every sample, of the fraction of its generated tests that are discriminative.
- Tcov: share of bugs where at least one sample produced a discriminative test.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from math import comb
from typing import Callable

from .prompt import as_messages
from .rewards import Scores, score_many


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k (Chen et al. 2021): 1 - C(n-c, k) / C(n, k)."""
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


@dataclass
class BugResult:
    task_id: str
    scores: list[Scores]

    def to_dict(self) -> dict:
        return {"task_id": self.task_id, "samples": [s.to_dict() for s in self.scores]}


@dataclass
class EvalReport:
    model: str
    samples: int
    bugs: list[BugResult] = field(default_factory=list)

    def ks(self) -> list[int]:
        return sorted({1, min(5, self.samples), self.samples})

    def summary(self) -> dict:
        n_bugs = len(self.bugs)
        if not n_bugs:
            return {"bugs": 0}
        all_scores = [s for b in self.bugs for s in b.scores]
        out = {"model": self.model, "bugs": n_bugs, "samples": self.samples}
        for k in self.ks():
            out[f"bugfix@{k}"] = sum(any(s.fixed for s in b.scores[:k]) for b in self.bugs) / n_bugs
            out[f"pass@{k}"] = sum(pass_at_k(len(b.scores), sum(s.fixed for s in b.scores), k) for b in self.bugs) / n_bugs
        out["test"] = sum(s.discriminative for s in all_scores) / len(all_scores)
        out["tcov"] = sum(any(s.n_discriminative > 0 for s in b.scores) for b in self.bugs) / n_bugs
        out["format"] = sum(s.format for s in all_scores) / len(all_scores)
        out["repair"] = sum(s.repair for s in all_scores) / len(all_scores)
        return out


def evaluate_policy(model, rows: list[dict], runner, *, samples: int = 8, temperature: float = 1.0,
                    max_tokens: int = 2048, progress: Callable[[int], None] | None = None,
                    messages: list[list[dict]] | None = None) -> EvalReport:
    """Sample `samples` answers per bug (one batch per bug) and score them all in the sandbox.

    `messages`: the prompt of each row already fitted to the model's context (`fit_policy_rows`)."""
    report = EvalReport(model=getattr(model, "spec", None) or getattr(model, "name", "model"), samples=samples)
    pending = []
    for i, row in enumerate(rows):
        msgs = messages[i] if messages is not None else as_messages(row["prompt"])
        texts = model.complete(msgs, n=samples, temperature=temperature, max_tokens=max_tokens)
        texts = (list(texts) + [""] * samples)[:samples]
        pending.append((row, texts))
        if progress:
            progress(1)
    flat_rows = [row for row, texts in pending for _ in texts]
    flat_texts = [t for _, texts in pending for t in texts]
    scores = score_many(runner, flat_rows, flat_texts)
    for i, (row, _texts) in enumerate(pending):
        report.bugs.append(BugResult(row["task_id"], scores[i * samples:(i + 1) * samples]))
    return report
