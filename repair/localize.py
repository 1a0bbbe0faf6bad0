"""Function-level fault localization.

Two kinds of evidence, combined:
- tracebacks: functions of the repo (not tests) on the failing tests' stacks, the frame
  nearest the exception weighing most;
- spectrum: per-test line coverage scored with Ochiai at function level
  (ef / sqrt(total_failing * (ef + ep)), a function "covered" when any of its lines is).
- static: the repository functions a failing test imports and uses (repair.test_calls), a
  tie-breaker that needs nothing from the test environment (and the only evidence when the
  other two have none).
Line-level Ochiai scores are kept for the engines to order edits inside a function.
"""
from __future__ import annotations

import math
from collections import defaultdict

from .bug_context import FunctionInfo, SuspiciousFunction
from .source_functions import function_at, is_test_file
from .testrun import TestRun, traceback_frames

TRACEBACK_WEIGHT = 0.5
SPECTRUM_WEIGHT = 0.5
# Static evidence only breaks ties and ranks functions nothing dynamic implicates: the function a
# test calls directly is often just the caller of the buggy one (tracebacks/coverage know better).
STATIC_WEIGHT = 0.01
FRAME_DECAY = 0.7  # each frame further from the exception counts this much less


def ochiai(ef: int, ep: int, total_failing: int) -> float:
    if ef == 0 or total_failing == 0:
        return 0.0
    return ef / math.sqrt(total_failing * (ef + ep))


def localize(run: TestRun, functions: list[FunctionInfo], workdir: str, pinned: list[str] | None = None,
             static: dict[str, list[str]] | None = None, language=None,
             files: list[str] | None = None) -> list[SuspiciousFunction]:
    """Rank functions by suspiciousness, most suspicious first. `static`: function key -> failing
    tests that use it (repair.test_calls). `language` (repair.languages; default Python) reads the
    traces' frames; `files`: the repository's files of that language, tests included (Java frames
    name a class, not a path)."""
    if language is None:
        frames_of, test_file = (lambda text: traceback_frames(text, workdir)), is_test_file
    else:
        frames_of, test_file = (lambda text: language.frames(text, workdir, files or [])), language.is_test_file
    failing = {r.nodeid for r in run.failing}
    passing = set(run.passing)
    by_key = {f.key: f for f in functions}
    evidence: dict[str, list[str]] = defaultdict(list)
    implicating: dict[str, set[str]] = defaultdict(set)  # function -> failing tests (for grouping)

    # Traceback evidence: per failing test, the repo frames from innermost outwards.
    tb_score: dict[str, float] = defaultdict(float)
    for result in run.failing:
        seen: set[str] = set()
        frames = [fr for fr in frames_of(result.traceback) if not test_file(fr[0])]
        for depth, (path, line, _func) in enumerate(reversed(frames)):
            fn = function_at(functions, path, line)
            if fn is None or fn.key in seen:
                continue
            seen.add(fn.key)
            implicating[fn.key].add(result.nodeid)
            weight = FRAME_DECAY**depth / max(1, len(failing))
            tb_score[fn.key] += weight
            where = "innermost repo frame" if depth == 0 else f"frame {depth} from the exception"
            evidence[fn.key].append(f"in the traceback of {result.nodeid} ({where}, line {line})")

    # Spectrum evidence.
    fn_score: dict[str, float] = {}
    line_scores: dict[str, dict[int, float]] = defaultdict(dict)
    if run.coverage:
        for fn in functions:
            lines = run.coverage.get(fn.path, {})
            fn_tests: set[str] = set()
            for line in range(fn.start_line, fn.end_line + 1):
                tests = set(lines.get(line, ()))
                if not tests:
                    continue
                fn_tests |= tests
                ef, ep = len(tests & failing), len(tests & passing)
                score = ochiai(ef, ep, len(failing))
                if score > 0:
                    line_scores[fn.key][line] = score
            ef, ep = len(fn_tests & failing), len(fn_tests & passing)
            implicating[fn.key] |= fn_tests & failing
            score = ochiai(ef, ep, len(failing))
            if score > 0:
                fn_score[fn.key] = score
                evidence[fn.key].append(f"covered by {ef}/{len(failing)} failing and {ep} passing tests (Ochiai {score:.2f})")
    else:
        # Without coverage, the lines of functions on failing stacks are all we know.
        for key in tb_score:
            fn = by_key[key]
            line_scores[key] = {line: 1.0 for line in range(fn.start_line, fn.end_line + 1)}

    static_score: dict[str, float] = {}
    for key, tests in (static or {}).items():
        if key in by_key:
            static_score[key] = len(set(tests) & failing) / max(1, len(failing))
            evidence[key].append(f"used by {len(tests)} failing test(s) in their source, e.g. {tests[0]} (static)")
            if key not in line_scores:
                fn = by_key[key]
                line_scores[key] = {line: 1.0 for line in range(fn.start_line, fn.end_line + 1)}

    spectrum_weight = SPECTRUM_WEIGHT if run.coverage else 0.0
    tb_weight = TRACEBACK_WEIGHT if run.coverage else 1.0
    ranked: list[SuspiciousFunction] = []
    for key in set(tb_score) | set(fn_score) | set(static_score):
        score = tb_weight * min(1.0, tb_score.get(key, 0.0)) + spectrum_weight * fn_score.get(key, 0.0) \
            + STATIC_WEIGHT * static_score.get(key, 0.0)
        ranked.append(SuspiciousFunction(by_key[key], round(score, 4), evidence[key], line_scores.get(key, {}),
                                         sorted(implicating[key])))

    if pinned:
        ranked = _pin(ranked, functions, pinned)
    # Ties: more lines covered by failing tests, then shorter functions (fewer places to hide).
    ranked.sort(key=lambda s: (-s.score, -len(s.line_scores), s.function.end_line - s.function.start_line, s.function.key))
    return ranked


def _pin(ranked: list[SuspiciousFunction], functions: list[FunctionInfo], pinned: list[str]) -> list[SuspiciousFunction]:
    """Keep only the functions the user named ("path.py:qualname"), in their order."""
    found = {s.function.key: s for s in ranked}
    out = []
    for i, spec in enumerate(pinned):
        path, _, qual = spec.partition(":")
        matches = [f for f in functions if f.path == path and (f.qualname == qual or f.name == qual)]
        if not matches:
            raise ValueError(f"--functions: no function {qual!r} in {path!r}; use PATH.py:QUALNAME as listed by `patchwarden localize`")
        fn = matches[0]
        s = found.get(fn.key) or SuspiciousFunction(fn, 0.0, [], {})
        lines = s.line_scores or {line: 1.0 for line in range(fn.start_line, fn.end_line + 1)}
        out.append(SuspiciousFunction(fn, 1.0 - i * 1e-3, s.evidence + ["pinned with --functions"], lines, s.failing_tests))
    return out
