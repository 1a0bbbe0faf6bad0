"""`patchwarden bench run` and `bench report` over real small bugs: same results with 1 worker,
2 workers and local Ray; SIGKILL then --resume records every bug exactly once; corrupt lines
are survived; the report's tables, plots and predictions match the results."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from patchwarden.benchmarks.results import read_results
from patchwarden.cli.main import app
from test_bench_util import make_jsonl_dataset

ROOT = Path(__file__).resolve().parents[1]
NAMES = ["add", "largest", "evens"]  # evens: the plausible fix found is not the reference
PNG = b"\x89PNG\r\n\x1a\n"
RUN_FLAGS = ["--engine", "template", "--sandbox", "local", "--max-candidates", "60", "--time-budget", "60", "--no-bounce"]


def bench_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "patchwarden.cli", "bench", *args]


def bench(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(bench_cmd(*args), cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def run_bench(dataset: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    proc = bench("run", "jsonl", "--path", str(dataset), "--out", str(out), *RUN_FLAGS, "--json", *extra)
    assert proc.returncode == 0, proc.stderr
    return proc


def outcomes(out: Path) -> dict[str, tuple]:
    """What must not depend on how bugs were scheduled (times and order may)."""
    records = read_results(out / "results.jsonl").records
    assert len(records) == len({r["id"] for r in records}), "a bug was recorded twice"
    return {r["id"]: (r["status"], r["plausible"], r["fixed_equal_reference"], r["patch"], r["candidate_id"],
                      r["candidates_validated"], r["bug_type"]) for r in records}


def run_files(out: Path) -> set[str]:
    return {str(p.relative_to(out / "runs")) for p in (out / "runs").rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return make_jsonl_dataset(tmp_path_factory.mktemp("bugs"), NAMES)


@pytest.fixture(scope="module")
def serial(dataset, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("serial") / "out"
    summary = json.loads(run_bench(dataset, out, "--workers", "1").stdout)
    assert summary["ran"] == len(NAMES) and summary["skipped"] == 0
    return out


def test_serial_run_repairs_every_bug_and_keeps_each_run(serial):
    got = outcomes(serial)
    assert sorted(got) == sorted(NAMES)
    assert all(o[0] == "plausible" and o[1] for o in got.values()), got
    # add/largest: the single operator swap the template engine finds is the reference fix;
    # evens: `==` -> `!=` passes the tests but is not the reference's `1` -> `0`.
    assert got["add"][2] is True and got["largest"][2] is True and got["evens"][2] is False, got
    for name in NAMES:
        assert (serial / "runs" / name / "patch.diff").read_text() == got[name][3]
    assert not (serial / "work").exists()  # materialised repos are cleaned up
    settings = json.loads((serial / "bench.json").read_text())
    assert settings["settings"]["engine"] == "template" and settings["model_name"] == "patchwarden-template"


def test_two_workers_give_the_same_results_and_files(serial, dataset, tmp_path):
    run_bench(dataset, tmp_path / "out", "--workers", "2")
    assert outcomes(tmp_path / "out") == outcomes(serial)
    assert run_files(tmp_path / "out") == run_files(serial)


@pytest.mark.slow  # starting a local Ray alone takes ~10 s; the whole test well over 40 s here
def test_local_ray_gives_the_same_results_and_files(serial, dataset, tmp_path):
    pytest.importorskip("ray")
    run_bench(dataset, tmp_path / "out", "--workers", "2", "--ray", "local")
    assert outcomes(tmp_path / "out") == outcomes(serial)
    assert run_files(tmp_path / "out") == run_files(serial)


def test_sigkill_mid_run_then_resume_records_every_bug_once(serial, dataset, tmp_path):
    out = tmp_path / "out"
    results = out / "results.jsonl"
    proc = subprocess.Popen(bench_cmd("run", "jsonl", "--path", str(dataset), "--out", str(out), *RUN_FLAGS, "--json", "--workers", "1"),
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while not (results.exists() and results.read_bytes().count(b"\n") >= 1):
        assert proc.poll() is None and time.monotonic() < deadline, "bench run ended or stalled before its first result"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = read_results(results).records
    assert 1 <= len(before) < len(NAMES), "the kill came too late to leave bugs undone"

    summary = json.loads(run_bench(dataset, out, "--workers", "1", "--resume").stdout)
    assert summary["skipped"] == len(before) and summary["ran"] == len(NAMES) - len(before)
    assert outcomes(out) == outcomes(serial)  # each bug exactly once, same results as an unbroken run
    assert run_files(out) == run_files(serial)


def test_corrupt_and_torn_lines_are_reported_and_their_bugs_rerun(serial, dataset, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(serial, out)
    lines = (out / "results.jsonl").read_text().splitlines()
    lost = json.loads(lines[1])["id"]
    lines[1] = '{"id": "broken by a disk'
    (out / "results.jsonl").write_text("\n".join(lines) + '\n{"id": "torn')
    proc = run_bench(dataset, out, "--resume")
    assert "results.jsonl:2 is corrupt" in proc.stderr and f"results.jsonl:{len(lines) + 1} is incomplete" in proc.stderr
    assert json.loads(proc.stdout)["ran"] == 1
    records = read_results(out / "results.jsonl").records
    assert sorted(r["id"] for r in records) == sorted(NAMES) and records[-1]["id"] == lost
    assert outcomes(out) == outcomes(serial)


def test_output_dir_with_results_needs_resume_and_the_same_settings(serial, dataset):
    proc = bench("run", "jsonl", "--path", str(dataset), "--out", str(serial), *RUN_FLAGS)
    assert proc.returncode == 2 and "pass --resume" in proc.stderr and "Traceback" not in proc.stderr
    proc = bench("run", "jsonl", "--path", str(dataset), "--out", str(serial), "--resume", "--engine", "srepair", "--model", "openai:m")
    assert proc.returncode == 2 and "engine was 'template'" in proc.stderr



def test_report_over_two_runs(serial, tmp_path):
    other = tmp_path / "second"
    shutil.copytree(serial, other)
    lines = (other / "results.jsonl").read_text().splitlines()
    lines[0] = "garbage"  # a run with a damaged line still reports, with a warning
    (other / "results.jsonl").write_text("\n".join(lines) + "\n")
    report_dir = tmp_path / "report"
    result = CliRunner().invoke(app, ["bench", "report", str(serial), str(other), "--out", str(report_dir), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout[result.stdout.index("{"):])
    first, second = data["summary"]
    records = read_results(serial / "results.jsonl").records
    assert first["bugs"] == len(NAMES) and second["bugs"] == len(NAMES) - 1
    assert first["plausible"] == sum(r["plausible"] for r in records)
    assert first["fixed_equal_reference"] == sum(bool(r["fixed_equal_reference"]) for r in records)
    assert sum(row["bugs"] for row in data["by_type"][first["run"]].values()) == len(NAMES)
    assert any("results.jsonl:1 is corrupt" in p for p in data["problems"])
    for name in ("fix_rate_by_type.png", "time_distribution.png", "comparison.png"):
        png = (report_dir / name).read_bytes()
        assert png.startswith(PNG) and len(png) > 5000
    md = (report_dir / "report.md").read_text()
    assert f"| {first['run']} | template | {len(NAMES)} | {first['plausible']}/{len(NAMES)}" in md
    assert "operator misuse" in md and "![comparison](comparison.png)" in md
    assert "<table>" in (report_dir / "report.html").read_text()
    preds = [json.loads(line) for line in (report_dir / f"predictions-{first['run']}.jsonl").read_text().splitlines()]
    by_id = {r["id"]: r for r in records}
    assert len(preds) == len(NAMES)
    for p in preds:
        assert set(p) == {"instance_id", "model_name_or_path", "model_patch"}
        rec = by_id[p["instance_id"]]
        assert p["model_patch"] == (rec["patch"] if rec["plausible"] else "") and p["model_name_or_path"] == "patchwarden-template"


def test_report_of_a_directory_without_results_is_a_clean_error(tmp_path):
    proc = bench("report", str(tmp_path))
    assert proc.returncode == 2 and "holds no results.jsonl" in proc.stderr and "Traceback" not in proc.stderr


def test_a_bug_past_its_wall_clock_cap_is_recorded_as_timeout_and_the_run_goes_on(tmp_path):
    path = make_jsonl_dataset(tmp_path / "bugs", ["add"])
    out = tmp_path / "out"
    proc = run_bench(path, out, "--bug-timeout", "1")  # less than the baseline test run takes
    [record] = read_results(out / "results.jsonl").records
    assert record["status"] == "timeout" and "--bug-timeout" in record["message"] and not record["plausible"]
    assert json.loads(proc.stdout)["failed"] == 1
    assert (out / "runs" / "add" / "bench-error.txt").is_file()


def test_per_test_timeout_reaches_each_repair_and_bad_values_are_refused(tmp_path):
    from patchwarden.benchmarks.datasets.base import Bug
    from patchwarden.benchmarks.runner import BenchSettings, _repair_config

    bug = Bug(id="b", dataset="jsonl", test_cmd="python3 -m pytest -q")
    cfg = _repair_config(bug, BenchSettings(dataset="jsonl", repair={"per_test_timeout": 3.0}), tmp_path, bug.test_cmd, tmp_path / "run")
    assert cfg.per_test_timeout == 3.0
    proc = bench("run", "jsonl", "--path", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "o"), "--per-test-timeout", "0")
    assert proc.returncode == 2 and "--per-test-timeout" in proc.stderr and "Traceback" not in proc.stderr


def test_every_shared_repair_option_is_a_bench_run_flag_and_reaches_each_repair(tmp_path):
    """Repair options are declared once (repair/options.py): `bench run` offers each one that is
    not about a single repository's run, and the value lands in the bug's RepairConfig."""
    from patchwarden.repair.options import shared_options

    import click
    from typer.main import get_command

    group = get_command(app)
    run_cmd = group.get_command(click.Context(group), "bench").get_command(click.Context(group), "run")
    flags = {flag for p in run_cmd.params for flag in p.opts + p.secondary_opts}
    for opt in shared_options():
        assert opt.flag in flags or opt.name in ("workers", "bounce"), opt.flag  # bench spells these two its own way
    assert {"--repair-workers", "--bounce", "--no-bounce", "--max-cost", "--memory", "--image"} <= flags
    path = make_jsonl_dataset(tmp_path / "bugs", ["add"])
    out = tmp_path / "out"
    run_bench(path, out, "--memory", "512", "--max-cost", "0.5", "--max-calls", "7", "--image", "example/img:1", "--max-plausible", "2")
    config = json.loads((out / "runs" / "add" / "config.json").read_text())  # the RepairConfig the bug's repair ran with
    assert (config["memory_mb"], config["max_cost"], config["max_calls"], config["image"], config["max_plausible"]) == (512, 0.5, 7, "example/img:1", 2)
    assert config["bounce"] is False and config["engine"] == "template" and config["max_candidates"] == 60
    assert json.loads((out / "bench.json").read_text())["settings"]["memory_mb"] == 512


def test_a_bad_repair_option_is_refused_with_the_bench_spelling(tmp_path):
    proc = bench("run", "jsonl", "--path", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "o"), "--repair-workers", "0")
    assert proc.returncode == 2 and "--repair-workers" in proc.stderr and "Traceback" not in proc.stderr
    proc = bench("run", "jsonl", "--path", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "o"), "--memory", "1")
    assert proc.returncode == 2 and "--memory" in proc.stderr and "Traceback" not in proc.stderr


def test_sigterm_stops_the_bug_in_flight_and_leaves_no_sandbox_processes(tmp_path):
    from test_bench_util import git

    repo = tmp_path / "slow"
    (repo / "tests").mkdir(parents=True)
    (repo / "slow.py").write_text("def double(x):\n    return x + 2\n")
    (repo / "tests" / "test_slow.py").write_text(
        "import subprocess\nfrom slow import double\n\n\n"
        "def test_double():\n    subprocess.run(['sleep', '417'])\n    assert double(3) == 6\n")
    (repo / "conftest.py").write_text("import os, sys\nsys.path.insert(0, os.path.dirname(__file__))\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "slow bug")
    dataset = tmp_path / "bugs.jsonl"
    dataset.write_text(json.dumps({"id": "slow", "repo": "slow", "test_cmd": "python -m pytest -q"}) + "\n")
    out = tmp_path / "out"
    proc = subprocess.Popen(bench_cmd("run", "jsonl", "--path", str(dataset), "--out", str(out), "--sandbox", "local",
                                      "--per-test-timeout", "600", "--json"),
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    sleeping = lambda: subprocess.run(["pgrep", "-f", "^sleep 417$"], capture_output=True).returncode == 0  # noqa: E731
    deadline = time.monotonic() + 120
    while not sleeping():
        assert proc.poll() is None and time.monotonic() < deadline, "the baseline test never started"
        time.sleep(0.1)
    stopped_at = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        subprocess.run(["pkill", "-9", "-f", "^sleep 417$"])
        pytest.fail("bench run waited for the bug in flight instead of stopping it")
    assert time.monotonic() - stopped_at < 10, "the worker was killed after the grace period instead of stopping"
    assert proc.returncode != 0
    time.sleep(1)
    assert not sleeping(), "the bug's sandbox processes outlived the run"
    assert not (out / "results.jsonl").exists() or read_results(out / "results.jsonl").records == []
