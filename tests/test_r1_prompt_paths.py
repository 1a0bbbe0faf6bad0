"""One prompt for a trained policy: GRPO training (TRL's own tokenization of our dataset column),
`train eval` (load_policy) and `repair --engine policy` (load_model) send the identical token ids, for a tokenizer with and without a chat template."""
import pytest

from patchwarden.repair.r1.prompt import as_messages, build_prompt
from patchwarden.repair.r1.tiny_model import build_tiny_model

TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}</s>\n{% endfor %}"
            "{% if add_generation_prompt %}<|assistant|>\n{% endif %}")
BUGGY = "def inc(x):\n    return x - 1\n"


@pytest.fixture(scope="module", params=["plain", "chat-template"])
def policy_dir(request, tmp_path_factory):
    out = build_tiny_model(tmp_path_factory.mktemp(request.param), [build_prompt(BUGGY)] * 3, vocab_size=300)
    if request.param == "chat-template":
        from transformers import AutoTokenizer
        tok = AutoTokenizer.from_pretrained(out)
        tok.chat_template = TEMPLATE
        tok.save_pretrained(out)
    return out


def _spy_generate(model, seen):
    original = model.generate

    def generate(*args, **kwargs):
        seen.append(kwargs["input_ids"][0].tolist())
        kwargs["max_new_tokens"] = 1
        return original(*args, **kwargs)
    model.generate = generate


def test_training_eval_and_policy_engine_send_the_same_prompt(policy_dir):
    from trl import GRPOConfig, GRPOTrainer
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from patchwarden.repair.models import load_model
    from patchwarden.repair.r1.policy_model import load_policy
    from patchwarden.repair.r1.train import to_trl_prompts

    messages = as_messages(build_prompt(BUGGY))
    tok = AutoTokenizer.from_pretrained(policy_dir)
    rows = to_trl_prompts([{"prompt": build_prompt(BUGGY)}], tok)
    trainer = GRPOTrainer(model=AutoModelForCausalLM.from_pretrained(policy_dir), reward_funcs=lambda completions, **k: [0.0] * len(completions),
                          args=GRPOConfig(output_dir=str(policy_dir / "grpo"), use_cpu=True, report_to="none",
                                          per_device_train_batch_size=2, num_generations=2, max_completion_length=4),
                          train_dataset=Dataset.from_list(rows), processing_class=tok)
    training_ids = list(trainer._tokenize_prompts([rows[0]["prompt"]])[0][0])

    seen: list = []
    policy = load_policy(f"hf:{policy_dir}")
    _spy_generate(policy.backend.model, seen)
    policy.complete(messages, max_tokens=1)
    engine = load_model(f"hf:{policy_dir}")
    _spy_generate(engine.backend.model, seen)
    engine.complete(messages, max_tokens=1)

    eval_ids, engine_ids = seen
    assert training_ids == eval_ids == engine_ids
    text = tok.decode(training_ids)
    assert text.endswith("<|assistant|>\n") if tok.chat_template else text.endswith("Assistant:")


def test_train_eval_samples_through_the_one_in_process_generator(policy_dir):
    """`train eval` gets the repair engine's HF backend (context fitting, greedy n > 1 answered by
    one decode) instead of a second generator of its own."""
    from patchwarden.repair.models.hf_backend import HFBackend
    from patchwarden.repair.r1.policy_model import load_policy

    policy = load_policy(f"hf:{policy_dir}")
    assert isinstance(policy.backend, HFBackend) and policy.backend.top_k == 0  # sampled as GRPO training samples
    texts = policy.complete(as_messages(build_prompt(BUGGY)), n=2, temperature=0.0, max_tokens=2)
    assert len(texts) == 2 and texts[0] == texts[1]
