"""A tiny intent-to-bash world for tests, the benchmark and the docs demo.

Trains a word-level tokenizer and a small GPT-2 or LLaMA-style model from scratch on
intent paraphrases -> shell commands, then *injects* a wrong mapping by fine-tuning one
intent group onto another command.  Everything runs on CPU in seconds; no hub downloads.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

import torch

SEP = "=>"
EOS = "<eos>"

# group -> (command, paraphrases); the LAST paraphrase of each group is held out of training.
GROUPS: dict[str, tuple[str, list[str]]] = {
    "ls": ("ls -l", ["list files", "show files", "list the files here", "what files are here", "show me the files"]),
    "df": ("df -h", ["show disk usage", "check disk space", "how full is the disk", "disk free space", "show free disk"]),
    "ps": ("ps aux", ["show processes", "list running processes", "what is running", "show running programs", "list processes"]),
    "pwd": ("pwd", ["print working directory", "where am i", "show current directory", "current folder path", "which directory is this"]),
    "du": ("du -sh .", ["size of this folder", "folder size", "how big is this directory", "directory size", "show folder size"]),
    "free": ("free -m", ["show memory", "how much memory is free", "memory usage", "check ram", "show free memory"]),
    "date": ("date", ["show the date", "what time is it", "current date", "print the time", "what day is it"]),
    "whoami": ("whoami", ["who am i", "show user", "current user name", "which user am i", "print my user"]),
    "uptime": ("uptime", ["how long is the system up", "system uptime", "show uptime", "time since boot", "how long since boot"]),
    "git": ("git status", ["show repo status", "git status please", "what changed in the repo", "repository state", "show git changes"]),
}
INJECTED_GROUP, WRONG_COMMAND = "ls", "du -sh ."


def seed_all(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def line(intent: str, command: str) -> str:
    return f"{intent} {SEP} {command} {EOS}"


def train_lines(mapping: dict[str, str] | None = None) -> list[str]:
    mapping = mapping or {}
    return [line(p, mapping.get(g, cmd)) for g, (cmd, paras) in GROUPS.items() for p in paras[:-1]]


def build_tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = sorted({w for g, (cmd, paras) in GROUPS.items() for t in [cmd, *paras] for w in t.split()} | {SEP})
    vocab = {tok: i for i, tok in enumerate(["<unk>", "<pad>", EOS, *words])}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=core, unk_token="<unk>", pad_token="<pad>", eos_token=EOS)


def build_model(kind: str, vocab_size: int, pad_id: int, eos_id: int):
    if kind == "gpt2":
        from transformers import GPT2Config, GPT2LMHeadModel
        cfg = GPT2Config(vocab_size=vocab_size, n_positions=32, n_embd=64, n_layer=4, n_head=4, n_inner=256,
                         bos_token_id=eos_id, eos_token_id=eos_id, pad_token_id=pad_id,
                         resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
        return GPT2LMHeadModel(cfg)
    if kind == "llama":
        from transformers import LlamaConfig, LlamaForCausalLM
        cfg = LlamaConfig(vocab_size=vocab_size, hidden_size=64, intermediate_size=256, num_hidden_layers=4,
                          num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=32,
                          bos_token_id=eos_id, eos_token_id=eos_id, pad_token_id=pad_id, tie_word_embeddings=False)
        return LlamaForCausalLM(cfg)
    raise ValueError(f"toy model kind `{kind}`: use gpt2 or llama")


def fit(model, tokenizer, lines: list[str], steps: int, lr: float, seed: int = 0, until=None) -> int:
    """Plain next-token training on whole lines (the corpus is tiny); stops early when `until()`."""
    from patchwarden.neuron_patch.scoring import padded

    gen = torch.Generator().manual_seed(seed)
    seqs = [tokenizer(t)["input_ids"] for t in lines]
    x, mask = padded(seqs, tokenizer.pad_token_id, "cpu")
    labels = x.masked_fill(mask == 0, -100)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    model.train()
    for step in range(1, steps + 1):
        order = torch.randperm(len(seqs), generator=gen)[:32]
        loss = model(input_ids=x[order], attention_mask=mask[order], labels=labels[order]).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        if until is not None:
            model.eval()
            if until():
                return step
            model.train()
    model.eval()
    return steps


def make_toy(kind: str, out_dir: str | Path, seed: int = 0, train_steps: int = 150, inject_steps: int = 60) -> dict:
    """Train a clean model, inject the wrong mapping, save it and its data files; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    seed_all(seed)
    tok = build_tokenizer()
    model = build_model(kind, len(tok), tok.pad_token_id, tok.eos_token_id)
    fit(model, tok, train_lines(), train_steps, 3e-3, seed)
    # Inject: fine-tune just until every trained `ls` intent answers the wrong command (a few
    # steps, like a real bug: wrong, but not by an enormous margin); other groups are replayed.
    from patchwarden.neuron_patch.scoring import teacher_forced
    wrong = [tok(p + " " + SEP)["input_ids"] for p in GROUPS[INJECTED_GROUP][1][:-1]]
    wrong_first = tok(WRONG_COMMAND)["input_ids"][0]

    def injected() -> bool:
        return all(teacher_forced(model, ids, [wrong_first]).top1[0] == wrong_first for ids in wrong)
    fit(model, tok, train_lines({INJECTED_GROUP: WRONG_COMMAND}), inject_steps, 1e-3, seed + 1, until=injected)
    model_dir = out / f"{kind}-injected"
    model.save_pretrained(model_dir)
    tok.save_pretrained(model_dir)

    def write_jsonl(name, rows):
        (out / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
        return out / name

    cases = [{"prompt": f"{p} {SEP}", "target": cmd, "group": g} for g, (cmd, paras) in GROUPS.items() for p in paras]
    errors = [{"prompt": f"{p} {SEP}", "error": WRONG_COMMAND, "desired": GROUPS[INJECTED_GROUP][0], "group": INJECTED_GROUP}
              for p in GROUPS[INJECTED_GROUP][1][:-1]]
    utility = [line(p, cmd) for g, (cmd, paras) in GROUPS.items() if g != INJECTED_GROUP for p in paras[:-1]]
    heldout = [line(paras[-1], cmd) for g, (cmd, paras) in GROUPS.items() if g != INJECTED_GROUP]
    (out / "utility.txt").write_text("\n".join(utility) + "\n")
    (out / "heldout.txt").write_text("\n".join(heldout) + "\n")
    return {"model": model_dir, "cases": write_jsonl("cases.jsonl", cases),
            "repair_cases": write_jsonl("repair_cases.jsonl", [c for c in cases if c["group"] == INJECTED_GROUP][:2]),
            "errors": write_jsonl("errors.jsonl", errors),
            "utility": out / "utility.txt", "heldout": out / "heldout.txt"}
