"""Which functions a model engine repairs together: groups the failing tests implicate jointly.

A bug that spans functions is fixed only when they change together (SRepair's multi-function
mode). Without `--functions`, groups come from the evidence of the failing tests:

- ends: different failing tests end (innermost frame) in different functions;
- stack: one failing test's traceback passes through several functions;
- co-covered: functions covered by the same failing tests as the most suspicious one;
- called by the test: one failing test calls several functions;
- same class / same module: suspicious functions that live together;
- callers: functions of the module that call the most suspicious one (a fix there may need its
  callers to change too, even when their tests still pass because two bugs cancel out).

Groups with the strongest evidence (ends, --functions) come before single functions; the others
after them, so they cost model calls only when single-function candidates have not validated
(the pipeline pulls candidates lazily and stops at a plausible patch). A group may hold more
functions than the fix touches: the model may leave a function unchanged.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from patchwarden.repair.bug_context import BugContext, FunctionInfo, SuspiciousFunction
from patchwarden.sandboxes.safe_ast import safe_parse
from patchwarden.sandboxes.testresults import TestResult

FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+), in |^(?P<file2>[^\s:]+\.py):(?P<line2>\d+):', re.M)


@dataclass
class Group:
    functions: list[SuspiciousFunction]
    reasons: list[str] = field(default_factory=list)
    first: bool = False  # tried before single functions

    @property
    def keys(self) -> list[str]:
        return [s.function.key for s in self.functions]

    def to_dict(self) -> dict:
        return {"functions": self.keys, "reasons": self.reasons, "when": "before single functions" if self.first
                else ("single function" if len(self.functions) == 1 else "after single functions")}


def stack_functions(result: TestResult, functions: list[FunctionInfo]) -> list[FunctionInfo]:
    """The given functions on a failing test's traceback, outermost first (innermost last)."""
    out: list[FunctionInfo] = []
    for m in FRAME.finditer(result.traceback or ""):
        path = m.group("file") or m.group("file2")
        line = int(m.group("line") or m.group("line2"))
        for fn in functions:
            if (path == fn.path or path.endswith("/" + fn.path)) and fn.start_line <= line <= fn.end_line:
                out.append(fn)
    return out


def _called_names(source: str) -> set[str]:
    try:
        tree = safe_parse(source)
    except SyntaxError:
        return set()
    out = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Call):
            f = n.func
            out.add(f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else "")
    return out - {""}


def _inside(inner: FunctionInfo, outer: FunctionInfo) -> bool:
    return inner.path == outer.path and outer.start_byte <= inner.start_byte and inner.end_byte <= outer.end_byte


def _callers(ctx: BugContext, target: FunctionInfo) -> list[SuspiciousFunction]:
    """Functions of the target's module that call it by name (not nested in it)."""
    from patchwarden.repair.source_functions import extract_functions

    try:
        fns = extract_functions((ctx.repo / target.path).read_text(encoding="utf-8"), target.path)
    except Exception:  # unreadable or unparsable: no callers to offer
        return []
    call = re.compile(rf"(?<![\w.]){re.escape(target.name)}\s*\(|\bself\.{re.escape(target.name)}\s*\(")
    return [SuspiciousFunction(fn, 0.0, [f"calls {target.qualname}"]) for fn in fns
            if fn.key != target.key and not _inside(fn, target) and call.search(fn.source.partition("\n")[2])]


def _class_of(fn: FunctionInfo) -> str:
    return fn.qualname.rpartition(".")[0]


def plan_groups(ctx: BugContext, *, max_functions: int = 3, max_group: int = 4, max_groups: int = 3,
                pool_size: int = 8) -> list[Group]:
    """Groups to try, in order: strong multi-function groups, single functions, other groups."""
    ranked = [s for s in ctx.suspicious if s.function.language == "python"]
    pool = ranked[: max(pool_size, max_group * 2)]
    rank = {s.function.key: i for i, s in enumerate(ranked)}
    by_key = {s.function.key: s for s in pool}
    found: dict[frozenset, Group] = {}

    def add(keys: list[str], reason: str, first: bool = False) -> None:
        keys = sorted(dict.fromkeys(k for k in keys if k in by_key), key=rank.get)
        keys = [k for k in keys if not any(_inside(by_key[k].function, by_key[o].function) for o in keys if o != k)]
        keys = keys[:max_group]  # a nested function is edited with its enclosing one, never beside it
        if len(keys) < 2:
            return
        g = found.setdefault(frozenset(keys), Group([by_key[k] for k in keys]))
        if reason not in g.reasons:
            g.reasons.append(reason)
        g.first = g.first or first

    fns = [s.function for s in pool]
    ends = []
    for result in ctx.failing:
        stack = stack_functions(result, fns)
        if stack:
            ends.append(stack[-1].key)
        add([f.key for f in stack], f"on the traceback of {result.nodeid}")
        called = _called_names(ctx.test_sources.get(result.nodeid, ""))
        add([s.function.key for s in pool if s.function.name in called], f"called by {result.nodeid}")
    add(ends, "different failing tests end in different functions", first=True)
    if pool and pool[0].failing_tests:
        top = set(pool[0].failing_tests)
        add([s.function.key for s in pool if top & set(s.failing_tests)],
            f"co-covered by failing test(s) of {pool[0].function.qualname}")
    for cls in dict.fromkeys(_class_of(s.function) for s in pool if _class_of(s.function)):
        add([s.function.key for s in pool if _class_of(s.function) == cls], f"methods of class {cls}")
    for path in dict.fromkeys(s.function.path for s in pool):
        add([s.function.key for s in pool if s.function.path == path], f"same module {path}")

    if pool:
        callers = _callers(ctx, pool[0].function)
        for s in callers:
            if s.function.key not in by_key:
                by_key[s.function.key] = s
                rank[s.function.key] = len(ranked) + len(rank)
        add([pool[0].function.key] + [s.function.key for s in callers], f"callers of {pool[0].function.qualname}")

    multi = sorted(found.values(), key=lambda g: (-len(g.reasons), min(rank[k] for k in g.keys), len(g.keys)))
    early = [g for g in multi if g.first]
    late = [g for g in multi if not g.first]
    singles = [Group([s], [f"rank {i + 1} of localization"]) for i, s in enumerate(ranked[:max_functions])]
    return early[:max_groups] + singles + late[: max(0, max_groups - len(early))]
