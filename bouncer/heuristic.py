"""A no-model input bouncer: is an issue concrete enough to act on?

It looks for what lets an engineer act without asking questions: a way to reproduce,
code or a traceback, expected versus actual behaviour, concrete names and values,
versions; and for what makes an issue vague (no specifics, "it doesn't work", hedging
about what is wanted). Each feature adds to a log-odds score; `confidence` is its
logistic, and the issue bounces when confidence < threshold.

The weights are set by hand from what makes a report actionable, not fitted to a
benchmark; `benchmarks/measure/bouncer_eval.py` measures them on held-out issue styles.
"""
from __future__ import annotations

import math
import re

from .decision import INPUT_LABELS, Decision, rubric_label, sigmoid

_CODE_FENCE = re.compile(r"```|~~~")
_INDENTED = re.compile(r"^(?: {4}|\t)\S", re.M)
_INLINE_CODE = re.compile(r"`[^`\n]+`")
_PROMPT = re.compile(r"^\s*(?:>>>|\$ |In \[\d+\]:)", re.M)
_TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\s*File \".+\", line \d+|\b\w*(?:Error|Exception|Warning)\b(?::|\s+(?:is\s+)?raised)", re.M)
_REPRO = re.compile(r"\bto reproduce\b|\breproduc(?:e|ible|es|ing|tion)\b|\bsteps?\b|\bminimal (?:example|code|test)\b|\bMWE\b|\bfor example\b|\be\.g\.|^\s*\d+[.)]\s", re.I | re.M)
_EXPECT = re.compile(r"\bexpect(?:ed|s|ing|ation)?\b|\bshould(?:n't| not)?\b|\bsupposed to\b|\bmeant to\b|\bought to\b|\bintended\b|\bdocumented\b|\baccording to\b|\bcorrect (?:answer|result|output|value)\b|\bwant(?:ed)?\b|\bmust\b", re.I)
_ACTUAL = re.compile(r"\bactual(?:ly)?\b|\binstead\b|\bbut (?:it |we |I )?(?:get|got|gets|returns?|gives?|prints?|raises?|outputs?|shows?|yields?)\b|\b(?:returns?|returned|gives?|gave|prints?|printed|raises?|raised|outputs?|yields?|evaluates to|results? in)\b", re.I)
_CALL = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\(")
_DOTTED_OR_SNAKE = re.compile(r"\b[a-z_][a-z0-9]*(?:_[a-z0-9]+)+\b|\b[A-Za-z_]\w*\.[A-Za-z_]\w+\b|\b[a-z]+[A-Z]\w+\b|\b[\w/]+\.py\b")
_LITERAL = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])|'[^'\n]{0,40}'|\"[^\"\n]{0,40}\"|\[[^\]\n]{0,80}\]")
_VERSION = re.compile(r"\b(?:version|python|py|release|v)\s*\d+(?:\.\d+)+|\b\d+\.\d+\.\d+\b", re.I)
_VAGUE = re.compile(
    r"\b(?:does(?:n't| not)|do(?:n't| not)|is(?:n't| not)) work\w*|\bnot working\b|\bbroken\b|\bsomething(?:'s| is)? (?:wrong|off|weird)\b"
    r"|\bweird\b|\bstrange\b|\bodd\b|\bsomehow\b|\bsometimes\b|\bin some cases\b|\bplease fix\b|\bfix (?:it|this)\b|\bany ideas\b|\bacts up\b|\bmessed up\b|\bbuggy\b|\bwrong\b",
    re.I,
)
_HEDGE = re.compile(r"\bnot sure\b|\bmaybe\b|\bperhaps\b|\bI (?:think|guess|believe)\b|\bmight\b|\bcould be\b|\bno idea\b|\bshould we\b|\bwhat do you think\b|\bopinions?\b|\bdiscuss(?:ion)?\b|\bunclear\b", re.I)
_WORD = re.compile(r"\w+")

# log-odds contributions; see the module docstring for why each is there
WEIGHTS = {
    "bias": -1.6,
    "code": 0.9,
    "traceback": 0.9,
    "repro": 0.5,
    "expected_and_actual": 1.1,
    "expected_or_actual": 0.45,
    "identifier": 0.6,  # names at least one function / module / variable: says where to look
    "more_identifiers": 0.4,  # scaled by min(n - 1, 3) / 3
    "literals": 0.6,  # scaled by min(n, 4) / 4
    "version": 0.3,
    "length": 0.9,  # scaled: log2(words / 25), clipped to [-2, 1]
    "vague": -0.6,  # per vague phrase, at most 3
    "hedge": -0.35,  # per hedge, at most 3
}


def issue_features(text: str) -> dict[str, float]:
    """The counts and flags the score is built from (kept in the decision as evidence)."""
    words = len(_WORD.findall(text))
    identifiers = set(_CALL.findall(text)) | set(_DOTTED_OR_SNAKE.findall(text)) | set(_INLINE_CODE.findall(text))
    expect, actual = bool(_EXPECT.search(text)), bool(_ACTUAL.search(text))
    return {
        "words": words,
        "code": float(bool(_CODE_FENCE.search(text) or len(_INDENTED.findall(text)) >= 2 or _PROMPT.search(text) or _INLINE_CODE.search(text))),
        "traceback": float(bool(_TRACEBACK.search(text))),
        "repro": float(bool(_REPRO.search(text))),
        "expected": float(expect),
        "actual": float(actual),
        "identifiers": len(identifiers),
        "literals": len(set(_LITERAL.findall(text))),
        "version": float(bool(_VERSION.search(text))),
        "vague": len(_VAGUE.findall(text)),
        "hedge": len(_HEDGE.findall(text)),
    }


def issue_logit(f: dict[str, float]) -> float:
    w = WEIGHTS
    z = w["bias"] + w["code"] * f["code"] + w["traceback"] * f["traceback"] + w["repro"] * f["repro"]
    if f["expected"] and f["actual"]:
        z += w["expected_and_actual"]
    elif f["expected"] or f["actual"]:
        z += w["expected_or_actual"]
    if f["identifiers"]:
        z += w["identifier"] + w["more_identifiers"] * min(f["identifiers"] - 1, 3) / 3
    z += w["literals"] * min(f["literals"], 4) / 4
    z += w["version"] * f["version"]
    z += w["length"] * max(-2.0, min(1.0, math.log2(max(f["words"], 1) / 25)))
    z += w["vague"] * min(f["vague"], 3) + w["hedge"] * min(f["hedge"], 3)
    return z


_NAMES = {
    "code": "code or a snippet",
    "traceback": "an error or traceback",
    "repro": "reproduction steps or an example",
    "version": "version information",
}


class HeuristicInputBouncer:
    """Bounces issues whose features say they are too vague to act on."""

    name = "heuristic-input"

    def __init__(self, threshold: float = 0.5):
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold {threshold} outside [0, 1]")
        self.threshold = threshold

    def judge(self, issue: str) -> Decision:
        f = issue_features(issue or "")
        confidence = sigmoid(issue_logit(f))
        bounce = confidence < self.threshold
        has = [name for key, name in _NAMES.items() if f[key]]
        lacks = [name for key, name in _NAMES.items() if not f[key]]
        if f["expected"] and f["actual"]:
            has.append("expected vs actual behaviour")
        else:
            lacks.append("expected vs actual behaviour")
        parts = [f"{f['words']} words, {f['identifiers']} concrete identifiers, {f['literals']} literal values"]
        if has:
            parts.append("has " + ", ".join(has))
        if lacks:
            parts.append("lacks " + ", ".join(lacks))
        if f["vague"] or f["hedge"]:
            parts.append(f"{f['vague']} vague phrase(s), {f['hedge']} hedge(s)")
        verdict = "too vague to act on" if bounce else "specific enough to act on"
        return Decision(
            bounce=bounce,
            confidence=round(confidence, 4),
            label=rubric_label(confidence, self.threshold, INPUT_LABELS),
            explanation=f"{verdict} (confidence {confidence:.2f} vs threshold {self.threshold:.2f}): " + "; ".join(parts),
            features=f,
        )
