"""`patchwarden train`: Repair-R1 datasets, GRPO training and evaluation.

Heavy libraries (torch, transformers, trl, datasets) are imported inside the commands.
"""
from __future__ import annotations

import contextlib
import sys

import typer

from patchwarden.cli.common import check_out_dir, check_out_file, check_range, console, err_console, fail, print_json

app = typer.Typer(no_args_is_help=True, help="Repair-R1: build datasets, train test-then-repair policies with GRPO, evaluate.")


def _progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err_console, transient=True)


@app.command("dataset")
def dataset_cmd(
    from_: str = typer.Option("humanevalfix", "--from", help="Comma-separated sources: humanevalfix, humaneval-mutants."),
    out: str = typer.Option(..., "--out", help="Directory to write train.jsonl, test.jsonl and meta.json into."),
    folds: int = typer.Option(5, "--folds", help="Number of folds; problems are grouped, never in both train and test."),
    fold: int = typer.Option(1, "--fold", help="Which fold (1..folds) is the test split."),
    path: str = typer.Option(None, "--path", help="HumanEvalFix override: a local JSONL, or a Hugging Face id such as bigcode/humanevalpack."),
    mutants_per_problem: int = typer.Option(3, "--mutants-per-problem", help="Mutants kept per HumanEval problem (only ones that fail the tests)."),
    workers: int = typer.Option(None, "--workers", help="Parallel sandbox jobs when checking mutants (default: CPU count)."),
    seed: int = typer.Option(42, "--seed", help="Seed of the fold assignment."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
):
    """Build a Repair-R1 dataset (JSONL rows: prompt, buggy code, reference, hidden tests, ...)."""
    from pathlib import Path

    from patchwarden.sandboxes.files import write_json
    from patchwarden.repair.r1.dataset import SOURCES, DatasetError, humaneval_mutants, load_humanevalfix, split_rows, write_jsonl

    sources = [s.strip() for s in from_.split(",") if s.strip()]
    unknown = [s for s in sources if s not in SOURCES]
    if unknown or not sources:
        fail(f"unknown source(s) {unknown or from_!r}: use --from humanevalfix, humaneval-mutants or both (comma-separated)")
    if mutants_per_problem < 1:
        fail("--mutants-per-problem must be at least 1")
    check_range("--workers", workers, 1, what="parallel sandbox jobs")
    check_out_dir(out)
    rows: list[dict] = []
    try:
        if "humanevalfix" in sources:
            rows += load_humanevalfix(path)
        if "humaneval-mutants" in sources:
            from patchwarden.repair.r1.fork_runner import TestRunner

            with TestRunner(workers=workers) as runner, _progress() as bar:
                task = bar.add_task("checking mutants in the sandbox", total=None)
                rows += humaneval_mutants(runner, mutants_per_problem,
                                          progress=lambda done, total: bar.update(task, completed=done, total=total))
        if not rows:  # an empty dataset written with exit 0 would only fail later, in training
            raise DatasetError(f"no rows in {path or 'the sources'}: pass a HumanEvalFix JSONL with at least one problem")
        train, test = split_rows(rows, folds, fold, seed)
    except DatasetError as exc:
        fail(str(exc))
    target = Path(out)
    write_jsonl(target / "train.jsonl", train)
    write_jsonl(target / "test.jsonl", test)
    meta = {
        "format": "jsonl", "sources": sources, "folds": folds, "fold": fold, "seed": seed,
        "train_rows": len(train), "test_rows": len(test),
        "train_problems": len({r["problem_id"] for r in train}), "test_problems": len({r["problem_id"] for r in test}),
        "by_source": {s: sum(r["source"] == s for r in rows) for s in sources},
    }
    write_json(target / "meta.json", meta)
    if json_out:
        print_json(meta)
    else:
        console.print(f"wrote {len(train)} train rows ({meta['train_problems']} problems) and {len(test)} test rows "
                      f"({meta['test_problems']} problems) to {target} as JSONL; fold {fold}/{folds}")


@app.command("grpo", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def grpo_cmd(
    ctx: typer.Context,
    model: str = typer.Option(None, "--model", help="Policy to train: hf:PATH_OR_ID (or model_name_or_path in --config)."),
    data: str = typer.Option(None, "--data", help="Dataset directory from `patchwarden train dataset` (or dataset_name in --config)."),
    out: str = typer.Option(None, "--out", help="Output directory: checkpoints, final model, metrics.jsonl, rewards.png (or output_dir in --config)."),
    num_generations: int = typer.Option(None, "--num-generations", help="Samples per prompt (method: 8)."),
    max_steps: int = typer.Option(None, "--max-steps", help="Stop after N optimizer steps (default: one epoch)."),
    use_vllm: bool = typer.Option(False, "--use-vllm", help="Generate with vLLM (needs a CUDA GPU and vllm)."),
    vllm_mode: str = typer.Option("colocate", "--vllm-mode", help="colocate (shares the GPU) or server (`trl vllm-serve` on other GPUs)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the last checkpoint-N in --out."),
    config: str = typer.Option(None, "--config", help="TRL-style YAML/JSON: model_name_or_path, dataset_name, output_dir, env and any GRPOConfig field (overriding the method's defaults)."),
    drop_long: bool = typer.Option(False, "--drop-long", help="Drop prompts longer than the model's context allows instead of cutting their start."),
    workers: int = typer.Option(None, "--workers", help="Parallel sandbox jobs for the rewards (default: CPU count)."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
):
    """Train a test-then-repair policy with GRPO (rewards: format, discriminative tests, repair).

    Any GRPOConfig field is also a flag, parsed as TRL's own parser does: --beta 0.1,
    --lr_scheduler_type constant, --bf16 true, ... (precedence: flags, then --config, then the method's defaults)."""
    from patchwarden.repair.r1.dataset import DatasetError
    from patchwarden.repair.r1.train import TrainError, TrainRequest, load_config_file, train_grpo
    from patchwarden.repair.r1.trl_args import TrlArgsError, parse_grpo_flags, split_config

    try:
        paths, _ = split_config(load_config_file(config), config) if config else ({}, {})
        overrides = parse_grpo_flags(ctx.args)
    except (TrlArgsError, TrainError) as exc:
        fail(str(exc))
    paths["out"] = overrides.pop("output_dir", None) or paths.get("out")  # --output_dir, TRL's spelling of --out
    model, data, out = model or paths.get("model"), data or paths.get("data"), out or paths.get("out")
    for value, flag, key in ((model, "--model", "model_name_or_path"), (data, "--data", "dataset_name"), (out, "--out", "output_dir")):
        if not value:
            fail(f"no {flag}: pass {flag}, or set {key} in the --config file")
    check_range("--max-steps", max_steps, 1, what="optimizer steps")
    check_range("--workers", workers, 1, what="parallel sandbox jobs")
    check_out_dir(out)
    req = TrainRequest(model=model, data=data, out=out, num_generations=num_generations, max_steps=max_steps,
                       use_vllm=use_vllm, vllm_mode=vllm_mode, resume=resume, config_file=config, workers=workers,
                       overrides=overrides, drop_long=drop_long)
    try:
        with contextlib.redirect_stdout(sys.stderr):  # library logs must not mix with --json output
            summary = train_grpo(req)
    except (TrainError, DatasetError, TrlArgsError) as exc:
        fail(str(exc))
    if json_out:
        print_json(summary)
        return
    for note in summary["notes"]:
        console.print(f"note: {note}")
    if summary.get("context") and summary["context"]["context"] is not None:
        from patchwarden.repair.models.context import FitReport
        console.print(FitReport(**summary["context"]).line(), highlight=False)
    console.print(f"trained to step {summary['steps']}; model in {summary['out']}, last checkpoint "
                  f"{summary['last_checkpoint']}, metrics {summary['metrics']}, plot {summary['plot']}")


@app.command("eval")
def eval_cmd(
    model: str = typer.Option(..., "--model", help="Policy to evaluate: hf:PATH_OR_ID (or another model spec)."),
    data: str = typer.Option(..., "--data", help="Dataset directory from `patchwarden train dataset`."),
    split: str = typer.Option("test", "--split", help="Which split to evaluate: test or train."),
    samples: int = typer.Option(8, "--samples", help="Answers sampled per bug (Bugfix@k for k up to this)."),
    limit: int = typer.Option(None, "--limit", help="Evaluate only the first N bugs."),
    temperature: float = typer.Option(1.0, "--temperature", help="Sampling temperature (0 = greedy)."),
    max_tokens: int = typer.Option(2048, "--max-tokens", help="Longest answer in tokens."),
    workers: int = typer.Option(None, "--workers", help="Parallel sandbox jobs (default: CPU count)."),
    details: str = typer.Option(None, "--details", help="Also write every sample's scores to this JSON file."),
    drop_long: bool = typer.Option(False, "--drop-long", help="Drop prompts longer than the model's context allows instead of cutting their start."),
    json_out: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
):
    """Evaluate a policy: Bugfix@1/@k, Test (discriminative tests) and Tcov (bugs with one)."""
    from patchwarden.repair.r1.dataset import DatasetError, load_split

    if samples < 1:
        fail("--samples must be at least 1")
    check_range("--limit", limit, 1, what="bugs to evaluate")
    check_range("--temperature", temperature, 0, what="0 = greedy")
    check_range("--max-tokens", max_tokens, 1, what="longest answer in tokens")
    check_range("--workers", workers, 1, what="parallel sandbox jobs")
    check_out_file(details, "--details")
    if split not in ("test", "train"):
        fail(f"--split must be test or train, got {split!r}")
    try:
        rows = load_split(data, split)
    except DatasetError as exc:
        fail(str(exc))
    rows = rows[:limit] if limit else rows
    if not rows:
        fail(f"no rows to evaluate in {data}/{split}.jsonl")
    from patchwarden.repair.models.budget import ModelError
    from patchwarden.repair.r1.evaluate import evaluate_policy
    from patchwarden.repair.r1.fork_runner import TestRunner
    from patchwarden.repair.r1.policy_model import PolicyLoadError, load_policy

    from patchwarden.repair.models.context import ContextTooSmall
    from patchwarden.repair.r1.policy_model import fit_policy_rows

    try:
        policy = load_policy(model)
        rows, messages, max_tokens, fitted = fit_policy_rows(policy, rows, max_tokens, drop_long)
    except (PolicyLoadError, ContextTooSmall) as exc:
        fail(str(exc))
    if fitted is not None and not json_out:
        err_console.print(fitted.line(), highlight=False)
    try:
        with TestRunner(workers=workers) as runner, _progress() as bar, contextlib.redirect_stdout(sys.stderr):
            task = bar.add_task("sampling answers", total=len(rows))
            report = evaluate_policy(policy, rows, runner, samples=samples, temperature=temperature, max_tokens=max_tokens,
                                     progress=lambda n: bar.advance(task, n), messages=messages)
    except ModelError as exc:  # a model server that does not answer: one line, not a traceback
        fail(f"the model {model} did not answer: {exc}", 4)  # a service failure (docs/json.md), not bad input
    summary = report.summary()
    if fitted is not None:
        summary["context"] = fitted.to_dict()
    if details:
        from pathlib import Path

        from patchwarden.sandboxes.files import write_json

        write_json(Path(details), {"summary": summary, "bugs": [b.to_dict() for b in report.bugs]})
    if json_out:
        print_json(summary)
        return
    from rich.table import Table

    table = Table(title=f"Repair-R1: {summary['bugs']} bugs x {samples} samples", caption=model)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        if key not in ("model", "bugs", "samples", "context"):
            table.add_row(key, f"{100 * value:.1f}%")
    console.print(table)
