"""Where the parts MINT and IRepair touch live, per model architecture.

A *neuron* is one value vector of the FFN output projection: the vector that the
neuron's activation scales before it is added to the residual stream.  GPT-2 uses a
Conv1D (weight shape ``(intermediate, hidden)``), so a neuron is a ROW; Linear layers
(LLaMA, Qwen, Mistral, GPT-NeoX, ...) store ``(hidden, intermediate)``, so a neuron is a
COLUMN.

To add an architecture, add an ``ArchSpec`` to ``ARCHITECTURES`` keyed by the model's
``config.model_type`` (or pass ``--arch-blocks/--arch-ffn-out`` style overrides in code
via ``register``).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class ArchSpec:
    blocks: str        # dotted path from the model to the ModuleList of transformer blocks
    ffn_out: str       # dotted path from one block to the FFN output projection
    neuron_axis: int   # axis of ffn_out.weight that indexes neurons (0 = row, 1 = column)


_LLAMA_LIKE = ArchSpec("model.layers", "mlp.down_proj", 1)

ARCHITECTURES: dict[str, ArchSpec] = {
    "gpt2": ArchSpec("transformer.h", "mlp.c_proj", 0),
    "gpt_neox": ArchSpec("gpt_neox.layers", "mlp.dense_4h_to_h", 1),
    "llama": _LLAMA_LIKE,
    "mistral": _LLAMA_LIKE,
    "qwen2": _LLAMA_LIKE,
    "qwen3": _LLAMA_LIKE,
    "gemma": _LLAMA_LIKE,
    "gemma2": _LLAMA_LIKE,
    "phi3": ArchSpec("model.layers", "mlp.down_proj", 1),
}


class UnknownArchitecture(ValueError):
    pass


def register(model_type: str, spec: ArchSpec) -> None:
    """Teach patchwarden a new architecture (e.g. from a plugin or a notebook)."""
    ARCHITECTURES[model_type] = spec


def _get(root: torch.nn.Module, dotted: str) -> torch.nn.Module:
    obj = root
    for part in dotted.split("."):
        if not hasattr(obj, part):
            raise UnknownArchitecture(f"module path `{dotted}` not found (missing `{part}`)")
        obj = getattr(obj, part)
    return obj


def spec_for(model: torch.nn.Module) -> ArchSpec:
    model_type = getattr(getattr(model, "config", None), "model_type", None)
    spec = ARCHITECTURES.get(model_type)
    if spec is None:
        known = ", ".join(sorted(ARCHITECTURES))
        raise UnknownArchitecture(
            f"architecture `{model_type}` is not in the neuron_patch table (known: {known}); "
            "add it with neuron_patch.arch.register(model_type, ArchSpec(blocks='model.layers', "
            "ffn_out='mlp.down_proj', neuron_axis=1)) naming where the blocks and the FFN output "
            "projection live")
    return spec


class ModelParts:
    """Resolved handles into one model: blocks, FFN output projections, LM head."""

    def __init__(self, model: torch.nn.Module):
        self.model = model
        self.spec = spec_for(model)
        try:
            self.blocks = _get(model, self.spec.blocks)
            self.ffn_out = [_get(block, self.spec.ffn_out) for block in self.blocks]
        except UnknownArchitecture as exc:
            raise UnknownArchitecture(
                f"{exc} in a `{model.config.model_type}` model; the table says blocks at "
                f"`{self.spec.blocks}` and the FFN output projection at `<block>.{self.spec.ffn_out}`; "
                "fix the entry with neuron_patch.arch.register") from None
        head = model.get_output_embeddings()
        if head is None:
            raise UnknownArchitecture("the model has no output embeddings (LM head); MINT needs a causal LM")
        self.lm_head = head
        self.block_names = [f"{self.spec.blocks}.{i}" for i in range(len(self.blocks))]

    @property
    def num_layers(self) -> int:
        return len(self.blocks)

    def ffn_param_name(self, layer: int) -> str:
        return f"{self.spec.blocks}.{layer}.{self.spec.ffn_out}.weight"

    def num_neurons(self, layer: int) -> int:
        return self.ffn_out[layer].weight.shape[self.spec.neuron_axis]

    def neuron_vector(self, layer: int, index: int) -> torch.Tensor:
        """A view of one neuron's value vector (length = hidden size)."""
        weight = self.ffn_out[layer].weight
        return weight[index] if self.spec.neuron_axis == 0 else weight[:, index]

    def set_neuron(self, layer: int, index: int, value: torch.Tensor) -> None:
        with torch.no_grad():
            self.neuron_vector(layer, index).copy_(value)


def parse_layers(choice: str, num_layers: int) -> list[int]:
    """``upper-half`` (default of the paper), ``all`` or a comma list like ``0,3,5``."""
    choice = choice.strip().lower()
    if choice == "upper-half":
        return list(range(num_layers // 2, num_layers))
    if choice == "all":
        return list(range(num_layers))
    try:
        layers = sorted({int(x) for x in choice.split(",") if x.strip()})
    except ValueError:
        raise ValueError(f"--layers `{choice}` is not upper-half, all or a comma list of layer numbers") from None
    bad = [x for x in layers if not 0 <= x < num_layers]
    if bad or not layers:
        raise ValueError(f"--layers {choice}: the model has layers 0..{num_layers - 1}")
    return layers
