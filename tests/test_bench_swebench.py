"""`bench run swebench` end to end on a SWE-bench-format fixture built from local git clones:
one instance the template engine fixes, one it cannot, one whose issue the input bouncer
refuses. The clones stay untouched, every instance gets exactly one prediction row, and the
`swebench` package's own loader reads the file and keeps just the instance with a patch,
which `git apply`s at the root of a fresh checkout and makes FAIL_TO_PASS pass."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import GIT_IDENT, make_repo, tree_snapshot

ROOT = Path(__file__).resolve().parents[1]
RUN_FLAGS = ["--engine", "template", "--sandbox", "local", "--max-candidates", "40", "--time-budget", "60"]

CALC = {
    "calc/__init__.py": "",
    "calc/ops.py": (
        "def add(a, b):\n"
        "    return a - b\n"
        "\n\n"
        "def mul(a, b):\n"
        "    return a * b\n"
        "\n\n"
        "def greet(name):\n"
        "    return 'hi'\n"
    ),
    "tests/__init__.py": "",
    "tests/test_ops.py": (
        "from calc.ops import mul\n\n\n"
        "def test_mul():\n"
        "    assert mul(3, 4) == 12\n\n\n"
        "def test_mul_zero():\n"
        "    assert mul(3, 0) == 0\n"
    ),
}
ADD_TEST = "from calc.ops import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n    assert add(-1, 1) == 0\n"
GREET_TEST = "from calc.ops import greet\n\n\ndef test_greet():\n    assert greet('Ann') == 'Hello, Ann! Welcome back.'\n"
STRS = {
    "strs/__init__.py": "",
    "strs/text.py": "def shout(s):\n    return s.lower()\n",
    "tests/test_text.py": "from strs.text import shout\n\n\ndef test_shout_empty():\n    assert shout('') == ''\n",
}
SHOUT_TEST = "from strs.text import shout\n\n\ndef test_shout():\n    assert shout('ab') == 'AB'\n"


def git(*args: str, cwd: Path, input: str | None = None) -> str:
    return subprocess.run(["git", *GIT_IDENT, *args], cwd=cwd, check=True, capture_output=True, text=True, input=input).stdout


def test_patch_adding(repo: Path, path: str, text: str) -> str:
    """The diff that adds `path` (as SWE-bench's test_patch would), made with git itself."""
    (repo / path).write_text(text)
    git("add", "-N", path, cwd=repo)
    diff = git("diff", "--", path, cwd=repo)
    git("reset", "-q", "--", path, cwd=repo)
    (repo / path).unlink()
    return diff


test_patch_adding.__test__ = False  # a helper, not a test


def make_fixture(tmp: Path) -> tuple[Path, Path, list[dict]]:
    repos = tmp / "repos"
    calc = make_repo(repos / "acme__calc", CALC)  # SWE-bench's own <owner>__<name> naming
    strs = make_repo(repos / "acme" / "strs", STRS)  # and <owner>/<name>
    calc_base, strs_base = git("rev-parse", "HEAD", cwd=calc).strip(), git("rev-parse", "HEAD", cwd=strs).strip()
    # A later commit on the clone: the work copy must be checked out at base_commit, not HEAD.
    (calc / "NEWS").write_text("later work\n")
    git("add", "NEWS", cwd=calc)
    git("commit", "-q", "-m", "later", cwd=calc)
    instances = [
        {"instance_id": "acme__calc-1", "repo": "acme/calc", "base_commit": calc_base, "version": "0.1",
         "problem_statement": "`calc.ops.add(2, 3)` returns -1 instead of 5: `add` subtracts its arguments.\n"
                              "```python\n>>> from calc.ops import add\n>>> add(2, 3)\n-1\n```\nExpected `add(2, 3) == 5`.",
         "FAIL_TO_PASS": ["tests/test_add.py::test_add"], "PASS_TO_PASS": ["tests/test_ops.py::test_mul", "tests/test_ops.py::test_mul_zero"],
         "test_patch": test_patch_adding(calc, "tests/test_add.py", ADD_TEST), "patch": "", "environment_setup_commit": calc_base},
        {"instance_id": "acme__calc-2", "repo": "acme/calc", "base_commit": calc_base, "version": "0.1",
         "problem_statement": "`calc.ops.greet('Ann')` returns `'hi'`; it should return `'Hello, Ann! Welcome back.'`.\n"
                              "```python\n>>> greet('Ann')\n'hi'\n```",
         # the hub encodes these lists as JSON strings
         "FAIL_TO_PASS": json.dumps(["tests/test_greet.py::test_greet"]), "PASS_TO_PASS": json.dumps(["tests/test_ops.py::test_mul"]),
         "test_patch": test_patch_adding(calc, "tests/test_greet.py", GREET_TEST), "patch": ""},
        {"instance_id": "acme__strs-1", "repo": "acme/strs", "base_commit": strs_base, "version": "1.0",
         "problem_statement": "it doesn't work",
         "FAIL_TO_PASS": ["tests/test_shout.py::test_shout"], "PASS_TO_PASS": [],
         "test_patch": test_patch_adding(strs, "tests/test_shout.py", SHOUT_TEST), "patch": ""},
    ]
    data = tmp / "instances.jsonl"
    data.write_text("".join(json.dumps(i) + "\n" for i in instances))
    return data, repos, instances


def bench(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "patchwarden.cli", "bench", *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_swebench_instances_run_end_to_end_and_swebench_loads_the_predictions(tmp_path, monkeypatch):
    data, repos, instances = make_fixture(tmp_path)
    before = {p: (tree_snapshot(p), git("rev-parse", "HEAD", cwd=p), git("status", "--porcelain", cwd=p))
              for p in (repos / "acme__calc", repos / "acme" / "strs")}
    out = tmp_path / "out"
    proc = bench("run", "swebench", "--path", str(data), "--repos", str(repos), "--out", str(out), *RUN_FLAGS, "--json")
    assert proc.returncode == 0, proc.stderr
    records = {r["id"]: r for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())}
    assert records["acme__calc-1"]["status"] == "plausible", records["acme__calc-1"]
    assert records["acme__calc-2"]["status"] == "none", records["acme__calc-2"]
    assert records["acme__strs-1"]["status"] == "abstained", records["acme__strs-1"]
    # FAIL_TO_PASS are the triggers; PASS_TO_PASS ran (the regression set); the issue reached the bouncer
    result = json.loads((out / "runs" / "acme__calc-1" / "result.json").read_text())
    assert result["trigger_tests"] == ["tests/test_add.py::test_add"]
    baseline = json.loads((out / "runs" / "acme__calc-1" / "baseline.json").read_text())
    assert set(baseline["run"]["results"]) == {"tests/test_add.py::test_add", "tests/test_ops.py::test_mul", "tests/test_ops.py::test_mul_zero"}
    assert json.loads((out / "runs" / "acme__strs-1" / "bounce_input.json").read_text())["bounce"] is True
    for clone, (snap, head, status) in before.items():  # the user's clones are untouched
        assert tree_snapshot(clone) == snap and git("rev-parse", "HEAD", cwd=clone) == head and git("status", "--porcelain", cwd=clone) == status

    preds_path = out / "predictions.jsonl"
    rows = [json.loads(line) for line in preds_path.read_text().splitlines()]
    assert sorted(r["instance_id"] for r in rows) == sorted(i["instance_id"] for i in instances)  # one row each
    by_id = {r["instance_id"]: r for r in rows}
    assert by_id["acme__calc-2"]["model_patch"] == "" and by_id["acme__strs-1"]["model_patch"] == ""
    fix = by_id["acme__calc-1"]["model_patch"]
    assert fix.startswith("diff --git a/calc/ops.py b/calc/ops.py") and "tests/" not in fix

    # The swebench package's own loader and instance selection read the file as the harness does.
    monkeypatch.chdir(tmp_path)
    from swebench.harness.run_evaluation import get_dataset_from_preds
    from swebench.harness.utils import get_predictions_from_file

    loaded = get_predictions_from_file(str(preds_path), str(data), "test")
    assert len(loaded) == 3 and all(p["model_name_or_path"] == "patchwarden-template" for p in loaded)
    to_evaluate = get_dataset_from_preds(str(data), "test", None, {p["instance_id"]: p for p in loaded}, "pw-test", False)
    assert [i["instance_id"] for i in to_evaluate] == ["acme__calc-1"]

    # As the harness does: a fresh checkout at base_commit, test_patch and model_patch applied at the root.
    check = tmp_path / "check"
    git("clone", "-q", str(repos / "acme__calc"), str(check), cwd=tmp_path)
    git("checkout", "-q", instances[0]["base_commit"], cwd=check)
    git("apply", "-", cwd=check, input=instances[0]["test_patch"])
    git("apply", "-", cwd=check, input=fix)
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_add.py", "tests/test_ops.py"],
                           cwd=check, capture_output=True, text=True)
    assert tests.returncode == 0, tests.stdout

    # The report's per-bug table lists every instance with its status.
    proc = bench("report", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    page = (out / "report" / "report.html").read_text()
    assert all(i["instance_id"] in page for i in instances)


def test_bad_swebench_input_is_one_clean_line(tmp_path):
    data, repos, _ = make_fixture(tmp_path)
    cases = [
        (["--path", str(data)], "needs --repos DIR"),
        (["--path", str(data), "--repos", str(tmp_path / "nowhere")], "is not a directory"),
        (["--path", str(data), "--repos", str(tmp_path / "instances.jsonl")], "is not a directory"),
        (["--path", str(tmp_path / "missing.jsonl"), "--repos", str(repos)], "does not exist"),
        (["--path", str(data), "--repos", str(tmp_path)], "no clone of acme/calc"),
        (["--path", str(data), "--repos", str(repos), "--repo-config", str(data)], "is not valid JSON"),
    ]
    bad_config = tmp_path / "repos.json"
    bad_config.write_text(json.dumps({"acme/calc": {"test_cmd": "python -m pytest -q"}}))
    cases.append((["--path", str(data), "--repos", str(repos), "--repo-config", str(bad_config)], "must be a string containing {tests}"))
    for args, message in cases:
        proc = bench("run", "swebench", *args, "--out", str(tmp_path / "o"), "--sandbox", "local")
        assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr, (args, proc.stderr)
    proc = bench("run", "jsonl", "--path", str(data), "--repos", str(repos), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "--repos do(es) not apply to the jsonl dataset" in proc.stderr


def test_repo_config_and_image_template_reach_the_instance(tmp_path):
    from patchwarden.benchmarks.datasets import load_bugs

    data, repos, _ = make_fixture(tmp_path)
    config = tmp_path / "repos.json"
    config.write_text(json.dumps({"acme/calc": {"test_cmd": "python -m pytest -x -q {tests}", "image": "calc-env:{version}"}}))
    bugs = {b.id: b for b in load_bugs("swebench", str(data), options={"repos": str(repos), "repo_config": str(config)})}
    assert bugs["acme__calc-1"].test_cmd == "python -m pytest -x -q tests/test_add.py::test_add tests/test_ops.py::test_mul tests/test_ops.py::test_mul_zero"
    assert bugs["acme__calc-1"].spec["image"] == "calc-env:0.1" and bugs["acme__strs-1"].spec["image"] is None
    assert bugs["acme__strs-1"].test_cmd.startswith("python -m pytest -rA ")  # the `*` default
    assert bugs["acme__calc-1"].issue.startswith("`calc.ops.add(2, 3)` returns -1")
    templated = load_bugs("swebench", str(data), options={"repos": str(repos), "image_template": "sweb.eval.x86_64.{instance_id}"})
    assert [b.spec["image"] for b in templated] == ["sweb.eval.x86_64.acme__calc-1", "sweb.eval.x86_64.acme__calc-2", "sweb.eval.x86_64.acme__strs-1"]


def test_a_hub_snapshot_folder_loads_through_datasets(tmp_path, monkeypatch):
    """The `datasets.load_dataset` path, offline: a folder laid out like a hub snapshot, with the
    hub's encoding (test lists as JSON strings), and a named split."""
    pytest.importorskip("datasets")
    from patchwarden.benchmarks.datasets import DatasetError, load_bugs

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    data, repos, instances = make_fixture(tmp_path)
    snapshot = tmp_path / "SWE-bench_Mini"
    snapshot.mkdir()
    hub = [{**i, "FAIL_TO_PASS": json.dumps(test_list(i["FAIL_TO_PASS"])), "PASS_TO_PASS": json.dumps(test_list(i["PASS_TO_PASS"]))} for i in instances]
    (snapshot / "train.jsonl").write_text("".join(json.dumps(i) + "\n" for i in hub))
    bugs = load_bugs("swebench", f"{snapshot}:train", options={"repos": str(repos)})
    assert [b.id for b in bugs] == [i["instance_id"] for i in instances]
    assert bugs[1].spec["fail_to_pass"] == ["tests/test_greet.py::test_greet"]
    with pytest.raises(DatasetError, match="cannot load SWE-bench instances from .*split nosuch"):
        load_bugs("swebench", f"{snapshot}:nosuch", options={"repos": str(repos)})


def test_list(value):
    return json.loads(value) if isinstance(value, str) else value


test_list.__test__ = False  # a helper, not a test


def test_an_instance_runs_in_its_own_docker_image(tmp_path):
    """--image-template names a per-instance image (here: a tag of the sandbox image made for
    this test) and the instance's tests run in a container of it."""
    from sandbox_helpers import require_docker

    base = require_docker()
    data, repos, _ = make_fixture(tmp_path)
    prefix = f"pwtest-sweb-{os.getpid()}"
    tag = f"{prefix}.acme__calc-1:latest"
    subprocess.run(["docker", "tag", base, tag], check=True, capture_output=True)
    try:
        out = tmp_path / "out"
        proc = bench("run", "swebench", "--path", str(data), "--repos", str(repos), "--out", str(out), "--limit", "1",
                     "--sandbox", "docker", "--image-template", prefix + ".{instance_id}", "--max-candidates", "40", "--json")
        assert proc.returncode == 0, proc.stderr
    finally:
        subprocess.run(["docker", "rmi", tag], capture_output=True)
    run = out / "runs" / "acme__calc-1"
    assert json.loads((run / "baseline.json").read_text())["backend"] == "docker"
    assert json.loads((run / "config.json").read_text())["image"] == f"{prefix}.acme__calc-1"
    assert json.loads((run / "result.json").read_text())["status"] == "plausible"
