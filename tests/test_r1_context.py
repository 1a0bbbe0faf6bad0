"""Context-aware training and generation: a GPT-2 with 128 positions (built here) against
HumanEvalFix, whose prompts are all longer than that.  Prompts are cut (or dropped), the completion
budget is capped, the counts are reported, and a context nothing fits in stops with exit 2."""
import json

import pytest
from typer.testing import CliRunner

from patchwarden.cli.main import app
from patchwarden.repair.models.context import ContextTooSmall, context_length, fit_rows
from patchwarden.repair.models.prompting import prompt_ids
from patchwarden.repair.r1.dataset import load_humanevalfix, load_split, write_jsonl
from patchwarden.repair.r1.prompt import as_messages


def tiny_gpt2(out, corpus, positions=128):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=600, special_tokens=["<|endoftext|>"],
                                                         initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    fast.save_pretrained(out)
    eos = fast.eos_token_id
    GPT2LMHeadModel(GPT2Config(vocab_size=len(fast), n_positions=positions, n_embd=32, n_layer=2, n_head=2,
                               bos_token_id=eos, eos_token_id=eos)).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def hef_rows():
    return load_humanevalfix(None)


@pytest.fixture(scope="module")
def small(tmp_path_factory, hef_rows):
    return tiny_gpt2(tmp_path_factory.mktemp("gpt2-128"), [r["prompt"] for r in hef_rows[:20]])


def invoke(*args, code=0):
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (result.output, result.exception)
    assert "Traceback" not in result.output
    return result


def test_every_prompt_is_cut_to_fit_and_the_completion_is_capped(small, hef_rows):
    from transformers import AutoConfig, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(small)
    context = context_length(AutoConfig.from_pretrained(small), tok)
    assert context == 128
    rows = hef_rows[:6]
    kept, report = fit_rows(tok, rows, lambda r: as_messages(r["prompt"]), context, 2048)
    assert report.completion_budget == 64 and report.cut == 6 and report.dropped == 0
    for row, msgs in kept:
        ids = prompt_ids(tok, msgs)
        assert len(ids) <= 64
        assert row["prompt"].endswith(msgs[0]["content"])   # the end (code and cue) is what stays
    with pytest.raises(ContextTooSmall, match="no prompt fits"):
        fit_rows(tok, rows, lambda r: as_messages(r["prompt"]), context, 2048, drop_long=True)


def test_train_eval_on_a_small_context_reports_cuts_and_stops_cleanly(small, tmp_path, hef_rows):
    data = tmp_path / "data"
    write_jsonl(data / "test.jsonl", sorted(hef_rows, key=lambda r: len(r["prompt"]))[:1])
    out = invoke("train", "eval", "--model", f"hf:{small}", "--data", str(data), "--samples", "1",
                 "--temperature", "0", "--workers", "1", "--json")
    report = json.loads(out.stdout)
    assert report["context"]["cut"] == 1 and report["context"]["completion_budget"] == 64
    failed = invoke("train", "eval", "--model", f"hf:{small}", "--data", str(data), "--samples", "1",
                    "--drop-long", "--workers", "1", code=2)
    assert "no prompt fits" in failed.output and "128" in failed.output


def test_train_grpo_refuses_a_context_nothing_fits_in(small, tmp_path, hef_rows):
    data = tmp_path / "data"
    write_jsonl(data / "train.jsonl", hef_rows[:2])
    failed = invoke("train", "grpo", "--model", f"hf:{small}", "--data", str(data), "--out", str(tmp_path / "run"),
                    "--max-steps", "1", "--num-generations", "2", "--drop-long", code=2)
    assert "no prompt fits" in failed.output and not (tmp_path / "run" / "checkpoint-1").exists()


@pytest.fixture
def one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_grpo_and_eval_run_two_steps_on_a_128_position_gpt2(small, tmp_path, one_torch_thread):
    data, out = tmp_path / "data", tmp_path / "run"
    invoke("train", "dataset", "--from", "humanevalfix", "--out", str(data), "--json")
    by_length = lambda rows: sorted(rows, key=lambda r: len(r["prompt"]))  # noqa: E731
    write_jsonl(data / "train.jsonl", by_length(load_split(data, "train"))[:2])
    write_jsonl(data / "test.jsonl", by_length(load_split(data, "test"))[:1])
    config = tmp_path / "grpo.json"   # max_completion_length stays the method's 2048: the context caps it
    config.write_text(json.dumps({"per_device_train_batch_size": 2, "gradient_accumulation_steps": 1, "save_steps": 2}))
    summary = json.loads(invoke("train", "grpo", "--model", f"hf:{small}", "--data", str(data), "--out", str(out),
                                "--num-generations", "2", "--max-steps", "2", "--config", str(config),
                                "--workers", "1", "--json").stdout)
    assert summary["steps"] == 2
    assert summary["context"]["cut"] == 2 and summary["context"]["completion_budget"] == 64
    first = json.loads((out / "metrics.jsonl").read_text().splitlines()[0])
    assert first["context"]["cut"] == 2 and first["context"]["completion_requested"] == 2048
    report = json.loads(invoke("train", "eval", "--model", f"hf:{out}", "--data", str(data), "--samples", "2",
                               "--workers", "1", "--json").stdout)
    assert report["bugs"] == 1 and report["context"]["cut"] == 1
