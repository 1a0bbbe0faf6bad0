"""`patchwarden bouncerbench`: score, run and export bouncers on BouncerBench."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from patchwarden.cli.common import check_out_dir, console, fail, print_json
from patchwarden.cli.contract import exit_code_for

app = typer.Typer(no_args_is_help=True, help="Score, run and export bouncers on BouncerBench.")

SPLIT_HELP = "Which BouncerBench task: input (issues), output (patches) or lite (both per instance)."


def _check_split(split: str) -> str:
    from patchwarden.bouncer.data import SPLITS

    if split not in SPLITS:
        fail(f"unknown --split {split!r}; choose one of {', '.join(SPLITS)}")
    return split


def load_model_or_fail(spec: str | None, api_base: str | None):
    """A `repair.models.Model` from a spec such as openai:NAME; one clean line when impossible."""
    if not spec:
        fail("the llm bouncer needs a model: pass --model openai:NAME (with --api-base for a local server)")
    from patchwarden.repair.models import load_model

    try:
        return load_model(spec, api_base=api_base) if api_base else load_model(spec)
    except Exception as exc:  # the backends raise ModelError with a message that names the fix
        fail(f"cannot load model {spec!r}: {exc}")


@app.command()
def score(
    split: str = typer.Option(..., "--split", help=SPLIT_HELP),
    predictions: Path = typer.Option(..., "--predictions", help="Submission JSON keyed by instance_id with input_bounce / output_bounce and trace."),
    labels: Optional[str] = typer.Option(None, "--labels", help="Labels: a Hugging Face id or a CSV/JSON/JSONL/Parquet file (default: the published dataset)."),
    as_json: bool = typer.Option(False, "--json", help="Print the leaderboard figures as one JSON object."),
):
    """F_m, I-Score / O-Score, R_b, FNR_a, per-class scores and the confusion matrix."""
    from patchwarden.bouncer.data import BouncerDataError, load_labels, load_predictions
    from patchwarden.bouncer.metrics import score as score_all

    _check_split(split)
    try:
        lab = load_labels(split, labels)
        preds = load_predictions(predictions, split, lab)
    except BouncerDataError as exc:
        fail(str(exc))
    results = score_all(split, lab, preds)
    if as_json:
        if split == "lite":
            out = {f"{side}_metrics": m.leaderboard() for side, m in results.items()}
        else:
            out = dict(results[split].leaderboard())
        out["details"] = {side: m.details() for side, m in results.items()}
        print_json(out)
        return
    _print_tables(split, results)


def _print_tables(split: str, results) -> None:
    from rich.table import Table

    summary = Table(title=f"BouncerBench {split}")
    summary.add_column("figure")
    for side in results:
        summary.add_column(side, justify="right")
    rows = [
        ("labelled items (N)", lambda m: str(m.n_labelled)),
        ("predicted items", lambda m: str(m.n_predicted)),
        ("F_m (macro F1)", lambda m: f"{m.f_m:.3f}"),
        ("I-Score / O-Score", lambda m: f"{m.score:.3f}"),
        ("R_b (bounce recall, %)", lambda m: f"{m.r_b:.1f}"),
        ("FNR_a (accepts bounced, %)", lambda m: f"{m.fnr_a:.1f}"),
    ]
    for cls in ("accept", "bounce"):
        for what in ("precision", "recall", "f1"):
            rows.append((f"{cls} {what}", lambda m, c=cls, w=what: f"{getattr(getattr(m, c), w):.3f}"))
    for key in ("true_accept", "false_bounce", "false_accept", "true_bounce"):
        rows.append((key.replace("_", " "), lambda m, k=key: str(m.confusion[k])))
    for name, fmt in rows:
        summary.add_row(name, *[fmt(m) for m in results.values()])
    console.print(summary)
    console.print("missing predictions count as accept in I-/O-Score; F_m, R_b, FNR_a are over predicted items", style="dim")


@app.command()
def run(
    split: str = typer.Option(..., "--split", help=SPLIT_HELP),
    bouncer_kind: str = typer.Option("heuristic", "--bouncer", help="llm (the paper's rubric prompts) or heuristic (no model: issue features; patch evidence from the diff)."),
    model: Optional[str] = typer.Option(None, "--model", help="Model spec for --bouncer llm, e.g. openai:gpt-4o-mini."),
    api_base: Optional[str] = typer.Option(None, "--api-base", help="Base URL of an OpenAI-compatible server (vLLM, Ollama, llama.cpp)."),
    data: Optional[str] = typer.Option(None, "--data", help="Items: a Hugging Face id or a CSV/JSON/JSONL/Parquet file (default: the published dataset)."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Judge only the first N items."),
    threshold: float = typer.Option(0.5, "--threshold", min=0.0, max=1.0, help="Heuristic bouncers bounce below this confidence."),
    out: Path = typer.Option(..., "--out", help="Submission JSON to write (resumed if it exists)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Start afresh instead of resuming an existing --out."),
):
    """Judge BouncerBench items and write a leaderboard submission with traces."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from patchwarden.bouncer.data import BouncerDataError, load_items
    from patchwarden.bouncer.evidence import EvidenceOutputBouncer
    from patchwarden.bouncer.heuristic import HeuristicInputBouncer
    from patchwarden.bouncer.submission import read_existing, run_bouncers

    _check_split(split)
    if bouncer_kind not in ("llm", "heuristic"):
        fail(f"unknown --bouncer {bouncer_kind!r}; choose llm or heuristic")
    try:
        items = load_items(split, data)
    except BouncerDataError as exc:
        fail(str(exc))
    items = items[:limit] if limit else items
    if bouncer_kind == "llm":
        from patchwarden.bouncer.llm import LLMInputBouncer, LLMOutputBouncer

        m = load_model_or_fail(model, api_base)
        inb, outb = LLMInputBouncer(m), LLMOutputBouncer(m)
    else:
        inb, outb = HeuristicInputBouncer(threshold), EvidenceOutputBouncer(threshold)
    try:
        already = set(read_existing(out)) if not overwrite else set()
    except ValueError as exc:
        fail(str(exc))
    todo = sum(1 for it in items if it.instance_id not in already)
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"{bouncer_kind} {split}", total=todo)
        try:
            sub = run_bouncers(items, split, out, inb, outb, resume=not overwrite, on_item=lambda _id: progress.advance(task))
        except Exception as exc:  # a backend failure mid-run: what is done is saved, say how to resume
            fail(f"stopped after an error ({type(exc).__name__}: {exc}); finished items are saved in {out}, rerun to resume",
                 exit_code_for(exc))
    console.print(f"wrote {out}: {len(sub)} item(s), {todo} judged now, {len(sub) - todo} resumed")


@app.command()
def export(
    name: str = typer.Option(..., "--name", help="Leaderboard entry name."),
    site: str = typer.Option(..., "--site", help="URL with more information about the system."),
    oss: bool = typer.Option(True, "--oss/--closed", help="Whether the system is open source."),
    icon: str = typer.Option("bouncerbench.svg", "--icon", help="Icon file name under the leaderboard repo's static/images/."),
    input_preds: Optional[Path] = typer.Option(None, "--input", help="Input-split submission file."),
    output_preds: Optional[Path] = typer.Option(None, "--output", help="Output-split submission file."),
    lite_preds: Optional[Path] = typer.Option(None, "--lite", help="Lite submission file."),
    out: Path = typer.Option(..., "--out", help="Folder to write config.yaml and data/ into."),
    as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
):
    """Write the leaderboard submission folder: config.yaml (name, oss, site, entries, icon) + data/."""
    from patchwarden.bouncer.data import BouncerDataError
    from patchwarden.bouncer.submission import export_submission

    check_out_dir(out)
    entries = {k: v for k, v in (("input", input_preds), ("output", output_preds), ("lite", lite_preds)) if v is not None}
    try:
        written = export_submission(out, name, site, oss, entries, icon)
    except (BouncerDataError, ValueError) as exc:
        fail(str(exc))
    if as_json:
        print_json(written)
    else:
        console.print(f"wrote {written['config']} and {', '.join(written['files'].values())}")
        console.print("copy them into the leaderboard repo's submission branch (config.yaml at the root, files under data/)", style="dim")
