"""`vllm:PATH_OR_ID` — vLLM's offline engine (optional extra, GPU only), imported lazily."""
from __future__ import annotations

from patchwarden.repair.models.budget import ModelError
from patchwarden.repair.models.hf_backend import plain_prompt
from patchwarden.repair.models.metered import Generation


class VLLMBackend:
    local = True

    def __init__(self, path: str):
        try:
            import vllm
        except ImportError as e:
            raise ModelError(
                f"vllm:{path}: vLLM is not installed; `pip install 'patchwarden[vllm]'` on a CUDA machine, "
                "or use hf:PATH (transformers) or openai:NAME against `vllm serve`"
            ) from e
        import torch

        if not torch.cuda.is_available():
            raise ModelError(f"vllm:{path}: vLLM needs a CUDA GPU and none is visible; use hf:{path} on CPU instead")
        self.vllm = vllm
        self.name = path
        self.llm = vllm.LLM(model=path)
        self.tok = self.llm.get_tokenizer()

    def count_prompt_tokens(self, messages: list[dict]) -> int:
        if getattr(self.tok, "chat_template", None):
            text = self.tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            return len(self.tok(text, add_special_tokens=False)["input_ids"])
        return len(self.tok(plain_prompt(messages))["input_ids"])

    def generate(self, messages, *, n, temperature, max_tokens, top_p) -> Generation:
        sp = self.vllm.SamplingParams(n=n, temperature=temperature, top_p=top_p if temperature > 0 else 1.0,
                                      max_tokens=max_tokens)
        if getattr(self.tok, "chat_template", None):
            outs = self.llm.chat([messages], sp, use_tqdm=False)
        else:
            outs = self.llm.generate([plain_prompt(messages)], sp, use_tqdm=False)
        o = outs[0]
        return Generation([c.text for c in o.outputs], len(o.prompt_token_ids),
                          sum(len(c.token_ids) for c in o.outputs))
