"""`neuron export`: a MINT/IRepair result as a plain model directory others can load.

The merged directory is the base model with the delta written into its weights, saved with
`save_pretrained` (safetensors) next to the tokenizer: `AutoModelForCausalLM.from_pretrained(DIR)`
and vLLM load it like any checkpoint. It is written to a temporary folder first and renamed, so
an interrupted export leaves nothing half-written.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from . import delta as deltas
from .data import DataProblem, load_model


def _pick_delta(source: Path, edit: int | None) -> tuple[Path, dict]:
    """RUN_DIR (with report.json) or a delta file -> (delta path, report or {})."""
    if source.is_file():
        return source, {}
    report_path = source / "report.json"
    if not report_path.is_file():
        raise DataProblem(f"{source} is neither a delta file nor a run folder with report.json; "
                          "pass the --out folder of `neuron mint`/`neuron irepair` or its delta.safetensors")
    report = json.loads(report_path.read_text())
    edits = report.get("edits", [])
    if not edits:
        raise DataProblem(f"{source}: the run made no edit (nothing was repaired), so there is nothing to export")
    if edit is None and len(edits) > 1:
        raise DataProblem(f"{source} holds {len(edits)} independent edits (single mode); pick one with --edit 1..{len(edits)}, "
                          "or rerun with --mode sequential to get one combined delta")
    index = (edit or 1) - 1
    if not 0 <= index < len(edits):
        raise DataProblem(f"--edit {edit}: {source} has edits 1..{len(edits)}")
    return source / edits[index]["delta"], report


def export_model(source: Path, out: Path, base: str | None = None, edit: int | None = None,
                 adapter: bool = True) -> dict:
    """Write the merged model (and, for block fine-tunes, a PEFT adapter under out/adapter)."""
    delta_path, report = _pick_delta(Path(source), edit)
    if out.exists() and any(out.iterdir()):
        raise DataProblem(f"--out {out} is not empty; pass a new folder")
    d = deltas.load(delta_path)
    base_id = base.removeprefix("hf:") if base else d.base_model
    model, tok = load_model(f"hf:{base_id}")
    deltas.apply(model, d)  # refuses other base weights (hash check)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        adapter_dir = None
        if adapter and (report.get("method") or d.info.get("method")) != "mint":
            deltas.undo(model, d)
            adapter_dir = _write_adapter(model, d, tmp / "adapter")
        meta = {"source": str(source), "delta": str(delta_path), "base_model": base_id, "base_hash": d.base_hash,
                "method": report.get("method") or d.info.get("method", ""), "parameters_changed": d.parameters_changed}
        (tmp / "patchwarden_export.json").write_text(json.dumps(meta, indent=2) + "\n")
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {**meta, "out": str(out), "merged": True,
            "adapter": str(out / "adapter") if adapter_dir else None,
            "files": sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())}


def _write_adapter(base_model, d, target: Path) -> Path | None:
    """A PEFT adapter holding the fine-tuned modules whole (`modules_to_save`): exact, loadable with
    `PeftModel.from_pretrained(base, DIR)`. None when peft is not installed."""
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError:
        return None
    modules = sorted({name.rsplit(".", 1)[0] for name in d.entries})
    # LoRA needs one target; its B matrix starts at zero, so it adds exactly nothing.
    names = dict(base_model.named_modules())
    target_module = next(n for n, m in names.items() if n not in modules and type(m).__name__ in ("Linear", "Conv1D")
                         and not any(n.startswith(x + ".") for x in modules))
    config = LoraConfig(r=1, target_modules=[target_module], modules_to_save=modules, init_lora_weights=True)
    peft_model = get_peft_model(base_model, config)
    deltas.apply(peft_model.base_model.model, _for_wrapped(d, peft_model.base_model.model), check_hash=False)
    peft_model.save_pretrained(target)
    return target


def _for_wrapped(d, wrapped) -> "deltas.Delta":
    """The delta with names pointing at the trainable copies PEFT made (`X.modules_to_save.default.W`)."""
    params = dict(wrapped.named_parameters())
    entries = {}
    for name, entry in d.entries.items():
        module, leaf = name.rsplit(".", 1)
        copy = f"{module}.modules_to_save.default.{leaf}"
        entries[copy if copy in params else name] = entry
    return deltas.Delta(d.base_model, d.base_hash, entries, d.info)
