"""The openai backend against a real HTTP server on 127.0.0.1 (the official client, unpatched)."""
import json

import pytest

from patchwarden.repair.models import ModelError, load_model
from patchwarden.repair.models.scripted_server import ScriptedChatServer

MSG = [{"role": "user", "content": "say something"}]


def test_chat_completion_logged_with_tokens(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # a local server needs no real key
    with ScriptedChatServer(lambda req: [f"answer {i} to {req['messages'][-1]['content']}" for i in range(req["n"])]) as srv:
        model = load_model("openai:local-coder", api_base=srv.base_url, log_dir=tmp_path)
        out = model.complete(MSG, n=2, temperature=0.7, max_tokens=64, top_p=0.9)
        sent = srv.requests[0]
    assert out == ["answer 0 to say something", "answer 1 to say something"]
    assert sent["model"] == "local-coder" and sent["n"] == 2 and sent["temperature"] == 0.7 and sent["max_tokens"] == 64
    entry = json.loads((tmp_path / "model_calls.jsonl").read_text())
    assert entry["messages"] == MSG and entry["responses"] == out
    assert entry["params"] == {"n": 2, "temperature": 0.7, "max_tokens": 64, "top_p": 0.9}
    assert entry["prompt_tokens"] == 2 and entry["completion_tokens"] == 10  # the server's usage numbers
    assert entry["latency"] > 0
    assert model.usage.calls == 1 and model.usage.tokens == 12
    assert any("local-coder" in n for n in model.usage.notes)  # unknown price: a note, cost 0
    assert model.usage.cost == 0.0


def test_retries_after_server_error_then_succeeds(tmp_path):
    answers = iter([(500, {"error": {"message": "overloaded"}}), (503, {"error": {"message": "busy"}}), ["ok"]])
    with ScriptedChatServer(lambda req: next(answers)) as srv:
        model = load_model("openai:m", api_base=srv.base_url, log_dir=tmp_path)
        model.backend.backoff = 0.01
        assert model.complete(MSG) == ["ok"]
        assert len(srv.requests) == 3
    entry = json.loads((tmp_path / "model_calls.jsonl").read_text())
    assert entry["meta"]["attempts"] == 3


def test_gives_up_with_clear_error_when_server_keeps_failing(tmp_path):
    with ScriptedChatServer(lambda req: (500, {"error": {"message": "down"}})) as srv:
        model = load_model("openai:m", api_base=srv.base_url, log_dir=tmp_path)
        model.backend.backoff = 0.01
        with pytest.raises(ModelError, match="after 5 attempts"):
            model.complete(MSG)
        assert len(srv.requests) == 5
    assert model.usage.calls == 0
    assert "error" in json.loads((tmp_path / "model_calls.jsonl").read_text())


def test_unknown_model_404_is_not_retried(tmp_path):
    with ScriptedChatServer(lambda req: (404, {"error": {"message": "model not found"}})) as srv:
        model = load_model("openai:nope", api_base=srv.base_url)
        with pytest.raises(ModelError, match="not found"):
            model.complete(MSG)
        assert len(srv.requests) == 1


def test_server_that_ignores_n_is_asked_again(tmp_path):
    with ScriptedChatServer(lambda req: [f"one of {len(srv.requests)}"]) as srv:
        model = load_model("openai:m", api_base=srv.base_url)
        assert model.complete(MSG, n=3, temperature=0.8) == ["one of 1", "one of 2", "one of 3"]
    assert model.usage.calls == 1  # one logical call


def test_no_server_is_a_clear_error():
    model = load_model("openai:m", api_base="http://127.0.0.1:9/v1")
    model.backend.retries, model.backend.backoff = 1, 0.01
    with pytest.raises(ModelError, match="check that the server is up"):
        model.complete(MSG)


def test_hosted_api_without_key_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ModelError, match="OPENAI_API_KEY"):
        load_model("openai:gpt-4o-mini")


def test_bad_spec():
    with pytest.raises(ModelError, match="openai:NAME"):
        load_model("gpt-4o")


def test_vllm_missing_is_a_clear_error():
    try:
        import vllm  # noqa: F401
        pytest.skip("vllm is installed here")
    except ImportError:
        pass
    with pytest.raises(ModelError, match="vLLM is not installed"):
        load_model("vllm:some/model")


def test_server_refusing_n_gets_one_request_per_sample():
    def answer(req):
        if req["n"] > 1:
            return (400, {"error": {"message": "'n' must be 1 for this model"}})
        return ["single"]

    with ScriptedChatServer(answer) as srv:
        model = load_model("openai:m", api_base=srv.base_url)
        assert model.complete(MSG, n=3, temperature=0.8) == ["single"] * 3
        assert [r["n"] for r in srv.requests] == [3, 1, 1, 1]
