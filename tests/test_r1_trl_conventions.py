"""`train grpo` takes TRL-style YAML configs and GRPOConfig fields as flags (TRL's own parser conventions)."""
import json

import pytest
import yaml
from typer.testing import CliRunner

from patchwarden.cli.main import app
from patchwarden.cli.schemas import validate
from patchwarden.repair.r1.dataset import load_humanevalfix, write_jsonl
from patchwarden.repair.r1.trl_args import TrlArgsError, parse_grpo_flags, split_config


def test_flags_are_parsed_as_grpo_config_declares_them():
    got = parse_grpo_flags(["--beta", "0.1", "--bf16", "false", "--lr-scheduler-type", "constant", "--seed", "7"])
    assert got == {"beta": 0.1, "bf16": False, "lr_scheduler_type": "constant", "seed": 7}
    with pytest.raises(TrlArgsError, match="did you mean beta"):
        parse_grpo_flags(["--betta", "0.1"])
    with pytest.raises(TrlArgsError, match="invalid float value"):
        parse_grpo_flags(["--beta", "high"])


def test_trl_yaml_keys_map_onto_the_request_and_unknown_keys_are_named(monkeypatch):
    monkeypatch.delenv("PW_TRL_TEST", raising=False)
    paths, settings = split_config({"model_name_or_path": "m", "dataset_name": "d", "output_dir": "o", "beta": 0.2,
                                    "env": {"PW_TRL_TEST": "1"}}, "c.yaml")
    assert paths == {"model": "m", "data": "d", "out": "o"} and settings == {"beta": 0.2}
    import os
    assert os.environ["PW_TRL_TEST"] == "1"
    with pytest.raises(TrlArgsError, match="'learning_rat' .*did you mean learning_rate"):
        split_config({"learning_rat": 1e-5}, "c.yaml")


def test_cli_unknown_flag_is_one_clean_line(tmp_path):
    res = CliRunner().invoke(app, ["train", "grpo", "--model", "hf:x", "--data", str(tmp_path), "--out", str(tmp_path / "o"), "--betta", "1"])
    assert res.exit_code == 2 and "did you mean beta" in res.output and "Traceback" not in res.output


def test_one_step_from_a_trl_yaml_with_grpo_flags(tmp_path):
    import torch

    from patchwarden.repair.r1.tiny_model import build_tiny_model

    torch.set_num_threads(1)
    rows = sorted(load_humanevalfix(), key=lambda r: len(r["prompt"]))[:2]
    data, out = tmp_path / "data", tmp_path / "run"
    write_jsonl(data / "train.jsonl", rows)
    write_jsonl(data / "test.jsonl", rows[:1])
    model = build_tiny_model(tmp_path / "tiny", [r["prompt"] + r["reference"] for r in rows], vocab_size=1000)
    config = tmp_path / "grpo.yaml"  # what `trl grpo --config` reads
    config.write_text(yaml.safe_dump({"model_name_or_path": str(model), "dataset_name": str(data), "output_dir": str(out),
                                      "max_completion_length": 8, "per_device_train_batch_size": 2,
                                      "gradient_accumulation_steps": 1, "num_generations": 2, "save_steps": 1, "max_steps": 1}))
    res = CliRunner().invoke(app, ["train", "grpo", "--config", str(config), "--workers", "1", "--json",
                                   "--beta", "0.0", "--seed", "7", "--lr_scheduler_type", "constant"])
    assert res.exit_code == 0, (res.output, res.exception)
    summary = json.loads(res.stdout)
    validate(summary)
    assert summary["steps"] == 1 and summary["out"] == str(out)
    args = torch.load(out / "checkpoint-1" / "training_args.bin", weights_only=False)
    assert (args.beta, args.seed, args.lr_scheduler_type.value, args.max_completion_length) == (0.0, 7, "constant", 8)
    res = CliRunner().invoke(app, ["train", "eval", "--model", f"hf:{out}", "--data", str(data), "--samples", "2",
                                   "--max-tokens", "8", "--workers", "1", "--json"])
    assert res.exit_code == 0, res.output
    validate(json.loads(res.stdout))
