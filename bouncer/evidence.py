"""An evidence output bouncer for our own patches: should we trust this plausible patch?

Evidence (all gathered by the repair run, nothing executed here):
- the trigger tests pass with the patch, and the rest of the suite does not regress;
- the patch does not edit tests;
- the patch does not special-case literal values taken from the failing tests
  (`if x == 3: return 7` where 3 and 7 appear in the tests' asserts);
- independent candidates agree with it (same normalized patch or same behaviour);
- the patch is small.
Each piece adds to a log-odds score (weights set by reasoning, see WEIGHTS); an
optional LLM judge's confidence joins as one more log-odds term. `confidence` is the
logistic of the sum, and the patch bounces when confidence < threshold.
"""
from __future__ import annotations

import ast
import io
import math
import re
import tokenize
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath

from patchwarden.sandboxes.safe_ast import safe_parse

from .decision import OUTPUT_LABELS, Decision, rubric_label, sigmoid

WEIGHTS = {
    "bias": 0.6,
    "trigger_failed": -5.0,  # the patch does not even pass the tests it was made for
    "suite_clean": 0.8,  # full suite run, no regressions
    "regressions": -3.5,
    "edits_tests": -3.5,
    "special_case": -2.5,  # per condition on a test literal, at most 2
    "returns_test_literal": -1.0,  # a special case that also returns a test literal
    "agreeing": 0.7,  # per other candidate that agrees, at most 3
    "lone_minority": -0.6,  # several candidates, none agrees with this one (alone it never outweighs passing tests)
    "small": 0.3,  # <= 6 changed lines
    "large": -0.6,  # > 40 changed lines (another -0.6 past 150)
    "empty": -6.0,
    "llm": 1.0,  # times the LLM judge's log-odds
}
TRIVIAL_LITERALS = frozenset({"None", "True", "False", "0", "1", "-1", "2", "''", "[]", "()", "{}", "set()"})
_TEST_PATH = re.compile(r"(^|/)(tests?|testing)/|(^|/)test_[^/]*\.py$|_tests?\.py$|(^|/)conftest\.py$")


@dataclass
class PatchEvidence:
    """What the output gate needs to know about one candidate patch.

    patch: the unified diff (a/ b/ paths relative to the repo root).
    trigger_tests: node ids of the tests that failed before the patch.
    test_sources: node id -> source text of each trigger test (for literal special-casing).
    trigger_passed: every trigger test passes with the patch (None = not run).
    regressions: previously passing tests that now fail (None = full suite not run).
    agreeing: plausible candidates (this one included) with the same normalized patch or behaviour.
    plausible: plausible candidates in all (>= agreeing).
    issue: the issue text, for the optional LLM judge.
    """

    patch: str
    trigger_tests: list[str] = field(default_factory=list)
    test_sources: dict[str, str] = field(default_factory=dict)
    trigger_passed: bool | None = None
    regressions: int | None = None
    agreeing: int = 1
    plausible: int = 1
    issue: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


# -- diff reading -----------------------------------------------------------------------
@dataclass
class DiffSummary:
    files: list[str]
    added: list[str]
    removed: list[str]


def read_diff(patch: str) -> DiffSummary:
    files: list[str] = []
    added: list[str] = []
    removed: list[str] = []
    for line in patch.splitlines():
        if line.startswith("+++ ") or line.startswith("--- "):
            path = line[4:].split("\t")[0].strip()
            if path != "/dev/null":
                path = re.sub(r"^[ab]/", "", path)
                if path not in files:
                    files.append(path)
        elif line.startswith("+"):
            added.append(line[1:])
        elif line.startswith("-"):
            removed.append(line[1:])
    return DiffSummary(files, added, removed)


def is_test_path(path: str, trigger_files: set[str] = frozenset()) -> bool:
    posix = str(PurePosixPath(path))
    return bool(_TEST_PATH.search(posix)) or posix in trigger_files


# -- literal special-casing ---------------------------------------------------------------
def _canonical(value) -> str:
    """One spelling per value: 3 == 3.0, (1, 2) == [1, 2]."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, float) and value.is_integer():
        return repr(int(value))
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_canonical(v) for v in value) + "]"
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(sorted(_canonical(v) for v in value)) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_canonical(k)}: {_canonical(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _literal(node: ast.AST) -> str | None:
    try:
        return _canonical(ast.literal_eval(node))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def literals_in_tests(sources: list[str]) -> set[str]:
    """Every literal value in the test sources (whole lists and their elements)."""
    found: set[str] = set()
    for src in sources:
        try:
            tree = safe_parse(src)
        except SyntaxError:
            found |= _token_literals(src)
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Constant, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.UnaryOp)):
                value = _literal(node)
                if value is not None:
                    found.add(value)
    return found - TRIVIAL_LITERALS


def _token_literals(src: str) -> set[str]:
    out: set[str] = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(src).readline):
            if tok.type in (tokenize.NUMBER, tokenize.STRING):
                value = _literal(safe_parse(tok.string, mode="eval").body)
                if value is not None:
                    out.add(value)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    return out


_COND = re.compile(r"^\s*(if|elif|while|assert|case)\s+(.*)$")
_RETURN = re.compile(r"^\s*return\s+(.+?)\s*(?:#.*)?$")


def _split_condition(rest: str) -> tuple[str, str]:
    """`x == 3: return 7` -> ("x == 3", " return 7"): the first colon that ends a valid expression."""
    for idx in [m.start() for m in re.finditer(":", rest)]:
        try:
            safe_parse(rest[:idx].strip(), mode="eval")
        except SyntaxError:
            continue
        return rest[:idx], rest[idx + 1 :]
    return rest, ""


def _equality_literals(expr: str) -> list[str]:
    """Literals compared for (in)equality or membership in a condition expression."""
    try:
        tree = safe_parse(expr.strip(), mode="eval")
    except SyntaxError:
        return []
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn, ast.Is)) for op in node.ops):
            for side in [node.left, *node.comparators]:
                value = _literal(side)
                if value is not None:
                    out.append(value)
                    if isinstance(side, (ast.List, ast.Tuple, ast.Set)):  # `x in (3, 4)`
                        out += [v for v in (_literal(e) for e in side.elts) if v is not None]
    return out


def _shape(line: str) -> str:
    """A line with its literals masked: `if n == 3:` and `if n == 4:` have one shape."""
    try:
        toks = tokenize.generate_tokens(io.StringIO(line.strip() + "\n").readline)
        return " ".join("LIT" if t.type in (tokenize.NUMBER, tokenize.STRING) else t.string for t in toks if t.string.strip())
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return line.strip()


def special_cases(added_lines: list[str], literals: set[str], removed_lines: list[str] = ()) -> list[dict]:
    """New conditions that test for a literal taken from the tests, and what they return.

    A condition whose shape was already there (only its constant changed, `n == 3` -> `n == 4`)
    is an ordinary constant fix, not a new special case.
    """
    hits = []
    old_shapes = {_shape(l) for l in removed_lines}
    for i, line in enumerate(added_lines):
        if old_shapes and _shape(line) in old_shapes:
            continue
        match = _COND.match(line)
        inline = ""
        if match:
            expr, inline = _split_condition(match.group(2))
            if match.group(1) == "case":  # `case 3:` compares the subject with 3
                expr = f"_ == ({expr})"
        elif "==" in line or " in " in line:
            expr = line.split("=", 1)[1] if re.match(r"^\s*\w+\s*=[^=]", line) else line
        else:
            continue
        matched = [v for v in _equality_literals(expr) if v in literals]
        if not matched:
            continue
        returned = None
        for follow in ([inline] if inline.strip() else []) + added_lines[i + 1 : i + 3]:
            ret = _RETURN.match(follow)
            if ret:
                try:
                    value = _literal(safe_parse(ret.group(1), mode="eval").body)
                except SyntaxError:
                    value = None
                returned = value if value in literals else None
                break
        hits.append({"line": line.strip(), "literals": sorted(set(matched)), "returns": returned})
    return hits


# -- the bouncer --------------------------------------------------------------------------
def _logit(p: float) -> float:
    p = min(max(p, 1e-3), 1 - 1e-3)
    return math.log(p / (1 - p))


def patch_features(ev: PatchEvidence) -> dict:
    diff = read_diff(ev.patch)
    trigger_files = {t.split("::", 1)[0] for t in ev.trigger_tests}
    literals = literals_in_tests(list(ev.test_sources.values()))
    changed = [l for l in diff.added + diff.removed if l.strip()]
    return {
        "files": diff.files,
        "changed_lines": len(changed),
        "edits_tests": [f for f in diff.files if is_test_path(f, trigger_files)],
        "special_cases": special_cases(diff.added, literals, diff.removed),
        "trigger_passed": ev.trigger_passed,
        "regressions": ev.regressions,
        "agreeing": ev.agreeing,
        "plausible": ev.plausible,
    }


def evidence_logit(f: dict) -> tuple[float, list[str]]:
    """Log-odds that the patch is correct, with the reasons in words."""
    w, z, why = WEIGHTS, WEIGHTS["bias"], []
    if f["changed_lines"] == 0:
        z += w["empty"]
        why.append("the patch changes nothing")
    if f["trigger_passed"] is False:
        z += w["trigger_failed"]
        why.append("trigger tests still fail")
    if f["regressions"]:
        z += w["regressions"]
        why.append(f"{f['regressions']} previously passing test(s) now fail")
    elif f["regressions"] == 0:
        z += w["suite_clean"]
        why.append("full suite passes")
    if f["edits_tests"]:
        z += w["edits_tests"]
        why.append("edits test files " + ", ".join(f["edits_tests"][:3]))
    if f["special_cases"]:
        z += w["special_case"] * min(len(f["special_cases"]), 2)
        if any(h["returns"] is not None for h in f["special_cases"]):
            z += w["returns_test_literal"]
        lits = sorted({v for h in f["special_cases"] for v in h["literals"]})
        why.append("special-cases test literal(s) " + ", ".join(lits[:4]))
    others = max(f["agreeing"] - 1, 0)
    if others:
        z += w["agreeing"] * min(others, 3)
        why.append(f"{others} other candidate(s) agree")
    elif f["plausible"] >= 3:
        z += w["lone_minority"]
        why.append(f"none of {f['plausible'] - 1} other plausible candidates agree")
    n = f["changed_lines"]
    if 0 < n <= 6:
        z += w["small"]
    elif n > 40:
        z += w["large"] * (2 if n > 150 else 1)
        why.append(f"large patch ({n} changed lines)")
    return z, why


class EvidenceOutputBouncer:
    """Scores a patch from the evidence a repair run gathered; optionally asks an LLM judge too."""

    name = "evidence-output"

    def __init__(self, threshold: float = 0.5, llm_judge=None, fallback: bool = True):
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold {threshold} outside [0, 1]")
        self.threshold = threshold
        self.llm_judge = llm_judge  # an LLMOutputBouncer, or None
        self.fallback = fallback  # False: a judge that fails raises instead of being left out

    def judge_evidence(self, ev: PatchEvidence) -> Decision:
        f = patch_features(ev)
        z, why = evidence_logit(f)
        trace = {}
        if self.llm_judge is not None:
            try:
                verdict = self.llm_judge.judge(ev.issue or "", ev.patch)
            except Exception as exc:  # the evidence still stands without the judge
                if not self.fallback:
                    raise
                verdict = None
                trace["llm_error"] = str(exc)[:500]
                why.append(f"LLM judge unavailable ({type(exc).__name__})")
            if verdict is not None:
                trace["llm"] = verdict.to_dict()
            if verdict is not None and verdict.label != "UNPARSED":
                z += WEIGHTS["llm"] * _logit(verdict.confidence)
                why.append(f"LLM judge says {verdict.label}")
        confidence = sigmoid(z)
        bounce = confidence < self.threshold
        head = "untrustworthy" if bounce else "trustworthy"
        return Decision(
            bounce=bounce,
            confidence=round(confidence, 4),
            label=rubric_label(confidence, self.threshold, OUTPUT_LABELS),
            explanation=f"{head} (confidence {confidence:.2f} vs threshold {self.threshold:.2f}): " + ("; ".join(why) or "no evidence either way"),
            features=f,
            trace=trace,
        )

    def judge(self, issue: str, patch: str) -> Decision:
        """Protocol form: only the diff is known (no test evidence)."""
        return self.judge_evidence(PatchEvidence(patch=patch, issue=issue))
