"""The hf backend with a tiny random GPT-2 and a tokenizer trained here (no hub access)."""
import json

import pytest

from patchwarden.repair.bug_context import BugContext, SuspiciousFunction
from patchwarden.sandboxes.testresults import TestResult as Result
from patchwarden.repair.engines.srepair import SRepairEngine
from patchwarden.repair.source_functions import extract_functions
from patchwarden.repair.models import BudgetExceeded, Caps, load_model

CODE = "def add(a, b):\n    # Sum of a and b.\n    return a - b\n"


def build_tiny_model(path):
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = [CODE, "Root Cause: the operator is wrong.", "Suggestion 1: use plus", "```python\n```"] * 20
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=320, special_tokens=["<unk>", "<eos>"],
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", eos_token="<eos>")
    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=len(fast), n_positions=256, n_embd=32, n_layer=2, n_head=2,
                     bos_token_id=fast.eos_token_id, eos_token_id=fast.eos_token_id)
    GPT2LMHeadModel(cfg).save_pretrained(path)
    fast.save_pretrained(path)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    pytest.importorskip("transformers")
    import torch

    # A 2-layer toy model: extra threads only spin on this shared 2-core machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    path = tmp_path_factory.mktemp("tiny-gpt2")
    build_tiny_model(path)
    yield path
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def model(tiny, tmp_path_factory):
    return load_model(f"hf:{tiny}", log_dir=tmp_path_factory.mktemp("run"))


def test_sampling_greedy_and_exact_token_counts(model):
    msgs = [{"role": "user", "content": "fix this: " + CODE}]
    before = model.usage.tokens
    sampled = model.complete(msgs, n=3, temperature=0.9, max_tokens=12)
    greedy = model.complete(msgs, n=2, temperature=0.0, max_tokens=12)
    assert len(sampled) == 3 and all(isinstance(t, str) for t in sampled)
    assert greedy[0] == greedy[1]
    entries = [json.loads(l) for l in model.log.path.read_text().splitlines()][-2:]
    prompt_len = len(model.backend._prompt_ids(msgs))
    assert entries[0]["prompt_tokens"] == prompt_len and 0 < entries[0]["completion_tokens"] <= 36
    assert entries[1]["params"]["temperature"] == 0.0 and entries[0]["cost"] == 0
    assert model.usage.tokens - before == sum(e["prompt_tokens"] + e["completion_tokens"] for e in entries)


def test_chat_template_used_when_the_tokenizer_has_one(model):
    msgs = [{"role": "user", "content": "hello"}]
    plain = model.backend.tok.decode(model.backend._prompt_ids(msgs))
    assert plain.startswith("User: hello") and plain.endswith("Assistant:")
    model.backend.tok.chat_template = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}<|assistant|>"
    try:
        templated = model.backend.tok.decode(model.backend._prompt_ids(msgs))
    finally:
        model.backend.tok.chat_template = None
    assert templated == "<|user|>hello<|assistant|>"


def test_long_prompt_is_cut_to_the_context_window(model):
    out = model.complete([{"role": "user", "content": CODE * 200}], max_tokens=500)
    entry = json.loads(model.log.path.read_text().splitlines()[-1])
    assert len(out) == 1 and entry["prompt_tokens"] + entry["completion_tokens"] <= 256
    assert entry["meta"]["prompt_truncated_to"] == entry["prompt_tokens"]


def test_token_cap_is_exact_for_local_models(tiny):
    m = load_model(f"hf:{tiny}", caps=Caps(max_tokens=60))
    with pytest.raises(BudgetExceeded):
        for _ in range(10):
            m.complete([{"role": "user", "content": "add"}], n=2, temperature=0.8, max_tokens=50)
    assert m.usage.tokens <= 60


def test_garbage_output_is_rejected_never_crashes(model, tmp_path):
    (tmp_path / "calc.py").write_text(CODE)
    fn = extract_functions(CODE, "calc.py")[0]
    ctx = BugContext(tmp_path, "pytest", [Result("t.py::test_add", "failed", "assert -1 == 3", "")],
                     [SuspiciousFunction(fn, 1.0)], None, {"t.py::test_add": "def test_add():\n    assert add(1, 2) == 3"})
    engine = SRepairEngine(model, model, suggestions=2, patches_per_suggestion=3)
    cands = list(engine.generate(ctx))
    assert cands == []
    assert engine.rejected >= 3 and sum(engine.reject_reasons.values()) == engine.rejected
    assert engine.usage()["calls"] >= 2 and engine.stop_reason == ""
