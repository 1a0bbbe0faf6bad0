"""A tiny random causal LM with a tokenizer trained on the spot: for tests, smoke runs and toy benchmarks.

No download: the tokenizer is a byte-level BPE trained on the given texts, the model a 2-layer Llama
with random weights, both saved with `save_pretrained` so `hf:DIR` loads them like any checkpoint.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable


def build_tiny_model(out_dir: str | Path, corpus: Iterable[str], vocab_size: int = 400, hidden: int = 32,
                     layers: int = 2, seed: int = 0, byte_level: bool = True) -> Path:
    """`byte_level=False` builds a tokenizer over the corpus' own characters whose merges may cross
    spaces and newlines: on a repetitive corpus a whole answer becomes a handful of tokens."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    specials = ["<pad>", "<s>", "</s>"]
    if byte_level:
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        alphabet = pre_tokenizers.ByteLevel.alphabet()
    else:
        specials.append("<unk>")
        tok = Tokenizer(models.BPE(unk_token="<unk>"))
        tok.decoder = decoders.Fuse()
        alphabet = []
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, initial_alphabet=alphabet)
    tok.train_from_iterator(list(corpus), trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", bos_token="<s>", eos_token="</s>")
    fast.save_pretrained(out)
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(fast), hidden_size=hidden, intermediate_size=hidden * 2, num_hidden_layers=layers,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=8192,
        pad_token_id=fast.pad_token_id, bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id,
        tie_word_embeddings=True,
    )
    LlamaForCausalLM(config).save_pretrained(out)
    return out
