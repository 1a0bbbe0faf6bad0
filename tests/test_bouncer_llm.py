"""LLM bouncers over real HTTP: a scripted OpenAI-compatible server on 127.0.0.1, reached
through `load_model("openai:...", api_base=...)` and the real `openai` client."""
import json

from bouncer_helpers import run_cli

from patchwarden.bouncer.decision import UNPARSED
from patchwarden.bouncer.evidence import EvidenceOutputBouncer, PatchEvidence
from patchwarden.bouncer.gate import input_gate
from patchwarden.bouncer.llm import LLMInputBouncer, LLMOutputBouncer, parse_answer
from patchwarden.repair.models import load_model
from patchwarden.repair.models import scripted_server as scripted


def server_with(answers):
    """A server that hands out `answers` in order, one per request."""
    queue = list(answers)
    return scripted.ScriptedChatServer(lambda req: [queue.pop(0)])


def model_for(srv):
    return load_model("openai:judge", api_base=srv.base_url)


def test_parse_answer_is_lenient_but_strict_about_labels():
    labels = ("WELL_SPECIFIED", "REASONABLY_SPECIFIED", "VAGUE", "IMPOSSIBLE_TO_SOLVE")
    assert parse_answer('{"explanation": "ok", "label": "VAGUE"}', labels) == ("VAGUE", "ok")
    assert parse_answer('Sure!\n```json\n{"explanation": "x", "label": "well specified"}\n```', labels) == ("WELL_SPECIFIED", "x")
    assert parse_answer('<think>VAGUE? no</think>{"label": "REASONABLY_SPECIFIED", "explanation": "e"}', labels)[0] == "REASONABLY_SPECIFIED"
    assert parse_answer('{"explanation": "cut off", "label": "IMPOSSIBLE_TO_SOLVE', labels)[0] == "IMPOSSIBLE_TO_SOLVE"
    assert parse_answer("VAGUE", labels)[0] == "VAGUE"
    assert parse_answer('{"label": "MAYBE"}', labels) is None
    assert parse_answer("either VAGUE or WELL_SPECIFIED", labels) is None  # ambiguous
    assert parse_answer("", labels) is None


def test_input_bouncer_over_http_with_rubric_prompt():
    with server_with(['{"explanation": "no repro, no expected behaviour", "label": "VAGUE"}']) as srv:
        d = LLMInputBouncer(model_for(srv)).judge("the app is slow")
        req = srv.requests[0]
    assert d.bounce and d.label == "VAGUE" and d.confidence == 0.3
    assert d.explanation == "no repro, no expected behaviour" and d.trace["answers"] == ['{"explanation": "no repro, no expected behaviour", "label": "VAGUE"}']
    system, user = req["messages"][0]["content"], req["messages"][1]["content"]
    assert all(lab in system for lab in ("WELL_SPECIFIED", "REASONABLY_SPECIFIED", "VAGUE", "IMPOSSIBLE_TO_SOLVE"))
    assert "cannot ask" in system and "the app is slow" in user
    assert req["temperature"] == 0.0 and req["max_tokens"] == 4000


def test_malformed_answer_is_retried_with_a_reminder():
    answers = ["I think this is fine!", '{"explanation": "clear", "label": "CORRECT_AND_PRECISE"}']
    with server_with(answers) as srv:
        d = LLMOutputBouncer(model_for(srv)).judge("f(2) should be 4", "--- a/m.py\n+++ b/m.py\n-x\n+y\n")
        second = srv.requests[1]["messages"]
    assert not d.bounce and d.label == "CORRECT_AND_PRECISE" and len(d.trace["answers"]) == 2
    assert second[2] == {"role": "assistant", "content": "I think this is fine!"}
    assert "could not be read" in second[3]["content"] and "INCORRECT" in second[3]["content"]


def test_unparsable_after_retries_is_recorded_and_accepted():
    with server_with(["{oops", "no idea", "still not json"]) as srv:
        d = LLMInputBouncer(model_for(srv), retries=2).judge("issue")
        assert len(srv.requests) == 3
    assert d.label == UNPARSED and not d.bounce and d.confidence == 0.5
    assert d.trace["answers"] == ["{oops", "no idea", "still not json"]


def test_llm_judge_joins_the_evidence():
    patch = "--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-    return x + 3\n+    return x * 2\n"
    ev = PatchEvidence(patch=patch, trigger_passed=True, regressions=0, issue="f doubles")
    alone = EvidenceOutputBouncer().judge_evidence(ev)
    with server_with(['{"explanation": "wrong operator", "label": "INCORRECT"}']) as srv:
        judged = EvidenceOutputBouncer(llm_judge=LLMOutputBouncer(model_for(srv))).judge_evidence(ev)
    assert judged.confidence < alone.confidence and "LLM judge says INCORRECT" in judged.explanation
    assert judged.trace["llm"]["label"] == "INCORRECT"


def test_gate_falls_back_to_heuristic_when_the_server_fails():
    with scripted.ScriptedChatServer(lambda req: (400, {"error": {"message": "bad request"}})) as srv:
        d = input_gate("it doesn't work", model=model_for(srv))
    assert d.bounce and "LLM unavailable" in d.explanation and d.trace["llm_error"]


def test_bouncerbench_run_llm_over_http(tmp_path):
    data = tmp_path / "in.jsonl"
    data.write_text("".join(json.dumps({"instance_id": f"x__{i}", "problem_statement": f"issue {i}", "input_quality": i}) + "\n" for i in range(3)))
    answers = ['{"explanation": "a", "label": "WELL_SPECIFIED"}', "```json\n{\"label\": \"VAGUE\", \"explanation\": \"b\"}\n```", "garbage", "garbage", "garbage"]
    out = tmp_path / "preds.json"
    with server_with(answers) as srv:
        res = run_cli("bouncerbench", "run", "--split", "input", "--bouncer", "llm", "--model", "openai:judge", "--api-base", srv.base_url, "--data", str(data), "--out", str(out))
    assert res.returncode == 0, res.stderr
    sub = json.loads(out.read_text())
    assert [sub[f"x__{i}"]["input_bounce"] for i in range(3)] == [False, True, False]
    assert sub["x__2"]["trace"]["label"] == UNPARSED and sub["x__2"]["trace"]["raw"]["answers"] == ["garbage"] * 3
