"""Model specs, parsed in one place: `openai:NAME`, `hf:PATH_OR_ID`, `vllm:PATH_OR_ID`.

(`neuron_patch` reads its own `hf:PATH` in neuron_patch/data.py: the layers forbid it to import
repair, and it only ever loads transformers checkpoints.)
"""
from __future__ import annotations

from pathlib import Path

from patchwarden.repair.models.budget import ModelError

KINDS = ("openai", "hf", "vllm")
USAGE = "openai:NAME, hf:PATH_OR_ID or vllm:PATH_OR_ID"


def parse_spec(spec: str) -> tuple[str, str]:
    """(kind, target) of a spec; ModelError naming the accepted forms otherwise."""
    kind, sep, target = (spec or "").partition(":")
    if not sep or kind not in KINDS or not target:
        raise ModelError(f"bad model spec {spec!r}: use {USAGE}")
    return kind, target


def checkpoint(spec: str) -> str | None:
    """What `from_pretrained` takes for `hf:PATH_OR_ID` or a bare path / hub id; None for a spec
    of another kind (openai:, vllm:), which names no checkpoint to load in-process."""
    if spec.startswith("hf:"):
        return spec[3:]
    if ":" in spec.split("/")[0] and not Path(spec).exists():
        return None
    return spec
