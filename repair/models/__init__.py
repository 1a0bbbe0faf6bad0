"""Model backends shared by repair, bouncers and training.

The protocol every backend implements:

    class Model(Protocol):
        name: str
        def complete(self, messages: list[dict], *, n: int = 1, temperature: float = 0.0,
                     max_tokens: int = 512, top_p: float = 1.0) -> list[str]: ...

`load_model(spec, ...)` turns `openai:NAME`, `hf:PATH_OR_ID` or `vllm:PATH_OR_ID` into a Model
that checks caps before each call, logs every call to `<log_dir>/model_calls.jsonl`, and can
answer from an earlier run's log instead (`replay=RUN_DIR`). `model.usage` holds the totals.
"""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

from patchwarden.repair.models.budget import Budget, BudgetExceeded, Caps, ModelError, UnknownPrice, Usage
from patchwarden.repair.models.calllog import LOG_NAME, CallLog, ReplayMiss, ReplaySource
from patchwarden.repair.models.metered import MeteredModel
from patchwarden.repair.models.spec import parse_spec

__all__ = [
    "Model", "load_model", "parse_spec", "Budget", "BudgetExceeded", "Caps", "ModelError", "UnknownPrice", "Usage",
    "CallLog", "ReplaySource", "ReplayMiss", "MeteredModel", "LOG_NAME",
]



class Model(Protocol):
    name: str

    def complete(
        self, messages: list[dict], *, n: int = 1, temperature: float = 0.0, max_tokens: int = 512, top_p: float = 1.0
    ) -> list[str]: ...


def _budget(caps) -> Budget:
    if isinstance(caps, Budget):
        return caps
    if isinstance(caps, dict):
        return Budget(Caps(**caps))
    return Budget(caps)


def load_model(spec: str | None, *, api_base: str | None = None, log_dir: str | Path | CallLog | None = None,
               caps: Caps | Budget | dict | None = None, replay: str | Path | ReplaySource | None = None,
               resume: bool = False, top_k: int | None = None) -> MeteredModel:
    """Build a Model from a spec. Pass one Budget / CallLog / ReplaySource to several models to share them.

    With `replay`, no backend is loaded (no server, no weights): calls are answered from the log;
    the spec may then be None. With `replay` and `resume=True` (a killed run continued), logged
    calls are answered from the log and the others go to the model. `top_k` (in-process `hf:`
    models only): 0 samples from the whole distribution, as GRPO training did; None keeps the
    checkpoint's generation config.
    """
    budget = _budget(caps)
    log = log_dir if isinstance(log_dir, CallLog) or log_dir is None else CallLog(log_dir)
    source = None
    if replay is not None:
        source = replay if isinstance(replay, ReplaySource) else ReplaySource(replay)
        if not resume:
            if spec:
                parse_spec(spec)
            return MeteredModel(spec or "replay:log", None, budget, log, source)
    kind, target = parse_spec(spec)
    if kind == "openai":
        from patchwarden.repair.models.openai_backend import OpenAIBackend

        budget.require_price(target)   # before any connection: a cost cap must be able to hold

        backend = OpenAIBackend(target, api_base)
    elif kind == "hf":
        from patchwarden.repair.models.hf_backend import HFBackend

        backend = HFBackend(target, top_k=top_k)
    else:
        from patchwarden.repair.models.vllm_backend import VLLMBackend

        backend = VLLMBackend(target)
    return MeteredModel(spec, backend, budget, log, source)
