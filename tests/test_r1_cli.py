"""Repair-R1 training settings and the CLI's clean errors."""
import pytest
from typer.testing import CliRunner

from patchwarden.cli.main import app
from patchwarden.repair.r1.dataset import load_humanevalfix, write_jsonl
from patchwarden.repair.r1.train import METHOD_DEFAULTS, TrainError, TrainRequest, build_settings, fit_batch_to_generations


def test_method_defaults_and_config_overrides(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("learning_rate: 1.0e-6\nmax_completion_length: 512\n")
    settings, notes = build_settings(TrainRequest(model="hf:x", data="d", out="o", config_file=str(cfg), max_steps=7), has_cuda=False)
    assert settings["learning_rate"] == 1e-6 and settings["max_completion_length"] == 512 and settings["max_steps"] == 7
    for key in ("lr_scheduler_type", "warmup_steps", "beta", "epsilon", "temperature", "num_generations"):
        assert settings[key] == METHOD_DEFAULTS[key]
    assert settings["bf16"] is False and settings["use_cpu"] is True and notes == []


@pytest.mark.parametrize("batch,accum,gens,new_accum", [(1, 8, 8, 8), (1, 8, 3, 9), (2, 1, 4, 2), (1, 8, 16, 16), (4, 1, 6, 3)])
def test_num_generations_always_divides_the_generation_batch(batch, accum, gens, new_accum):
    s = {"per_device_train_batch_size": batch, "gradient_accumulation_steps": accum, "num_generations": gens}
    note = fit_batch_to_generations(s)
    assert s["gradient_accumulation_steps"] == new_accum and (batch * new_accum) % gens == 0
    assert (note is None) == (accum == new_accum)


def test_one_generation_is_refused():
    with pytest.raises(TrainError, match="at least 2"):
        fit_batch_to_generations({"per_device_train_batch_size": 1, "gradient_accumulation_steps": 8, "num_generations": 1})


def _error(*args):
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return result.output


def test_clean_errors(tmp_path):
    write_jsonl(tmp_path / "data" / "train.jsonl", load_humanevalfix()[:2])
    data, out = str(tmp_path / "data"), str(tmp_path / "run")
    assert "no checkpoint" in _error("train", "grpo", "--model", "hf:x", "--data", data, "--out", out, "--resume")
    assert "train dataset" in _error("train", "grpo", "--model", "hf:x", "--data", str(tmp_path / "nope"), "--out", out)
    assert "not found" in _error("train", "grpo", "--model", "hf:x", "--data", data, "--out", out, "--config", "nope.yaml")
    assert "CUDA" in _error("train", "grpo", "--model", "hf:x", "--data", data, "--out", out, "--use-vllm")
    (tmp_path / "run" / "checkpoint-4").mkdir(parents=True)
    assert "--resume" in _error("train", "grpo", "--model", "hf:x", "--data", data, "--out", out)
    assert "--samples" in _error("train", "eval", "--model", "hf:x", "--data", data, "--samples", "0")
