"""`hf:PATH_OR_ID` — in-process generation with transformers (CPU or GPU)."""
from __future__ import annotations

from patchwarden.repair.models.budget import ModelError
from patchwarden.repair.models.metered import Generation
from patchwarden.repair.models.prompting import plain_prompt, prompt_ids  # noqa: F401 (plain_prompt: vllm_backend imports it here)


class HFBackend:
    local = True

    def __init__(self, path: str, device: str | None = None, top_k: int | None = None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.name = path
        self.top_k = top_k  # None: the checkpoint's generation config decides
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
        from patchwarden.repair.models.context import context_length
        self.max_positions = context_length(cfg, self.tok)

    def _prompt_ids(self, messages: list[dict]) -> list[int]:
        return prompt_ids(self.tok, messages)   # the builder training and `train eval` use too

    def _fit(self, messages: list[dict], max_new: int) -> tuple[list[int], int, bool]:
        """Keep prompt + new tokens within the model's context (repair.models.context): the answer
        gets at most half of it and the last message loses its start (its end holds the cue)."""
        from patchwarden.repair.models.context import completion_budget, fit_messages

        ids = self._prompt_ids(messages)
        if not self.max_positions:
            return ids, max_new, False
        max_new = completion_budget(self.max_positions, max_new)
        room = self.max_positions - max_new
        if len(ids) <= room:
            return ids, max_new, False
        fitted = fit_messages(self.tok, messages, room)
        return (self._prompt_ids(fitted[0]) if fitted else ids[-room:]), max_new, True

    def count_prompt_tokens(self, messages: list[dict]) -> int:
        ids = self._prompt_ids(messages)
        return len(ids) if not self.max_positions else min(len(ids), self.max_positions)

    def generate(self, messages, *, n, temperature, max_tokens, top_p) -> Generation:
        torch = self.torch
        ids, max_new, cut = self._fit(messages, max_tokens)
        x = torch.tensor([ids], device=self.device)
        sample = temperature > 0
        kw = dict(do_sample=True, temperature=temperature, top_p=top_p, num_return_sequences=n) if sample else dict(do_sample=False)
        if sample and self.top_k is not None:
            kw["top_k"] = self.top_k
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
