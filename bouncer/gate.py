"""The two gates a repair run calls: before repair (the issue) and after it (the best patch).

    decision = input_gate(issue_text)          # None when there is no issue text
    if decision and decision.bounce: abstain(decision)
    ...
    decision = output_gate(PatchEvidence(patch=diff, trigger_tests=..., test_sources=...,
                                         trigger_passed=True, regressions=0,
                                         agreeing=agreeing_counts(plausible)[best_id],
                                         plausible=len(plausible), issue=issue_text))
    if decision.bounce: abstain(decision)

Both take an optional `model` (a `repair.models.Model`): the input gate then asks the
LLM rubric instead of the heuristic, the output gate adds the LLM judge to the evidence.
"""
from __future__ import annotations

import io
import tokenize

from .decision import Decision
from .evidence import EvidenceOutputBouncer, PatchEvidence, read_diff
from .heuristic import HeuristicInputBouncer

_SKIP = (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER)


def input_gate(issue_text: str | None, *, threshold: float = 0.5, model=None, fallback: bool = True) -> Decision | None:
    """Judge an issue before repairing it; None when there is no issue text to judge.
    fallback=False: a model that fails raises instead of giving way to the heuristic."""
    if not issue_text or not issue_text.strip():
        return None
    if model is not None:
        from .llm import LLMInputBouncer

        try:
            return LLMInputBouncer(model).judge(issue_text)
        except Exception as exc:  # a dead server must not stop a repair: fall back to the heuristic
            if not fallback:
                raise
            decision = HeuristicInputBouncer(threshold).judge(issue_text)
            decision.explanation = f"LLM unavailable ({type(exc).__name__}), heuristic used: {decision.explanation}"
            decision.trace["llm_error"] = str(exc)[:500]
            return decision
    return HeuristicInputBouncer(threshold).judge(issue_text)


def output_gate(evidence: PatchEvidence, *, threshold: float = 0.5, model=None, fallback: bool = True) -> Decision:
    """Judge the best plausible patch from the evidence the run gathered."""
    judge = None
    if model is not None:
        from .llm import LLMOutputBouncer

        judge = LLMOutputBouncer(model)
    return EvidenceOutputBouncer(threshold, llm_judge=judge, fallback=fallback).judge_evidence(evidence)


def _code_tokens(line: str) -> str:
    """One changed line as its code tokens: comments dropped, spacing canonical."""
    try:
        toks = [t.string for t in tokenize.generate_tokens(io.StringIO(line.strip() + "\n").readline) if t.type not in _SKIP]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return " ".join(line.split())
    return " ".join(toks)


def patch_key(patch: str) -> str:
    """A diff reduced to what it does: changed lines with comments, blanks and spacing dropped."""
    diff = read_diff(patch)
    lines = ["-" + _code_tokens(l) for l in diff.removed] + ["+" + _code_tokens(l) for l in diff.added]
    return "\n".join(l for l in lines if len(l) > 1)


def agreeing_counts(patches: dict[str, str]) -> dict[str, int]:
    """candidate id -> how many candidates (itself included) make the same normalized change."""
    keys = {cid: patch_key(p) for cid, p in patches.items()}
    counts: dict[str, int] = {}
    for key in keys.values():
        counts[key] = counts.get(key, 0) + 1
    return {cid: counts[key] for cid, key in keys.items()}
