"""The SRepair engine against a scripted OpenAI-compatible server on 127.0.0.1."""
import json
import re
import textwrap

import pytest

from patchwarden.repair.config import RepairConfig
from patchwarden.repair.bug_context import BugContext, SuspiciousFunction
from patchwarden.repair.splice import patched_files
from patchwarden.sandboxes.testresults import TestResult as Result
from patchwarden.repair.engines.srepair import SRepairEngine, build_srepair_engine, error_message
from patchwarden.repair.source_functions import extract_functions
from patchwarden.repair.models.scripted_server import ScriptedChatServer
from patchwarden.repair.errors import RepairInputError

CALC = textwrap.dedent('''\
    # Keep x within [lo, hi].
    def clamp(x, lo, hi):
        if x < lo:
            return hi
        return min(x, hi)


    class Account:
        def __init__(self):
            self.balance = 0

        def deposit(self, amount):
            self.balance -= amount
            return self.balance
    ''')
TEST_CLAMP = "def test_clamp():\n    assert clamp(-5, 0, 10) == 0"
TEST_DEPOSIT = "def test_deposit():\n    a = Account()\n    assert a.deposit(5) == 5"


def tb(func, line, test):
    return (f'Traceback (most recent call last):\n  File "/sandbox/work/tests/test_calc.py", line 2, in {test}\n'
            f'    ...\n  File "/sandbox/work/calc.py", line {line}, in {func}\n    ...\nAssertionError')


@pytest.fixture()
def repo(tmp_path):
    (tmp_path / "calc.py").write_text(CALC)
    return tmp_path


def context(repo, which=("clamp",), issue=None):
    fns = {f.name: f for f in extract_functions(CALC, "calc.py")}
    failing, sources = [], {}
    if "clamp" in which:
        failing.append(Result("tests/test_calc.py::test_clamp", "failed", "AssertionError: assert 10 == 0",
                                  tb("clamp", 4, "test_clamp") + "\nE       assert 10 == 0\nE        +  where 10 = clamp(-5, 0, 10)"))
        sources["tests/test_calc.py::test_clamp"] = TEST_CLAMP
    if "deposit" in which:
        failing.append(Result("tests/test_calc.py::test_deposit", "failed", "assert -5 == 5", tb("deposit", 13, "test_deposit")))
        sources["tests/test_calc.py::test_deposit"] = TEST_DEPOSIT
    ranked = [SuspiciousFunction(fns[n], 1.0 - i / 10) for i, n in enumerate(which)]
    ranked.append(SuspiciousFunction(fns["__init__"], 0.1))
    return BugContext(repo, "pytest", failing, ranked, issue, sources)


FIXES = {
    "clamp": "def clamp(x, lo, hi):\n    if x < lo:\n        return lo\n    return min(x, hi)",
    "deposit": "def deposit(self, amount):\n    self.balance += amount\n    return self.balance",
}


def responder(garbage_every=0):
    count = {"patch": 0}

    def answer(req):
        prompt = req["messages"][-1]["content"]
        if "## Answer format" in prompt:
            k = int(re.search(r"Give exactly (\d+)", prompt).group(1))
            return ["Root Cause: the wrong value is used.\n\n" + "\n\n".join(
                f"Suggestion {i}: Fix variant {i}\nChange the returned value." for i in range(1, k + 1))] * req["n"]
        out = []
        for _ in range(req["n"]):
            count["patch"] += 1
            if garbage_every and count["patch"] % garbage_every == 0:
                out.append("Sorry, I am not sure. ``` def ( ```")
            elif "Function ID: 2" in prompt:
                out.append("".join(f"Function ID: {i}\nFixed function code:\n```python\n{FIXES[n]}\n```\n"
                                   for i, n in enumerate(["clamp", "deposit"], 1)))
            else:
                name = re.search(r"complete fixed function `(\w+)`", prompt).group(1)
                out.append(f"Here is the fix.\n```python\n{FIXES[name]}\n```\nThe bug was the returned value." if name in FIXES
                           else "No idea.")
        return out

    return answer


def load(repo, cand):
    ns = {}
    exec(patched_files(repo, cand)["calc.py"], ns)
    return ns


def make_engine(srv, tmp_path, **kw):
    from patchwarden.repair.models import Budget, Caps, CallLog, load_model

    budget = Budget(Caps(kw.pop("max_calls", None)))
    model = load_model("openai:m", api_base=srv.base_url, log_dir=CallLog(tmp_path / "run"), caps=budget)
    return SRepairEngine(model, model, kw.pop("suggestions", 2), kw.pop("patches", 2), **kw)


def test_single_function_repair_prompts_and_candidates(repo, tmp_path):
    with ScriptedChatServer(responder(garbage_every=2)) as srv:
        engine = make_engine(srv, tmp_path, max_functions=1, max_groups=0)
        cands = list(engine.generate(context(repo, issue="clamp returns hi for small values")))
        suggest_req, patch_req = srv.requests[0], srv.requests[1]
    prompt = suggest_req["messages"][-1]["content"]
    for part in ("# Keep x within [lo, hi].", "return hi", TEST_CLAMP, "assert 10 == 0", "clamp returns hi for small values"):
        assert part in prompt
    assert "Give exactly 2 suggestions" in prompt
    assert patch_req["n"] == 2 and patch_req["temperature"] == 0.8 and patch_req["top_p"] == 0.9
    assert "Suggestion: Fix variant 1" in patch_req["messages"][-1]["content"]
    assert len(srv.requests) == 3  # 1 suggestion call + 1 patch call per suggestion
    # 4 patch answers, every second one garbage: 2 candidates, 2 rejections, nothing crashed.
    assert len(cands) == 2 and engine.rejected == 2 and sum(engine.reject_reasons.values()) == 2
    assert all(load(repo, c)["clamp"](-5, 0, 10) == 0 for c in cands)
    assert cands[0].engine == "srepair" and cands[0].edits[0].qualname == "clamp"
    usage = engine.usage()
    assert usage["calls"] == 3 and usage["tokens"] > 0 and usage["rejected"] == 2


def test_method_of_a_class_is_spliced_at_its_column(repo, tmp_path):
    with ScriptedChatServer(responder()) as srv:
        engine = make_engine(srv, tmp_path, suggestions=1, patches=1, max_functions=1)
        cands = list(engine.generate(context(repo, which=("deposit",))))
    account = load(repo, cands[0])["Account"]()
    assert account.deposit(5) == 5


def test_multi_function_bug_gets_one_candidate_with_both_edits(repo, tmp_path):
    with ScriptedChatServer(responder()) as srv:
        engine = make_engine(srv, tmp_path, suggestions=1, patches=1, max_functions=0)
        cands = list(engine.generate(context(repo, which=("clamp", "deposit"))))
        prompt = srv.requests[0]["messages"][-1]["content"]
    assert "Function ID: 1" in prompt and "Function ID: 2" in prompt and "fixed together" in prompt
    assert len(cands) == 1 and sorted(e.qualname for e in cands[0].edits) == ["Account.deposit", "clamp"]
    ns = load(repo, cands[0])
    assert ns["clamp"](-5, 0, 10) == 0 and ns["Account"]().deposit(5) == 5


def test_pinned_functions_are_repaired_together(repo, tmp_path):
    with ScriptedChatServer(responder()) as srv:
        engine = make_engine(srv, tmp_path, suggestions=1, patches=1, functions=["calc.py:clamp", "calc.py:Account.deposit"])
        cands = list(engine.generate(context(repo, which=("clamp", "deposit"))))
    assert len(cands) == 1 and len(cands[0].edits) == 2


def test_budget_stops_the_stream_cleanly(repo, tmp_path):
    with ScriptedChatServer(responder()) as srv:
        engine = make_engine(srv, tmp_path, suggestions=3, patches=2, max_calls=2)
        cands = list(engine.generate(context(repo)))
        assert len(srv.requests) == 2
    assert len(cands) == 2 and "max_calls=2" in engine.stop_reason


def test_replay_gives_identical_candidates_without_a_server(repo, tmp_path):
    run = tmp_path / "run1"
    cfg = RepairConfig(repo=repo, test_cmd="pytest", engine="srepair", model="openai:m", suggestions=2, patches_per_suggestion=2)
    with ScriptedChatServer(responder(garbage_every=3)) as srv:
        cfg.api_base = srv.base_url
        first = list(build_srepair_engine(cfg, run).generate(context(repo)))
    cfg.api_base, cfg.replay, cfg.model = "http://127.0.0.1:9/v1", run, None  # nothing listens there
    replay_engine = build_srepair_engine(cfg, tmp_path / "run2")
    again = list(replay_engine.generate(context(repo)))
    assert [c.to_dict() for c in again] == [c.to_dict() for c in first] and len(first) > 1
    assert replay_engine.usage()["calls"] == len((run / "model_calls.jsonl").read_text().splitlines())
    # A different bug context asks different questions: a clear error, not a silent miss.
    with pytest.raises(RepairInputError, match="not in the replayed log"):
        list(build_srepair_engine(cfg, tmp_path / "run3").generate(context(repo, issue="new text")))


def test_unreachable_server_is_a_clear_input_error(repo, tmp_path):
    cfg = RepairConfig(repo=repo, test_cmd="pytest", engine="srepair", model="openai:m", api_base="http://127.0.0.1:9/v1")
    engine = build_srepair_engine(cfg, tmp_path)
    engine.suggest_model.backend.retries = 0
    with pytest.raises(RepairInputError, match="no answer from"):
        list(engine.generate(context(repo)))


def test_missing_model_is_a_clear_input_error(repo, tmp_path):
    with pytest.raises(RepairInputError, match="--model SPEC"):
        build_srepair_engine(RepairConfig(repo=repo, test_cmd="pytest", engine="srepair"), tmp_path)


def test_error_message_is_trimmed():
    long = Result("t", "failed", "AssertionError: " + "x" * 5000, "")
    assert len(error_message(long)) < 700


def test_model_options_checked_before_any_work(repo, tmp_path):
    from patchwarden.repair.engines.srepair import check_srepair_config

    for kw, msg in [({"model": "gpt-4o"}, "bad model spec"), ({"replay": tmp_path / "none"}, "nothing to replay"),
                    ({"model": "openai:m", "max_calls": 0}, "--max-calls must be positive")]:
        with pytest.raises(RepairInputError, match=msg):
            check_srepair_config(RepairConfig(repo=repo, test_cmd="pytest", engine="srepair", **kw))
    check_srepair_config(RepairConfig(repo=repo, test_cmd="pytest", engine="srepair", model="hf:some/model"))
