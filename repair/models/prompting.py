"""The one prompt builder for in-process models: GRPO training, `train eval` and `--engine policy`.

A trained policy must see at repair time exactly the text it saw in training.  With a chat
template the messages go through it (generation prompt added); without one they are wrapped as
"User: ...\\n\\nAssistant:".  `prompt_ids` tokenizes the way TRL's GRPOTrainer does for the value
`trl_prompt` hands it (conversational messages -> the template, tokenized without extra special
tokens; a plain string -> the tokenizer's defaults), so the three paths agree token for token.
"""
from __future__ import annotations


def plain_prompt(messages: list[dict]) -> str:
    """For tokenizers without a chat template."""
    parts = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
    return "\n\n".join(parts) + "\n\nAssistant:"


def has_chat_template(tokenizer) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def prompt_text(tokenizer, messages: list[dict]) -> str:
    if has_chat_template(tokenizer):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return plain_prompt(messages)


def prompt_ids(tokenizer, messages: list[dict]) -> list[int]:
    if has_chat_template(tokenizer):
        return list(tokenizer(prompt_text(tokenizer, messages), add_special_tokens=False)["input_ids"])
    return list(tokenizer(plain_prompt(messages))["input_ids"])


def trl_prompt(tokenizer, messages: list[dict]):
    """What to put in a TRL dataset's `prompt` column so TRL builds the same ids as `prompt_ids`."""
    return messages if has_chat_template(tokenizer) else plain_prompt(messages)
