"""Seeing why after a run: the bench report's per-bug table (links relative to the report,
no machine-local paths), plain-number time ticks, the ETA on the bench progress bar, and
`patchwarden show RUN_DIR` in the terminal, as JSON and as one HTML page."""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from patchwarden.benchmarks.results import ResultStore
from helpers import SHAPES, make_repo
from test_repair_pipeline import PYTEST, cli

# (id, status, wall time): the times are not in id order, so sorting by time reorders the rows
BUGS = [("calc-1", "plausible", 12.5), ("calc-2", "none", 3.25), ("calc-10", "abstained", 240.0), ("calc-3", "error", 0.5)]


def make_bench_dir(root: Path) -> Path:
    """A `bench run` output directory as the runner leaves it (results, settings, run dirs)."""
    out = root / "bench-out"
    store = ResultStore(out / "results.jsonl")
    for bug_id, status, seconds in BUGS:
        run_dir = out / "runs" / bug_id
        run_dir.mkdir(parents=True)
        (run_dir / "result.json").write_text(json.dumps({"status": status}))
        if status in ("plausible", "abstained"):
            (run_dir / "patch.diff").write_text(f"diff --git a/{bug_id}.py b/{bug_id}.py\n")
        store.append({"id": bug_id, "dataset": "jsonl", "bug_type": "demo", "status": status, "plausible": status == "plausible",
                      "fixed_equal_reference": None, "has_reference": False, "patch": "p" if status != "none" else "",
                      "wall_time": seconds, "candidates_validated": 3, "run_dir": f"runs/{bug_id}"})
    (out / "bench.json").write_text(json.dumps({"settings": {"engine": "template", "dataset": "jsonl"}, "model_name": "patchwarden-template"}))
    return out


def test_report_has_a_per_bug_table_with_links_relative_to_the_report(tmp_path):
    from patchwarden.benchmarks.report import build_report

    out = make_bench_dir(tmp_path)
    report_dir = tmp_path / "elsewhere" / "report"
    result = build_report([out], report_dir)
    page = (report_dir / "report.html").read_text()
    md = (report_dir / "report.md").read_text()
    rows = re.findall(r"<tr><td>bench-out</td><td>([^<]+)</td>", page.split("id='bugs'")[1])
    assert rows == ["calc-1", "calc-2", "calc-3", "calc-10"]  # every bug, in natural order
    assert "class='sortable' id='bugs'" in page and "addEventListener('click'" in page
    links = re.findall(r"href='([^']+patch\.diff)'", page)
    assert sorted(links) == ["../../bench-out/runs/calc-1/patch.diff", "../../bench-out/runs/calc-10/patch.diff"]
    assert all((report_dir / link).is_file() for link in links)
    assert "[patch.diff](../../bench-out/runs/calc-1/patch.diff)" in md and "| bench-out | `calc-2` | demo | none |" in md
    for text in (page, md):  # nothing machine-local in what gets committed
        assert str(tmp_path) not in text
    assert [b["id"] for b in result["bugs"]] == ["calc-1", "calc-2", "calc-3", "calc-10"]


@pytest.mark.parametrize("seconds", [[3.0, 7.5, 20.0], [0.4, 12.0, 900.0]])
def test_time_plot_ticks_are_plain_numbers(seconds):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from patchwarden.benchmarks.report import time_axis

    fig, ax = plt.subplots()
    ax.boxplot([seconds])
    time_axis(ax, seconds)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels(which="both") if t.get_text()]
    plt.close(fig)
    assert labels and all(re.fullmatch(r"[0-9.]+", label.replace("\u2212", "-")) for label in labels), labels


def test_bench_progress_bar_shows_an_eta():
    from rich.console import Console

    from patchwarden.benchmarks.runner import BenchSummary
    from patchwarden.cli import bench as bench_cli

    buffer = io.StringIO()
    bench_cli.err_console = Console(file=buffer, width=160, force_terminal=False)
    try:
        progress = bench_cli._Progress()
        summary = BenchSummary(total=10)
        with progress:
            progress.start(summary)
            for _ in range(3):
                summary.add({"plausible": True, "status": "plausible"})
                progress.update({}, summary)
    finally:
        bench_cli.err_console = Console(stderr=True)
    assert re.search(r"3/10 .*ETA \d+:\d\d:\d\d|3/10 .*ETA -:--:--", buffer.getvalue()), buffer.getvalue()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A real repair run, plus artifacts newer stages write (unknown to `show`)."""
    tmp = tmp_path_factory.mktemp("show")
    repo = make_repo(tmp / "shapes", SHAPES)
    proc = cli("repair", str(repo), "--test-cmd", PYTEST, "--sandbox", "local", "--out", str(tmp / "run"), "--max-plausible", "2")
    assert proc.returncode == 0, proc.stderr
    run = tmp / "run"
    result = json.loads((run / "result.json").read_text())
    result["stop_reason"] = "max-plausible reached"
    (run / "result.json").write_text(json.dumps(result))
    (run / "groups.json").write_text(json.dumps({"groups": [["shapes/geometry.py::scale"]]}))
    call = {"hash": "ab12", "model": "openai:tiny-fixer", "messages": [{"role": "user", "content": "Fix `scale` [x + factor]"}],
            "params": {"n": 1}, "responses": ["def scale(x, factor):\n    return x * factor"], "prompt_tokens": 31,
            "completion_tokens": 12, "latency": 0.42, "cost": 0.0001}
    (run / "model_calls.jsonl").write_text(json.dumps(call) + "\n")  # as a model engine logs its calls
    return run


def test_show_renders_a_run_in_the_terminal_and_as_json(run_dir):
    proc = cli("show", str(run_dir), "--top", "50")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert text.startswith("plausible: plausible patch")
    for expected in ("Baseline:", "failing", "Localization", "shapes/geometry.py::scale", "Candidates", "plausible",
                     "stop_reason", "max-plausible reached", "groups.json", "-    return x + factor",
                     "Model calls (1)", "openai:tiny-fixer", "43", "confirmed by `python3 -m pytest -q`"):
        assert expected in text, expected
    data = json.loads(cli("show", str(run_dir), "--json").stdout)
    from patchwarden.cli.schemas import validate

    assert data["schema"] == "patchwarden.show/1"
    validate(data)  # the documented contract (docs/json.md)
    best = [c for c in data["candidates"] if c["best"]]
    assert len(best) == 1 and best[0]["verdict"]["status"] == "plausible" and best[0]["id"] == data["result"]["candidate_id"]
    assert data["result_extra"]["stop_reason"] == "max-plausible reached" and "groups.json" in data["other"]
    assert data["result_extra"]["confirmation"]["confirmed"]  # the repair's confirmation run, shown too
    assert data["localization"][0]["function"] == "shapes/geometry.py::scale" and data["localization"][0]["evidence"]
    assert any(t["status"] == "failed" for t in data["tests"]) and "output" in data["bounce"]


def test_show_writes_one_self_contained_html_page(run_dir, tmp_path):
    page = tmp_path / "run.html"
    proc = cli("show", str(run_dir), "--html", str(page), "--json")
    assert proc.returncode == 0, proc.stderr
    html = page.read_text()
    data = json.loads(proc.stdout)
    for c in data["candidates"]:
        assert c["id"] in html
    for expected in ("Localization", "Output bouncer", "stop_reason", "groups.json", "x * factor", "class='sortable'",
                     "Model calls (1)", "Fix `scale` [x + factor]", "openai:tiny-fixer"):
        assert expected in html, expected
    assert not re.search(r"(src|href)=['\"]https?:", html)  # nothing fetched from elsewhere


def test_show_refuses_what_is_not_a_run_directory(tmp_path):
    for target, message in ((tmp_path / "missing", "is not a directory"), (tmp_path, "holds no config.json")):
        proc = cli("show", str(target))
        assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


# -- in a real browser ------------------------------------------------------------------------
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/setup-dev.sh installs it)")
# Record what the page shows after the clicks, on <body> attributes that --dump-dom prints.
CLICK_SCRIPT = """<script>
function ids(table) { return Array.from(document.querySelectorAll(table + ' tbody tr')).map(function (r) { return r.cells[1].textContent; }).join(','); }
function header(table, name) { return Array.from(document.querySelectorAll(table + ' th')).find(function (h) { return h.textContent === name; }); }
var time = header('#bugs', 'Time (s)');
time.click(); document.body.setAttribute('data-time-asc', ids('#bugs'));
time.click(); document.body.setAttribute('data-time-desc', ids('#bugs'));
header('#bugs', 'Bug').click(); document.body.setAttribute('data-bug-asc', ids('#bugs'));
window.addEventListener('load', function () {
  document.body.setAttribute('data-images', Array.from(document.images).map(function (i) { return i.naturalWidth; }).join(','));
});
</script></body>"""


def chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp / f"chromium-profile-{len(list(tmp.glob('chromium-profile-*')))}"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run", f"--user-data-dir={profile}", "--allow-file-access-from-files"]
    proc = subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def non_blank(png: Path) -> float:
    """The share of clearly dark pixels (text, table lines, plots) in a screenshot."""
    from PIL import Image

    image = Image.open(png).convert("L")
    assert image.size == (1280, 2000)
    histogram = image.histogram()
    return sum(histogram[:160]) / (image.size[0] * image.size[1])


def keep_screenshot(png: Path) -> None:
    """PW_SCREENSHOT_DIR=DIR keeps the screenshots for a person to look at."""
    keep = os.environ.get("PW_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(keep) / png.name)


@needs_chromium
def test_report_table_sorts_and_renders_in_chromium(tmp_path):
    from patchwarden.benchmarks.report import build_report

    report_dir = tmp_path / "report"
    build_report([make_bench_dir(tmp_path)], report_dir)
    page = report_dir / "report.html"
    clicked = report_dir / "clicked.html"  # next to the report, so its relative image links resolve
    clicked.write_text(page.read_text().replace("</body>", CLICK_SCRIPT))
    dom = chromium(tmp_path, "--virtual-time-budget=3000", "--dump-dom", clicked.as_uri()).stdout
    attrs = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', dom.split("<body", 1)[1].split(">", 1)[0]))
    assert attrs["time-asc"] == "calc-3,calc-2,calc-1,calc-10", attrs  # 0.5 < 3.25 < 12.5 < 240 s
    assert attrs["time-desc"] == "calc-10,calc-1,calc-2,calc-3", attrs
    assert attrs["bug-asc"] == "calc-1,calc-2,calc-3,calc-10", attrs  # natural order, not calc-1, calc-10, ...
    widths = [int(w) for w in attrs["images"].split(",")]
    assert len(widths) == 3 and all(w > 300 for w in widths), attrs  # every plot found through its relative link
    shot = tmp_path / "bench-report.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri())
    assert non_blank(shot) > 0.01
    keep_screenshot(shot)


@needs_chromium
def test_run_page_renders_in_chromium(run_dir, tmp_path):
    page = tmp_path / "run.html"
    data = json.loads(cli("show", str(run_dir), "--html", str(page), "--json").stdout)
    dom = chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    rows = re.findall(r"<tr><td>([0-9a-f]{16})(?: \(chosen\))?</td>", dom.split('id="candidates"')[1])
    assert sorted(rows) == sorted(c["id"] for c in data["candidates"])
    assert '<td class="plausible">plausible</td>' in dom and "Output bouncer" in dom
    shot = tmp_path / "run-page.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri())
    assert non_blank(shot) > 0.01
    keep_screenshot(shot)
