"""The one shape every bouncer returns, and the protocols bouncers implement."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

# The paper's four-label rubrics; the last two labels of each mean "bounce".
INPUT_LABELS = ("WELL_SPECIFIED", "REASONABLY_SPECIFIED", "VAGUE", "IMPOSSIBLE_TO_SOLVE")
OUTPUT_LABELS = ("CORRECT_AND_PRECISE", "CORRECT_BUT_INCOMPLETE", "BROAD_MISSING_KEY_ASPECTS", "INCORRECT")
BOUNCE_LABELS = frozenset(INPUT_LABELS[2:] + OUTPUT_LABELS[2:])
UNPARSED = "UNPARSED"


@dataclass
class Decision:
    """A bouncer's verdict on one item.

    `confidence` is how much the bouncer trusts the item (0 = surely bounce it,
    1 = surely fine): an issue that can be acted on, a patch that is correct.
    `bounce` is the decision taken at the bouncer's threshold.
    """

    bounce: bool
    confidence: float
    label: str
    explanation: str
    features: dict[str, Any] = field(default_factory=dict)  # the evidence behind it
    trace: dict[str, Any] = field(default_factory=dict)  # raw model answers etc.

    def to_dict(self) -> dict:
        return asdict(self)


def rubric_label(confidence: float, threshold: float, labels: tuple[str, ...]) -> str:
    """Map a confidence onto a four-label rubric, consistent with bouncing below `threshold`."""
    if confidence >= max(threshold, 0.75):
        return labels[0]
    if confidence >= threshold:
        return labels[1]
    return labels[2] if confidence >= threshold / 3 else labels[3]


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


class InputBouncer(Protocol):
    name: str

    def judge(self, issue: str) -> Decision: ...


class OutputBouncer(Protocol):
    name: str

    def judge(self, issue: str, patch: str) -> Decision: ...
