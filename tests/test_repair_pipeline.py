"""`patchwarden repair` end to end on small real repositories (local sandbox, template engine)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import GIT_IDENT, SHAPES, make_repo, tree_snapshot

ROOT = Path(__file__).resolve().parents[1]
PYTEST = "python3 -m pytest -q"


def cli(*args, timeout=300):
    env = dict(os.environ)
    return subprocess.run([sys.executable, "-m", "patchwarden.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def repair_json(repo, out, *extra):
    proc = cli("repair", str(repo), "--test-cmd", PYTEST, "--sandbox", "local", "--out", str(out), "--json", *extra)
    assert proc.stdout.strip(), proc.stderr
    return proc, json.loads(proc.stdout)


def test_finds_and_validates_the_fix_without_touching_the_tree(tmp_path):
    repo = make_repo(tmp_path / "shapes", SHAPES)
    before = tree_snapshot(repo)
    proc, result = repair_json(repo, tmp_path / "run")
    assert proc.returncode == 0, proc.stderr
    assert result["status"] == "plausible"
    assert result["top_functions"][0] == "shapes/geometry.py::scale"
    assert "-    return x + factor" in result["patch"] and "+    return x * factor" in result["patch"]
    run = tmp_path / "run"
    for artifact in ("config.json", "baseline.json", "localization.json", "candidates.jsonl", "validations.jsonl", "result.json", "patch.diff"):
        assert (run / artifact).exists(), artifact
    assert (run / "patch.diff").read_text() == result["patch"]
    assert tree_snapshot(repo) == before
    # the diff applies cleanly with git and fixes the tests
    check = subprocess.run(["git", "apply", "--check", str(run / "patch.diff")], cwd=repo, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_apply_writes_the_fix_and_refuses_a_dirty_tree(tmp_path):
    repo = make_repo(tmp_path / "shapes", SHAPES)
    (repo / "notes.txt").write_text("uncommitted")
    proc = cli("repair", str(repo), "-t", PYTEST, "--sandbox", "local", "--out", str(tmp_path / "r1"), "--apply")
    assert proc.returncode == 2
    assert "uncommitted changes" in proc.stderr and "Traceback" not in proc.stderr
    assert "x + factor" in (repo / "shapes/geometry.py").read_text()
    (repo / "notes.txt").unlink()
    proc = cli("repair", str(repo), "-t", PYTEST, "--sandbox", "local", "--out", str(tmp_path / "r2"), "--apply")
    assert proc.returncode == 0, proc.stderr
    assert "x * factor" in (repo / "shapes/geometry.py").read_text()
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=repo, capture_output=True, text=True)
    assert tests.returncode == 0, tests.stdout


def test_branch_commits_without_touching_the_tree_and_predictions_row(tmp_path):
    repo = make_repo(tmp_path / "shapes", SHAPES)
    before = tree_snapshot(repo)
    preds = tmp_path / "preds.jsonl"
    proc, result = repair_json(repo, tmp_path / "run", "--branch", "pw-fix", "--instance-id", "shapes-1", "--predictions", str(preds))
    assert proc.returncode == 0, proc.stderr
    assert tree_snapshot(repo) == before
    head = subprocess.run(["git", "rev-parse", "--abbrev-ref", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    assert head == "main"
    fixed = subprocess.run(["git", "show", "pw-fix:shapes/geometry.py"], cwd=repo, capture_output=True, text=True).stdout
    assert "return x * factor" in fixed
    status = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True).stdout
    assert status == ""
    row = json.loads(preds.read_text().splitlines()[0])
    assert row == {"instance_id": "shapes-1", "model_name_or_path": "patchwarden", "model_patch": result["patch"]}


HANG = {
    "loops/__init__.py": "",
    "loops/count.py": (
        "def count_down(n):\n"
        "    out = []\n"
        "    while n > 0:\n"
        "        out.append(n)\n"
        "        n -= 1\n"
        "    return out[1:]\n"
    ),
    "tests/test_count.py": (
        "from loops.count import count_down\n\n\n"
        "def test_three():\n    assert count_down(3) == [3, 2, 1]\n\n\n"
        "def test_zero():\n    assert count_down(0) == []\n"
    ),
}


def test_hanging_candidates_are_killed_and_the_fix_still_found(tmp_path):
    repo = make_repo(tmp_path / "loops", HANG)
    proc, result = repair_json(repo, tmp_path / "run", "--max-plausible", "1000", "--max-candidates", "15")
    assert proc.returncode == 0, proc.stderr
    validations = [json.loads(line) for line in (tmp_path / "run" / "validations.jsonl").read_text().splitlines()]
    statuses = [v["status"] for v in validations]
    assert "timeout" in statuses, "mutations like `n -= 1` -> `n += 1` / removal hang and must be killed"
    assert "plausible" in statuses
    cands = {json.loads(line)["id"]: json.loads(line) for line in (tmp_path / "run" / "candidates.jsonl").read_text().splitlines()}
    fixes = [cands[v["candidate_id"]] for v in validations if v["status"] == "plausible"]
    assert any("return out\n" in c["edits"][0]["new_source"] or "out[0:]" in c["edits"][0]["new_source"] for c in fixes)


def test_resume_after_kill_does_not_repeat_work(tmp_path):
    repo = make_repo(tmp_path / "loops", HANG)
    out = tmp_path / "run"
    env = dict(os.environ)
    args = [sys.executable, "-m", "patchwarden.cli", "repair", str(repo), "-t", PYTEST, "--sandbox", "local", "--out", str(out),
            "--json", "--max-plausible", "1000", "--max-candidates", "16"]
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    validations = out / "validations.jsonl"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if validations.exists() and len(validations.read_text().splitlines()) >= 5:
            break
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    first = [json.loads(line)["candidate_id"] for line in validations.read_text().splitlines() if line.endswith("}")]
    assert len(first) >= 5
    resumed = subprocess.run(args + ["--resume"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout)
    ids = [json.loads(line)["candidate_id"] for line in validations.read_text().splitlines()]
    assert ids[: len(first)] == first
    assert len(ids) == len(set(ids)), "no candidate validated twice"
    assert result["candidates_validated"] == len(ids)
    assert len(ids) > len(first)


def test_bad_input_is_one_clean_line(tmp_path):
    repo = make_repo(tmp_path / "shapes", SHAPES)
    cases = [
        (["repair", str(tmp_path / "missing"), "-t", PYTEST], "does not exist"),
        (["repair", str(repo / "shapes" / "geometry.py"), "-t", PYTEST], "not a directory"),
        (["repair", str(repo)], "no test command"),
        (["repair", str(repo), "-t", "no-such-tool --run", "--sandbox", "local", "--out", str(tmp_path / "o1")], "could not run the tests"),
        (["repair", str(repo), "-t", PYTEST, "--engine", "magic"], "unknown engine"),
    ]
    for args, words in cases:
        proc = cli(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert words in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr


def test_unparsable_repo_and_nothing_to_repair(tmp_path):
    broken = dict(SHAPES)
    broken["shapes/extra.py"] = "def oops(:\n    pass\n"
    repo = make_repo(tmp_path / "broken", broken)
    proc = cli("repair", str(repo), "-t", PYTEST, "--sandbox", "local", "--out", str(tmp_path / "o2"))
    assert proc.returncode == 2 and "do not parse" in proc.stderr and "shapes/extra.py" in proc.stderr
    fixed = dict(SHAPES)
    fixed["shapes/geometry.py"] = SHAPES["shapes/geometry.py"].replace("x + factor", "x * factor")
    repo = make_repo(tmp_path / "fine", fixed)
    proc, result = repair_json(repo, tmp_path / "o3")
    assert proc.returncode == 1
    assert result["status"] == "nothing-to-repair" and "nothing to repair" in result["message"]


def _forkservers() -> set[int]:
    out = subprocess.run(["pgrep", "-f", "forkserver_program"], capture_output=True, text=True).stdout
    return {int(p) for p in out.split()}


def _descendants(root: int) -> set[int]:
    """Every live process below `root` (its children, theirs, ...), from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def test_sigterm_leaves_no_sandbox_processes_behind(tmp_path):
    repo = make_repo(tmp_path / "loops", HANG)
    out = tmp_path / "run"
    env = dict(os.environ)
    proc = subprocess.Popen([sys.executable, "-m", "patchwarden.cli", "repair", str(repo), "-t", PYTEST, "--sandbox", "local",
                             "--out", str(out), "--json", "--max-plausible", "1000"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    validations = out / "validations.jsonl"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not (validations.exists() and validations.read_text().strip()):
        time.sleep(0.1)
    # Only this run's servers count (other runs on the machine may have their own).
    ours: set[int] = set()
    while time.monotonic() < deadline and not ours:
        ours = _forkservers() & _descendants(proc.pid)
        time.sleep(0.1)
    assert ours, "a warm server runs while candidates are validated"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and _forkservers() & ours:
        time.sleep(0.2)
    assert not (_forkservers() & ours), "the warm server and its children died with the run"
