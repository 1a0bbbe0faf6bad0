"""SRepair: function-level repair with a suggestion model and a patch model (Xiang et al. 2024).

For the most suspicious function(s): the suggestion model reads the buggy function, one trigger
test and its error message (and the issue when given) and answers a root cause with numbered
suggestions; the patch model turns each suggestion into M whole fixed functions, which are
extracted, re-indented and spliced by span; import lines the answer puts above a function are merged
into the module's imports (repair/imports.py). Functions implicated together (repair/groups.py:
different failing tests ending in different functions, one traceback, shared failing tests, one
class; or pinned with --functions) are repaired together with the `Function ID` prompts, all
edits in one candidate; the groups tried and why are written to groups.json.

Model calls happen lazily, as the pipeline pulls candidates; a cap stops the stream cleanly.
"""
from __future__ import annotations

import ast
import random
import re
from collections import Counter
from pathlib import Path
from typing import Iterator

from patchwarden.repair.engines.base import EngineEntry
from patchwarden.repair.bug_context import BugContext, FunctionInfo, SuspiciousFunction
from patchwarden.repair.candidate import Candidate, FunctionEdit
from patchwarden.repair.splice import apply_edits
from patchwarden.repair.answer_functions import extract_function, indent_before, split_function_sections
from patchwarden.repair.errors import RepairInputError
from patchwarden.repair.groups import Group, plan_groups, stack_functions
from patchwarden.repair.imports import import_edit
from patchwarden.repair.models import (
    Budget,
    BudgetExceeded,
    CallLog,
    Caps,
    ModelError,
    ReplayMiss,
    ReplaySource,
    load_model,
    parse_spec,
)
from patchwarden.repair.models.budget import estimate_tokens
from patchwarden.repair.prompts.srepair import (
    Suggestion,
    multi_patch_messages,
    multi_suggestion_messages,
    parse_suggestions,
    patch_messages,
    suggestion_messages,
)
from patchwarden.repair.source_io import read_source
from patchwarden.sandboxes.files import write_json
from patchwarden.sandboxes.safe_ast import safe_parse
from patchwarden.sandboxes.testresults import TestResult

ANSI = re.compile(r"\x1b\[[0-9;]*m")
ERROR_TOKENS = 200  # SRepair cuts the error message to about 200 tokens
SUGGEST_MAX_TOKENS = 1024


def trim_tokens(text: str, limit: int = ERROR_TOKENS) -> str:
    """Cut text to about `limit` tokens (whole lines where possible)."""
    if estimate_tokens(text) <= limit:
        return text
    cut = text[: limit * 3]
    if "\n" in cut[len(cut) // 2 :]:
        cut = cut[: cut.rindex("\n")]
    return cut.rstrip() + "\n..."


def error_message(result: TestResult) -> str:
    """The test's message plus the assertion lines of its traceback (pytest's `E ` lines), trimmed."""
    parts = [ANSI.sub("", result.message).strip()]
    for line in ANSI.sub("", result.traceback).splitlines():
        s = line.strip()
        if line.startswith("E ") and s[1:].strip() and s[1:].strip() not in parts[0]:
            parts.append(s)
        elif not parts[0] and re.match(r"^\w+(Error|Exception)\b", s):
            parts.append(s)
    return trim_tokens("\n".join(p for p in parts if p))


def innermost_function(result: TestResult, functions: list[FunctionInfo]) -> FunctionInfo | None:
    """The candidate function closest to the exception in a failing test's traceback."""
    stack = stack_functions(result, functions)
    return stack[-1] if stack else None  # later frames are closer to the exception


class SRepairEngine:
    name = "srepair"

    def __init__(self, suggest_model, patch_model, suggestions: int = 3, patches_per_suggestion: int = 5, *,
                 functions: list[str] | None = None, max_functions: int = 3, max_group: int = 4, max_groups: int = 3,
                 suggest_temperature: float = 0.8, patch_temperature: float = 0.8, top_p: float = 0.9, seed: int = 0):
        self.suggest_model, self.patch_model = suggest_model, patch_model
        self.suggestions, self.patches = max(1, suggestions), max(1, patches_per_suggestion)
        self.pinned = list(functions or [])
        self.max_functions, self.max_group, self.max_groups = max_functions, max_group, max_groups
        self.plan: list[dict] = []  # groups.json: the groups planned, tried or not, and why
        self.suggest_temperature, self.patch_temperature, self.top_p = suggest_temperature, patch_temperature, top_p
        self.seed = seed
        self.rejected = 0
        self.reject_reasons: Counter[str] = Counter()
        self.generated = 0
        self.stop_reason = ""
        self._answered = 0  # model calls that returned

    # -- reporting -------------------------------------------------------------------------
    def usage(self) -> dict:
        budgets = {id(m.budget): m.budget for m in (self.suggest_model, self.patch_model) if hasattr(m, "budget")}
        out = {"calls": 0, "tokens": 0, "cost": 0.0, "notes": []}
        for b in budgets.values():
            u = b.usage
            out["calls"] += u.calls
            out["tokens"] += u.tokens
            out["cost"] += u.cost
            out["notes"] += u.notes
        out.update(rejected=self.rejected, reasons=dict(self.reject_reasons), generated=self.generated, stop_reason=self.stop_reason)
        return out

    def _reject(self, reason: str) -> None:
        self.rejected += 1
        self.reject_reasons[reason] += 1

    # -- generation ------------------------------------------------------------------------
    def generate(self, ctx: BugContext) -> Iterator[Candidate]:
        try:
            yield from self._generate(ctx)
        finally:
            if ctx.run_dir is not None:
                write_json(Path(ctx.run_dir) / "srepair.json", self.usage())
                write_json(Path(ctx.run_dir) / "groups.json", self.plan)

    def _generate(self, ctx: BugContext) -> Iterator[Candidate]:
        try:
            groups = self._groups(ctx)
            self.plan = [{**g.to_dict(), "tried": False, "candidates": 0} for g in groups]
            earlier: set[str] = set()
            for g, record in zip(groups, self.plan):
                record["tried"] = True
                mine: set[str] = set()
                for cand in self._repair_group(ctx, g.functions):
                    if cand.id not in earlier:  # a wider group may give an earlier group's edits again
                        mine.add(cand.id)
                        record["candidates"] += 1
                        yield cand
                earlier |= mine
        except BudgetExceeded as e:
            self.stop_reason = f"budget: {e}"
        except ModelError as e:
            if isinstance(e, ReplayMiss) or not self._answered:
                # A log that does not match, or a model that never answered: a setup problem to show.

                raise RepairInputError(str(e)) from e
            self.stop_reason = f"model error: {e}"

    def _groups(self, ctx: BugContext) -> list[Group]:
        """Functions to repair, as groups edited together (repair/groups.py), in the order to try them."""
        if ctx.suspicious and ctx.suspicious[0].function.language != "python" and not self.pinned:
            # Java/JavaScript/TypeScript: one function at a time (the grouping rules read Python tracebacks).
            return [Group([s], ["single function"]) for s in ctx.suspicious[: self.max_functions]]
        if self.pinned:
            ranked = [s for s in ctx.suspicious if s.function.language == ctx.suspicious[0].function.language]
            chosen = [s for s in ranked if any(_matches(p, s.function) for p in self.pinned)]
            if len(chosen) > 1:
                return [Group(chosen, ["pinned with --functions"], first=True)]
            return [Group([s], ["pinned with --functions"]) for s in chosen]
        return plan_groups(ctx, max_functions=self.max_functions, max_group=self.max_group, max_groups=self.max_groups)

    def _pick_test(self, ctx: BugContext, fns: list[FunctionInfo]) -> TestResult | None:
        """One trigger test, random but seeded; tests whose traceback ends in the target come first."""
        if not ctx.failing:
            return None
        rng = random.Random(f"{self.seed}:" + ",".join(f.key for f in fns))
        keys = {f.key for f in fns}
        hit = [r for r in ctx.failing if (fn := innermost_function(r, fns)) is not None and fn.key in keys]
        for pool in (
            [r for r in hit if r.nodeid in ctx.test_sources],
            [r for r in ctx.failing if r.nodeid in ctx.test_sources],
            hit, ctx.failing,
        ):
            if pool:
                return rng.choice(sorted(pool, key=lambda r: r.nodeid))
        return None

    def _repair_group(self, ctx: BugContext, group: list[SuspiciousFunction]) -> Iterator[Candidate]:
        fns = [s.function for s in group]
        files = {fn.path: read_source(Path(ctx.repo) / fn.path) for fn in fns}
        test = self._pick_test(ctx, fns)
        test_src = ctx.test_sources.get(test.nodeid) if test else None
        error = error_message(test) if test else ""
        test_id = test.nodeid if test else None
        label = " + ".join(fn.qualname for fn in fns)

        outline = None
        if len(fns) == 1 and fns[0].language != "python":  # a method's class: fields and sibling signatures
            from patchwarden.repair.languages import get as get_language

            outline = get_language(fns[0].language).class_context(fns[0], files[fns[0].path])
        if len(fns) == 1:
            msgs = suggestion_messages(fns[0], fns[0].source, test_src, test_id, error, ctx.issue, self.suggestions,
                                       class_context=outline)
        else:
            msgs = multi_suggestion_messages([(f, f.source) for f in fns], test_src, test_id, error, ctx.issue, self.suggestions)
        answer = self._call(self.suggest_model, msgs, n=1, temperature=self.suggest_temperature, max_tokens=SUGGEST_MAX_TOKENS)[0]
        root, suggestions = parse_suggestions(answer)
        if not suggestions:
            if not answer.strip():
                self._reject("suggestion: empty answer")
                return
            suggestions = [Suggestion("fix", answer.strip())]  # a free-form answer is still advice
        max_new = max(256, 2 * sum(estimate_tokens(f.source) for f in fns))
        for k, sug in enumerate(suggestions[: self.suggestions], 1):
            if len(fns) == 1:
                pm = patch_messages(fns[0], fns[0].source, root, sug, class_context=outline)
            else:
                pm = multi_patch_messages([(f, f.source) for f in fns], root, sug)
            answers = self._call(self.patch_model, pm, n=self.patches, temperature=self.patch_temperature,
                                 max_tokens=max_new, top_p=self.top_p)
            for j, text in enumerate(answers):
                cand = self._candidate(fns, files, text, f"srepair {label}: {sug.title or 'suggestion %d' % k}",
                                       prior=1.0 / (1 + 0.01 * (self.generated)),
                                       meta={"functions": [f.key for f in fns], "suggestion": k, "sample": j,
                                             "root_cause": root[:500], "suggestion_text": sug.text[:1000],
                                             "trigger_test": test_id})
                if cand is not None:
                    self.generated += 1
                    yield cand

    def _call(self, model, messages, **params) -> list[str]:
        out = model.complete(messages, **params)
        self._answered += 1
        return out

    def _candidate(self, fns: list[FunctionInfo], files: dict[str, str], text: str, description: str, prior: float,
                   meta: dict) -> Candidate | None:
        if len(fns) == 1:
            sections = {1: text}
        else:
            sections = split_function_sections(text)
            if not sections:
                # One answer without the IDs: each function may still be found by name.
                sections = {i: text for i in range(1, len(fns) + 1)}
        edits, notes, imports = [], [], {}
        multi = len(fns) > 1
        for i, fn in enumerate(fns, 1):
            section = sections.get(i)
            if section is None:
                notes.append(f"function {i}: no section, left unchanged")
                continue  # a group may hold functions the fix does not touch
            indent = indent_before(files[fn.path], fn.start_byte)
            if fn.language != "python":  # parsed with the language's grammar (repair/extract_ts.py)
                from patchwarden.repair.extract_ts import extract_ts_function

                got = extract_ts_function(section, fn, indent)
            else:
                got = extract_function(section, fn.name, fn.source, indent, known_names=_defined_names(files[fn.path]),
                                       language=fn.language, module_text=files[fn.path])
            if not got.ok:
                if multi and (got.reason.startswith("unchanged") or got.reason.startswith("no function named")):
                    notes.append(f"function {i}: left unchanged")
                    continue
                self._reject(got.reason if not multi else f"function {i}: {got.reason}")
                return None
            notes += got.notes
            imports.setdefault(fn.path, []).extend(got.imports)
            edits.append(FunctionEdit(fn.path, fn.qualname, fn.start_byte, fn.end_byte, got.source))
        if not edits:
            self._reject("no changed function in the answer")
            return None
        for path, lines in imports.items():
            edit, why = import_edit(path, files[path], lines) if lines else (None, "")
            if why:
                self._reject(why)
                return None
            if edit is not None:
                edits.append(edit)
                notes.append(f"added imports to {path}: {edit.new_source.strip()}")
        for path, text_ in files.items():
            mine = [e for e in edits if e.path == path]
            if mine and path.endswith(".py"):
                try:
                    safe_parse(apply_edits(text_, mine))
                except SyntaxError as e:
                    self._reject(f"patched file does not parse ({e.msg})")
                    return None
            elif mine:
                from patchwarden.repair.validate import compile_errors

                problem = compile_errors({path: apply_edits(text_, mine)})
                if problem:
                    self._reject(f"patched file does not parse ({problem})")
                    return None
        if notes:
            meta = {**meta, "extraction": notes}
        return Candidate(engine=self.name, edits=edits, description=description, prior=prior, meta=meta)


def _matches(spec: str, fn: FunctionInfo) -> bool:
    path, _, qual = spec.partition(":")
    return fn.path == path and (fn.qualname == qual or fn.name == qual)


def _defined_names(text: str) -> set[str]:
    try:
        tree = safe_parse(text)
    except SyntaxError:
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def check_srepair_config(cfg) -> None:
    """Cheap checks of the model options, to fail before any test runs (RepairInputError)."""

    suggest_spec = cfg.suggest_model or cfg.model
    patch_spec = cfg.patch_model or cfg.model
    if not cfg.replay and not (suggest_spec and patch_spec):
        raise RepairInputError(
            "--engine srepair needs a model: pass --model SPEC (openai:NAME, hf:PATH_OR_ID or vllm:PATH_OR_ID), "
            "or --suggest-model and --patch-model, or --replay RUN_DIR"
        )
    try:
        for spec in {suggest_spec, patch_spec} - {None}:
            parse_spec(spec)
        if cfg.replay:
            ReplaySource(cfg.replay)
    except ModelError as e:
        raise RepairInputError(str(e)) from e
    for flag, value in (("--max-calls", cfg.max_calls), ("--max-tokens", cfg.max_tokens), ("--max-cost", cfg.max_cost),
                        ("--suggestions", cfg.suggestions), ("--patches-per-suggestion", cfg.patches_per_suggestion)):
        if value is not None and value <= 0:
            raise RepairInputError(f"{flag} must be positive (got {value})")


def build_srepair_engine(cfg, log_dir: Path) -> SRepairEngine:
    """The engine for `--engine srepair` from a RepairConfig; its calls are logged in `log_dir`."""

    check_srepair_config(cfg)
    suggest_spec = cfg.suggest_model or cfg.model
    patch_spec = cfg.patch_model or cfg.model
    try:
        budget = Budget(Caps(cfg.max_calls, cfg.max_tokens, cfg.max_cost, cfg.price_in, cfg.price_out))
        log = CallLog(log_dir)
        replay, resume = (ReplaySource(cfg.replay) if cfg.replay else None), False
        if replay is None and cfg.resume and log.path.exists():
            # A killed run continues: its logged calls are answered from the log, not paid again.
            replay, resume = ReplaySource(log.path), True
        kw = dict(api_base=cfg.api_base, log_dir=log, caps=budget, replay=replay, resume=resume)
        suggest = load_model(suggest_spec, **kw)
        patch = suggest if patch_spec == suggest_spec else load_model(patch_spec, **kw)
    except ModelError as e:
        raise RepairInputError(str(e)) from e
    return SRepairEngine(suggest, patch, cfg.suggestions, cfg.patches_per_suggestion, functions=cfg.functions)


ENGINE = EngineEntry("srepair", build_srepair_engine, rank=1, check=check_srepair_config)
