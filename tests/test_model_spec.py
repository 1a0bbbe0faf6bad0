"""Model specs are parsed in one place (repair/models/spec.py) for repair, training and evaluation."""
import pytest

from patchwarden.repair.models import ModelError
from patchwarden.repair.models.spec import checkpoint, parse_spec


def test_specs_name_their_kind_and_target():
    assert parse_spec("openai:gpt-4o-mini") == ("openai", "gpt-4o-mini")
    assert parse_spec("hf:/models/policy") == ("hf", "/models/policy")
    for bad in ("gpt-4o", "hf:", "ollama:llama3", ""):
        with pytest.raises(ModelError, match="openai:NAME, hf:PATH_OR_ID or vllm:PATH_OR_ID"):
            parse_spec(bad)


def test_a_checkpoint_is_an_hf_spec_or_a_bare_path_and_never_a_server_model(tmp_path):
    from patchwarden.repair.r1.train import TrainError, model_path

    assert checkpoint("hf:Qwen/Qwen2.5-Coder-1.5B-Instruct") == "Qwen/Qwen2.5-Coder-1.5B-Instruct"
    assert checkpoint("Qwen/Qwen2.5-Coder-1.5B-Instruct") == "Qwen/Qwen2.5-Coder-1.5B-Instruct"
    assert checkpoint(str(tmp_path)) == str(tmp_path)
    assert checkpoint("openai:coder") is None and checkpoint("vllm:/models/x") is None
    with pytest.raises(TrainError, match="use --model hf:PATH_OR_ID"):
        model_path("openai:coder")
