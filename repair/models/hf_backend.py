"""`hf:PATH_OR_ID` — in-process generation with transformers (CPU or GPU)."""
from __future__ import annotations

from repair.models.budget import ModelError
from repair.models.metered import Generation


def plain_prompt(messages: list[dict]) -> str:
    """For tokenizers without a chat template."""
    parts = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
    return "\n\n".join(parts) + "\n\nAssistant:"


class HFBackend:
    local = True

    def __init__(self, path: str, device: str | None = None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.name = path
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        try:
            self.tok = AutoTokenizer.from_pretrained(path)
            dtype = "auto" if self.device.startswith("cuda") else torch.float32
            self.model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(self.device).eval()
        except (OSError, ValueError) as e:
            raise ModelError(f"hf:{path}: cannot load the model or tokenizer ({e}); pass a local directory or a hub id that is cached") from e
        if self.tok.pad_token_id is None:
            self.tok.pad_token = self.tok.eos_token if self.tok.eos_token is not None else self.tok.unk_token
        cfg = self.model.config
        self.max_positions = getattr(cfg, "max_position_embeddings", None) or getattr(cfg, "n_positions", None)

    def _prompt_ids(self, messages: list[dict]) -> list[int]:
        if getattr(self.tok, "chat_template", None):
            text = self.tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            return self.tok(text, add_special_tokens=False)["input_ids"]
        return self.tok(plain_prompt(messages))["input_ids"]

    def _fit(self, ids: list[int], max_new: int) -> tuple[list[int], int, bool]:
        """Keep prompt + new tokens within the model's context: cut the prompt's start (its end holds the cue)."""
        if not self.max_positions:
            return ids, max_new, False
        max_new = min(max_new, max(1, self.max_positions // 2))
        room = self.max_positions - max_new
        return (ids[-room:], max_new, True) if len(ids) > room else (ids, max_new, False)

    def count_prompt_tokens(self, messages: list[dict]) -> int:
        ids = self._prompt_ids(messages)
        return len(ids) if not self.max_positions else min(len(ids), self.max_positions)

    def generate(self, messages, *, n, temperature, max_tokens, top_p) -> Generation:
        torch = self.torch
        ids, max_new, cut = self._fit(self._prompt_ids(messages), max_tokens)
        x = torch.tensor([ids], device=self.device)
        sample = temperature > 0
        kw = dict(do_sample=True, temperature=temperature, top_p=top_p, num_return_sequences=n) if sample else dict(do_sample=False)
        with torch.no_grad():
            out = self.model.generate(
                input_ids=x, attention_mask=torch.ones_like(x), max_new_tokens=max_new,
                pad_token_id=self.tok.pad_token_id, **kw,
            )
        new = out[:, len(ids):].tolist()
        eos = self.tok.eos_token_id
        texts, completion = [], 0
        for seq in new:
            if eos is not None and eos in seq:
                seq = seq[: seq.index(eos)]
            completion += len(seq)
            texts.append(self.tok.decode(seq, skip_special_tokens=True))
        if not sample:  # greedy: one decode serves every requested sample
            texts = texts * n
        meta = {"device": self.device}
        if cut:
            meta["prompt_truncated_to"] = len(ids)
        return Generation(texts, len(ids), completion, meta)
