"""Input and output abstention; BouncerBench loading, scoring and export.

- `decision`: the Decision every bouncer returns, the rubric labels, the protocols;
- `data` / `metrics` / `submission`: BouncerBench labels, predictions, scores, export;
- `heuristic`: no-model input bouncer; `evidence`: output bouncer for our own patches;
- `llm`: the paper's LLM input and output bouncers over any `repair.models.Model`;
- `gate`: `input_gate` / `output_gate`, what `patchwarden repair` calls.
"""
from .decision import BOUNCE_LABELS, INPUT_LABELS, OUTPUT_LABELS, Decision, InputBouncer, OutputBouncer
from .evidence import EvidenceOutputBouncer, PatchEvidence
from .gate import agreeing_counts, input_gate, output_gate
from .heuristic import HeuristicInputBouncer

__all__ = [
    "BOUNCE_LABELS",
    "INPUT_LABELS",
    "OUTPUT_LABELS",
    "Decision",
    "EvidenceOutputBouncer",
    "HeuristicInputBouncer",
    "InputBouncer",
    "OutputBouncer",
    "PatchEvidence",
    "agreeing_counts",
    "input_gate",
    "output_gate",
]
