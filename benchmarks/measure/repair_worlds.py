"""Small "intent -> answer" worlds for the model-repair generalization benchmark.

Independent of the test suite's toy (neuron_patch/toy.py): a byte-level BPE tokenizer trained on
the corpus (so answers are several sub-word tokens, like a real code LM), GPT-2 or LLaMA layouts
of any depth and width, and errors injected the way data-driven errors arise: the model is
trained on a corpus where some intents map to the wrong answer.  Each intent appears in two
phrasings; the second ("how do i ...") is never shown to the repair methods and measures
specificity on unseen prompts.
"""
from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

# corpus -> [(intent, answer)]; answers start with a space (the prompt ends with ":").
CORPORA: dict[str, list[tuple[str, str]]] = {
    "bash": [
        ("show disk usage", " df -h"), ("list files", " ls -l"), ("show processes", " ps aux"),
        ("print working directory", " pwd"), ("folder size", " du -sh"), ("show memory", " free -m"),
        ("show the date", " date"), ("who am i", " whoami"), ("system uptime", " uptime"),
        ("repo status", " git status"), ("count lines", " wc -l"), ("find text", " grep -r"),
        ("make a folder", " mkdir -p"), ("remove a file", " rm -f"), ("show network", " ip addr"),
    ],
    "python": [
        ("read a file", " open(p).read()"), ("length of list", " len(xs)"), ("sort a list", " sorted(xs)"),
        ("join strings", " ''.join(xs)"), ("parse json", " json.loads(s)"), ("current time", " time.time()"),
        ("random number", " random.random()"), ("sum of list", " sum(xs)"), ("reverse list", " xs[::-1]"),
        ("to integer", " int(s)"), ("split words", " s.split()"), ("largest item", " max(xs)"),
        ("make a set", " set(xs)"), ("list a folder", " os.listdir(d)"), ("upper case", " s.upper()"),
    ],
    "git": [
        ("undo last commit", " git reset HEAD~1"), ("new branch", " git checkout -b"), ("show log", " git log"),
        ("stage all", " git add -A"), ("push changes", " git push"), ("pull changes", " git pull"),
        ("show diff", " git diff"), ("stash work", " git stash"), ("list branches", " git branch"),
        ("merge branch", " git merge"), ("tag release", " git tag v1"), ("clone repo", " git clone"),
        ("show remotes", " git remote -v"), ("amend commit", " git commit --amend"), ("blame file", " git blame"),
    ],
    "sql": [
        ("count rows", " SELECT COUNT(*) FROM t"), ("all rows", " SELECT * FROM t"), ("drop table", " DROP TABLE t"),
        ("new table", " CREATE TABLE t"), ("add row", " INSERT INTO t"), ("remove rows", " DELETE FROM t"),
        ("change rows", " UPDATE t SET"), ("sorted rows", " ORDER BY x"), ("group rows", " GROUP BY x"),
        ("first ten", " LIMIT 10"), ("unique values", " SELECT DISTINCT x"), ("join tables", " JOIN u ON"),
        ("add index", " CREATE INDEX i"), ("rename table", " ALTER TABLE t"), ("largest value", " MAX(x)"),
    ],
}
SECOND = "how do i "   # the second phrasing of every intent


def prompt_of(intent: str) -> str:
    return f"{intent}:"


@dataclass
class World:
    name: str
    kind: str          # gpt2 | llama
    layers: int
    width: int
    corpus: str
    seed: int
    errors: int        # injected wrong mappings
    positions: int = 128

    @property
    def tag(self) -> str:
        return f"{self.kind}-L{self.layers}-W{self.width}-{self.corpus}-s{self.seed}-e{self.errors}"


def injected(world: World) -> dict[str, str]:
    """intent -> the wrong answer it is trained on: another intent's answer (a real confusion)."""
    pairs = CORPORA[world.corpus]
    rng = random.Random(world.seed)
    picks = rng.sample(range(len(pairs)), 2 * world.errors)
    return {pairs[a][0]: pairs[b][1] for a, b in zip(picks[::2], picks[1::2])}


def lines(world: World, wrong: dict[str, str]) -> list[str]:
    out = []
    for intent, answer in CORPORA[world.corpus]:
        a = wrong.get(intent, answer)
        out += [prompt_of(intent) + a, prompt_of(SECOND + intent) + a]
    return out


def build_tokenizer(texts: list[str], vocab_size: int = 320):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<pad>", "<eos>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", model_max_length=128)


def build_model(world: World, vocab: int, pad: int, eos: int):
    heads = 4 if world.width % 4 == 0 else 2
    if world.kind == "gpt2":
        from transformers import GPT2Config, GPT2LMHeadModel
        return GPT2LMHeadModel(GPT2Config(vocab_size=vocab, n_positions=world.positions, n_embd=world.width,
                                          n_layer=world.layers, n_head=heads, bos_token_id=eos, eos_token_id=eos,
                                          pad_token_id=pad, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0))
    from transformers import LlamaConfig, LlamaForCausalLM
    return LlamaForCausalLM(LlamaConfig(vocab_size=vocab, hidden_size=world.width, intermediate_size=4 * world.width,
                                        num_hidden_layers=world.layers, num_attention_heads=heads,
                                        num_key_value_heads=heads, max_position_embeddings=world.positions,
                                        bos_token_id=eos, eos_token_id=eos, pad_token_id=pad,
                                        tie_word_embeddings=False))


def memorised(model, tok, texts: list[str]) -> bool:
    from patchwarden.neuron_patch.data import encode_pair
    from patchwarden.neuron_patch.scoring import teacher_forced

    for t in texts:
        p, a = t.split(":", 1)
        if not teacher_forced(model, *encode_pair(tok, p + ":", a)).correct:
            return False
    return True


def fit_until_memorised(model, tok, texts: list[str], lr: float, max_steps: int) -> int:
    """Full-batch AdamW on `texts` (each + EOS) until every line is memorised (checked every 25
    steps) or `max_steps`; returns the steps taken. The model is left in eval mode."""
    from patchwarden.neuron_patch.scoring import padded

    x, mask = padded([tok(t)["input_ids"] + [tok.eos_token_id] for t in texts], tok.pad_token_id, "cpu")
    labels = x.masked_fill(mask == 0, -100)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    step = 0
    for step in range(1, max_steps + 1):
        model.train()
        loss = model(input_ids=x, attention_mask=mask, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 25 == 0:
            model.eval()
            if memorised(model, tok, texts):
                break
    model.eval()
    return step


def train(world: World, out: Path, max_steps: int = 1500, wrong: dict[str, str] | None = None) -> dict:
    """Train the world's model on the corrupted corpus until every line is memorised; save it."""
    random.seed(world.seed)
    torch.manual_seed(world.seed)
    wrong = wrong or injected(world)
    texts = lines(world, wrong)
    all_texts = [prompt_of(i) + a for i, a in CORPORA[world.corpus]] + texts
    tok = build_tokenizer(all_texts)
    model = build_model(world, len(tok), tok.pad_token_id, tok.eos_token_id)
    step = fit_until_memorised(model, tok, texts, lr=3e-3 if world.width <= 128 else 1e-3, max_steps=max_steps)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out / "model")
    tok.save_pretrained(out / "model")
    meta = {"world": asdict(world), "wrong": wrong, "train_steps": step, "memorised": memorised(model, tok, texts)}
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    return meta


def cases(world: World, wrong: dict[str, str]) -> tuple[list[dict], list[dict], list[dict]]:
    """(repair cases, locality cases shown to the methods, unseen cases for specificity)."""
    repair, shown, unseen = [], [], []
    for intent, answer in CORPORA[world.corpus]:
        if intent in wrong:
            repair.append({"prompt": prompt_of(intent), "target": answer, "group": intent, "error": wrong[intent]})
        else:
            shown.append({"prompt": prompt_of(intent), "target": answer, "group": intent})
            unseen.append({"prompt": prompt_of(SECOND + intent), "target": answer, "group": intent})
    return repair, shown, unseen


def load_or_train(world: World, cache: Path) -> tuple[Path, dict]:
    d = cache / world.tag
    if not (d / "meta.json").is_file():
        train(world, d)
    return d / "model", json.loads((d / "meta.json").read_text())
