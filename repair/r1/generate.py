"""Sampling from a policy: a transformers checkpoint in-process, or any `repair.models` backend.

`HFPolicy` follows the Model protocol (`complete(messages, n=..., temperature=...)`) and prompts
exactly as training did, through `repair.models.prompting` (the builder training and the policy
engine use).
"""
from __future__ import annotations


class PolicyLoadError(Exception):
    """The model spec cannot be loaded; the message names the fix."""


class HFPolicy:
    def __init__(self, path: str, device: str | None = None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.name = f"hf:{path}"
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            dtype = torch.bfloat16 if self.device == "cuda" else torch.float32
            self.model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(self.device).eval()
        except (OSError, ValueError) as exc:
            raise PolicyLoadError(f"could not load {path!r} ({exc}); pass --model hf:DIR_OR_ID of a causal LM") from exc
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.tokenizer.padding_side = "left"

    def complete(self, messages: list[dict], *, n: int = 1, temperature: float = 0.0, max_tokens: int = 512,
                 top_p: float = 1.0) -> list[str]:
        import torch

        from patchwarden.repair.models.prompting import prompt_ids

        ids = torch.tensor([prompt_ids(self.tokenizer, messages)], device=self.device)
        enc = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
        sample = temperature > 0
        kwargs = dict(do_sample=sample, max_new_tokens=max_tokens, num_return_sequences=n,
                      pad_token_id=self.tokenizer.pad_token_id)
        if sample:
            kwargs.update(temperature=temperature, top_p=top_p, top_k=0)
        with torch.no_grad():
            out = self.model.generate(**enc, **kwargs)
        start = enc["input_ids"].shape[1]
        texts = self.tokenizer.batch_decode(out[:, start:], skip_special_tokens=True)
        if len(texts) < n:  # greedy decoding returns one sequence; repeat it
            texts = (texts * n)[:n]
        return texts


def load_policy(spec: str):
    """`hf:PATH_OR_ID` in-process; other specs (openai:, vllm:) through `repair.models.load_model`."""
    from patchwarden.repair.models import load_model

    if spec.startswith("hf:"):
        return HFPolicy(spec[3:])
    try:
        return load_model(spec)
    except Exception as exc:
        raise PolicyLoadError(f"could not load model {spec!r}: {exc}") from exc


def policy_context(policy) -> tuple[object, int | None] | None:
    """(tokenizer, context length) of an in-process policy (hf: directly or behind the metered
    wrapper); None for remote models, whose server enforces its own context."""
    from patchwarden.repair.models.context import context_length

    backend = getattr(policy, "backend", policy)
    tok = getattr(backend, "tokenizer", None) or getattr(backend, "tok", None)
    model = getattr(backend, "model", None)
    if tok is None or model is None or not hasattr(model, "config"):
        return None
    return tok, context_length(model.config, tok)


def fit_policy_rows(policy, rows: list[dict], max_tokens: int, drop_long: bool = False):
    """Fit each row's prompt into the policy's context: (rows kept, their messages, max_tokens, report).

    Raises repair.models.context.ContextTooSmall when nothing fits."""
    from patchwarden.repair.models.context import fit_rows

    from .prompt import as_messages

    found = policy_context(policy)
    if found is None:
        return rows, [as_messages(r["prompt"]) for r in rows], max_tokens, None
    tok, context = found
    kept, report = fit_rows(tok, rows, lambda r: as_messages(r["prompt"]), context, max_tokens, drop_long)
    return [r for r, _ in kept], [m for _, m in kept], report.completion_budget, report
