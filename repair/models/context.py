"""Fitting prompts and completions into a model's context window.

Used before `train grpo`, `train eval` and `--engine policy` start, so a small-context model gets a
count of prompts cut or dropped and a capped completion budget instead of an IndexError deep in the
position embedding.  A prompt that is too long loses the START of its user message (the end holds
the code and the "Answer:" cue); it is rendered through the one prompt builder, so the fitted
messages give the same text in every path.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from patchwarden.repair.models.prompting import prompt_ids

MIN_COMPLETION = 16       # fewer new tokens than this cannot hold an answer
UNBOUNDED = 10 ** 8       # tokenizers report model_max_length ~1e30 when they do not know


class ContextTooSmall(ValueError):
    """Nothing fits in the model's context; the message names the numbers and the fix."""


def context_length(config=None, tokenizer=None) -> int | None:
    """The model's context in tokens: the smallest of what its config and tokenizer declare."""
    found = []
    for name in ("n_positions", "max_position_embeddings", "n_ctx", "max_sequence_length", "seq_length"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            found.append(value)
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and 0 < limit < UNBOUNDED:
        found.append(limit)
    return min(found) if found else None


def completion_budget(context: int | None, requested: int) -> int:
    """New tokens per answer: the request, capped at half the context (the other half is the prompt's)."""
    if context is None:
        return requested
    return max(1, min(requested, context // 2))


def fit_messages(tokenizer, messages: list[dict], room: int) -> tuple[list[dict], int, bool] | None:
    """Cut the start of the last message until the rendered prompt has at most `room` tokens.

    Returns (messages, prompt tokens, cut?) or None when even an empty message does not fit."""
    n = len(prompt_ids(tokenizer, messages))
    if n <= room:
        return messages, n, False
    content = messages[-1]["content"]

    def with_start(start: int) -> list[dict]:
        return messages[:-1] + [dict(messages[-1], content=content[start:])]

    if len(prompt_ids(tokenizer, with_start(len(content)))) > room:
        return None
    lo, hi = 0, len(content)   # smallest start that fits lies in (lo, hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if len(prompt_ids(tokenizer, with_start(mid))) <= room:
            hi = mid
        else:
            lo = mid
    fitted = with_start(hi)
    return fitted, len(prompt_ids(tokenizer, fitted)), True


@dataclass
class FitReport:
    context: int | None
    completion_requested: int
    completion_budget: int
    prompts: int = 0
    cut: int = 0
    dropped: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        if self.context is None:
            return "context: unknown (no n_positions / max_position_embeddings in the config); prompts not checked"
        return (f"context {self.context} tokens: completion budget {self.completion_budget} (asked "
                f"{self.completion_requested}); {self.prompts} prompts, {self.cut} cut, {self.dropped} dropped")


def fit_rows(tokenizer, rows: list[dict], messages_of, context: int | None, requested: int,
             drop_long: bool = False) -> tuple[list[tuple[dict, list[dict]]], FitReport]:
    """Fit every row's prompt (messages_of(row) -> messages) into `context`.

    Returns [(row, fitted messages)] for the rows kept and the report; raises ContextTooSmall when
    no row fits."""
    budget = completion_budget(context, requested)
    report = FitReport(context, requested, budget, prompts=len(rows))
    if context is None:
        return [(r, messages_of(r)) for r in rows], report
    if context < MIN_COMPLETION + 1:
        raise ContextTooSmall(f"the model's context is {context} tokens: too small for a prompt and an answer "
                              f"of {MIN_COMPLETION} tokens; use a model with a longer context")
    room = context - budget
    kept = []
    for row in rows:
        msgs = messages_of(row)
        fitted = fit_messages(tokenizer, msgs, room) if not drop_long else None
        if drop_long and len(prompt_ids(tokenizer, msgs)) <= room:
            fitted = (msgs, 0, False)
        if fitted is None:
            report.dropped += 1
            continue
        report.cut += fitted[2]
        kept.append((row, fitted[0]))
    if not kept:
        why = "longer than" if drop_long else "whose fixed part (template, role markers) alone exceeds"
        raise ContextTooSmall(f"no prompt fits: the model's context is {context} tokens, {budget} reserved for the "
                              f"answer, and every prompt is {why} the {room} left; use a model with a longer context"
                              + (" or drop --drop-long to cut prompts instead" if drop_long else ""))
    return kept, report
