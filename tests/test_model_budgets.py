"""Budgets that hold for every model: registry prices, refusal of unpriced models under --max-cost,
cap stops surfacing in result.json / --json / the CLI's last line, and Retry-After.
A real OpenAI-compatible HTTP server on 127.0.0.1 answers every call."""
import json
import sys
import time

import pytest
from typer.testing import CliRunner

from patchwarden.cli.main import app
from patchwarden.repair.models import Caps, UnknownPrice, load_model
from patchwarden.repair.models.scripted_server import ScriptedChatServer
from patchwarden.repair.pipeline import run_repair
from tests.test_srepair_pipeline import config, repo  # noqa: F401 (fixture)


def echo(req):
    return [("word " * 20).strip()] * req["n"]


MSG = [{"role": "user", "content": "question"}]


def test_unpriced_model_with_max_cost_is_refused_before_any_call():
    with ScriptedChatServer(echo) as srv:
        with pytest.raises(UnknownPrice, match="--price-in USD --price-out USD"):
            load_model("openai:my-finetune-7b", api_base=srv.base_url, caps=Caps(max_cost=0.001))
        assert srv.requests == []


def test_price_override_and_registry_prices_hold_the_cap():
    with ScriptedChatServer(echo) as srv:
        model = load_model("openai:my-finetune-7b", api_base=srv.base_url,
                           caps=Caps(max_cost=1.0, price_in=1000.0, price_out=2000.0))
        model.complete(MSG, max_tokens=50)
        assert model.usage.cost == pytest.approx((1 * 1000 + 20 * 2000) / 1e6)
        # a model priced only in litellm's cost map (not in prices.yaml) is priced, not free
        other = load_model("openai:mistral.ministral-3-8b-instruct", api_base=srv.base_url, caps=Caps(max_cost=1.0))
        other.complete(MSG, max_tokens=50)
        assert other.usage.cost > 0


def test_cli_refuses_unpriced_max_cost_naming_the_fix(repo, tmp_path):  # noqa: F811
    with ScriptedChatServer(echo) as srv:
        result = CliRunner().invoke(app, ["repair", str(repo), "--test-cmd", f"{sys.executable} -m pytest -q",
                                          "--engine", "srepair", "--sandbox", "local", "--model", "openai:my-finetune-7b",
                                          "--api-base", srv.base_url, "--max-cost", "0.001", "--no-bounce",
                                          "--out", str(tmp_path / "run")])
        assert srv.requests == []
    assert result.exit_code == 2, result.output
    assert "--price-in" in result.output and "Traceback" not in result.output


def test_cap_stop_surfaces_in_result_json_json_and_last_line(repo, tmp_path):  # noqa: F811
    with ScriptedChatServer(lambda req: ["Root Cause: unknown."] * req["n"]) as srv:
        out = run_repair(config(repo, tmp_path, "run", model="openai:m", api_base=srv.base_url, max_calls=1))
        assert len(srv.requests) == 1
    assert out.status == "none" and "max_calls=1" in out.stop_reason
    saved = json.loads((tmp_path / "run" / "result.json").read_text())
    assert "max_calls=1" in saved["stop_reason"] and "stopped early" in saved["message"]

    with ScriptedChatServer(lambda req: ["Root Cause: unknown."] * req["n"]) as srv:
        args = ["repair", str(repo), "--test-cmd", f"{sys.executable} -m pytest -q", "--engine", "srepair",
                "--sandbox", "local", "--model", "openai:m", "--api-base", srv.base_url, "--max-calls", "1",
                "--suggestions", "1", "--no-bounce"]
        shown = CliRunner().invoke(app, args + ["--out", str(tmp_path / "cli")])
        printed = CliRunner().invoke(app, args + ["--out", str(tmp_path / "cli-json"), "--json"])
    assert shown.exit_code == 1, shown.output
    assert "stopped early" in shown.output.strip().splitlines()[-1] and "max_calls=1" in shown.output.strip().splitlines()[-1]
    assert "max_calls=1" in json.loads(printed.stdout)["stop_reason"]


def test_retry_after_is_honoured():
    calls = []

    def limited(req):
        calls.append(time.monotonic())
        if len(calls) == 1:
            return 429, {"error": {"message": "slow down"}}, {"Retry-After": "1"}
        return echo(req)

    with ScriptedChatServer(limited) as srv:
        model = load_model("openai:m", api_base=srv.base_url)
        assert model.complete(MSG) == [("word " * 20).strip()]
    waited = calls[1] - calls[0]
    assert 0.95 <= waited < 5, waited   # our own backoff alone waits 0.5-0.63 s
