"""Caps hold (checked before a call), prices, and replay from the call log."""
import json

import pytest

from patchwarden.repair.models import Budget, BudgetExceeded, Caps, ModelError, ReplayMiss, load_model
from patchwarden.repair.models.budget import Price
from patchwarden.repair.models.scripted_server import ScriptedChatServer


def echo(req):
    return [("word " * 20).strip()] * req["n"]


def msg(i):
    return [{"role": "user", "content": f"question number {i}"}]


def test_max_calls_never_exceeded(tmp_path):
    with ScriptedChatServer(echo) as srv:
        model = load_model("openai:m", api_base=srv.base_url, log_dir=tmp_path, caps=Caps(max_calls=3))
        for i in range(3):
            model.complete(msg(i))
        with pytest.raises(BudgetExceeded, match="max_calls=3"):
            model.complete(msg(3))
        assert len(srv.requests) == 3
    assert model.usage.calls == 3


def test_max_tokens_shrinks_then_stops(tmp_path):
    with ScriptedChatServer(echo) as srv:
        # Each call: ~8 prompt tokens estimated, 20 completion words, 3 prompt words counted by the server.
        model = load_model("openai:m", api_base=srv.base_url, caps=Caps(max_tokens=80))
        made = 0
        with pytest.raises(BudgetExceeded, match="max_tokens=80"):
            for i in range(100):
                model.complete(msg(i), max_tokens=500)
                made += 1
        # The request asked for 500 new tokens; the cap lowered what was sent.
        assert all(r["max_tokens"] <= 80 for r in srv.requests)
        assert len(srv.requests) == made
    assert model.usage.tokens <= 80


def test_max_cost_with_price_table(tmp_path):
    prices = {"pricey-*": Price(input=1000.0, output=2000.0)}  # USD per 1M tokens
    budget = Budget(Caps(max_cost=0.2), prices=prices)
    with ScriptedChatServer(echo) as srv:
        model = load_model("openai:pricey-1", api_base=srv.base_url, caps=budget)
        with pytest.raises(BudgetExceeded, match="max_cost"):
            for i in range(100):
                model.complete(msg(i), max_tokens=50)
        calls = len(srv.requests)
    assert calls >= 1
    assert budget.usage.cost <= 0.2
    assert budget.usage.cost == pytest.approx(calls * (3 * 1000 + 20 * 2000) / 1e6)


def test_unknown_model_counts_tokens_without_crashing():
    budget = Budget(Caps(max_tokens=10_000), prices={})   # no cost cap: an unknown price is a note (with one: refused)
    with ScriptedChatServer(echo) as srv:
        model = load_model("openai:mystery", api_base=srv.base_url, caps=budget)
        model.complete(msg(0))
    assert budget.usage.cost == 0 and budget.usage.tokens == 23
    assert "no price for model 'mystery'" in budget.usage.notes[0]


def test_user_price_table(tmp_path, monkeypatch):
    table = tmp_path / "prices.yaml"
    table.write_text("my-model: {input: 3.0, output: 6.0}\n")
    monkeypatch.setenv("PATCHWARDEN_PRICES", str(table))
    with ScriptedChatServer(echo) as srv:
        model = load_model("openai:my-model", api_base=srv.base_url)
        model.complete(msg(0))
    assert model.usage.cost == pytest.approx((3 * 3.0 + 20 * 6.0) / 1e6)


def test_bad_price_table_is_a_clear_error(tmp_path, monkeypatch):
    table = tmp_path / "prices.yaml"
    table.write_text("my-model: {input: cheap}\n")
    monkeypatch.setenv("PATCHWARDEN_PRICES", str(table))
    with ScriptedChatServer(echo) as srv:
        with pytest.raises(ModelError, match="numeric `input` and `output`"):   # read before the first call
            load_model("openai:my-model", api_base=srv.base_url, caps=Caps(max_cost=1.0)).complete(msg(0))


def test_replay_answers_from_log_without_server(tmp_path):
    counter = iter(range(1000))
    run1 = tmp_path / "run1"
    with ScriptedChatServer(lambda req: [f"answer {next(counter)}" for _ in range(req["n"])]) as srv:
        model = load_model("openai:m", api_base=srv.base_url, log_dir=run1)
        first = [model.complete(msg(0), n=2, temperature=0.8), model.complete(msg(1)), model.complete(msg(0), n=2, temperature=0.8)]
    # The server is gone: replay must not need it. Identical requests come back in logged order.
    run2 = tmp_path / "run2"
    replayed = load_model("openai:m", log_dir=run2, replay=run1)
    again = [replayed.complete(msg(0), n=2, temperature=0.8), replayed.complete(msg(1)), replayed.complete(msg(0), n=2, temperature=0.8)]
    assert again == first and first[0] != first[2]
    assert replayed.usage.calls == 3 and replayed.usage.tokens == sum(
        json.loads(l)["prompt_tokens"] + json.loads(l)["completion_tokens"] for l in (run1 / "model_calls.jsonl").read_text().splitlines())
    # The replay run logs its calls too, so it can be replayed in turn.
    assert len((run2 / "model_calls.jsonl").read_text().splitlines()) == 3
    with pytest.raises(ReplayMiss, match="not in the replayed log"):
        replayed.complete(msg(0), n=2, temperature=0.8)  # a fourth identical call was never made
    with pytest.raises(ReplayMiss):
        replayed.complete(msg(0), n=2, temperature=0.5)  # different parameters


def test_replay_of_missing_run_dir(tmp_path):
    with pytest.raises(ModelError, match="nothing to replay"):
        load_model("openai:m", replay=tmp_path / "nope")


def test_replay_repeats_a_logged_failure(tmp_path):
    with ScriptedChatServer(lambda req: (404, {"error": {"message": "no such model"}})) as srv:
        model = load_model("openai:m", api_base=srv.base_url, log_dir=tmp_path)
        with pytest.raises(ModelError, match="not found") as first:
            model.complete(msg(0))
    replayed = load_model("openai:m", replay=tmp_path)
    with pytest.raises(ModelError) as again:
        replayed.complete(msg(0))
    assert str(again.value) == str(first.value) and not isinstance(again.value, ReplayMiss)


def test_resume_answers_logged_calls_and_pays_only_new_ones(tmp_path):
    with ScriptedChatServer(echo) as srv:
        first = load_model("openai:m", api_base=srv.base_url, log_dir=tmp_path, caps=Caps(max_calls=3))
        first.complete(msg(0))
        first.complete(msg(1))
        # The run is killed here; the resumed run replays its own log in place, then goes live.
        again = load_model("openai:m", api_base=srv.base_url, log_dir=tmp_path, caps=Caps(max_calls=3),
                           replay=tmp_path, resume=True)
        again.complete(msg(0))
        again.complete(msg(1))
        assert len(srv.requests) == 2
        again.complete(msg(2))
        assert len(srv.requests) == 3
        with pytest.raises(BudgetExceeded):  # the cap counts the calls of the killed run too
            again.complete(msg(3))
    assert len((tmp_path / "model_calls.jsonl").read_text().splitlines()) == 3
