"""BouncerBench metrics, as the paper defines them (bounce is the positive class).

- per-class precision / recall / F1 and F_m (macro F1) over the *predicted* ids;
- R_b = bounce recall (%), FNR_a = 100 x (1 - accept recall) (%), also over predicted ids;
- I-Score = (2/3)(1/N) sum (-1)^(1-b) (u - 1.5) and O-Score = (1/N) sum (-1)^(b+c) p over
  *all* N labelled items, a missing prediction counting as accept (b = 0).
Zero divisions give 0, as scikit-learn's `zero_division=0` does on the leaderboard.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .data import Label


@dataclass
class ClassScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class SideMetrics:
    side: str  # input | output
    n_labelled: int
    n_predicted: int
    accept: ClassScores
    bounce: ClassScores
    f_m: float
    score: float  # I-Score (input) or O-Score (output)
    r_b: float  # %
    fnr_a: float  # %
    confusion: dict[str, int] = field(default_factory=dict)  # true_accept/false_bounce/false_accept/true_bounce

    @property
    def score_key(self) -> str:
        return "I_Score" if self.side == "input" else "O_Score"

    def leaderboard(self) -> dict[str, float]:
        """The leaderboard's figures and rounding: 3 decimals; R_b and FNR_a in % with 1."""
        return {
            "F_m": round(self.f_m, 3),
            self.score_key: round(self.score, 3),
            "R_b": round(self.r_b, 1),
            "FNR_a": round(self.fnr_a, 1),
        }

    def details(self) -> dict:
        return {
            "n_labelled": self.n_labelled,
            "n_predicted": self.n_predicted,
            "accept": vars(self.accept),
            "bounce": vars(self.bounce),
            "confusion": self.confusion,
        }


def _div(a: float, b: float) -> float:
    return a / b if b else 0.0


def _class_scores(tp: int, fp: int, fn: int) -> ClassScores:
    p, r = _div(tp, tp + fp), _div(tp, tp + fn)
    return ClassScores(p, r, _div(2 * p * r, p + r), tp + fn)


def i_score(labels: dict[str, Label], preds: dict[str, bool]) -> float:
    total = sum((1 if preds.get(iid, False) else -1) * (lab.input_quality - 1.5) for iid, lab in labels.items())
    return (2 / 3) * _div(total, len(labels))


def o_score(labels: dict[str, Label], preds: dict[str, bool]) -> float:
    total = 0.0
    for iid, lab in labels.items():
        b = 1 if preds.get(iid, False) else 0
        c = 1 if lab.output_quality < 1.0 else 0
        total += (-1) ** (b + c) * lab.output_quality
    return _div(total, len(labels))


def score_side(side: str, labels: dict[str, Label], preds: dict[str, bool]) -> SideMetrics:
    """Metrics of one side (input or output) of a submission against labels."""
    tb = fb = fa = ta = 0  # true bounce, false bounce, false accept, true accept
    for iid, bounced in preds.items():
        truth = labels[iid].bounce(side)
        if bounced and truth:
            tb += 1
        elif bounced:
            fb += 1
        elif truth:
            fa += 1
        else:
            ta += 1
    bounce = _class_scores(tb, fb, fa)
    accept = _class_scores(ta, fa, fb)
    score = i_score(labels, preds) if side == "input" else o_score(labels, preds)
    return SideMetrics(
        side=side,
        n_labelled=len(labels),
        n_predicted=len(preds),
        accept=accept,
        bounce=bounce,
        f_m=(accept.f1 + bounce.f1) / 2,
        score=score,
        r_b=100 * bounce.recall,
        fnr_a=100 * (1 - accept.recall),
        confusion={"true_accept": ta, "false_bounce": fb, "false_accept": fa, "true_bounce": tb},
    )


def score(split: str, labels: dict[str, Label], preds: dict[str, dict[str, bool]]) -> dict[str, SideMetrics]:
    """{side: metrics} for every side of the split (Lite: input and output side by side)."""
    return {side: score_side(side, labels, side_preds) for side, side_preds in preds.items()}
