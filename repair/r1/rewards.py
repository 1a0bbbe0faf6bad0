"""The three Repair-R1 rewards (weight 1.0 each, total in [0, 3]), as TRL reward functions.

- format: 1 if the answer is exactly one ```json list of assert strings followed by exactly one
  ```python block that parses; else 0 (JSON that is not a list fails, unlike the released code).
- discriminative: fraction of the generated tests that pass on the reference fix AND fail on the
  buggy code (3 s per generated test); 0 unless the format holds.
- repair: pass rate of the fix on the hidden tests, asserts counted one by one (1 s per test).

TRL calls each reward with `prompts`, `completions` and every dataset column as keywords; the two
executing rewards are async, so TRL runs them concurrently and each fans its jobs out over the
runner's parallel workers.
"""
from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass

from .answer import Answer, completion_text, parse_answer, parses

BASE_TEST_TIMEOUT_S = 1.0
GENERATED_TEST_TIMEOUT_S = 3.0
MAX_GENERATED_TESTS = 32  # tests past this many are not run and count as not discriminative


@dataclass
class Scores:
    format: float
    discriminative: float
    repair: float
    n_tests: int = 0
    n_discriminative: int = 0
    fixed: bool = False  # the fix passes every hidden test

    def to_dict(self) -> dict:
        return asdict(self)


def format_score(answer: Answer) -> float:
    return 1.0 if answer.well_formed else 0.0


def fix_program(fix_context: str, fix: str) -> str:
    """The fix placed after the module's other code (imports, helpers), as the function-level patch."""
    return f"{fix_context.rstrip()}\n\n{fix}\n" if fix_context.strip() else f"{fix}\n"


def discriminative_jobs(answer: Answer, reference: str, buggy: str):
    """The two runs a well-formed answer's tests need: on the reference and on the buggy code."""
    tests = answer.tests[:MAX_GENERATED_TESTS]
    return (reference, tests, GENERATED_TEST_TIMEOUT_S), (buggy, tests, GENERATED_TEST_TIMEOUT_S)


def discriminative_score(answer: Answer, on_reference: list[bool], on_buggy: list[bool]) -> tuple[float, int]:
    if not answer.well_formed or not answer.tests:
        return 0.0, 0
    hits = sum(1 for ok_ref, ok_bug in zip(on_reference, on_buggy) if ok_ref and not ok_bug)
    return hits / len(answer.tests), hits


def repair_score(passed: list[bool], n_hidden: int) -> float:
    return sum(passed) / n_hidden if n_hidden else 0.0


def _can_run_fix(answer: Answer) -> bool:
    return bool(answer.fix and answer.fix.strip()) and parses(answer.fix)


def score_completion(runner, row: dict, text: str) -> Scores:
    """All three rewards for one completion, synchronously (evaluation, policy tests)."""
    return score_many(runner, [row], [text])[0]


def score_many(runner, rows: list[dict], texts: list[str]) -> list[Scores]:
    """All three rewards for many completions, every sandbox job in parallel."""
    answers = [parse_answer(t) for t in texts]
    futures = []
    for row, ans in zip(rows, answers):
        disc = None
        if ans.well_formed and ans.tests:
            disc = [runner.submit(*job) for job in discriminative_jobs(ans, row["reference"], row["buggy_code"])]
        rep = None
        if _can_run_fix(ans):
            rep = runner.submit(fix_program(row["fix_context"], ans.fix), list(row["hidden_tests"]), BASE_TEST_TIMEOUT_S)
        futures.append((disc, rep))
    scores = []
    for row, ans, (disc, rep) in zip(rows, answers, futures):
        d, hits = discriminative_score(ans, disc[0].result(), disc[1].result()) if disc else (0.0, 0)
        passed = rep.result() if rep else []
        n_hidden = len(row["hidden_tests"])
        scores.append(
            Scores(format_score(ans), d, repair_score(passed, n_hidden), len(ans.tests) if ans.well_formed else 0,
                   hits, bool(n_hidden) and sum(passed) == n_hidden)
        )
    return scores


# -- TRL reward functions ------------------------------------------------------------------------

def _rows(n: int, kwargs: dict) -> list[dict]:
    cols = ("reference", "buggy_code", "fix_context", "hidden_tests")
    missing = [c for c in cols if c not in kwargs]
    if missing:
        raise ValueError(f"the dataset lacks the columns {missing}; build it with `patchwarden train dataset`")
    return [{c: kwargs[c][i] for c in cols} for i in range(n)]


def format_reward(prompts, completions, **kwargs) -> list[float]:
    """1 if the completion is one ```json list of asserts then one ```python block that parses."""
    return [format_score(parse_answer(completion_text(c))) for c in completions]


class DiscriminativeTestReward:
    """Fraction of generated tests that pass on the reference and fail on the buggy code."""

    __name__ = "discriminative_tests"

    def __init__(self, runner):
        self.runner = runner

    async def __call__(self, prompts, completions, **kwargs) -> list[float]:
        rows = _rows(len(completions), kwargs)
        answers = [parse_answer(completion_text(c)) for c in completions]
        pending = []
        for row, ans in zip(rows, answers):
            if ans.well_formed and ans.tests:
                jobs = discriminative_jobs(ans, row["reference"], row["buggy_code"])
                pending.append(asyncio.gather(*(asyncio.wrap_future(self.runner.submit(*j)) for j in jobs)))
            else:
                pending.append(_constant(None))
        results = await asyncio.gather(*pending)
        return [discriminative_score(a, *r)[0] if r else 0.0 for a, r in zip(answers, results)]


class RepairReward:
    """Pass rate of the fix on the hidden tests, asserts counted one by one."""

    __name__ = "repair"

    def __init__(self, runner):
        self.runner = runner

    async def __call__(self, prompts, completions, **kwargs) -> list[float]:
        rows = _rows(len(completions), kwargs)
        pending = []
        for row, c in zip(rows, completions):
            ans = parse_answer(completion_text(c))
            if _can_run_fix(ans):
                fut = self.runner.submit(fix_program(row["fix_context"], ans.fix), list(row["hidden_tests"]), BASE_TEST_TIMEOUT_S)
                pending.append(asyncio.wrap_future(fut))
            else:
                pending.append(_constant([]))
        results = await asyncio.gather(*pending)
        return [repair_score(r, len(row["hidden_tests"])) for r, row in zip(results, rows)]


async def _constant(value):
    return value


def reward_functions(runner) -> list:
    """The method's three rewards in order: format, discriminative tests, repair."""
    return [format_reward, DiscriminativeTestReward(runner), RepairReward(runner)]
