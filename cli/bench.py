"""`patchwarden bench`: run repair over bug datasets (process pool or Ray) and build reports."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from patchwarden.cli.common import check_out_dir, console, err_console, fail, print_json
from patchwarden.cli.contract import exit_code_for

app = typer.Typer(no_args_is_help=True, help="Run repair over bug datasets (optionally with Ray) and build reports.")


@app.command("list")
def list_datasets(json_out: bool = typer.Option(False, "--json", help="Print the datasets as JSON.")):
    """List the datasets `bench run` accepts."""
    from patchwarden.benchmarks.datasets import available, get_dataset

    rows = {name: get_dataset(name).HELP for name in available()}
    if json_out:
        print_json({"datasets": [{"name": name, "help": text} for name, text in rows.items()]})
        return
    for name, text in rows.items():
        console.print(f"[bold]{name}[/]  {text}", highlight=False)


def _repair_options(func):
    from patchwarden.benchmarks.runner import BENCH_SPELLING
    from patchwarden.cli.option_table import with_options
    from patchwarden.repair.options import shared_options

    return with_options(shared_options(), into="repair", overrides=BENCH_SPELLING)(func)


@app.command("run")
@_repair_options
def run(
    dataset: str = typer.Argument(..., help="Dataset name: humanevalfix, bugsinpy, jsonl, swebench (see `bench list`)."),
    path: Optional[str] = typer.Option(None, "--path", help="Dataset location: a file, a folder or a HF id (humanevalfix: default is the packaged copy; swebench: a .json/.jsonl of instances or a HF id, `ID:SPLIT` for a split other than test)."),
    repos: Optional[Path] = typer.Option(None, "--repos", help="swebench: folder of local clones, named <owner>__<name> or <owner>/<name> (never modified: each instance gets a work copy)."),
    repo_config: Optional[Path] = typer.Option(None, "--repo-config", help="swebench: JSON file mapping owner/name to {test_cmd with {tests}, image?}; extends the shipped mapping (benchmarks/data/swebench_repos.json)."),
    image_template: Optional[str] = typer.Option(None, "--image-template", help="swebench: Docker image per instance, e.g. 'sweb.eval.x86_64.{instance_id}' ({instance_id}, {repo}, {version}); used unless --sandbox local (and before --image)."),
    out: Path = typer.Option(..., "--out", help="Output directory: results.jsonl, runs/<bug>/, bench.json."),
    workers: int = typer.Option(1, "--workers", help="Bugs repaired in parallel (processes, or the CPUs of the Ray started by --ray local)."),
    ray: Optional[str] = typer.Option(None, "--ray", help="Run bugs as Ray tasks, with Ray's address semantics: auto (connect to a running cluster), local (start one for this run), ray://HOST:PORT or HOST:PORT. Default: RAY_ADDRESS when set, else no Ray."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Only the first N bugs of the dataset."),
    resume: bool = typer.Option(False, "--resume", help="Continue a run in --out: skip bugs already recorded."),
    bug_timeout: Optional[float] = typer.Option(None, "--bug-timeout", help="Wall-clock cap per bug in seconds (default: 2 x --time-budget + 300); past it the bug is recorded as `timeout`."),
    keep_work: bool = typer.Option(False, "--keep-work", help="Keep each bug's materialised repository under OUT/work/."),
    repair: dict = None,  # every repair option that is not about one repository's run (repair/options.py)
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON (no progress bar)."),
):
    """Repair every bug of DATASET; results go to OUT/results.jsonl as bugs finish. The repair
    options (engine, models, caps, sandbox, budgets) are `patchwarden repair`'s and apply to each bug's repair."""
    from patchwarden.benchmarks.datasets import DatasetError, load_bugs
    from patchwarden.benchmarks.runner import BenchError, BenchSettings, check_settings, run_bench

    if limit is not None and limit < 1:
        fail("--limit must be at least 1")
    if workers < 1:
        fail("--workers must be at least 1")
    from patchwarden.benchmarks.ray_address import RayAddressError, resolve_ray_address

    try:
        ray = resolve_ray_address(ray)
    except RayAddressError as exc:
        fail(str(exc))
    settings = BenchSettings(dataset=dataset, path=path, keep_work=keep_work, bug_timeout=bug_timeout, repair=repair)
    try:  # every bug would use these settings: check them (and --out) before loading or running any
        check_settings(settings)
        check_out_dir(out)
        options = {"repos": str(repos) if repos else None, "repo_config": str(repo_config) if repo_config else None, "image_template": image_template}
        bugs = load_bugs(dataset, path, limit, options)
    except (DatasetError, BenchError) as exc:
        fail(str(exc))
    if not bugs:
        fail(f"dataset {dataset} at {path or 'its default location'} holds no bugs")
    progress = None if json_out else _Progress()
    try:
        with progress or _nothing():
            summary = run_bench(bugs, settings, out, workers=workers, ray=ray, resume=resume,
                                on_start=progress.start if progress else _warn_problems, on_result=progress.update if progress else None)
    except BenchError as exc:  # a dead worker or an unreachable Ray cluster is the environment's failure (4)
        fail(str(exc), exit_code_for(exc))
    if json_out:  # `fixed` is kept for scripts written before the contract; `fixed_equal_reference` is the shared name
        print_json(summary.to_dict() | {"out": str(out), "fixed_equal_reference": summary.fixed})
        return
    console.print(
        f"{summary.ran} bugs repaired in {summary.wall_time:.1f}s ({summary.skipped} already done): "
        f"[green]{summary.plausible} plausible[/], {summary.fixed} equal to the reference, "
        f"{summary.failed} failed ({summary.errors} errors). Results: {out / 'results.jsonl'}; SWE-bench predictions: {out / 'predictions.jsonl'}; "
        f"report: patchwarden bench report {out}", highlight=False)


def _warn_problems(summary) -> None:
    """Unreadable results lines: reported (with line numbers), their bugs redone."""
    for problem in summary.problems:
        err_console.print(f"[yellow]warning:[/] {problem}", highlight=False, soft_wrap=True)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _Progress:
    """A rich progress bar with plausible / fixed / failed counts."""

    def __init__(self):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("[bold]bench"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=err_console, transient=False)
        self.task = None

    def __enter__(self):
        self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        return self.bar.__exit__(*exc)

    def start(self, summary) -> None:
        _warn_problems(summary)
        self.task = self.bar.add_task(self._text(summary), total=summary.total, completed=summary.skipped)

    def update(self, record: dict, summary) -> None:
        self.bar.update(self.task, advance=1, description=self._text(summary))

    @staticmethod
    def _text(s) -> str:
        return f"[green]plausible {s.plausible}[/] · fixed=ref {s.fixed} · [red]failed {s.failed}[/]" + (f" ({s.errors} errors)" if s.errors else "")


@app.command("report")
def report(
    dirs: List[Path] = typer.Argument(..., help="One or more `bench run` output directories (several: compared side by side)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Report directory (default: DIR/report for one run, ./bench-report for several)."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary rows as JSON."),
):
    """Markdown + HTML report, PNG plots and SWE-bench predictions for bench runs."""
    from patchwarden.benchmarks.report import ReportError, build_report

    out = out or (dirs[0] / "report" if len(dirs) == 1 else Path("bench-report"))
    check_out_dir(out)
    try:
        result = build_report(dirs, out)
    except ReportError as exc:
        fail(str(exc))
    for problem in result["problems"]:
        err_console.print(f"[yellow]warning:[/] {problem}", highlight=False, soft_wrap=True)
    if json_out:
        print_json(result)
        return
    console.print(f"report: {result['markdown']} and {result['html']}; plots: {', '.join(Path(p).name for p in result['plots'])}; "
                  f"predictions: {', '.join(result['predictions'])}", highlight=False)
