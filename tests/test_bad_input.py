"""Bad input and faults: every bad input gets one clean line and exit 2 before any
work; a torn JSONL tail never breaks --resume; --branch commits the patch and nothing else.

The bad inputs are the cases of scripts/bad_input_table.py (which also writes docs/bad-input.md),
run in-process through the Typer app; the faults drive real repairs over a small git repo.
"""
from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from patchwarden.cli.main import app

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("bad_input_table", ROOT / "scripts" / "bad_input_table.py")
table = importlib.util.module_from_spec(_spec)
sys.modules["bad_input_table"] = table  # dataclasses look their module up there
_spec.loader.exec_module(table)

class _Placeholders(dict):
    """Fixture paths at collection time, for the case ids (the real ones are made per module)."""

    def __missing__(self, key):
        return Path("/placeholder") / key


CASES = table.cases(_Placeholders())
IDS = [f"{i:02d}-{c.item}-{c.input[:40]}" for i, c in enumerate(CASES)]


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    return table.fixtures(tmp_path_factory.mktemp("bad-input"))


def _invoke(args: list[str], env: dict | None = None):
    env = {"COLUMNS": "400", "NO_COLOR": "1", "OPENAI_BASE_URL": None, **(env or {})}
    return CliRunner().invoke(app, args, env=env)


@pytest.mark.parametrize("index", range(len(CASES)), ids=IDS)
def test_bad_input_answers_in_one_line(fx, index):
    case = table.cases(fx)[index]
    result = _invoke(case.args, case.env)
    text = result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), f"{case.input}: raised {result.exception!r}\n{text}"
    assert "Traceback" not in text
    assert result.exit_code == case.expect, f"{case.input}: exit {result.exit_code}\n{text}"
    assert case.contains.lower() in text.lower(), text
    if case.expect == 2:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:"), text


def test_bad_settings_refused_before_the_run_directory_exists(fx, tmp_path):
    """B4/S1: a bad number costs nothing: no baseline ran, no run directory was made."""
    out = tmp_path / "run"
    result = _invoke(["repair", str(fx["repo"]), "-t", table.TEST_CMD, "--sandbox", "local", "--bounce-threshold", "5", "--out", str(out)])
    assert result.exit_code == 2 and not out.exists()


def _repair(repo: Path, out: Path, *extra: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("OPENAI_BASE_URL", None)
    return subprocess.run([sys.executable, "-m", "patchwarden.cli", "repair", str(repo), "-t", table.TEST_CMD, "--sandbox", "local",
                           "--no-bounce", "--out", str(out), "--json", *extra],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def test_resume_after_a_torn_candidates_line(tmp_path):
    """F1: a run killed while writing a candidate leaves half a line; --resume must not glue the
    next candidate onto it (the plausible one was lost and the run crashed with KeyError)."""
    repo = table.make_repo(tmp_path / "calc", table.CALC)
    out = tmp_path / "run"
    first = _repair(repo, out)
    assert first.returncode == 0, first.stderr
    cands = (out / "candidates.jsonl").read_text().splitlines(keepends=True)
    vals = [json.loads(v) for v in (out / "validations.jsonl").read_text().splitlines()]
    winner = next(v["candidate_id"] for v in vals if v["status"] == "plausible")
    k = next(i for i, line in enumerate(cands) if json.loads(line)["id"] == winner)
    # The state of a run killed half-way through writing the winning candidate's line.
    (out / "candidates.jsonl").write_text("".join(cands[:k]) + cands[k][: len(cands[k]) // 2])
    kept = {json.loads(line)["id"] for line in cands[:k]}
    (out / "validations.jsonl").write_text("".join(json.dumps(v) + "\n" for v in vals if v["candidate_id"] in kept))
    for name in ("result.json", "patch.diff"):
        (out / name).unlink(missing_ok=True)
    resumed = _repair(repo, out, "--resume")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert json.loads(resumed.stdout)["candidate_id"] == winner
    for line in (out / "candidates.jsonl").read_text().splitlines():
        json.loads(line)  # every line whole again


CALC_LONG = {
    "calc.py": "def add(a, b):\n    return a - b\n\n\n" + "".join(f"def f{i}(x):\n    return x + {i}\n\n\n" for i in range(8))
               + "def mul(a, b):\n    return a * b\n",
    "test_calc.py": table.CALC["test_calc.py"],
    "notes.txt": "mine\n",
}


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


def test_branch_on_a_dirty_tree_commits_only_the_patch(tmp_path):
    """F2: the user's uncommitted edits (in the patched file and elsewhere) stay theirs: the
    branch holds HEAD plus the patch; the working tree and the index are as they were."""
    repo = table.make_repo(tmp_path / "calc", CALC_LONG)
    head_calc = (repo / "calc.py").read_text()
    dirty_calc = head_calc.replace("return a * b", "return a * b  # my uncommitted edit")
    (repo / "calc.py").write_text(dirty_calc)
    (repo / "notes.txt").write_text("mine, edited\n")
    (repo / "staged.txt").write_text("staged\n")
    _git(repo, "add", "staged.txt")
    index_before = _git(repo, "diff", "--cached")
    result = _repair(repo, tmp_path / "run", "--branch", "pw-fix")
    assert result.returncode == 0, result.stdout + result.stderr
    assert _git(repo, "show", "pw-fix:calc.py") == head_calc.replace("return a - b", "return a + b")
    assert _git(repo, "diff", "--name-only", "HEAD", "pw-fix").split() == ["calc.py"]
    assert (repo / "calc.py").read_text() == dirty_calc and (repo / "notes.txt").read_text() == "mine, edited\n"
    assert _git(repo, "diff", "--cached") == index_before
    assert _git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"


def test_latin1_source_is_repaired_and_written_back_in_latin1(tmp_path):
    """Also: a valid PEP 263 latin-1 file is Python; it is repaired, and --apply keeps its encoding."""
    src = "# -*- coding: latin-1 -*-\n# Fran\xe7ois wrote this\ndef add(a, b):\n    return a - b\n"
    repo = table.make_repo(tmp_path / "latin1", {"calc.py": src.encode("latin-1"), "test_calc.py": table.CALC["test_calc.py"]})
    result = _repair(repo, tmp_path / "run", "--apply")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (repo / "calc.py").read_bytes() == src.replace("a - b", "a + b").encode("latin-1")
    check = subprocess.run(["git", "apply", "--cached", "--check", str(tmp_path / "run" / "patch.diff")], cwd=repo,
                           capture_output=True, text=True)  # patch.diff applies to the latin-1 file at HEAD
    assert check.returncode == 0, check.stderr


def test_bench_resume_redoes_error_records(tmp_path):
    """S6: only finished bugs are done; an `error` record (e.g. from settings since corrected) is redone."""
    from patchwarden.benchmarks.runner import BenchSettings, prepare_out

    out = tmp_path / "bench"
    out.mkdir()
    (out / "results.jsonl").write_text(json.dumps({"id": "a", "status": "error"}) + "\n" + json.dumps({"id": "b", "status": "none"}) + "\n")
    _store, done, _problems = prepare_out(out, BenchSettings(dataset="humanevalfix"), resume=True)
    assert done == {"b"}


def test_bench_run_with_an_unreachable_ray_fails_fast(tmp_path):
    """S7: an address where nothing listens is not retried forever (Ray's own retry loop also
    ignored SIGTERM): a bounded probe answers exit 2 naming --ray."""
    env = dict(os.environ)
    args = [sys.executable, "-m", "patchwarden.cli", "bench", "run", "humanevalfix", "--limit", "1", "--sandbox", "local",
            "--ray", f"127.0.0.1:{table.dead_port()}", "--out", str(tmp_path / "b")]
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        _out, err = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
            why = "still retrying after 90 s"
        except subprocess.TimeoutExpired:
            why = "still retrying after 90 s, and it ignored SIGTERM"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        pytest.fail(f"bench run with an unreachable --ray: {why}")
    assert proc.returncode == 2 and "--ray" in err and "Traceback" not in err, err


def test_torn_tail_is_cut_before_any_append(tmp_path):
    """F1 for every JSONL writer: one helper cuts a torn tail (and terminates a whole last line)."""
    from patchwarden.benchmarks.results import ResultStore
    from patchwarden.sandboxes.files import append_jsonl
    from patchwarden.repair.models.calllog import CallLog

    path = tmp_path / "a.jsonl"
    path.write_text('{"id": "x"}\n{"id": "y", "st')
    append_jsonl(path, {"id": "z"})
    assert [json.loads(line)["id"] for line in path.read_text().splitlines()] == ["x", "z"]
    path.write_text('{"id": "x"}')  # whole, but unterminated
    ResultStore(path).append({"id": "z"})
    assert [json.loads(line)["id"] for line in path.read_text().splitlines()] == ["x", "z"]
    log = CallLog(tmp_path)
    log.path.write_text('{"hash": "h1"}\n{"hash": "h2", "mess')
    log.append({"hash": "h3"})
    assert [json.loads(line)["hash"] for line in log.path.read_text().splitlines()] == ["h1", "h3"]


def test_branch_commit_keeps_a_latin1_file_in_latin1(tmp_path):
    """Also: --branch writes the patched blob in the encoding the file declares, as --apply does."""
    from patchwarden.repair.emit import create_branch

    src = "# -*- coding: latin-1 -*-\n# Fran\xe7ois\ndef add(a, b):\n    return a - b\n"
    repo = table.make_repo(tmp_path / "latin1", {"calc.py": src.encode("latin-1")})
    create_branch(repo, "pw-fix", {"calc.py": src.replace("a - b", "a + b")}, "fix")
    blob = subprocess.run(["git", "show", "pw-fix:calc.py"], cwd=repo, capture_output=True, check=True).stdout
    assert blob == src.replace("a - b", "a + b").encode("latin-1")
