"""SRepair in Java and JavaScript against a scripted OpenAI-compatible server on 127.0.0.1: prompts in
the language's fences with the method's class context; the fix extracted by parsing the answer."""
import shutil
import sys
from pathlib import Path

import pytest

from patchwarden.repair.config import RepairConfig
from patchwarden.repair.bug_context import BugContext, SuspiciousFunction
from patchwarden.sandboxes.testresults import TestResult
from patchwarden.repair.splice import patched_files
from patchwarden.repair.engines.srepair import SRepairEngine
from patchwarden.repair.extract_ts import extract_ts_function
from patchwarden.repair.source_functions import extract_functions
from patchwarden.repair.models.scripted_server import ScriptedChatServer
from patchwarden.repair.pipeline import run_repair

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
RANGE = "src/main/java/com/example/Range.java"
JAVA_FIX = "public boolean contains(int x) {\n    return x >= lo && x <= hi;\n}"


def make_engine(srv, tmp_path, **kw):
    from patchwarden.repair.models import Budget, CallLog, load_model

    model = load_model("openai:m", api_base=srv.base_url, log_dir=CallLog(tmp_path / "log"), caps=Budget())
    return SRepairEngine(model, model, 1, 2, **kw)


def java_answer(req):
    prompt = req["messages"][-1]["content"]
    if "## Answer format" in prompt:
        return ["Root Cause: the lower bound is excluded.\nSuggestion 1: Include lo\nUse >= for the lower bound."]
    # The whole class back, the buggy overload quoted first: the changed `contains(int)` is the fix.
    whole = ("Here is the class:\n```java\npublic class Range {\n    private final int lo;\n    private final int hi;\n"
             "    public boolean contains(int x) {\n        return x >= lo && x <= hi;\n    }\n"
             "    public boolean contains(Range other) {\n        return contains(other.lo) && contains(other.hi);\n    }\n}\n```")
    return ["no code here, sorry", whole]


def test_java_prompts_carry_java_fences_and_class_context_and_the_fix_is_parsed_out(tmp_path):
    repo = tmp_path / "range"
    shutil.copytree(EXAMPLES / "java-range", repo)
    text = (repo / RANGE).read_text()
    fn = next(f for f in extract_functions(text, RANGE) if f.qualname == "com.example.Range.contains(int)")
    failing = [TestResult("com.example.RangeTest#containsBothEnds", "failed", "expected: <true> but was: <false>",
                          "org.opentest4j.AssertionFailedError\n\tat com.example.RangeTest.containsBothEnds(RangeTest.java:18)")]
    test_src = "void containsBothEnds() {\n    assertTrue(new Range(1, 5).contains(1));\n}"
    ctx = BugContext(repo, "mvn -o -q test", failing, [SuspiciousFunction(fn, 1.0)],
                     test_sources={failing[0].nodeid: test_src})
    with ScriptedChatServer(java_answer) as srv:
        engine = make_engine(srv, tmp_path)
        cands = list(engine.generate(ctx))
        suggest, patch = (r["messages"][-1]["content"] for r in srv.requests)
    assert "```java\n/** A closed" not in suggest  # comments above the method only, not the class's
    assert "```java\npublic boolean contains(int x) {" in suggest and "```python" not in suggest
    assert "## Trigger Test\n`com.example.RangeTest#containsBothEnds`\n```java\nvoid containsBothEnds()" in suggest
    assert "## Class Context" in suggest and "private final int lo;" in suggest
    assert "public boolean contains(Range other) { ... }" in suggest  # the overload, body elided
    assert "## Class Context" in patch and "in one ```java code block" in patch
    assert len(cands) == 1 and engine.rejected == 1
    new = patched_files(repo, cands[0])[RANGE]
    assert "        return x >= lo && x <= hi;" in new  # re-indented to the class's column
    assert new.count("contains(") == text.count("contains(")  # only the one overload was replaced


def test_extraction_picks_the_overload_and_tells_why_it_rejects():
    text = (EXAMPLES / "java-range" / RANGE).read_text()
    fns = {f.qualname: f for f in extract_functions(text, RANGE)}
    fn = fns["com.example.Range.contains(int)"]
    got = extract_ts_function(f"```java\n{JAVA_FIX}\n```", fn, "    ")
    assert got.ok and got.source == "public boolean contains(int x) {\n        return x >= lo && x <= hi;\n    }"
    assert extract_ts_function(f"```java\n{fn.source}\n```", fn).reason.startswith("unchanged")
    assert extract_ts_function("```java\nint other() { return 1; }\n```", fn).reason == "no function named 'contains' in the answer"
    assert extract_ts_function("", fn).reason == "empty answer"
    js = "const countZeros = (values) => {\n  return values.filter((v) => v == 0).length;\n};\n"
    jfn = extract_functions(js, "z.js")[0]
    got = extract_ts_function("Use strict equality:\n```javascript\nconst countZeros = (values) => values.filter((v) => v === 0).length;\n```", jfn)
    assert got.ok and got.source == "const countZeros = (values) => values.filter((v) => v === 0).length;"


def js_answer(req):
    prompt = req["messages"][-1]["content"]
    if "## Answer format" in prompt:
        return ["Root Cause: `==` coerces '' and false to 0.\nSuggestion 1: Strict equality\nUse ===."]
    return ["```javascript\nfunction countZeros(values) {\n  return values.filter((v) => v === 0).length;\n}\n```"] * req["n"]


@pytest.mark.skipif(not shutil.which("node"), reason="Node.js 20")
def test_javascript_example_repaired_by_srepair_end_to_end(tmp_path):
    repo = tmp_path / "tally"
    shutil.copytree(EXAMPLES / "js-tally", repo)
    with ScriptedChatServer(js_answer) as srv:
        out = run_repair(RepairConfig(repo=repo, test_cmd="node --test", engine="srepair", sandbox="local",
                                      out=tmp_path / "run", suggestions=1, patches_per_suggestion=2, progress=False,
                                      bounce=False, model="openai:m", api_base=srv.base_url))
        prompt = srv.requests[0]["messages"][-1]["content"]
    assert out.status == "plausible", out.message
    assert "+  return values.filter((v) => v === 0).length;" in out.patch
    assert "```javascript\n/** How many entries" in prompt  # the leading comment, in the language's fence
    assert "## Trigger Test\n`countZeros ignores values that only compare equal to zero`\n```javascript\ntest(" in prompt


def test_policy_engine_in_java_through_a_real_server(tmp_path):
    from patchwarden.repair.models import load_model
    from patchwarden.repair.engines.policy import PolicyEngine

    repo = tmp_path / "range"
    shutil.copytree(EXAMPLES / "java-range", repo)
    text = (repo / RANGE).read_text()
    fn = next(f for f in extract_functions(text, RANGE) if f.qualname == "com.example.Range.contains(int)")
    ctx = BugContext(repo, "mvn -o -q test", [], [SuspiciousFunction(fn, 1.0)])
    good = f'```json\n["new Range(1, 5).contains(1)"]\n```\n```java\n{JAVA_FIX}\n```'
    with ScriptedChatServer(lambda req: [good, "```java\nnothing useful\n```"]) as srv:
        engine = PolicyEngine(load_model("openai:m", api_base=srv.base_url), top_functions=1, samples=2)
        cands = list(engine.generate(ctx))
        prompt = srv.requests[0]["messages"][-1]["content"]
    assert "buggy Java function" in prompt and "```java\npublic boolean contains(int x) {" in prompt and "```python" not in prompt
    assert len(cands) == 1 and engine.rejected == 1
    assert cands[0].meta["tests"] == ["new Range(1, 5).contains(1)"]
    assert "        return x >= lo && x <= hi;" in patched_files(repo, cands[0])[RANGE]
