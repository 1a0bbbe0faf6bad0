"""`repair --predictions`: one row per instance, rewritten in place on a re-run, an empty patch
when nothing plausible is found or the run abstains, and paths relative to the git root when
the repository is a subfolder of a git repository (so `git apply` at the root works)."""
import json
import subprocess
import threading
from pathlib import Path

from helpers import SHAPES, make_repo
from test_repair_pipeline import PYTEST, cli

UNFIXABLE = {
    "words/__init__.py": "",
    "words/greet.py": "def greet(name):\n    return 'hi'\n",
    "tests/test_greet.py": "from words.greet import greet\n\n\ndef test_greet():\n    assert greet('Ann') == 'Hello, Ann! Welcome back.'\n",
}


def repair(repo: Path, out: Path, preds: Path, iid: str, *extra: str):
    return cli("repair", str(repo), "--test-cmd", PYTEST, "--sandbox", "local", "--out", str(out), "--json",
               "--instance-id", iid, "--predictions", str(preds), *extra)


def test_rows_are_keyed_by_instance_with_root_relative_paths_and_empty_patches(tmp_path):
    mono = tmp_path / "mono"
    make_repo(mono, {"README": "a monorepo\n", **{f"pkg/{k}": v for k, v in SHAPES.items()}, **{f"other/{k}": v for k, v in UNFIXABLE.items()}})
    preds = tmp_path / "preds.jsonl"
    first = repair(mono / "pkg", tmp_path / "r1", preds, "shapes-1")
    assert first.returncode == 0, first.stderr
    again = repair(mono / "pkg", tmp_path / "r2", preds, "shapes-1")
    assert again.returncode == 0, again.stderr
    none = repair(mono / "other", tmp_path / "r3", preds, "words-1", "--max-candidates", "20")
    assert none.returncode == 1, none.stderr
    vague = tmp_path / "issue.txt"
    vague.write_text("it doesn't work")
    abstained = repair(mono / "pkg", tmp_path / "r4", preds, "shapes-2", "--issue", str(vague))
    assert abstained.returncode == 3, abstained.stderr

    rows = [json.loads(line) for line in preds.read_text().splitlines()]
    assert [r["instance_id"] for r in rows] == ["shapes-1", "words-1", "shapes-2"]  # the re-run replaced its row
    by_id = {r["instance_id"]: r for r in rows}
    assert by_id["words-1"]["model_patch"] == "" and by_id["shapes-2"]["model_patch"] == ""
    patch = by_id["shapes-1"]["model_patch"]
    assert patch.startswith("diff --git a/pkg/shapes/geometry.py b/pkg/shapes/geometry.py\n--- a/pkg/shapes/geometry.py\n+++ b/pkg/shapes/geometry.py\n")
    check = subprocess.run(["git", "apply", "--check", "-"], cwd=mono, input=patch, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    # the run's own patch.diff stays relative to the repository it was asked to repair
    assert (tmp_path / "r1" / "patch.diff").read_text().startswith("diff --git a/shapes/geometry.py")


def test_an_unreadable_predictions_file_is_refused_before_the_repair(tmp_path):
    repo = make_repo(tmp_path / "shapes", SHAPES)
    preds = tmp_path / "preds.jsonl"
    preds.write_text('{"instance_id": "a", "model_patch": ""}\nnot json\n')
    proc = repair(repo, tmp_path / "run", preds, "shapes-1")
    assert proc.returncode == 2 and "is not a readable predictions file" in proc.stderr and "Traceback" not in proc.stderr
    assert preds.read_text() == '{"instance_id": "a", "model_patch": ""}\nnot json\n'  # nothing lost
    assert not (tmp_path / "run").exists()


def test_json_files_stay_json_lists_and_parallel_writers_lose_no_row(tmp_path):
    from patchwarden.repair.predictions import read_predictions, write_prediction

    preds = tmp_path / "preds.json"
    threads = [threading.Thread(target=write_prediction, args=(preds, f"i-{n}", "m", f"p{n}")) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = json.loads(preds.read_text())
    assert isinstance(rows, list) and sorted(r["instance_id"] for r in rows) == sorted(f"i-{n}" for n in range(16))
    write_prediction(preds, "i-3", "m", "")
    assert len(read_predictions(preds)) == 16 and {r["instance_id"]: r for r in read_predictions(preds)}["i-3"]["model_patch"] == ""


def test_patch_outside_git_or_at_the_root_is_unchanged(tmp_path):
    from patchwarden.repair.predictions import patch_from_git_root

    plain = tmp_path / "plain"
    plain.mkdir()
    patch = "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n"
    assert patch_from_git_root(plain, patch) == patch
    root = make_repo(tmp_path / "root", {"x.py": "a\n"})
    assert patch_from_git_root(root, patch) == patch
