"""The template engine: classic single-edit fix patterns, ranked, without any model.

For each suspicious function it parses the exact function text with libcst, lets the operators
in `mutations.py` propose single-node edits, ranks all of them by
function suspiciousness x line suspiciousness x operator prior, and renders them lazily (best
first) into whole-function replacements until the count or time budget is spent.
"""
from __future__ import annotations

import dataclasses
import heapq
import re
import time
import warnings
from dataclasses import dataclass
from typing import Iterable, Iterator

import libcst as cst

from patchwarden.repair.bug_context import BugContext, FunctionInfo, SuspiciousFunction
from patchwarden.repair.candidate import Candidate, FunctionEdit, normalize_source
from patchwarden.repair.engines.base import EngineEntry, NoModel
from patchwarden.repair.engines.cst_tools import ParsedFunction, analyse, code
from patchwarden.repair.engines.mutations import OPERATORS, PRIORS, Mutation, collect_mutations
from patchwarden.repair.engines.ts_template import TS_OPERATORS, TS_PRIORS, collect_ts_mutations, parses
from patchwarden.sandboxes.safe_ast import safe_parse
from patchwarden.repair.source_io import read_source

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
    replacement = m.build()
    text = _splice(pf, m.target, replacement)
    if text is None:  # statements and blocks carry indentation state: let libcst print the tree
        text = _path_copy(pf, m.target, replacement).code
    if not text.startswith(pf.prefix):
        raise ValueError("wrapper lost")
    return text[len(pf.prefix):]


def _path_copy(pf: ParsedFunction, target: cst.CSTNode, replacement: cst.CSTNode | None) -> cst.Module:
    """The module with `target` replaced (or removed), rebuilding only its ancestors.
    libcst's deep_replace re-creates every node of the tree; this is O(depth)."""
    node, new = target, replacement
    while True:
        parent = pf.parents.get(node)
        if parent is None:
            return new
        node, new = parent, _swap_child(parent, node, new)


def _swap_child(parent: cst.CSTNode, child: cst.CSTNode, new: cst.CSTNode | None) -> cst.CSTNode:
    for f in dataclasses.fields(parent):
        value = getattr(parent, f.name)
        if value is child:
            return parent.with_changes(**{f.name: new})
        if isinstance(value, (tuple, list)) and any(x is child for x in value):
            items = [new if x is child else x for x in value if not (x is child and new is None)]
            return parent.with_changes(**{f.name: type(value)(items)})
    raise ValueError(f"{type(child).__name__} is not a child of {type(parent).__name__}")


def _splice(pf: ParsedFunction, target: cst.CSTNode, replacement: cst.CSTNode | None) -> str | None:
    """Fast path for expression-level edits: replace the target's exact text span.
    Rebuilding the whole tree per candidate costs ~20 ms; a splice costs microseconds."""
    if replacement is None or not isinstance(target, (cst.BaseExpression, cst.BaseSmallStatement)):
        return None
    span = pf.spans.get(target)
    if span is None:
        return None
    start, end = pf.offset(span.start), pf.offset(span.end)
    old = pf.text
    if old[start:end] != code(target):  # the span must be exactly what libcst would print
        return None
    return old[:start] + code(replacement) + old[end:]


def _compiles(text: str, full: bool) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. SyntaxWarning for `x is 0` in the user's own code
        try:
            if full:
                compile(text, "<candidate>", "exec", dont_inherit=True)
            else:
                safe_parse(text)
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
    sf: SuspiciousFunction
    pf: ParsedFunction | None  # None: a tree-sitter language (mutation is a TSMutation)
    mutation: Mutation
    full_compile: bool  # the original compiles on its own, so candidates must too (else: parse only)
    original: str  # normalized original source, to skip no-op edits


class TemplateEngine(NoModel):
    """Single-edit candidates from classic fix patterns, best first.

    max_candidates: how many candidates to yield at most; time_budget: seconds for generation
    (None = no limit); operators: a subset of `OPERATORS` (None = all of them).
    """

    name = "template"

    def __init__(self, max_candidates: int = 500, time_budget: float | None = 60.0,
                 operators: Iterable[str] | None = None):
        self.max_candidates = max_candidates
        self.time_budget = time_budget
        known = set(OPERATORS) | set(TS_OPERATORS)  # Python's, and those of the tree-sitter languages
        chosen = known if operators is None else set(operators)
        unknown = chosen - known
        if unknown:
            raise ValueError(f"unknown template operators {sorted(unknown)}; choose from {', '.join(sorted(known))}")
        self.operators = chosen

    def generate(self, ctx: BugContext) -> Iterator[Candidate]:
        """Candidates best first. Functions are parsed lazily: one is only analysed once its best
        possible score (function score x best line score x the highest prior) could compete."""
        deadline = None if self.time_budget is None else time.monotonic() + self.time_budget
        self._files: dict[str, str | None] = {}
        self._repo = ctx.repo
        pending = sorted(((-_bound(sf), rank, sf) for rank, sf in enumerate(ctx.suspicious)), key=lambda t: (t[0], t[1]))
        pending.reverse()  # pop() takes the most promising function
        heap: list[tuple] = []
        seen: set[str] = set()
        emitted, seq = 0, 0
        while emitted < self.max_candidates:
            if deadline is not None and time.monotonic() > deadline:
                return
            while pending and (not heap or -pending[-1][0] >= -heap[0][0]):
                _, rank, sf = pending.pop()
                for site in self._sites(sf, rank):
                    heapq.heappush(heap, (-site.score, rank, site.line, seq, site))
                    seq += 1
                if deadline is not None and time.monotonic() > deadline:
                    return
            if not heap:
                return
            site = heapq.heappop(heap)[-1]
            cand = self._candidate(site)
            if cand is None or cand.id in seen:
                continue
            seen.add(cand.id)
            emitted += 1
            yield cand

    def _file_text(self, path: str) -> str | None:
        if path not in self._files:
            try:
                self._files[path] = read_source(self._repo / path)
            except (OSError, UnicodeError, TypeError):
                self._files[path] = None
        return self._files[path]

    def _ts_sites(self, sf: SuspiciousFunction, rank: int) -> list[_Site]:
        """Java/JavaScript/TypeScript: tree-sitter operators (engines/ts_template.py)."""
        fn = sf.function
        text = self._file_text(fn.path)
        if text is None or text.encode()[fn.start_byte:fn.end_byte].decode(errors="replace") != fn.source:
            return []  # the file changed since localization
        fscore = sf.score if sf.score > 0 else 1e-6
        return [_Site(fscore * line_factor(sf.line_scores, m.line) * m.prior, rank, m.line, sf, None, m, True,
                      normalize_source(fn.source))
                for m in collect_ts_mutations(fn, text, self.operators)]

    def _sites(self, sf: SuspiciousFunction, rank: int) -> list[_Site]:
        fn = sf.function
        if fn.language != "python":
            return self._ts_sites(sf, rank)
        pf = parse_function(fn.source)
        if pf is None:
            return []
        full = _compiles(pf.prefix + fn.source, True)
        fscore = sf.score if sf.score > 0 else 1e-6
        offset = fn.start_line - 1 - pf.prefix.count("\n")
        sites = []
        for m in collect_mutations(pf, self.operators):
            line = m.line + offset
            sites.append(_Site(fscore * line_factor(sf.line_scores, line) * m.prior, rank, line, sf, pf, m, full,
                               normalize_source(fn.source)))
        return sites

    def _candidate(self, site: _Site) -> Candidate | None:
        fn, m = site.sf.function, site.mutation
        if site.pf is None:  # a tree-sitter language: a text edit, kept when the file still parses
            source = m.apply(fn)
            if normalize_source(source) == site.original or not parses(fn, self._file_text(fn.path), source):
                return None
        else:
            try:
                source = render(site.pf, m)
            except Exception:  # an edit libcst cannot render (e.g. a node a field requires)
                return None
            if normalize_source(source) == site.original or not _compiles(site.pf.prefix + source, site.full_compile):
                return None
        return Candidate(
            engine=self.name,
            edits=[FunctionEdit(fn.path, fn.qualname, fn.start_byte, fn.end_byte, source)],
            description=_short(f"line {site.line}: {m.label}"),
            prior=site.score,
            meta={"operator": m.operator, "line": site.line, "function": fn.key, "operator_prior": round(m.prior, 4)},
        )


def _bound(sf: SuspiciousFunction) -> float:
    """The best score any edit of this function can get (see generate)."""
    fscore = sf.score if sf.score > 0 else 1e-6
    priors = PRIORS if sf.function.language == "python" else TS_PRIORS
    return fscore * max(line_factor(sf.line_scores, line) for line in (sf.line_scores or [0])) * max(priors.values())


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


def build_template_engine(cfg, run_dir=None) -> TemplateEngine:
    return TemplateEngine(max_candidates=cfg.max_candidates, time_budget=cfg.time_budget)


ENGINE = EngineEntry("template", build_template_engine, rank=0)
