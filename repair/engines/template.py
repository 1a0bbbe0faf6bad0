"""The template engine: classic single-edit fix patterns, ranked, without any model.

For each suspicious function it parses the exact function text with libcst, lets the operators
in `mutations.py` propose single-node edits, ranks all of them by
function suspiciousness x line suspiciousness x operator prior, and renders them lazily (best
first) into whole-function replacements until the count or time budget is spent.
"""
from __future__ import annotations

import ast
import re
import time
import warnings
from dataclasses import dataclass
from typing import Iterable, Iterator

import libcst as cst

from repair.core import BugContext, Candidate, FunctionEdit, FunctionInfo, SuspiciousFunction, normalize_source
from repair.engines.mutations import OPERATORS, Mutation, ParsedFunction, analyse, code, collect_mutations

WRAPPER = "if 1:\n"  # lets an indented method (its first line starts at the `def`/decorator) parse
UNCOVERED = 1e-3  # line factor for lines no failing test executed: after every covered line


def parse_function(source: str) -> ParsedFunction | None:
    """Parse a FunctionInfo source. Its first line starts at the `def` (or decorator) column and
    the following lines keep their absolute indentation, so a method parses either as-is or,
    when decorated, inside a wrapper block indented like the `def`."""
    try:
        module = cst.parse_module(source)
        if _is_function(module):
            return analyse(module, "")
    except cst.ParserSyntaxError:
        pass
    indents = sorted({m.group(0) for m in re.finditer(r"(?m)^[ \t]+(?=\S)", source)}, key=len)
    for indent in indents:
        prefix = WRAPPER + indent
        try:
            module = cst.parse_module(prefix + source)
        except cst.ParserSyntaxError:
            continue
        if module.code.startswith(prefix) and _is_function(module.body[0].body):
            return analyse(module, prefix)
    return None


def _is_function(container) -> bool:
    body = container.body
    return len(body) == 1 and isinstance(body[0], cst.FunctionDef)


def render(pf: ParsedFunction, m: Mutation) -> str:
    """The whole function text with the mutation applied (same indentation context)."""
    text = _splice(pf, m)
    if text is None:  # statements and blocks carry indentation state: let libcst rebuild the tree
        if m.replacement is None:
            text = pf.module.deep_remove(m.target).code
        else:
            text = pf.module.deep_replace(m.target, m.replacement).code
    if not text.startswith(pf.prefix):
        raise ValueError("wrapper lost")
    return text[len(pf.prefix):]


def _splice(pf: ParsedFunction, m: Mutation) -> str | None:
    """Fast path for expression-level edits: replace the target's exact text span.
    Rebuilding the whole tree per candidate costs ~20 ms; a splice costs microseconds."""
    if m.replacement is None or not isinstance(m.target, (cst.BaseExpression, cst.BaseSmallStatement)):
        return None
    span = pf.spans.get(m.target)
    if span is None:
        return None
    start, end = pf.offset(span.start), pf.offset(span.end)
    old = pf.text
    if old[start:end] != code(m.target):  # the span must be exactly what libcst would print
        return None
    return old[:start] + code(m.replacement) + old[end:]


def _compiles(text: str, full: bool) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. SyntaxWarning for `x is 0` in the user's own code
        try:
            if full:
                compile(text, "<candidate>", "exec", dont_inherit=True)
            else:
                ast.parse(text)
            return True
        except (SyntaxError, ValueError):
            return False


def _short(label: str, limit: int = 100) -> str:
    label = re.sub(r"\s+", " ", label)
    return label if len(label) <= limit else label[: limit - 3] + "..."


@dataclass
class _Site:
    score: float
    rank: int
    line: int  # absolute line in the file
    seq: int
    sf: SuspiciousFunction
    pf: ParsedFunction
    mutation: Mutation
    full_compile: bool


class TemplateEngine:
    """Single-edit candidates from classic fix patterns, best first.

    max_candidates: how many candidates to yield at most; time_budget: seconds for generation
    (None = no limit); operators: a subset of `OPERATORS` (None = all of them).
    """

    name = "template"

    def __init__(self, max_candidates: int = 500, time_budget: float | None = 60.0,
                 operators: Iterable[str] | None = None):
        self.max_candidates = max_candidates
        self.time_budget = time_budget
        chosen = set(OPERATORS if operators is None else operators)
        unknown = chosen - set(OPERATORS)
        if unknown:
            raise ValueError(f"unknown template operators {sorted(unknown)}; choose from {', '.join(OPERATORS)}")
        self.operators = chosen

    def generate(self, ctx: BugContext) -> Iterator[Candidate]:
        deadline = None if self.time_budget is None else time.monotonic() + self.time_budget
        sites = self._rank(ctx.suspicious, deadline)
        seen: set[str] = set()
        originals = {sf.function.key: normalize_source(sf.function.source) for sf in ctx.suspicious}
        emitted = 0
        for site in sites:
            if emitted >= self.max_candidates or (deadline is not None and time.monotonic() > deadline):
                return
            fn = site.sf.function
            try:
                source = render(site.pf, site.mutation)
            except Exception:  # an edit libcst cannot render (e.g. removing a required node)
                continue
            if normalize_source(source) == originals[fn.key] or not _compiles(site.pf.prefix + source, site.full_compile):
                continue
            m = site.mutation
            cand = Candidate(
                engine=self.name,
                edits=[FunctionEdit(fn.path, fn.qualname, fn.start_byte, fn.end_byte, source)],
                description=_short(f"line {site.line}: {m.label}"),
                prior=site.score,
                meta={"operator": m.operator, "line": site.line, "function": fn.key},
            )
            if cand.id in seen:
                continue
            seen.add(cand.id)
            emitted += 1
            yield cand

    def _rank(self, suspicious: list[SuspiciousFunction], deadline: float | None) -> list[_Site]:
        sites: list[_Site] = []
        seq = 0
        for rank, sf in enumerate(suspicious):
            if deadline is not None and time.monotonic() > deadline:
                break
            fn = sf.function
            if fn.language != "python":
                continue
            pf = parse_function(fn.source)
            if pf is None:
                continue
            full = _compiles(pf.prefix + fn.source, True)
            fscore = sf.score if sf.score > 0 else 1e-6
            offset = fn.start_line - 1 - pf.prefix.count("\n")
            for m in collect_mutations(pf, self.operators):
                line = m.line + offset
                score = fscore * line_factor(sf.line_scores, line) * m.prior
                sites.append(_Site(score, rank, line, seq, sf, pf, m, full))
                seq += 1
        sites.sort(key=lambda s: (-s.score, s.rank, s.line, s.seq))
        return sites


def line_factor(line_scores: dict[int, float], line: int) -> float:
    """Suspiciousness of one line; lines no failing test ran come after all covered ones."""
    if not line_scores:
        return 1.0
    score = line_scores.get(line, 0.0)
    if score > 0:
        return score
    return UNCOVERED * min((s for s in line_scores.values() if s > 0), default=1.0)


def function_info(path: str, qualname: str, source: str, start_line: int = 1, start_byte: int = 0) -> FunctionInfo:
    """A FunctionInfo for a function text (tests and scripts that do not go through the extractor)."""
    lines = source.count("\n") + (0 if source.endswith("\n") else 1)
    return FunctionInfo(path=path, qualname=qualname, name=qualname.rsplit(".", 1)[-1], start_line=start_line,
                        end_line=start_line + lines - 1, start_byte=start_byte,
                        end_byte=start_byte + len(source.encode()), source=source)
