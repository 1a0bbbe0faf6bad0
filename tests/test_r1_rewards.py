"""Repair-R1 rewards on hand-written completions: exact values, run for real in the sandbox."""
import asyncio
import time

import pytest

from patchwarden.repair.r1.answer import parse_answer, render_answer
from patchwarden.repair.r1.dataset import make_row
from patchwarden.repair.r1.fork_runner import TestRunner
from patchwarden.repair.r1.rewards import DiscriminativeTestReward, RepairReward, format_reward, reward_functions, score_completion

BUGGY = 'def add_one(x):\n    """Return x plus one."""\n    return x + 2\n'
REFERENCE = BUGGY.replace("x + 2", "x + 1")
HIDDEN = (
    "def check(candidate):\n"
    "    assert candidate(1) == 2\n"
    "    assert candidate(0) == 1\n"
    "    assert candidate(-1) == 0\n"
    "    assert isinstance(candidate(1), int)\n"
)
ROW = make_row(task_id="t/0", problem_id="t/0", source="test", buggy_code=BUGGY, reference=REFERENCE,
               test_code=HIDDEN, entry_point="add_one", bug_type="value misuse")
GOOD_FIX = REFERENCE
JSON_OK = '```json\n["assert add_one(1) == 2"]\n```\n'
PY_OK = f"```python\n{GOOD_FIX}```\n"

CASES = {
    # name: (completion, format, discriminative, repair)
    "correct": (render_answer(["assert add_one(1) == 2", "assert add_one(5) == 6"], GOOD_FIX), 1.0, 1.0, 1.0),
    "partially right": (
        render_answer(
            ["assert add_one(1) == 2", "assert add_one(1) > 0", "assert add_one(1) == 3"],  # kills / weak / wrong
            "def add_one(x):\n    return x + 1 if x != 0 else 5",  # fails only candidate(0) == 1
        ),
        1.0, 1 / 3, 0.75,
    ),
    "non-list json": ('```json\n{"test": "assert add_one(1) == 2"}\n```\n' + PY_OK, 0.0, 0.0, 1.0),
    "json string not list": ('```json\n"assert add_one(1) == 2"\n```\n' + PY_OK, 0.0, 0.0, 1.0),
    "missing json block": (PY_OK, 0.0, 0.0, 1.0),
    "missing python block": (JSON_OK, 0.0, 0.0, 0.0),
    "wrong order": (PY_OK + JSON_OK, 0.0, 0.0, 1.0),
    "two python blocks": (JSON_OK + PY_OK + PY_OK, 0.0, 0.0, 0.0),
    "syntax error in fix": (JSON_OK + "```python\ndef add_one(x)\n    return x + 1\n```", 0.0, 0.0, 0.0),
    "test is not an assert": (render_answer(["add_one(1) == 2"], GOOD_FIX), 0.0, 0.0, 1.0),
    "test is not a string": ('```json\n[1, 2]\n```\n' + PY_OK, 0.0, 0.0, 1.0),
    "empty test list": (render_answer([], GOOD_FIX), 1.0, 0.0, 1.0),
    "fix without the function": (render_answer(["assert add_one(1) == 2"], "x = 1"), 1.0, 1.0, 0.0),
    "fix exits the process": (render_answer(["assert add_one(1) == 2"], "import os\nos._exit(0)"), 1.0, 1.0, 0.0),
    "test exits the process": (render_answer(["assert True; import os; os._exit(0)"], GOOD_FIX), 1.0, 0.0, 1.0),
}


@pytest.fixture(scope="module")
def runner():
    with TestRunner(workers=2) as r:
        yield r


@pytest.mark.parametrize("name", list(CASES))
def test_each_reward_on_hand_written_completions(runner, name):
    text, fmt, disc, rep = CASES[name]
    s = score_completion(runner, ROW, text)
    assert (s.format, s.discriminative, s.repair) == pytest.approx((fmt, disc, rep)), parse_answer(text).problem


def test_trl_reward_functions_take_dataset_columns_and_chat_completions(runner):
    names = list(CASES)
    completions = [[{"role": "assistant", "content": CASES[n][0]}] for n in names]  # conversational shape
    cols = {k: [ROW[k]] * len(names) for k in ROW}
    prompts = [[{"role": "user", "content": ROW["prompt"]}]] * len(names)
    funcs = reward_functions(runner)
    assert [getattr(f, "__name__", None) for f in funcs] == ["format_reward", "discriminative_tests", "repair"]
    fmt = format_reward(prompts=prompts, completions=completions, **cols)

    async def both():
        return await asyncio.gather(DiscriminativeTestReward(runner)(prompts, completions, **cols),
                                    RepairReward(runner)(prompts, completions, **cols))

    disc, rep = asyncio.run(both())
    assert fmt == [CASES[n][1] for n in names]
    assert disc == pytest.approx([CASES[n][2] for n in names])
    assert rep == pytest.approx([CASES[n][3] for n in names])


def test_hanging_answers_are_killed_by_the_timeouts(runner):
    hanging_test = "assert all(True for _ in iter(int, 1))"  # never ends, on any code
    hanging_fix = "def add_one(x):\n    while True:\n        pass"
    text = render_answer(["assert add_one(1) == 2", hanging_test], hanging_fix)
    start = time.monotonic()
    s = score_completion(runner, ROW, text)
    took = time.monotonic() - start
    assert (s.format, s.discriminative, s.repair) == (1.0, 0.5, 0.0)
    # 4 hidden tests at 1 s and a 3 s generated test (reference and buggy runs in parallel)
    assert 3.0 <= took < 4 * 1.0 + 3.0 + 8.0


def test_hidden_tests_are_split_one_assert_each():
    assert len(ROW["hidden_tests"]) == 4
    assert all(t.startswith("candidate = add_one\n") and t.count("assert") == 1 for t in ROW["hidden_tests"])
    assert ROW["fix_context"].strip() == ""
