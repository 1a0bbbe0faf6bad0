"""GRPO training of a test-then-repair policy on TRL's GRPOTrainer, with the method's defaults.

    train_grpo(TrainRequest(model="hf:Qwen/Qwen2.5-Coder-1.5B-Instruct", data="data/r1", out="runs/r1"))

Writes into `out`: `checkpoint-N/` (resumable), the final model and tokenizer, `metrics.jsonl`
(one line per logged step: every reward component's mean and std, loss, KL, ...) and
`rewards.png` (the reward curves), both rewritten atomically as training goes.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

# The method's settings (Repair-R1 as released); any key can be overridden from a config file.
METHOD_DEFAULTS: dict = {
    "learning_rate": 2e-5,
    "lr_scheduler_type": "cosine",
    "warmup_steps": 0.1,  # a float below 1 is a ratio of the total steps (transformers 5)
    "num_train_epochs": 1,
    "per_device_train_batch_size": 1,
    "gradient_accumulation_steps": 8,
    "num_generations": 8,
    "temperature": 1.0,
    "max_completion_length": 2048,
    "beta": 0.04,
    "epsilon": 0.2,
    "seed": 42,
    "logging_steps": 1,
    "save_steps": 50,
    "save_total_limit": 3,
}


class TrainError(Exception):
    """A training request that cannot run; the message names the fix."""


@dataclass
class TrainRequest:
    model: str
    data: str
    out: str
    num_generations: int | None = None
    max_steps: int | None = None
    use_vllm: bool = False
    vllm_mode: str = "colocate"
    resume: bool = False
    drop_long: bool = False  # drop prompts that do not fit the context instead of cutting their start
    config_file: str | None = None
    overrides: dict = field(default_factory=dict)
    workers: int | None = None  # parallel sandbox jobs for the rewards


def model_path(spec: str) -> str:
    """`hf:PATH_OR_ID` (or a bare path/id) -> what `from_pretrained` takes."""
    from patchwarden.repair.models.spec import checkpoint

    path = checkpoint(spec)
    if path is None:
        raise TrainError(f"training needs a local or Hugging Face model, got {spec!r}: use --model hf:PATH_OR_ID")
    return path


def load_config_file(path: str | None) -> dict:
    if not path:
        return {}
    p = Path(path)
    if not p.exists():
        raise TrainError(f"config file {path} not found: pass an existing YAML or JSON file to --config")
    text = p.read_text()
    try:
        if p.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            data = json.loads(text)
    except Exception as exc:
        raise TrainError(f"config file {path} does not parse ({exc}); fix its syntax") from exc
    if not isinstance(data, dict):
        raise TrainError(f"config file {path} must hold a mapping of GRPOConfig fields to values")
    return data


def fit_batch_to_generations(settings: dict, world_size: int = 1) -> str | None:
    """TRL needs the generation batch (batch x accumulation x processes) to be a multiple of num_generations.

    Raise the gradient accumulation to the nearest value that makes it so; say what changed.
    """
    per_device = int(settings["per_device_train_batch_size"])
    accum = int(settings["gradient_accumulation_steps"])
    gens = int(settings["num_generations"])
    if gens < 2:
        raise TrainError(f"num_generations must be at least 2 (GRPO compares samples of one prompt), got {gens}")
    batch = per_device * world_size
    if (batch * accum) % gens == 0:
        return None
    need = math.lcm(batch, gens) // batch
    new_accum = need * math.ceil(accum / need)
    settings["gradient_accumulation_steps"] = new_accum
    return f"gradient_accumulation_steps {accum} -> {new_accum} so that num_generations ({gens}) divides the generation batch"


def build_settings(req: TrainRequest, has_cuda: bool) -> tuple[dict, list[str]]:
    from .trl_args import split_config

    settings = dict(METHOD_DEFAULTS)
    # TRL-style files: model_name_or_path/dataset_name/output_dir are the request's (the CLI reads them).
    _paths, from_file = split_config(load_config_file(req.config_file), req.config_file or "config")
    settings.update(from_file)
    settings.update(req.overrides)
    if req.num_generations is not None:
        settings["num_generations"] = req.num_generations
    if req.max_steps is not None:
        settings["max_steps"] = req.max_steps
    settings.setdefault("bf16", has_cuda)
    settings.setdefault("gradient_checkpointing", has_cuda)  # saves GPU memory; only slows a CPU run
    if not has_cuda:
        settings["use_cpu"] = True
        settings["bf16"] = False
    notes = []
    note = fit_batch_to_generations(settings, int(os.environ.get("WORLD_SIZE", "1")))
    if note:
        notes.append(note)
    if req.use_vllm:
        settings["use_vllm"] = True
        settings["vllm_mode"] = req.vllm_mode
    settings["report_to"] = settings.get("report_to", "none")
    return settings, notes


def check_vllm(mode: str, has_cuda: bool) -> None:
    if mode not in ("colocate", "server"):
        raise TrainError(f"--vllm-mode must be colocate or server, got {mode!r}")
    if not has_cuda:
        raise TrainError("--use-vllm needs a CUDA GPU; drop --use-vllm to generate with transformers")
    try:
        import vllm  # noqa: F401
    except ImportError as exc:
        raise TrainError("--use-vllm needs vLLM: pip install 'patchwarden[vllm]'"
                         + ("; for server mode also start `trl vllm-serve --model MODEL` on other GPUs" if mode == "server" else "")) from exc


def last_checkpoint(out: Path) -> Path | None:
    ckpts = [p for p in out.glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit()]
    return max(ckpts, key=lambda p: int(p.name.split("-")[-1])) if ckpts else None


def to_trl_prompts(rows: list[dict], tokenizer) -> list[dict]:
    """The `prompt` column TRL tokenizes into exactly `repair.models.prompting.prompt_ids` (the
    ids `train eval` and `--engine policy` send)."""
    from patchwarden.repair.models.prompting import trl_prompt

    from .prompt import as_messages

    return [dict(r, prompt=trl_prompt(tokenizer, as_messages(r["prompt"]))) for r in rows]


def fit_to_context(rows: list[dict], tokenizer, config, settings: dict, drop_long: bool = False) -> dict:
    """Cut (or drop) prompts that do not fit the model's context and cap `max_completion_length`
    to what fits; raises TrainError when nothing fits."""
    from patchwarden.repair.models.context import ContextTooSmall, context_length, fit_rows

    from .prompt import as_messages

    context = context_length(config, tokenizer)
    try:
        kept, report = fit_rows(tokenizer, rows, lambda r: as_messages(r["prompt"]), context,
                                int(settings["max_completion_length"]), drop_long)
    except ContextTooSmall as exc:
        raise TrainError(str(exc)) from None
    settings["max_completion_length"] = report.completion_budget
    return {"kept": kept, "report": report}


def train_grpo(req: TrainRequest) -> dict:
    """Run (or resume) GRPO training; returns a summary (steps, final reward means, paths)."""
    from .dataset import load_split

    rows = load_split(req.data, "train")
    if not rows:
        raise TrainError(f"{req.data}/train.jsonl is empty: build a dataset with more problems")
    out = Path(req.out)
    resume_from = None
    if req.resume:
        resume_from = last_checkpoint(out)
        if resume_from is None:
            raise TrainError(f"--resume: no checkpoint-N directory in {out}; start without --resume")
    elif last_checkpoint(out) is not None:
        raise TrainError(f"{out} already holds checkpoints: pass --resume to continue them, or a new --out")

    import torch

    has_cuda = torch.cuda.is_available()
    if req.use_vllm:
        check_vllm(req.vllm_mode, has_cuda)
    settings, notes = build_settings(req, has_cuda)

    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from patchwarden.repair.models.prompting import trl_prompt

    from .fork_runner import TestRunner
    from .metrics import METRICS_FILE, PLOT_FILE, MetricsRecorder
    from .rewards import reward_functions

    path = model_path(req.model)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16 if settings["bf16"] else torch.float32)
    except (OSError, ValueError) as exc:
        raise TrainError(f"could not load model {path!r} ({exc}); pass --model hf:DIR_OR_ID of a causal LM") from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    fit = fit_to_context(rows, tokenizer, model.config, settings, req.drop_long)
    dataset = Dataset.from_list([dict(r, prompt=trl_prompt(tokenizer, msgs)) for r, msgs in fit["kept"]])
    rows_report = fit["report"]
    if rows_report.cut or rows_report.dropped or rows_report.completion_budget < rows_report.completion_requested:
        notes.append(rows_report.line())

    try:
        config = GRPOConfig(output_dir=str(out), **settings)
    except TypeError as exc:
        raise TrainError(f"unknown training setting ({exc}); config keys must be GRPOConfig fields") from exc
    except ValueError as exc:
        raise TrainError(f"invalid training settings: {exc}") from exc

    runner = TestRunner(workers=req.workers)
    recorder = MetricsRecorder(out)
    if not resume_from:
        out.mkdir(parents=True, exist_ok=True)
        from patchwarden.sandboxes.files import append_jsonl
        append_jsonl(out / METRICS_FILE, {"step": 0, "context": rows_report.to_dict()})
    try:
        trainer = GRPOTrainer(model=model, reward_funcs=reward_functions(runner), args=config,
                              train_dataset=dataset, processing_class=tokenizer, callbacks=[recorder])
        trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
        trainer.save_model(str(out))
        tokenizer.save_pretrained(str(out))
    finally:
        runner.close()
        recorder.plot()
    return {
        "out": str(out),
        "steps": trainer.state.global_step,
        "resumed_from": str(resume_from) if resume_from else None,
        "last_checkpoint": str(last_checkpoint(out) or ""),
        "metrics": str(out / METRICS_FILE),
        "plot": str(out / PLOT_FILE),
        "notes": notes,
        "context": rows_report.to_dict(),
        "last_rewards": recorder.last_rewards,
    }
