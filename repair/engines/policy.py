"""A trained Repair-R1 policy as a repair engine (`patchwarden repair --engine policy --model SPEC`).

For each of the top-ranked suspicious functions, the policy sees the function (with its docstring)
in the training prompt format and answers with tests and a fix. The fix's definition of that
function is re-indented and spliced over the original span as a FunctionEdit; the policy's tests
travel in `candidate.meta["tests"]` so the pipeline can add them to validation. Unusable answers
(bad format, no such function, unchanged code) are counted in `rejected`, never raised.
"""
from __future__ import annotations

import textwrap
from collections import Counter
from typing import Iterator

from patchwarden.repair.bug_context import BugContext
from patchwarden.repair.candidate import Candidate, FunctionEdit
from patchwarden.repair.answer_functions import extract_function, indent_before
from patchwarden.repair.errors import RepairInputError
from patchwarden.repair.imports import import_edit
from patchwarden.repair.source_io import read_source

from patchwarden.repair.engines.base import EngineEntry
from patchwarden.repair.r1.answer import parse_answer
from patchwarden.repair.r1.prompt import as_messages, build_prompt


class PolicyEngine:
    name = "policy"

    def __init__(self, model, *, top_functions: int = 3, samples: int = 4, temperature: float = 0.8,
                 max_tokens: int = 2048):
        self.model = model
        self.top_functions = top_functions
        self.samples = samples
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.rejected = 0
        self.reject_reasons: Counter = Counter()
        self._answered = False  # a model that never answers is a setup problem, not "no patch"
        self.stop_reason = ""

    def usage(self) -> dict | None:
        """The model's call/token/cost totals, when its backend meters them (repair.models)."""
        usage = getattr(self.model, "usage", None)
        out = usage.to_dict() if hasattr(usage, "to_dict") else dict(usage) if isinstance(usage, dict) else None
        if out is not None and self.stop_reason:
            out["stop_reason"] = self.stop_reason
        return out

    def _other_language(self, func, text: str, indent: str, rank: int, i: int) -> Candidate | None:
        from patchwarden.repair.extract_ts import extract_ts_function

        got = extract_ts_function(text, func, indent)
        if not got.ok:
            self._reject(got.reason)
            return None
        return Candidate(
            engine=self.name,
            edits=[FunctionEdit(func.path, func.qualname, func.start_byte, func.end_byte, got.source)],
            description=f"policy fix of {func.qualname} (function rank {rank + 1}, sample {i + 1})",
            prior=1.0 / (1 + rank) - 0.01 * i,
            meta={"tests": _tests_of(text), "function": func.key, "sample": i, "language": func.language},
        )

    def _reject(self, reason: str) -> None:
        self.rejected += 1
        self.reject_reasons[reason] += 1

    def generate(self, ctx: BugContext) -> Iterator[Candidate]:
        seen: set[str] = set()
        for rank, sus in enumerate(ctx.suspicious[: self.top_functions]):
            func = sus.function
            try:
                module_text = read_source(ctx.repo / func.path)
                indent = indent_before(module_text, func.start_byte)
            except (OSError, UnicodeDecodeError):
                module_text, indent = None, ""
            shown = textwrap.dedent(indent + func.source)
            try:
                answers = self.model.complete(as_messages(build_prompt(shown, func.language)), n=self.samples,
                                              temperature=self.temperature, max_tokens=self.max_tokens)
            except Exception as exc:  # a failing backend costs this function, not the run
                self._reject(f"model error: {type(exc).__name__}")
                if type(exc).__name__ == "BudgetExceeded":  # caps reached: no further call can succeed
                    self.stop_reason = f"budget: {exc}"
                    return
                if not self._answered and _is_model_error(exc):  # like SRepair: exit 2, naming the server
                    raise RepairInputError(f"the policy model did not answer: {exc}") from exc
                continue
            self._answered = True
            for i, text in enumerate(answers):
                if func.language != "python":  # Java/JavaScript/TypeScript: the fix parsed out by the grammar
                    cand = self._other_language(func, text or "", indent, rank, i)
                    if cand is not None and cand.id not in seen:
                        seen.add(cand.id)
                        yield cand
                    continue
                answer = parse_answer(text or "")
                if answer.fix is None:
                    self._reject("no python block")
                    continue
                got = extract_function(answer.fix, func.name, func.source, indent, module_text=module_text)
                if not got.ok:  # same extraction as SRepair: no function, unparsable, unchanged, module change
                    self._reject(got.reason)
                    continue
                edits = [FunctionEdit(func.path, func.qualname, func.start_byte, func.end_byte, got.source)]
                if got.imports and module_text is not None:  # import lines above the fix join the module's imports
                    added, why = import_edit(func.path, module_text, got.imports)
                    if why:
                        self._reject(why)
                        continue
                    edits += [added] if added else []
                cand = Candidate(
                    engine=self.name,
                    edits=edits,
                    description=f"policy fix of {func.qualname} (function rank {rank + 1}, sample {i + 1})",
                    prior=1.0 / (1 + rank) - 0.01 * i,
                    meta={"tests": [t for t in answer.tests if isinstance(t, str)], "well_formed": answer.well_formed,
                          "function": func.key, "sample": i},
                )
                if cand.id in seen:
                    continue
                seen.add(cand.id)
                yield cand


def _tests_of(text: str) -> list[str]:
    """The ```json list of tests of an answer in another language (kept as metadata), or []."""
    import json
    import re

    m = re.search(r"```json(.*?)```", text, re.DOTALL)
    try:
        tests = json.loads(m.group(1)) if m else []
    except ValueError:
        return []
    return [t for t in tests if isinstance(t, str)] if isinstance(tests, list) else []


def build_policy_engine(cfg, run_dir=None) -> PolicyEngine:
    """The engine `patchwarden repair --engine policy --model SPEC` runs.

    Calls are metered, capped and logged in the run directory like every model engine's.
    """

    from patchwarden.repair.models import load_model

    if not cfg.model and not getattr(cfg, "replay", None):
        raise RepairInputError("--engine policy needs a trained policy: pass --model hf:DIR (from `patchwarden train grpo`)")
    try:
        caps = {"max_calls": cfg.max_calls, "max_tokens": cfg.max_tokens, "max_cost": cfg.max_cost,
                "price_in": cfg.price_in, "price_out": cfg.price_out}
        model = load_model(cfg.model, api_base=cfg.api_base, log_dir=run_dir, caps=caps, replay=cfg.replay,
                           resume=cfg.resume)
    except Exception as exc:
        raise RepairInputError(f"could not load the policy {cfg.model!r}: {exc}") from exc
    max_tokens = check_context(model, 2048, RepairInputError)
    return PolicyEngine(model, top_functions=max(1, cfg.suggestions), samples=max(1, cfg.patches_per_suggestion),
                        max_tokens=max_tokens)


def check_context(model, max_tokens: int, error=ValueError) -> int:
    """Before a run: the instruction (with an empty function) and an answer must fit the policy's
    context; returns the completion budget that fits. Remote models are not checked."""
    from patchwarden.repair.models.context import MIN_COMPLETION, completion_budget, fit_messages

    from patchwarden.repair.r1.policy_model import policy_context

    found = policy_context(model)
    if found is None or found[1] is None:
        return max_tokens
    tok, context = found
    budget = completion_budget(context, max_tokens)
    if budget < MIN_COMPLETION or fit_messages(tok, as_messages(build_prompt("")), context - budget) is None:
        raise error(f"the policy's context ({context} tokens) cannot hold the repair instruction and an answer of "
                    f"{max(budget, MIN_COMPLETION)} tokens; use a policy with a longer context")
    return budget


def _is_model_error(exc: Exception) -> bool:
    from patchwarden.repair.models.budget import ModelError

    return isinstance(exc, ModelError)


def check_policy_config(cfg) -> None:
    """Before any test runs: a policy engine needs a model."""
    if not cfg.model:
        raise RepairInputError("--engine policy needs a model: pass --model hf:PATH (a policy trained with `patchwarden train grpo`) or openai:NAME")


ENGINE = EngineEntry("policy", build_policy_engine, rank=2, check=check_policy_config)
