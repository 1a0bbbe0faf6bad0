"""`patchwarden repair` and `patchwarden localize`."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from patchwarden.cli.common import check_range, console, err_console, fail, print_json, read_text_file
from patchwarden.cli.contract import exit_code_for

REPO_ARG = typer.Argument(..., help="Path of the repository (a folder; git is needed only for --apply/--branch).")
TEST_CMD = typer.Option(None, "--test-cmd", "-t", help='The command that runs the tests, e.g. "python -m pytest -q". pytest gets per-test results, coverage and the warm runner; Maven, Gradle, node --test, Jest, Vitest and Mocha get per-test results from their JUnit reports (docs/languages.md); other commands are judged by exit code.')
SANDBOX = typer.Option("auto", "--sandbox", help="Where tests run: local (process group with limits), docker (container without network; an interpreter run by path, e.g. a venv's, is mounted read-only) or auto (docker when a dry start shows the test command can run there, else local with a note saying why).")
IMAGE = typer.Option(None, "--image", help="Docker image (default patchwarden/sandbox:py3, from `patchwarden sandbox build-image --offline`; a project's own from `patchwarden sandbox build-env REPO`).")
TEST_TIMEOUT = typer.Option(600.0, "--test-timeout", help="Seconds allowed for the baseline run of the whole test suite.")


def repair(
    repo: Path = REPO_ARG,
    test_cmd: Optional[str] = TEST_CMD,
    issue: Optional[Path] = typer.Option(None, "--issue", help="A file holding the issue text (used by model engines and the input bouncer)."),
    engine: str = typer.Option("template", "--engine", "-e", help="template (no model), srepair (two models), policy (a Repair-R1 model) or all (template first, models only if nothing plausible)."),
    sandbox: str = SANDBOX,
    image: Optional[str] = IMAGE,
    workers: int = typer.Option(1, "--workers", "-w", help="Candidates validated in parallel, each worker with its own warm sandbox."),
    max_candidates: int = typer.Option(300, "--max-candidates", help="Stop after validating this many candidates."),
    max_plausible: int = typer.Option(1, "--max-plausible", help="Stop after this many plausible patches (more gives the output bouncer agreement evidence)."),
    time_budget: float = typer.Option(300.0, "--time-budget", help="Seconds for generating and validating candidates."),
    test_timeout: float = TEST_TIMEOUT,
    per_test_timeout: float = typer.Option(60.0, "--per-test-timeout", help="A single test stuck longer than this fails (pytest), so infinite loops are localized instead of hanging the run."),
    memory_mb: int = typer.Option(2048, "--memory", help="Memory limit per sandboxed test run, in MB."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Run directory for the artifacts (default: a new folder under ~/.cache/patchwarden/runs)."),
    resume: bool = typer.Option(False, "--resume", help="Continue a killed run in --out without redoing finished validations."),
    apply: bool = typer.Option(False, "--apply", help="Write the patch into the working tree (refused when the tree has uncommitted changes)."),
    branch: Optional[str] = typer.Option(None, "--branch", help="Commit the patch on a new git branch, leaving the working tree and current branch untouched."),
    functions: Optional[str] = typer.Option(None, "--functions", help="Pin localization to these functions: a.py:f,b.py:Class.g (repaired together by model engines)."),
    instance_id: Optional[str] = typer.Option(None, "--instance-id", help="SWE-bench instance id for the prediction row (with --predictions)."),
    predictions: Optional[Path] = typer.Option(None, "--predictions", help="Append a SWE-bench prediction row (instance_id, model_name_or_path, model_patch) to this JSONL file."),
    model_name: str = typer.Option("patchwarden", "--model-name", help="model_name_or_path written in prediction rows."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model for model engines: openai:NAME, hf:PATH_OR_ID or vllm:PATH_OR_ID (both SRepair roles)."),
    suggest_model: Optional[str] = typer.Option(None, "--suggest-model", help="SRepair suggestion model (overrides --model for that role)."),
    patch_model: Optional[str] = typer.Option(None, "--patch-model", help="SRepair patch model (overrides --model for that role)."),
    api_base: Optional[str] = typer.Option(None, "--api-base", help="Base URL of an OpenAI-compatible server (else OPENAI_BASE_URL)."),
    replay: Optional[Path] = typer.Option(None, "--replay", help="Answer model calls from this earlier run directory's call log, without any model."),
    max_calls: Optional[int] = typer.Option(None, "--max-calls", help="Hard cap on model calls."),
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens", help="Hard cap on model tokens (prompt + completion)."),
    max_cost: Optional[float] = typer.Option(None, "--max-cost", help="Hard cap on model cost in USD; prices from litellm's cost map (a model with no known price is refused: pass --price-in/--price-out)."),
    price_in: Optional[float] = typer.Option(None, "--price-in", min=0.0, help="Price of prompt tokens, USD per 1M (overrides the price registry for every remote model)."),
    price_out: Optional[float] = typer.Option(None, "--price-out", min=0.0, help="Price of completion tokens, USD per 1M (overrides the price registry)."),
    suggestions: int = typer.Option(3, "--suggestions", help="SRepair: suggestions asked for per function (or per group of functions repaired together)."),
    patches_per_suggestion: int = typer.Option(5, "--patches-per-suggestion", help="SRepair: patches per suggestion."),
    no_bounce: bool = typer.Option(False, "--no-bounce", help="Never abstain: skip the input and output bouncers."),
    bounce_threshold: float = typer.Option(0.5, "--bounce-threshold", help="Abstain when the best patch's confidence is below this (0-1)."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as one JSON object (no progress bar)."),
):
    """Repair a repository: run the tests, localize, generate candidates, validate each in a
    sandbox, and emit the best plausible patch. Exit 0 = plausible patch, 1 = none,
    2 = bad input, 3 = abstained, 4 = environment or service failure (model server down, Docker)."""
    from patchwarden.repair.config import RepairConfig
    from patchwarden.repair.pipeline import run_repair
    from patchwarden.repair.errors import RepairInputError

    if test_cmd is None:
        fail('no test command; pass --test-cmd, e.g. --test-cmd "python -m pytest -q"')
    issue_text = read_text_file(issue, "issue", "--issue") if issue is not None else None
    pinned = [f.strip() for f in functions.split(",") if f.strip()] if functions else []
    cfg = RepairConfig(
        repo=repo, test_cmd=test_cmd, issue=issue_text, engine=engine, sandbox=sandbox, image=image, workers=workers,
        max_candidates=max_candidates, max_plausible=max_plausible, time_budget=time_budget, test_timeout=test_timeout, per_test_timeout=per_test_timeout,
        memory_mb=memory_mb, out=out, resume=resume, apply=apply, branch=branch, instance_id=instance_id,
        predictions=predictions, model_name=model_name, functions=pinned, model=model, suggest_model=suggest_model,
        patch_model=patch_model, api_base=api_base, replay=replay, max_calls=max_calls, max_tokens=max_tokens,
        max_cost=max_cost, price_in=price_in, price_out=price_out, suggestions=suggestions, patches_per_suggestion=patches_per_suggestion, bounce=not no_bounce,
        bounce_threshold=bounce_threshold, progress=not json_out,
    )
    try:
        if json_out:
            outcome = run_repair(cfg)
        else:
            outcome = _run_with_progress(cfg, run_repair)
    except RepairInputError as exc:  # a model server down or Docker failing mid-run: exit 4, not bad input
        fail(str(exc), exit_code_for(exc))
    if json_out:
        print_json(outcome.to_dict())
    else:
        _render(outcome)
    raise typer.Exit(outcome.exit_code)


def _run_with_progress(cfg, run_repair):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("plausible: {task.fields[plausible]}"), TimeElapsedColumn()]
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task("validating candidates", total=cfg.max_candidates, plausible=0)

        def on_progress(p: dict) -> None:
            if "stage" in p:
                progress.update(task, description=p["stage"])
            else:
                progress.update(task, completed=p["validated"], plausible=p["plausible"])

        return run_repair(cfg, on_progress)


def _render(outcome) -> None:
    style = {"plausible": "green", "abstained": "yellow", "nothing-to-repair": "cyan"}.get(outcome.status, "red")
    console.print(f"[bold {style}]{outcome.status}[/]: {outcome.message}", highlight=False)
    if outcome.top_functions:
        console.print(f"suspicious: {', '.join(outcome.top_functions[:3])}", highlight=False)
    console.print(
        f"candidates: {outcome.candidates_generated} generated, {outcome.candidates_validated} validated, "
        f"{len(outcome.plausible_ids)} plausible; {outcome.wall_time:.1f}s", highlight=False
    )
    for note in outcome.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    if outcome.patch:
        console.print(outcome.patch, highlight=False, markup=False)
    console.print(f"run directory: {outcome.run_dir}", highlight=False)
    if outcome.stop_reason:   # the last line: a capped run must say so
        console.print(f"[yellow]stopped early:[/] {outcome.stop_reason}", highlight=False)


def localize(
    repo: Path = REPO_ARG,
    test_cmd: Optional[str] = TEST_CMD,
    sandbox: str = SANDBOX,
    image: Optional[str] = IMAGE,
    test_timeout: float = TEST_TIMEOUT,
    top: int = typer.Option(10, "--top", help="How many functions to list."),
    json_out: bool = typer.Option(False, "--json", help="Print the ranking as JSON."),
):
    """Run the tests once and rank the functions most likely to hold the bug (tracebacks of the
    failing tests + per-test coverage scored with Ochiai), with the evidence for each."""
    from patchwarden.repair.pipeline import localize_repo, no_evidence_reason
    from patchwarden.repair.errors import RepairInputError

    if test_cmd is None:
        fail('no test command; pass --test-cmd, e.g. --test-cmd "python -m pytest -q"')
    check_range("--top", top, 1, what="functions to list")
    try:
        run, ranked = localize_repo(repo, test_cmd, sandbox, image, test_timeout)
    except RepairInputError as exc:  # a model server down or Docker failing mid-run: exit 4, not bad input
        fail(str(exc), exit_code_for(exc))
    rows = [{"rank": i + 1, "function": s.function.key, "score": s.score, "lines": [s.function.start_line, s.function.end_line], "evidence": s.evidence} for i, s in enumerate(ranked[:top])]
    notes = [n for n in (run.coverage_note, "" if ranked or not run.failing else no_evidence_reason(run)) if n]
    if json_out:
        print_json({"failing_tests": [r.nodeid for r in run.failing], "functions": rows, "notes": notes})
        raise typer.Exit(0 if run.failing else 1)
    if not run.failing:
        console.print(f"all {len(run.results)} tests pass: nothing to localize")
        raise typer.Exit(1)
    from rich.table import Table

    table = Table(title=f"{len(run.failing)} failing test(s)")
    for col in ("#", "function", "score", "lines", "evidence"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["rank"]), r["function"], f"{r['score']:.3f}", f"{r['lines'][0]}-{r['lines'][1]}", "\n".join(r["evidence"]))
    console.print(table)
    for note in notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
