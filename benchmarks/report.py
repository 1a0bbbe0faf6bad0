"""Reports over `bench run` output directories: markdown + HTML tables, PNG plots and
SWE-bench predictions. Several directories are compared side by side."""
from __future__ import annotations

import html
import json
import os
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from patchwarden.benchmarks.results import latest_by_id, read_results
from patchwarden.benchmarks.runner import RESULTS, SETTINGS
from patchwarden.sandboxes.files import atomic_path, write_text


class ReportError(Exception):
    """A directory is not a bench run; the message names the fix."""


@dataclass
class Run:
    label: str
    path: Path
    settings: dict
    model_name: str
    elapsed: float | None  # wall-clock seconds of the run (all its sessions), when recorded
    records: list[dict]  # one per bug, sorted by id
    problems: list[str] = field(default_factory=list)


def load_run(path: Path, label: str) -> Run:
    results = Path(path) / RESULTS
    if not results.is_file():
        raise ReportError(f"{path} holds no {RESULTS}: pass an --out directory of `patchwarden bench run`")
    read = read_results(results)
    meta = json.loads((Path(path) / SETTINGS).read_text()) if (Path(path) / SETTINGS).is_file() else {}
    records = sorted(latest_by_id(read.records).values(), key=lambda r: _natural(r["id"]))
    return Run(label, Path(path), meta.get("settings", {}), meta.get("model_name", "patchwarden"), meta.get("elapsed"), records, read.problems)


def _natural(text: str) -> list:
    import re

    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(text))]


def _labels(paths: list[Path]) -> list[str]:
    """Directory names, with the parent added where two runs share a name."""
    names = [p.resolve().name for p in paths]
    labels = [f"{p.resolve().parent.name}/{n}" if names.count(n) > 1 else n for p, n in zip(paths, names)]
    return [f"{lab} ({i + 1})" if labels.count(lab) > 1 else lab for i, lab in enumerate(labels)]


def summary_row(run: Run) -> dict:
    recs = run.records
    times = [r.get("wall_time", 0.0) for r in recs]
    with_ref = [r for r in recs if r.get("has_reference")]
    return {
        "run": run.label,
        "engine": run.settings.get("engine", ""),
        "model": run.model_name,
        "bugs": len(recs),
        "plausible": sum(bool(r.get("plausible")) for r in recs),
        "fixed_equal_reference": sum(bool(r.get("fixed_equal_reference")) for r in with_ref),
        "with_reference": len(with_ref),
        "abstained": sum(r.get("status") == "abstained" for r in recs),
        "errors": sum(r.get("status") == "error" for r in recs),
        "timeouts": sum(r.get("status") == "timeout" for r in recs),
        "median_time": round(statistics.median(times), 2) if times else 0.0,
        "total_time": round(sum(times), 1),
        "run_wall_time": run.elapsed,
        "candidates_validated": sum(r.get("candidates_validated", 0) for r in recs),
        "calls": sum(r.get("calls", 0) for r in recs),
        "tokens": sum(r.get("tokens", 0) for r in recs),
        "cost": round(sum(r.get("cost", 0.0) for r in recs), 4),
    }


def by_type(run: Run) -> dict[str, dict]:
    out: dict[str, dict] = defaultdict(lambda: {"bugs": 0, "plausible": 0, "fixed_equal_reference": 0})
    for r in run.records:
        row = out[r.get("bug_type") or "unknown"]
        row["bugs"] += 1
        row["plausible"] += bool(r.get("plausible"))
        row["fixed_equal_reference"] += bool(r.get("fixed_equal_reference"))
    return dict(sorted(out.items()))


def _pct(n: int, d: int) -> str:
    return f"{n}/{d} ({100 * n / d:.1f}%)" if d else "-"


SUMMARY_COLUMNS = [
    ("Run", lambda s: s["run"]), ("Engine", lambda s: s["engine"]), ("Bugs", lambda s: str(s["bugs"])),
    ("Plausible", lambda s: _pct(s["plausible"], s["bugs"])),
    ("Fixed = reference", lambda s: _pct(s["fixed_equal_reference"], s["with_reference"])),
    ("Abstained", lambda s: str(s["abstained"])), ("Errors", lambda s: str(s["errors"])), ("Timeouts", lambda s: str(s["timeouts"])),
    ("Median time (s)", lambda s: f"{s['median_time']:.2f}"), ("Sum of times (s)", lambda s: f"{s['total_time']:.1f}"),
    ("Run wall time (s)", lambda s: "-" if s["run_wall_time"] is None else f"{s['run_wall_time']:.1f}"),
    ("Validated", lambda s: str(s["candidates_validated"])), ("Calls", lambda s: str(s["calls"])),
    ("Tokens", lambda s: str(s["tokens"])), ("Cost ($)", lambda s: f"{s['cost']:.4f}"),
]


def _type_table(runs: list[Run]) -> tuple[list[str], list[list[str]]]:
    types = sorted({t for run in runs for t in by_type(run)})
    header = ["Bug type"] + [f"{run.label}: plausible / fixed=ref" for run in runs]
    rows = []
    for t in types:
        row = [t]
        for run in runs:
            c = by_type(run).get(t)
            row.append(f"{_pct(c['plausible'], c['bugs'])} / {c['fixed_equal_reference']}" if c else "-")
        rows.append(row)
    return header, rows


# -- plots ------------------------------------------------------------------------------------
def _plots(runs: list[Run], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    types = sorted({t for run in runs for t in by_type(run)})
    width = 0.8 / len(runs)

    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(types) + 2), 4))
    for i, run in enumerate(runs):
        counts = by_type(run)
        rates = [100 * counts[t]["plausible"] / counts[t]["bugs"] if t in counts else 0 for t in types]
        bars = ax.bar([x + i * width for x in range(len(types))], rates, width, label=run.label)
        for bar, t in zip(bars, types):
            if t in counts:
                ax.annotate(f"{counts[t]['plausible']}/{counts[t]['bugs']}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                            ha="center", va="bottom", fontsize=7)
    ax.set_xticks([x + width * (len(runs) - 1) / 2 for x in range(len(types))], types, rotation=20, ha="right")
    ax.set_ylabel("plausible patches (%)")
    ax.set_ylim(0, 105)
    ax.set_title("Fix rate by bug type")
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(_save(fig, out / "fix_rate_by_type.png"))

    fig, ax = plt.subplots(figsize=(7, 4))
    data = [[max(r.get("wall_time", 0.0), 1e-3) for r in run.records] or [1e-3] for run in runs]
    ax.boxplot(data, showfliers=True)
    ax.set_xticks(range(1, len(runs) + 1), [run.label for run in runs])
    time_axis(ax, [t for times in data for t in times])
    ax.set_title("Time per bug")
    fig.tight_layout()
    paths.append(_save(fig, out / "time_distribution.png"))

    rows = [summary_row(run) for run in runs]
    metrics = [
        ("plausible (%)", [100 * s["plausible"] / s["bugs"] if s["bugs"] else 0 for s in rows]),
        ("fixed = reference (%)", [100 * s["fixed_equal_reference"] / s["with_reference"] if s["with_reference"] else 0 for s in rows]),
        ("median time per bug (s)", [s["median_time"] for s in rows]),
        ("run wall time (s)", [s["run_wall_time"] or 0 for s in rows]),
    ]
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics), 3.6))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (title, values) in zip(axes, metrics):
        ax.bar(range(len(runs)), values, color=[colors[i % len(colors)] for i in range(len(runs))])
        ax.set_xticks(range(len(runs)), [run.label for run in runs], rotation=20, ha="right", fontsize=8)
        ax.set_title(title, fontsize=9)
        if "%" in title:
            ax.set_ylim(0, 105)
        for x, v in enumerate(values):
            ax.annotate(f"{v:.1f}", (x, v), ha="center", va="bottom", fontsize=7)
    fig.suptitle("Runs side by side")
    fig.tight_layout()
    paths.append(_save(fig, out / "comparison.png"))
    return paths


def time_axis(ax, seconds: list[float]) -> None:
    """Seconds as plain numbers (0.5, 2, 10, 200 — never `2x10^1`): a log scale only when the
    times span more than two decades, with ticks at 1-2-5 steps."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    low, high = min(seconds), max(seconds)
    if high / max(low, 1e-3) <= 100:
        ax.set_ylim(bottom=0)
        ax.set_ylabel("wall time per bug (s)")
        return
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylabel("wall time per bug (s, log scale)")


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return path


# -- outputs ------------------------------------------------------------------------------------
def write_predictions(run: Run, path: Path) -> Path:
    """SWE-bench predictions: every bug, with an empty patch where none was found."""
    lines = [json.dumps({"instance_id": r["id"], "model_name_or_path": run.model_name, "model_patch": prediction_patch(r)}) for r in run.records]
    write_text(path, "".join(line + "\n" for line in lines))
    return path


def prediction_patch(record: dict) -> str:
    """The row's patch: paths from the git root, and empty unless plausible (an abstained
    run keeps its patch in the run directory, not in the predictions)."""
    if "model_patch" in record:
        return record["model_patch"] or ""
    return (record.get("patch") or "") if record.get("plausible") else ""


def _rel(path: Path, report_dir: Path) -> str:
    """`path` as seen from the report folder (a report holds no machine-local absolute paths)."""
    return Path(os.path.relpath(Path(path).resolve(), Path(report_dir).resolve())).as_posix()


BUG_COLUMNS = ["Run", "Bug", "Type", "Status", "Plausible", "Fixed = reference", "Time (s)", "Validated", "Patch", "Run dir"]


def bug_rows(runs: list[Run], report_dir: Path) -> list[dict]:
    """One row per bug and run: status, time, and links (relative to the report) to its patch and run directory."""
    rows = []
    for run in runs:
        for r in run.records:
            run_dir = run.path / r.get("run_dir", f"runs/{r['id']}")
            patch = run_dir / "patch.diff"
            rows.append({
                "run": run.label, "id": r["id"], "type": r.get("bug_type") or "unknown", "status": r.get("status", "?"),
                "plausible": bool(r.get("plausible")), "fixed_equal_reference": r.get("fixed_equal_reference"),
                "time": float(r.get("wall_time") or 0.0), "validated": int(r.get("candidates_validated") or 0),
                "patch": _rel(patch, report_dir) if patch.is_file() else None,
                "run_dir": _rel(run_dir, report_dir) if run_dir.is_dir() else None,
            })
    return rows


def _yes(value) -> str:
    return "-" if value is None else ("yes" if value else "no")


def _markdown_bug_table(rows: list[dict]) -> list[str]:
    lines = ["| " + " | ".join(BUG_COLUMNS) + " |", "|" + "---|" * len(BUG_COLUMNS)]
    for b in rows:
        patch = f"[patch.diff]({b['patch']})" if b["patch"] else "-"
        run_dir = f"[{b['run_dir']}]({b['run_dir']})" if b["run_dir"] else "-"
        cells = [b["run"], f"`{b['id']}`", b["type"], b["status"], _yes(b["plausible"]), _yes(b["fixed_equal_reference"]),
                 f"{b['time']:.2f}", str(b["validated"]), patch, run_dir]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return lines


def _markdown(runs, summaries, type_table, plots, predictions, bugs, report_dir) -> str:
    lines = ["# patchwarden bench report", ""]
    lines += ["## Summary", "", "| " + " | ".join(c for c, _ in SUMMARY_COLUMNS) + " |", "|" + "---|" * len(SUMMARY_COLUMNS)]
    lines += ["| " + " | ".join(f(s) for _, f in SUMMARY_COLUMNS) + " |" for s in summaries]
    header, rows = type_table
    lines += ["", "## By bug type", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines += ["", "## Plots", ""] + [f"![{p.stem}]({p.name})" for p in plots]
    lines += ["", "## Bugs", ""] + _markdown_bug_table(bugs)
    lines += ["", "## Runs", ""]
    for run, pred in zip(runs, predictions):
        lines.append(f"- **{run.label}**: `{_rel(run.path, report_dir)}` ({run.model_name}); SWE-bench predictions: [{pred.name}]({pred.name})")
    return "\n".join(lines) + "\n"


def _html(runs, summaries, type_table, plots, predictions, bugs, report_dir) -> str:
    from patchwarden.repair.htmlpage import num, page, table, td

    e = html.escape
    bug_cells = [[td(b["run"]), td(b["id"]), td(b["type"]), td(b["status"], cls=b["status"]), td(_yes(b["plausible"])),
                  td(_yes(b["fixed_equal_reference"])), num(b["time"]), num(b["validated"], "{}"),
                  td("patch.diff", href=b["patch"]) if b["patch"] else td("-"),
                  td(b["run_dir"], href=b["run_dir"]) if b["run_dir"] else td("-")] for b in bugs]
    parts = ["<h1>patchwarden bench report</h1><h2>Summary</h2>",
             table([c for c, _ in SUMMARY_COLUMNS], [[f(s) for _, f in SUMMARY_COLUMNS] for s in summaries], sortable=False),
             "<h2>By bug type</h2>", table(*type_table), "<h2>Plots</h2>"]
    parts += [f"<p><img src='{e(p.name)}' alt='{e(p.stem)}'></p>" for p in plots]
    parts += [f"<h2>Bugs</h2><p>{len(bugs)} rows; click a column header to sort. Inspect a run with "
              "<code>patchwarden show RUN_DIR</code>.</p>", table(BUG_COLUMNS, bug_cells, id="bugs")]
    parts.append("<h2>Runs</h2><ul>")
    parts += [f"<li><b>{e(run.label)}</b>: <code>{e(_rel(run.path, report_dir))}</code> ({e(run.model_name)}); predictions: <a href='{e(pred.name)}'>{e(pred.name)}</a></li>"
              for run, pred in zip(runs, predictions)]
    parts.append("</ul>")
    return page("patchwarden bench report", "".join(parts))


def build_report(dirs: list[Path], out: Path) -> dict:
    """Write report.md, report.html, the PNGs and predictions-<run>.jsonl into `out`."""
    if not dirs:
        raise ReportError("pass at least one bench run directory")
    runs = [load_run(Path(d), label) for d, label in zip(dirs, _labels([Path(d) for d in dirs]))]
    if not any(run.records for run in runs):
        raise ReportError(f"no results in {', '.join(map(str, dirs))}: run `patchwarden bench run` first (or --resume it)")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summaries = [summary_row(run) for run in runs]
    type_table = _type_table(runs)
    plots = _plots(runs, out)
    from patchwarden.benchmarks.datasets import safe_name

    predictions = [write_predictions(run, out / f"predictions-{safe_name(run.label)}.jsonl") for run in runs]
    bugs = bug_rows(runs, out)
    md, page = out / "report.md", out / "report.html"
    write_text(md, _markdown(runs, summaries, type_table, plots, predictions, bugs, out))
    write_text(page, _html(runs, summaries, type_table, plots, predictions, bugs, out))
    return {
        "markdown": str(md), "html": str(page), "plots": [str(p) for p in plots], "predictions": [str(p) for p in predictions],
        "summary": summaries, "by_type": {run.label: by_type(run) for run in runs}, "bugs": bugs,
        "problems": [p for run in runs for p in run.problems],
    }
