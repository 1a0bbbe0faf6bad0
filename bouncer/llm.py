"""LLM bouncers with the paper's four-label rubrics and a JSON answer `{explanation, label}`.

The model plays an experienced engineer who cannot ask the reporter questions (input)
or run the patch (output). Answers are parsed leniently (code fences, prose around the
JSON, a bare label); a malformed answer is retried with a reminder of the format, and
after `retries` failures the item gets a recorded "UNPARSED" decision that accepts it
(as a missing prediction would) with the raw answers in its trace.
"""
from __future__ import annotations

import json
import re

from .decision import INPUT_LABELS, OUTPUT_LABELS, UNPARSED, Decision

INPUT_SYSTEM = """You are an experienced software engineer triaging issue reports for a repository you know well.
You cannot ask the reporter any questions: you must decide from the issue text alone whether it is specified
well enough to write a correct fix. Rate it with exactly one label:
- WELL_SPECIFIED: it is clear what is wrong and what a successful fix must do.
- REASONABLY_SPECIFIED: some details are missing, but there is a sensible interpretation of what a fix must do.
- VAGUE: it is unclear what is being asked or what a correct fix would be; several readings are possible.
- IMPOSSIBLE_TO_SOLVE: without more information it is almost impossible to know what a successful fix is.
Answer with a JSON object and nothing else: {"explanation": "<one short paragraph>", "label": "<one label>"}"""

OUTPUT_SYSTEM = """You are an experienced software engineer reviewing a patch proposed to resolve an issue.
You cannot run the patch or its tests: you must judge from the issue and the diff alone whether the patch
correctly resolves the issue. Rate it with exactly one label:
- CORRECT_AND_PRECISE: the patch resolves the issue correctly and changes nothing it should not.
- CORRECT_BUT_INCOMPLETE: the patch resolves the core of the issue but misses minor parts or edge cases.
- BROAD_MISSING_KEY_ASPECTS: the patch addresses the issue only partly and misses key aspects, or changes too much.
- INCORRECT: the patch does not resolve the issue, or is wrong.
Answer with a JSON object and nothing else: {"explanation": "<one short paragraph>", "label": "<one label>"}"""

REMINDER = (
    "Your answer could not be read. Reply with only a JSON object of the form "
    '{"explanation": "...", "label": "..."} where label is one of: '
)

# How much each label trusts the item, for thresholds and for combining with other evidence.
LABEL_CONFIDENCE = {
    INPUT_LABELS[0]: 0.9,
    INPUT_LABELS[1]: 0.7,
    INPUT_LABELS[2]: 0.3,
    INPUT_LABELS[3]: 0.1,
    OUTPUT_LABELS[0]: 0.9,
    OUTPUT_LABELS[1]: 0.7,
    OUTPUT_LABELS[2]: 0.3,
    OUTPUT_LABELS[3]: 0.1,
}

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S | re.I)
_LABEL_FIELD = re.compile(r"[\"']?label[\"']?\s*[:=]\s*[\"']?([A-Za-z_ ]+)", re.I)
_THINK = re.compile(r"<think>.*?</think>", re.S | re.I)


def _normalize_label(raw: str, labels: tuple[str, ...]) -> str | None:
    key = re.sub(r"[\s-]+", "_", raw.strip().strip("\"'")).upper()
    return key if key in labels else None


def _json_objects(text: str):
    """Every decodable JSON object in `text`, in order (fenced blocks first)."""
    candidates = _FENCE.findall(text) + [text]
    decoder = json.JSONDecoder()
    for chunk in candidates:
        for start in [m.start() for m in re.finditer(r"\{", chunk)]:
            try:
                obj, _ = decoder.raw_decode(chunk[start:])
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                yield obj


def parse_answer(text: str, labels: tuple[str, ...]) -> tuple[str, str] | None:
    """(label, explanation) from a model answer, or None when no valid label can be found."""
    text = _THINK.sub("", text or "")
    for obj in _json_objects(text):
        if "label" in obj and isinstance(obj["label"], str):
            label = _normalize_label(obj["label"], labels)
            if label:
                return label, str(obj.get("explanation", "")).strip()
    match = _LABEL_FIELD.search(text)
    if match:
        for size in range(len(match.group(1)), 0, -1):  # the value may run into following words
            label = _normalize_label(match.group(1)[:size], labels)
            if label:
                return label, text.strip()[:2000]
    found = {lab for lab in labels if re.search(rf"\b{lab}\b", text)}
    if len(found) == 1:  # a bare label, unambiguous
        return found.pop(), text.strip()[:2000]
    return None


class LLMBouncer:
    """Shared loop: ask, parse, retry with a reminder, record everything in the trace."""

    name = "llm"
    labels: tuple[str, ...] = ()
    system = ""

    def __init__(self, model, *, retries: int = 2, temperature: float = 0.0, max_tokens: int = 4000):
        self.model = model
        self.retries = retries
        self.temperature = temperature
        self.max_tokens = max_tokens

    def _decide(self, user: str) -> Decision:
        messages = [{"role": "system", "content": self.system}, {"role": "user", "content": user}]
        answers: list[str] = []
        for _attempt in range(self.retries + 1):
            out = self.model.complete(messages, n=1, temperature=self.temperature, max_tokens=self.max_tokens)
            answer = out[0] if out else ""
            answers.append(answer)
            parsed = parse_answer(answer, self.labels)
            if parsed:
                label, explanation = parsed
                confidence = LABEL_CONFIDENCE[label]
                return Decision(
                    bounce=label in self.labels[2:],
                    confidence=confidence,
                    label=label,
                    explanation=explanation,
                    trace={"model": getattr(self.model, "name", "?"), "answers": answers},
                )
            messages = messages + [
                {"role": "assistant", "content": answer},
                {"role": "user", "content": REMINDER + ", ".join(self.labels)},
            ]
        return Decision(
            bounce=False,
            confidence=0.5,
            label=UNPARSED,
            explanation=f"no valid label in {len(answers)} answer(s); accepted by default",
            trace={"model": getattr(self.model, "name", "?"), "answers": answers},
        )


class LLMInputBouncer(LLMBouncer):
    name = "llm-input"
    labels = INPUT_LABELS
    system = INPUT_SYSTEM

    def judge(self, issue: str) -> Decision:
        return self._decide(f"Issue report:\n<issue>\n{issue}\n</issue>")


class LLMOutputBouncer(LLMBouncer):
    name = "llm-output"
    labels = OUTPUT_LABELS
    system = OUTPUT_SYSTEM

    def judge(self, issue: str, patch: str) -> Decision:
        return self._decide(f"Issue report:\n<issue>\n{issue}\n</issue>\n\nProposed patch:\n<patch>\n{patch}\n</patch>")
