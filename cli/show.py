"""`patchwarden show RUN_DIR`: one repair run's stages in the terminal, as an HTML page or JSON."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from patchwarden.cli.common import console, fail, print_json

STYLE = {"plausible": "green", "passed": "green", "abstained": "yellow", "nothing-to-repair": "cyan"}


def show(
    run_dir: Path = typer.Argument(..., help="A repair run directory: the --out of `patchwarden repair`, or OUT/runs/<bug> of `bench run`."),
    html: Optional[Path] = typer.Option(None, "--html", help="Also write the run as one self-contained HTML page to this file."),
    json_out: bool = typer.Option(False, "--json", help="Print the run's artifacts as one JSON object instead."),
    top: int = typer.Option(10, "--top", help="Rows shown per table in the terminal (tests, ranking, candidates, calls)."),
):
    """Show one repair run: result, baseline tests, the localization ranking with evidence,
    candidates with verdicts, patch, bouncer decisions, model calls and any other artifact."""
    from patchwarden.repair.rundir import RunDirError, read_run

    try:
        run = read_run(run_dir)
    except RunDirError as exc:
        fail(str(exc))
    if html is not None:
        from patchwarden.sandboxes.files import write_text
        from patchwarden.repair.run_page import render_html

        if html.is_dir():
            fail(f"--html {html} is a directory: pass a file name such as run.html")
        write_text(html, render_html(run))
    if json_out:
        print_json(run | ({"html": str(html)} if html else {}))
        return
    _render(run, max(1, top))
    if html is not None:
        console.print(f"HTML page: {html}", highlight=False)


def _table(title: str, columns: list[str], rows: list[list[str]], top: int):
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_lines=False)
    for i, col in enumerate(columns):
        table.add_column(col, overflow="fold", no_wrap=i == 0 and col in ("#", "candidate"))
    for row in rows[:top]:
        table.add_row(*row)  # cells are escaped by the caller (some carry style markup)
    if len(rows) > top:
        table.caption = f"{len(rows) - top} more (--top N, or --html)"
    console.print(table)


def esc(text) -> str:
    from rich.markup import escape

    return escape(str(text))


def _render(run: dict, top: int) -> None:
    r, cfg = run["result"], run["config"] or {}
    status = r.get("status", "unknown (no result.json: the run did not finish)")
    console.print(f"[bold {STYLE.get(status, 'red')}]{status}[/]: {esc(r.get('message', ''))}", highlight=False)
    console.print(esc(f"repo {cfg.get('repo', '?')} · test command {cfg.get('test_cmd', '?')} · engine {cfg.get('engine', '?')}")
                  + (f" · {r.get('wall_time', 0):.1f}s" if r else ""), highlight=False)
    if r.get("confirmation"):  # the user's exact command on the patched tree (repair/confirm.py)
        from patchwarden.repair.confirm import describe

        console.print(esc(describe(r["confirmation"])), highlight=False, soft_wrap=True)
    for key, value in run["result_extra"].items():  # keys added by newer stages, shown as they are
        if key == "confirmation":
            continue
        console.print(f"[bold]{key}[/]: {esc(json.dumps(value, default=str)[:500])}", highlight=False, soft_wrap=True)
    tests = sorted(run["tests"], key=lambda t: t["status"] == "passed")
    _table(f"Baseline: {len(tests)} tests, {sum(t['status'] in ('failed', 'error') for t in tests)} failing", ["test", "status", "message"],
           [[esc(t["nodeid"]), f"[{STYLE.get(t['status'], 'red')}]{t['status']}[/]", esc(t["message"][:120])] for t in tests], top)
    _table("Localization", ["#", "function", "score", "evidence"],
           [[str(i + 1), esc(s.get("function", "?")), f"{s.get('score', 0):.3f}", esc("\n".join(s.get("evidence") or []))]
            for i, s in enumerate(run["localization"])], top)
    cands = sorted(run["candidates"], key=lambda c: (not c["best"], (c["verdict"] or {}).get("status") != "plausible"))
    _table(f"Candidates ({len(run['candidates'])})", ["candidate", "engine", "description", "verdict", "why"],
           [[c["id"] + (" *" if c["best"] else ""), esc(c["engine"] or ""), esc(c["description"][:80]),
             esc((c["verdict"] or {}).get("status", "not validated")), esc(((c["verdict"] or {}).get("message") or "")[:100])] for c in cands], top)
    for side, decision in run["bounce"].items():
        decision = decision or {}
        console.print(f"[bold]{side} bouncer[/]: {'bounced' if decision.get('bounce') else 'accepted'} "
                      f"(confidence {decision.get('confidence', '?')}): {esc(decision.get('explanation', ''))}", highlight=False, soft_wrap=True)
    if run["model_calls"]:
        calls = run["model_calls"]
        _table(f"Model calls ({len(calls)})", ["#", "model", "tokens", "latency (s)", "error"],
               [[str(i + 1), esc(c.get("model", "?")), str((c.get("prompt_tokens") or 0) + (c.get("completion_tokens") or 0)),
                 f"{c.get('latency') or 0:.2f}", esc((c.get("error") or "")[:80])] for i, c in enumerate(calls)], top)
    for name, value in run["other"].items():
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        console.print(f"[bold]{name}[/]: {esc(text[:300])}", highlight=False, soft_wrap=True)
    if run["patch"]:
        console.print("[bold]patch.diff[/]", highlight=False)
        console.print(run["patch"], highlight=False, markup=False)
