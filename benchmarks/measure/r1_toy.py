"""Toy Repair-R1 run: a tiny random model learns, by GRPO on the real sandboxed rewards, to answer
with a well-formed test-then-repair answer. Not in CI; prints the first and last 10-step mean rewards.

    python3 benchmarks/measure/r1_toy.py [--steps 60] [--out /tmp/r1-toy]

The tokenizer is trained on the answer itself (merges cross spaces and newlines), so the answer is
a few tokens of a ~100-token vocabulary: a random policy emits it rarely, and GRPO has to make it
likely. Every reward is the real one: format, discriminative tests and repair, run in the sandbox.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from patchwarden.repair.r1.answer import render_answer
from patchwarden.repair.r1.dataset import make_row, write_jsonl
from patchwarden.repair.r1.tiny_model import build_tiny_model

BUGGY = "def add_one(x):\n    return x + 2\n"
FIX = "def add_one(x):\n    return x + 1"
HIDDEN = "def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(0) == 1\n    assert candidate(-5) == -4\n"
PROMPT = "Repair add_one:\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--out", default="/tmp/r1-toy")
    ap.add_argument("--vocab", type=int, default=120)
    ap.add_argument("--lr", type=float, default=0.02)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)  # a 1-layer model gains nothing from threads; on a busy machine they cost 10x
    out = Path(args.out)
    if out.exists():
        import shutil

        shutil.rmtree(out)
    answer = render_answer(["assert add_one(1) == 2"], FIX)
    row = make_row(task_id="toy/0", problem_id="toy/0", source="toy", buggy_code=BUGGY, reference=FIX + "\n",
                   test_code=HIDDEN, entry_point="add_one", bug_type="value misuse")
    row["prompt"] = PROMPT  # a short prompt keeps the toy fast; the rewards are the real ones
    write_jsonl(out / "data" / "train.jsonl", [row] * (args.steps * 2))
    write_jsonl(out / "data" / "test.jsonl", [row])
    model = build_tiny_model(out / "model", [answer] * 50 + [PROMPT] * 5, vocab_size=args.vocab, byte_level=False,
                             hidden=32, layers=1)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model)
    n_answer = len(tok(answer, add_special_tokens=False).input_ids)
    print(f"vocabulary {len(tok)} tokens; the answer is {n_answer} token(s)")

    from patchwarden.repair.r1.train import TrainRequest, train_grpo

    start = time.monotonic()
    summary = train_grpo(TrainRequest(
        model=f"hf:{model}", data=str(out / "data"), out=str(out / "run"), num_generations=16, max_steps=args.steps,
        overrides={"learning_rate": args.lr, "lr_scheduler_type": "constant", "warmup_steps": 0, "beta": 0.0,
                   "per_device_train_batch_size": 16, "gradient_accumulation_steps": 1,
                   "max_completion_length": n_answer + 2, "save_steps": args.steps, "disable_tqdm": True},
        workers=2))
    took = time.monotonic() - start
    records = [json.loads(line) for line in (out / "run" / "metrics.jsonl").read_text().splitlines()]
    rewards = [r["reward"] for r in records if "reward" in r]
    first, last = rewards[:10], rewards[-10:]
    print(f"steps {len(rewards)} in {took:.0f} s; mean reward (of 3) first 10 steps {sum(first) / len(first):.3f}, "
          f"last 10 steps {sum(last) / len(last):.3f}")
    for key in ("rewards/format_reward/mean", "rewards/discriminative_tests/mean", "rewards/repair/mean"):
        vals = [r[key] for r in records if key in r]
        print(f"  {key}: first 10 {sum(vals[:10]) / 10:.3f}, last 10 {sum(vals[-10:]) / 10:.3f}")
    print(f"plot: {summary['plot']}")


if __name__ == "__main__":
    main()
