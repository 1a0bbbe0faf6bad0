"""End to end: a tiny random Llama (built here, tokenizer trained on the spot) trains 2 GRPO steps
with the sandboxed rewards through the CLI, checkpoints, resumes for a third step, and
`train eval` reports its (zero) scores."""
import json

import pytest
from typer.testing import CliRunner

from patchwarden.cli.main import app
from patchwarden.repair.r1.dataset import load_split, write_jsonl
from patchwarden.repair.r1.tiny_model import build_tiny_model


def invoke(*args):
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


@pytest.fixture
def one_torch_thread():
    """A 2-layer model gains nothing from threads, and on a shared machine they slow it 10x."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_tiny_model_trains_checkpoints_resumes_and_evaluates(tmp_path, one_torch_thread):
    data, out = tmp_path / "data", tmp_path / "run"
    meta = json.loads(invoke("train", "dataset", "--from", "humanevalfix", "--out", str(data), "--json"))
    assert meta["train_rows"] + meta["test_rows"] == 164
    by_length = lambda rows: sorted(rows, key=lambda r: len(r["prompt"]))  # noqa: E731 - short prompts, fast steps
    train, test = by_length(load_split(data, "train"))[:2], by_length(load_split(data, "test"))[:1]
    write_jsonl(data / "train.jsonl", train)  # keep the run small
    write_jsonl(data / "test.jsonl", test)
    model = build_tiny_model(tmp_path / "tiny", [r["prompt"] + r["reference"] for r in train + test], vocab_size=1000)
    config = tmp_path / "grpo.json"
    config.write_text(json.dumps({"max_completion_length": 8, "per_device_train_batch_size": 2,
                                  "gradient_accumulation_steps": 1, "save_steps": 1}))
    common = ["train", "grpo", "--model", f"hf:{model}", "--data", str(data), "--out", str(out),
              "--num-generations", "2", "--config", str(config), "--workers", "1", "--json"]

    first = json.loads(invoke(*common, "--max-steps", "2"))
    assert first["steps"] == 2 and (out / "checkpoint-2").is_dir()
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    logged = [r for r in records if "reward" in r]
    assert [r["step"] for r in logged] == [1, 2]
    for key in ("rewards/format_reward/mean", "rewards/discriminative_tests/mean", "rewards/repair/mean"):
        assert all(key in r for r in logged), key
    assert (out / "rewards.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    second = json.loads(invoke(*common, "--max-steps", "3", "--resume"))
    assert second["resumed_from"].endswith("checkpoint-2")
    assert second["steps"] == 3 and (out / "checkpoint-3").is_dir()
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert 3 in steps

    report = json.loads(invoke("train", "eval", "--model", f"hf:{out}", "--data", str(data), "--samples", "2",
                               "--max-tokens", "8", "--workers", "1", "--json"))
    assert report["bugs"] == 1 and report["samples"] == 2
    assert report["bugfix@1"] == 0.0 and report["bugfix@2"] == 0.0
    assert report["test"] == 0.0 and report["tcov"] == 0.0 and report["format"] == 0.0
