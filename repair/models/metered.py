"""`MeteredModel`: the Model every caller gets. It wraps a backend with caps, logging and replay."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from patchwarden.repair.models.budget import Budget, ModelError, Usage, estimate_tokens
from patchwarden.repair.models.calllog import CallLog, ReplaySource, request_hash


@dataclass
class Generation:
    texts: list[str]
    prompt_tokens: int
    completion_tokens: int
    meta: dict = field(default_factory=dict)  # backend details worth logging (attempts, truncation)


class Backend(Protocol):
    name: str
    local: bool  # local models cost nothing

    def count_prompt_tokens(self, messages: list[dict]) -> int: ...

    def generate(self, messages: list[dict], *, n: int, temperature: float, max_tokens: int, top_p: float) -> Generation: ...


def messages_text(messages: list[dict]) -> str:
    return "\n".join(f"{m.get('role', '')}: {m.get('content', '')}" for m in messages)


class MeteredModel:
    """Implements the Model protocol. Every call is cap-checked, logged, or answered from a replay."""

    def __init__(self, spec: str, backend: Backend | None, budget: Budget, log: CallLog | None = None,
                 replay: ReplaySource | None = None):
        if backend is None and replay is None:  # noqa: SIM102
            raise ModelError(f"model {spec!r} has neither a backend nor a replay log")
        self.spec = spec
        self.name = backend.name if backend else spec.split(":", 1)[-1]
        self.backend = backend
        self.budget = budget
        self.log = log
        self.replay = replay

    @property
    def usage(self) -> Usage:
        """Totals of the budget this model shares (the whole run's when the budget is shared)."""
        return self.budget.usage

    @property
    def local(self) -> bool:
        return bool(self.backend and self.backend.local)

    def complete(self, messages: list[dict], *, n: int = 1, temperature: float = 0.0, max_tokens: int = 512,
                 top_p: float = 1.0) -> list[str]:
        messages = [{"role": m["role"], "content": m["content"]} for m in messages]
        params = {"n": n, "temperature": temperature, "max_tokens": max_tokens, "top_p": top_p}
        h = request_hash(messages, params)
        # With a backend too (a resumed run), only logged calls replay; the rest go to the model.
        if self.replay is not None and (self.backend is None or self.replay.peek(h) is not None):
            return self._replay(messages, params, h)
        return self._live(messages, params, h)

    def _live(self, messages: list[dict], params: dict, h: str) -> list[str]:
        n, temperature, max_tokens, top_p = params["n"], params["temperature"], params["max_tokens"], params["top_p"]
        prompt_est = self.backend.count_prompt_tokens(messages)
        max_new = self.budget.plan(self.name, prompt_est, n, max_tokens, self.local)
        t0 = time.monotonic()
        entry = {"hash": h, "model": self.spec, "time": time.time(), "messages": messages, "params": params,
                 "effective_max_tokens": max_new, "plan_prompt_tokens": prompt_est, "local": self.local}
        try:
            gen = self.backend.generate(messages, n=n, temperature=temperature, max_tokens=max_new, top_p=top_p)
        except ModelError as e:
            entry.update(error=str(e), latency=round(time.monotonic() - t0, 4))
            self._append(entry)
            raise
        cost = self.budget.record(self.name, gen.prompt_tokens, gen.completion_tokens, self.local)
        entry.update(responses=gen.texts, prompt_tokens=gen.prompt_tokens, completion_tokens=gen.completion_tokens,
                     latency=round(time.monotonic() - t0, 4), cost=cost, **({"meta": gen.meta} if gen.meta else {}))
        self._append(entry)
        return list(gen.texts)

    def _replay(self, messages: list[dict], params: dict, h: str) -> list[str]:
        logged = self.replay.peek(h)
        # Plan with the same prompt estimate the logged run used, so caps stop a replay where they stopped the run.
        prompt_est = logged.get("plan_prompt_tokens", logged.get("prompt_tokens", 0)) if logged else estimate_tokens(messages_text(messages))
        local = bool(logged and logged.get("local"))
        self.budget.plan(self.name, prompt_est, params["n"], params["max_tokens"], local)
        e = self.replay.take(h, messages)
        if e.get("error"):  # the logged run failed here: fail the same way
            if self.backend is not None:  # resuming: try the model again instead
                return self._live(messages, params, h)
            self._append({**e, "time": time.time(), "replayed_from": str(self.replay.path)})
            raise ModelError(e["error"])
        cost = self.budget.record(self.name, e["prompt_tokens"], e["completion_tokens"], local)
        if not self._same_log():
            self._append({**e, "time": time.time(), "cost": cost, "replayed_from": str(self.replay.path)})
        return list(e["responses"])

    def _same_log(self) -> bool:
        """Resuming in place: the replayed calls are already in this log."""
        return self.log is not None and self.log.path.resolve() == self.replay.path.resolve()

    def _append(self, entry: dict) -> None:
        if self.log is not None:
            self.log.append(entry)
