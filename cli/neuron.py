"""`patchwarden neuron`: repair the language model itself (MINT, IRepair), evaluate, deltas."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from patchwarden.cli.common import check_out_dir, err_console, fail, print_json

app = typer.Typer(no_args_is_help=True, help="Repair the model itself: MINT neuron patches, IRepair layer slicing, deltas.")


def _load(spec: str):
    from patchwarden.neuron_patch.data import load_model
    return load_model(spec)


def _guard(fn):
    """Turn bad input into one clean line (exit 2) instead of a traceback."""
    try:
        return fn()
    except (ValueError, FileNotFoundError) as exc:   # DataProblem, DeltaMismatch, UnknownArchitecture
        fail(str(exc))


def _progress(total: int, label: str):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err_console, transient=True)


def _finish(report: dict, json_out: bool, out: Path, line: str) -> None:
    if json_out:
        print_json(report)
    else:
        typer.echo(line)
        typer.echo(f"wrote {out / 'report.json'}")


@app.command()
def mint(
    model: str = typer.Option(..., "--model", help="Base model: hf:ORG/NAME or hf:/path/to/folder."),
    cases: Path = typer.Option(..., "--cases", help='JSONL rows {"prompt", "target", "group"}, or EasyEdit records {"prompt", "target_new", "ground_truth", "rephrase_prompt", "locality_prompt"}.'),
    out: Path = typer.Option(..., "--out", help="Folder for the delta(s) and report.json."),
    max_neurons: int = typer.Option(10, "--max-neurons", min=1, help="Neuron budget: patch steps per token and distinct neurons per case before the case is rolled back and skipped."),
    layers: Optional[str] = typer.Option(None, "--layers", help="Candidate layers: upper-half, all, or a list like 0,3,5. Default: searched (upper-half, then all)."),
    mode: str = typer.Option("single", "--mode", help="single: each case from the original model; sequential: repairs accumulate."),
    top_k: Optional[int] = typer.Option(None, "--top-k", min=1, help="fit: neurons whose value vectors are fitted (default: searched 1, 2, 4, ... --max-neurons). pinv/grad: candidate neurons tried per step (default: searched 10, then 50)."),
    scale: Optional[float] = typer.Option(None, "--scale", min=0.0, help="pinv/grad: f = 0.01 x scale in w <- (w + f*drift)/(1+f), searched over 1, 10, 100, 1000 when omitted (given alone, it selects the released rule: pinv, then grad). fit: step-size multiplier (default 1)."),
    direction: Optional[str] = typer.Option(None, "--direction", help="fit (default): the chosen neurons' value vectors fitted by gradient steps on the target's margin with a KL penalty on the locality probes; pinv (the paper's closed-form drift from the LM head) or grad (the drift measured through the network) with the released patch rule."),
    locality: Optional[Path] = typer.Option(None, "--locality", help='JSONL rows {"prompt", "target"} whose answers a repair must not change (default: the cases of the other groups in --cases).'),
    min_locality: float = typer.Option(0.9, "--min-locality", min=0.0, max=1.0, help="Share of locality probes whose answer (top-1 at every target position) must stay unchanged for a setting to be kept."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
):
    """MINT: patch a few FFN neurons so each case's target tokens become top-1 again."""
    from patchwarden.neuron_patch.data import model_ref, read_cases
    from patchwarden.neuron_patch.mint import MintConfig
    from patchwarden.neuron_patch.run_and_save import run_mint

    if mode not in ("single", "sequential"):
        fail(f"--mode {mode}: use single or sequential")
    check_out_dir(out)
    if direction not in (None, "fit", "pinv", "grad"):
        fail(f"--direction {direction}: use fit, pinv or grad")
    rows = _guard(lambda: read_cases(cases))
    probes = _guard(lambda: read_cases(locality)) if locality else None
    if probes is None and len({r.group for r in rows}) < 2:
        typer.echo("warning: no locality probes (one group in --cases, no --locality): nothing keeps the model's "
                   "other answers; pass --locality FILE with prompts whose answers must not change", err=True)
    base, tok = _guard(lambda: _load(model))
    config = MintConfig(max_neurons=max_neurons, layers=layers, top_k=top_k, scale=scale, min_locality=min_locality,
                        direction=direction)
    with _progress(len(rows), "MINT") as bar:
        task = bar.add_task("mint", total=len(rows))
        report = _guard(lambda: run_mint(base, tok, model_ref(model), rows, out, config, mode,
                                         lambda i, n, r: bar.update(task, completed=i), probes))
    s = report["summary"]
    chosen = "; ".join(f"{k} x{v}" for k, v in s["settings_chosen"].items()) or "none"
    _finish(report, json_out, out, f"MINT ({mode}): {s['repaired']} repaired, {s['skipped']} skipped, "
            f"{s['already_correct']} already correct of {s['cases']}; mean neurons {s['mean_neurons']}; "
            f"s/repair {s['seconds_per_repair']}; setting kept: {chosen}")


@app.command()
def irepair(
    model: str = typer.Option(..., "--model", help="Base model: hf:ORG/NAME or hf:/path/to/folder."),
    error_data: Path = typer.Option(..., "--error-data", help='JSONL rows {"prompt", "error", "desired"}, or EasyEdit records (prompt, target_new, ground_truth).'),
    utility_data: Path = typer.Option(..., "--utility-data", help="General text for the KL term: plain text (one passage a line) or JSONL with `text`."),
    out: Path = typer.Option(..., "--out", help="Folder for delta.safetensors and report.json."),
    blocks: int = typer.Option(1, "--blocks", min=1, help="Transformer blocks trained per step (the most sensitive ones)."),
    fixed: bool = typer.Option(False, "--fixed", help="Pick the blocks once (static slice) instead of every step."),
    method: str = typer.Option("irepair", "--method", help="irepair, ft-kl (same loss, all params), sft, or dpo (TRL)."),
    lr: float = typer.Option(5e-5, "--lr", help="RMSprop learning rate (paper: 5e-5; tiny models need ~1e-3)."),
    steps: int = typer.Option(300, "--steps", min=1, help="Maximum training steps (early stop usually ends sooner)."),
    beta: float = typer.Option(0.5, "--beta", help="Weight of NLL(desired continuation)."),
    gamma: float = typer.Option(1.0, "--gamma", help="Weight of KL(P_ref || P_model) on utility text."),
    batch_size: int = typer.Option(4, "--batch-size", min=1, help="Error and utility rows per step."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
):
    """IRepair: train only the blocks most sensitive to the error, with a KL leash on utility text."""
    from patchwarden.neuron_patch.data import model_ref, read_error_data, read_texts
    from patchwarden.neuron_patch.irepair import METHODS, IRepairConfig
    from patchwarden.neuron_patch.run_and_save import run_irepair

    if method not in METHODS:
        fail(f"--method {method}: use one of {', '.join(METHODS)}")
    check_out_dir(out)
    errors = _guard(lambda: read_error_data(error_data))
    utility = _guard(lambda: read_texts(utility_data))
    base, tok = _guard(lambda: _load(model))
    config = IRepairConfig(method=method, blocks=blocks, fixed=fixed, lr=lr, steps=steps, beta=beta, gamma=gamma,
                           batch_size=batch_size, seed=seed)
    with _progress(steps, f"{method}") as bar:
        task = bar.add_task(method, total=steps)
        report = _guard(lambda: run_irepair(base, tok, model_ref(model), errors, utility, out, config,
                                            lambda step, loss: bar.update(task, completed=step)))
    r = report["result"]
    _finish(report, json_out, out, f"{method}: {r['steps']} steps ({r['stopped']}), error rate "
            f"{r['error_rate_before']:.2f} -> {r['error_rate_after']:.2f}, "
            f"{report['summary']['parameters_changed']} parameters changed, {r['seconds']:.1f}s")


@app.command(name="eval")
def eval_cmd(
    model: Path = typer.Option(..., "--model", help="The --out folder of `neuron mint` / `neuron irepair`."),
    cases: Path = typer.Option(..., "--cases", help='JSONL rows {"prompt", "target", "group"} (error rows also accepted).'),
    base: Optional[str] = typer.Option(None, "--base", help="Base model (hf:PATH); default: the one recorded in the report."),
    heldout: Optional[Path] = typer.Option(None, "--heldout", help="Held-out general text for perplexity (plain text or JSONL)."),
    json_out: bool = typer.Option(False, "--json", help="Print all metrics as JSON."),
):
    """Efficacy, generalization, specificity (teacher-forced and generated), locality, perplexity."""
    import json

    from patchwarden.neuron_patch.data import read_cases, read_texts
    from patchwarden.neuron_patch.evaluate import evaluate

    report_path = model / "report.json"
    if not report_path.is_file():
        fail(f"`{report_path}` not found; pass the --out folder of `neuron mint` or `neuron irepair` as --model")
    try:
        recorded = json.loads(report_path.read_text(encoding="utf-8"))["base_model"]
    except json.JSONDecodeError as exc:
        fail(f"{report_path}:{exc.lineno}: not valid JSON ({exc.msg}); rerun `neuron mint`/`neuron irepair` to rewrite it")
    except (KeyError, TypeError, UnicodeDecodeError):
        fail(f"{report_path} records no base_model; pass --base hf:PATH or rerun `neuron mint`/`neuron irepair`")
    base = base or "hf:" + recorded
    rows = _guard(lambda: read_cases(cases, evaluation=True))
    texts = _guard(lambda: read_texts(heldout)) if heldout else None
    base_model, tok = _guard(lambda: _load(base))
    with _progress(1, "eval") as bar:
        task = bar.add_task("eval", total=None)
        result = _guard(lambda: evaluate(base_model, tok, model, rows, texts,
                                         lambda i, n: bar.update(task, completed=i, total=n)))
    if json_out:
        print_json(result)
        return
    from rich.table import Table

    from patchwarden.cli.common import console
    table = Table(title=f"{result['method']} ({result['mode']}) on {result['base_model']}: {result['edits']} edit(s)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in result["metrics"].items():
        table.add_row(k, "-" if v is None else (f"{v:.4f}" if isinstance(v, float) else str(v)))
    console.print(table)


@app.command()
def export(
    source: Path = typer.Argument(..., help="The --out folder of `neuron mint`/`neuron irepair`, or one delta.safetensors."),
    out: Path = typer.Option(..., "--out", help="New folder for the merged model (config, safetensors weights, tokenizer)."),
    base: Optional[str] = typer.Option(None, "--base", help="Base model (hf:PATH_OR_ID); default: the one recorded in the delta."),
    edit: Optional[int] = typer.Option(None, "--edit", min=1, help="Which edit of a single-mode MINT run (they are independent)."),
    adapter: bool = typer.Option(True, "--adapter/--no-adapter", help="For layer fine-tunes (IRepair, ft-kl, sft, dpo) also write a PEFT adapter under OUT/adapter (needs peft)."),
    json_out: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
):
    """Write a merged model directory (base + the repair's delta) that plain
    `transformers.AutoModelForCausalLM.from_pretrained(OUT)` (or vLLM) loads, with the tokenizer."""
    from patchwarden.neuron_patch.export import export_model

    written = _guard(lambda: export_model(source, out, base, edit, adapter))
    if json_out:
        print_json(written)
        return
    typer.echo(f"merged model ({written['method']}, {written['parameters_changed']} parameters changed) in {out}"
               + (f"; PEFT adapter in {written['adapter']}" if written["adapter"] else ""))
