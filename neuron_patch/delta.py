"""Deltas: only the weights a repair changed, tied to the exact base model they apply to.

File format (safetensors): for each changed parameter ``NAME`` either the whole tensor
(``NAME::new`` / ``NAME::old``) or only the changed rows/columns (``NAME::idx`` with the
indices along ``axis``, plus ``NAME::new`` / ``NAME::old`` slices).  Metadata holds the base
model's id, the SHA-256 of all its weights, the axes and the changed-element counts.  The old
values make ``undo`` exact without reloading the base.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from patchwarden.sandboxes.files import atomic_path

FORMAT = "patchwarden-delta/1"


class DeltaMismatch(ValueError):
    """The delta was made for other base weights (or the file is not a delta)."""


def weights_hash(model: torch.nn.Module) -> str:
    """SHA-256 over every tensor of the state dict (name, dtype, shape, bytes)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().contiguous().cpu()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def snapshot(model: torch.nn.Module, names: list[str] | None = None) -> dict[str, torch.Tensor]:
    """Copies of the parameters that a repair may touch (all of them when names is None)."""
    params = dict(model.named_parameters())
    return {n: params[n].detach().clone() for n in (names if names is not None else params)}


@dataclass
class Delta:
    base_model: str
    base_hash: str
    entries: dict[str, dict] = field(default_factory=dict)   # name -> {"axis", "idx", "new", "old", "changed"}
    info: dict = field(default_factory=dict)                   # free-form: method, cases, ...

    @property
    def parameters_changed(self) -> int:
        return sum(e["changed"] for e in self.entries.values())

    def neurons_changed(self, ffn_names: set[str], neuron_axis: int) -> int:
        """Neurons = changed slices of FFN output projections along the neuron axis."""
        total = 0
        for name, e in self.entries.items():
            if name in ffn_names and e["new"].dim() == 2:
                other = 1 - neuron_axis
                total += int((e["new"] != e["old"]).any(dim=other).sum())
        return total


def diff(model: torch.nn.Module, before: dict[str, torch.Tensor], base_model: str, base_hash: str,
         info: dict | None = None) -> Delta:
    """The delta between `before` (original values) and the model's current parameters."""
    params = dict(model.named_parameters())
    delta = Delta(base_model, base_hash, info=dict(info or {}))
    for name, old in before.items():
        new = params[name].detach()
        changed = new != old
        count = int(changed.sum())
        if count == 0:
            continue
        entry = {"axis": -1, "idx": None, "new": new.clone().cpu(), "old": old.clone().cpu(), "changed": count}
        if new.dim() == 2:
            rows = changed.any(dim=1).nonzero().flatten()
            cols = changed.any(dim=0).nonzero().flatten()
            row_cost, col_cost = len(rows) * new.shape[1], len(cols) * new.shape[0]
            if min(row_cost, col_cost) < new.numel():
                axis, idx = (0, rows) if row_cost <= col_cost else (1, cols)
                entry.update(axis=axis, idx=idx.cpu(), new=new.index_select(axis, idx).cpu(),
                             old=old.index_select(axis, idx).cpu())
        delta.entries[name] = entry
    return delta


def save(delta: Delta, path: str | Path) -> Path:
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors, layout = {}, {}
    for name, e in delta.entries.items():
        tensors[f"{name}::new"] = e["new"].contiguous()
        tensors[f"{name}::old"] = e["old"].contiguous()
        if e["idx"] is not None:
            tensors[f"{name}::idx"] = e["idx"].to(torch.int64).contiguous()
        layout[name] = {"axis": e["axis"], "changed": e["changed"]}
    meta = {"format": FORMAT, "base_model": delta.base_model, "base_hash": delta.base_hash,
            "layout": json.dumps(layout), "info": json.dumps(delta.info, default=str)}
    with atomic_path(path, suffix=".tmp") as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    return path


def load(path: str | Path) -> Delta:
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise DeltaMismatch(f"delta file `{path}` not found")
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
        if meta.get("format") != FORMAT:
            raise DeltaMismatch(f"`{path}` is not a patchwarden delta (format {meta.get('format')!r})")
        layout = json.loads(meta["layout"])
        delta = Delta(meta["base_model"], meta["base_hash"], info=json.loads(meta.get("info", "{}")))
        for name, lay in layout.items():
            delta.entries[name] = {
                "axis": lay["axis"], "changed": lay["changed"],
                "idx": f.get_tensor(f"{name}::idx") if lay["axis"] >= 0 else None,
                "new": f.get_tensor(f"{name}::new"), "old": f.get_tensor(f"{name}::old")}
    return delta


def _write(model: torch.nn.Module, delta: Delta, which: str) -> None:
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, e in delta.entries.items():
            if name not in params:
                raise DeltaMismatch(f"the model has no parameter `{name}` named in the delta")
            p = params[name]
            value = e[which].to(device=p.device, dtype=p.dtype)
            if e["axis"] < 0:
                p.copy_(value)
            else:
                p.index_copy_(e["axis"], e["idx"].to(p.device), value)


def apply(model: torch.nn.Module, delta: Delta, check_hash: bool = True) -> None:
    """Write the delta's new values into the base model; refuse a base with other weights."""
    if check_hash:
        actual = weights_hash(model)
        if actual != delta.base_hash:
            raise DeltaMismatch(
                f"the delta was made for base `{delta.base_model}` with weights sha256 {delta.base_hash[:12]}..., "
                f"but the loaded base hashes to {actual[:12]}...; load the exact base model the delta was made from")
    _write(model, delta, "new")


def undo(model: torch.nn.Module, delta: Delta) -> None:
    """Restore the base values the delta replaced (exactly)."""
    _write(model, delta, "old")


def from_neurons(parts, patched: dict, base_model: str, base_hash: str, info: dict | None = None) -> Delta:
    """A delta of MINT patches: {(layer, neuron): value before} -> changed slices per FFN weight."""
    delta = Delta(base_model, base_hash, info=dict(info or {}))
    axis = parts.spec.neuron_axis
    for layer in sorted({layer for layer, _ in patched}):
        idx = sorted(i for l, i in patched if l == layer)
        weight = parts.ffn_out[layer].weight.detach()
        index = torch.tensor(idx, dtype=torch.int64, device=weight.device)
        new = weight.index_select(axis, index).cpu()
        old = torch.stack([patched[(layer, i)].cpu() for i in idx], dim=axis)
        changed = int((new != old).sum())
        if changed:
            delta.entries[parts.ffn_param_name(layer)] = {"axis": axis, "idx": index.cpu(), "new": new,
                                                          "old": old, "changed": changed}
    return delta
