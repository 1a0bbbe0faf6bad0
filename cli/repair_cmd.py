"""`patchwarden repair` and `patchwarden localize`."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from patchwarden.cli.common import check_range, console, err_console, fail, print_json, read_text_file
from patchwarden.cli.contract import exit_code_for

from patchwarden.cli.option_table import typer_option, with_options
from patchwarden.repair.options import OPTIONS, option

REPO_ARG = typer.Argument(..., help="Path of the repository (a folder; git is needed only for --apply/--branch).")


@with_options(OPTIONS, into="options")
def repair(
    repo: Path = REPO_ARG,
    options: dict = None,  # one flag per repair option (repair/options.py)
    json_out: bool = typer.Option(False, "--json", help="Print the result as one JSON object (no progress bar)."),
):
    """Repair a repository: run the tests, localize, generate candidates, validate each in a
    sandbox, and emit the best plausible patch. Exit 0 = plausible patch, 1 = none,
    2 = bad input, 3 = abstained, 4 = environment or service failure (model server down, Docker)."""
    from patchwarden.repair.options import config_from
    from patchwarden.repair.errors import RepairInputError
    from patchwarden.repair.pipeline import run_repair

    if options["test_cmd"] is None:
        fail('no test command; pass --test-cmd, e.g. --test-cmd "python -m pytest -q"')
    issue = options["issue"]
    issue_text = read_text_file(issue, "issue", "--issue") if issue is not None else None
    cfg = config_from(options, repo=repo, issue=issue_text, progress=not json_out)
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
    test_cmd: Optional[str] = typer_option(option("test_cmd")),
    sandbox: str = typer_option(option("sandbox")),
    image: Optional[str] = typer_option(option("image")),
    test_timeout: float = typer_option(option("test_timeout")),
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
