"""Reworded copies of MINT's locality probes, so the fit guards phrasings it never sees literally.

A fit that only keeps the probes' exact prompts can learn a change that fires on every other
phrasing of the same requests (measured on the generalization grid: probes kept 92-100% of
their answers while unseen phrasings of the same intents kept 77-86%).  Each probe prompt is
perturbed the cheap ways a user rewords a request: a word from another probe put in front (a
longer context), a word dropped or repeated, the first letter's case flipped.  No labels are
needed: the locality target is "answer as before the edit", so the fit's KL term compares the
model's own distributions on these prompts before and after, at the probe's answer positions.
"""
from __future__ import annotations

import random
import zlib

from patchwarden.neuron_patch.data import Case


def _flip_case(text: str) -> str:
    return text[:1].swapcase() + text[1:]


def variants(prompt: str, vocabulary: list[str], rng: random.Random) -> list[str]:
    """Perturbed copies of `prompt` (never the prompt itself, no duplicates)."""
    words = prompt.split(" ")
    out = []
    if vocabulary:
        out.append(f"{rng.choice(vocabulary)} {prompt}")          # a word put in front
        out.append(f"{' '.join(rng.sample(vocabulary, min(2, len(vocabulary))))} {prompt}")
    if len(words) > 1:
        i = rng.randrange(len(words) - 1)                           # never the last (it holds the ':')
        out.append(" ".join(words[:i] + words[i + 1:]))             # a word dropped
        j = rng.randrange(len(words) - 1)
        out.append(" ".join(words[: j + 1] + words[j:]))            # a word repeated
    out.append(_flip_case(prompt))
    return [v for v in dict.fromkeys(out) if v and v != prompt]


def probe_variants(probes: list[Case], per_probe: int = 3) -> list[tuple[int, Case]]:
    """Up to `per_probe` reworded copies of each probe as (index of the probe, copy), with the
    probe's answer text (its positions are where the KL is measured).  Deterministic: seeded by
    the probes' text."""
    vocabulary = sorted({w for c in probes for w in c.prompt.rstrip(":").split() if w.isalpha()})
    out = []
    for n, c in enumerate(probes):
        rng = random.Random(zlib.crc32(c.prompt.encode()))
        own = set(c.prompt.lower().split())
        pool = [w for w in vocabulary if w.lower() not in own]
        vs = variants(c.prompt, pool, rng)
        rng.shuffle(vs)
        out += [(n, Case(v, c.target, c.group)) for v in vs[:per_probe]]
    return out
