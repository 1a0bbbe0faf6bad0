"""The policy engine: prompts per top-ranked function, splices fixes, counts garbage, never crashes."""
import ast
from pathlib import Path

import pytest

from patchwarden.repair.bug_context import BugContext, SuspiciousFunction
from patchwarden.repair.splice import apply_edits
from patchwarden.repair.source_functions import extract_functions
from patchwarden.repair.r1.answer import render_answer
from patchwarden.repair.engines.policy import PolicyEngine

MODULE = '''class Stack:
    def __init__(self):
        self.items = []

    def peek(self):
        """The top item."""
        return self.items[0]


def double(x):
    return x * 3
'''
GOOD_PEEK = 'def peek(self):\n    """The top item."""\n    return self.items[-1]'


class ScriptedModel:
    """Stands in for a policy: returns fixed answers and records the prompts it saw."""

    name = "scripted"

    def __init__(self, answers, fail=False):
        self.answers, self.fail, self.prompts = answers, fail, []

    def complete(self, messages, *, n=1, temperature=0.0, max_tokens=512, top_p=1.0):
        self.prompts.append(messages[-1]["content"])
        if self.fail:
            raise RuntimeError("backend down")
        return self.answers[:n]


def context(tmp_path: Path) -> BugContext:
    (tmp_path / "stack.py").write_text(MODULE)
    funcs = {f.qualname: f for f in extract_functions(MODULE, "stack.py")}
    ranked = [SuspiciousFunction(funcs["Stack.peek"], 1.0), SuspiciousFunction(funcs["double"], 0.5)]
    return BugContext(repo=tmp_path, test_cmd="pytest", failing=[], suspicious=ranked)


def test_fix_is_spliced_over_the_method_and_garbage_is_counted(tmp_path):
    answers = [
        render_answer(["assert Stack().peek is not None"], "import os\n\n" + GOOD_PEEK),
        "no code at all",
        render_answer([], "def other():\n    return 1"),
        render_answer([], 'def peek(self):\n    """The top item."""\n    return self.items[0]'),  # unchanged
        render_answer([], GOOD_PEEK),  # the same fix again: deduplicated
    ]
    model = ScriptedModel(answers)
    engine = PolicyEngine(model, top_functions=1, samples=5)
    cands = list(engine.generate(context(tmp_path)))
    assert len(cands) == 1
    cand = cands[0]
    assert cand.engine == "policy" and cand.meta["tests"] == ["assert Stack().peek is not None"]
    assert cand.meta["function"] == "stack.py::Stack.peek"
    patched = apply_edits(MODULE, cand.edits)
    ns: dict = {}
    exec(compile(ast.parse(patched), "stack.py", "exec"), ns)
    s = ns["Stack"]()
    s.items += [1, 2]
    assert s.peek() == 2 and ns["double"](2) == 6  # the rest of the module is untouched
    assert engine.rejected == 3
    assert engine.reject_reasons == {"no python block": 1, "no function named 'peek' in the answer": 1,
                                     "unchanged: the answer repeats the buggy function": 1}
    # the model saw the method dedented, inside the training prompt format
    assert "def peek(self):\n    \"\"\"The top item.\"\"\"\n    return self.items[0]" in model.prompts[0]


def test_a_failing_model_is_a_rejection_not_a_crash(tmp_path):
    engine = PolicyEngine(ScriptedModel([], fail=True), top_functions=2)
    assert list(engine.generate(context(tmp_path))) == []
    assert engine.rejected == 2


@pytest.mark.slow  # the end-to-end training test already samples from a tiny HF policy
def test_a_tiny_random_policy_runs_without_crashing(tmp_path):
    from patchwarden.repair.r1.policy_model import load_policy
    from patchwarden.repair.r1.tiny_model import build_tiny_model

    path = build_tiny_model(tmp_path / "tiny", [MODULE, GOOD_PEEK, render_answer(["assert f(1) == 2"], "def f(x):\n    return x")], vocab_size=300)
    engine = PolicyEngine(load_policy(f"hf:{path}"), top_functions=2, samples=2, max_tokens=8)
    cands = list(engine.generate(context(tmp_path)))
    assert cands == [] and engine.rejected == 4


def test_build_policy_engine_needs_a_model(tmp_path):
    from patchwarden.repair.config import RepairConfig
    from patchwarden.repair.errors import RepairInputError
    from patchwarden.repair.engines.policy import build_policy_engine

    with pytest.raises(RepairInputError, match="--model"):
        build_policy_engine(RepairConfig(repo=tmp_path, test_cmd="pytest", engine="policy"), tmp_path)


def test_an_import_line_above_the_fix_joins_the_module_imports(tmp_path):
    fix = "from collections import deque\n\n" + GOOD_PEEK.replace("self.items[-1]", "deque(self.items)[-1]")
    engine = PolicyEngine(ScriptedModel([render_answer([], fix)]), top_functions=1, samples=1)
    cand = list(engine.generate(context(tmp_path)))[0]
    patched = apply_edits(MODULE, cand.edits)
    assert patched.startswith("from collections import deque\n\nclass Stack:")
    ns: dict = {}
    exec(patched, ns)
    s = ns["Stack"]()
    s.items += [1, 2]
    assert s.peek() == 2
