"""BouncerBench loaders: every file format, derived labels, bad files, predictions."""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from bouncer_helpers import run_cli

from patchwarden.bouncer.data import BouncerDataError, load_items, load_labels, load_predictions

ROOT = Path(__file__).resolve().parents[1]
ROWS = [
    {"instance_id": "r__1", "problem_statement": "crash in f()", "patch": "--- a/x\n+++ b/x\n", "input_quality": 0, "output_quality": 1.0},
    {"instance_id": "r__2", "problem_statement": "it is slow", "patch": "", "input_quality": 2, "output_quality": 0.25},
    {"instance_id": "r__3", "problem_statement": "add a flag", "patch": "", "input_quality": 3.0, "output_quality": 0.0},
]


def write(tmp_path: Path, fmt: str, rows=ROWS) -> Path:
    path = tmp_path / f"labels.{fmt}"
    if fmt == "csv":
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    elif fmt == "json":
        path.write_text(json.dumps(rows))
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    elif fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), path)
    return path


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl", "parquet"])
def test_every_format_loads_and_derives_bounce(tmp_path, fmt):
    path = write(tmp_path, fmt)
    lite = load_labels("lite", str(path))
    assert sorted(lite) == ["r__1", "r__2", "r__3"]
    assert [lite[i].input_bounce for i in sorted(lite)] == [False, True, True]  # quality >= 2
    assert [lite[i].output_bounce for i in sorted(lite)] == [False, True, True]  # quality < 1.0
    assert lite["r__2"].output_quality == 0.25 and lite["r__3"].input_quality == 3.0
    items = load_items("output", str(path))
    assert [it.instance_id for it in items] == ["r__1", "r__2", "r__3"] and items[0].patch.startswith("--- a/x")


def test_json_keyed_by_instance_id(tmp_path):
    path = tmp_path / "labels.json"
    path.write_text(json.dumps({r["instance_id"]: {k: v for k, v in r.items() if k != "instance_id"} for r in ROWS}))
    assert load_labels("input", str(path))["r__2"].input_bounce is True


def test_given_bounce_column_wins_over_derivation(tmp_path):
    rows = [dict(ROWS[0], input_bounce="True"), dict(ROWS[1], input_bounce="false")]
    labels = load_labels("input", str(write(tmp_path, "csv", rows)))
    assert labels["r__1"].input_bounce is True and labels["r__2"].input_bounce is False


@pytest.mark.parametrize(
    "content, message",
    [
        ("[{\"instance_id\": \"a\"}]", "missing column(s) input_quality"),
        ("[{\"instance_id\": \"a\", \"input_quality\": 5}]", "outside [0, 3]"),
        ("[{\"instance_id\": \"a\", \"input_quality\": \"high\"}]", "bad input label"),
        ("[{\"instance_id\": \"a\", \"input_quality\": 1}, {\"instance_id\": \"a\", \"input_quality\": 2}]", "appears twice"),
        ("{not json", "cannot read it as JSON"),
        ("[]", "no rows"),
        ("[1, 2]", "every row must be an object"),
    ],
)
def test_bad_label_files(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(BouncerDataError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        load_labels("input", str(path))


def test_bad_jsonl_line_parquet_and_extension(tmp_path):
    jsonl = tmp_path / "x.jsonl"
    jsonl.write_text('{"instance_id": "a", "input_quality": 1}\n{oops\n')
    with pytest.raises(BouncerDataError, match=r"x.jsonl:2: not valid JSON"):
        load_labels("input", str(jsonl))
    parquet = tmp_path / "x.parquet"
    parquet.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(BouncerDataError, match="cannot read it as PARQUET"):
        load_labels("input", str(parquet))
    txt = tmp_path / "x.txt"
    txt.write_text("a")
    with pytest.raises(BouncerDataError, match="unsupported format .txt"):
        load_labels("input", str(txt))
    with pytest.raises(BouncerDataError, match="no such file, and not a Hugging Face dataset id"):
        load_labels("input", str(tmp_path / "missing.csv"))


def test_predictions_unknown_ids_bad_values_and_sides(tmp_path):
    labels = load_labels("lite", str(write(tmp_path, "jsonl")))
    preds = tmp_path / "p.json"
    preds.write_text(json.dumps({"r__1": {"input_bounce": True, "output_bounce": False, "trace": "x"}, "r__2": {"input_bounce": False, "trace": ""}}))
    got = load_predictions(preds, "lite", labels)
    assert got == {"input": {"r__1": True, "r__2": False}, "output": {"r__1": False}}
    preds.write_text(json.dumps({"nope": {"input_bounce": True}}))
    with pytest.raises(BouncerDataError, match="unknown instance_id nope"):
        load_predictions(preds, "input", labels)
    preds.write_text(json.dumps({"r__1": {"input_bounce": "perhaps"}}))
    with pytest.raises(BouncerDataError, match="input_bounce 'perhaps' is not a boolean"):
        load_predictions(preds, "input", labels)
    preds.write_text(json.dumps({"r__1": {"output_bounce": True}}))
    with pytest.raises(BouncerDataError, match="not a input submission"):
        load_predictions(preds, "input", labels)
    rows = tmp_path / "p.jsonl"
    rows.write_text(json.dumps({"instance_id": "r__3", "output_bounce": 1}) + "\n")
    assert load_predictions(rows, "output", labels) == {"output": {"r__3": True}}


def run_cli_subprocess(*args, env=None):
    return subprocess.run([sys.executable, "-m", "patchwarden.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)


def test_cli_errors_are_one_line_exit_2(tmp_path):
    labels = write(tmp_path, "csv")
    preds = tmp_path / "p.json"
    preds.write_text(json.dumps({"ghost": {"input_bounce": True, "trace": None}}))
    res = run_cli("bouncerbench", "score", "--split", "input", "--predictions", str(preds), "--labels", str(labels))
    assert res.returncode == 2 and "unknown instance_id ghost" in res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) <= 2  # rich may wrap one line
    res = run_cli("bouncerbench", "score", "--split", "middle", "--predictions", str(preds))
    assert res.returncode == 2 and "unknown --split 'middle'" in res.stderr


def test_hf_id_goes_through_datasets_and_fails_cleanly_offline(tmp_path):
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", HF_HOME=str(tmp_path / "hf"))
    preds = tmp_path / "p.json"
    preds.write_text(json.dumps({"a": {"input_bounce": True}}))
    res = run_cli_subprocess("bouncerbench", "score", "--split", "input", "--predictions", str(preds), "--labels", "uw-swag/input-bouncer", env=env)
    assert res.returncode == 2
    assert "cannot load Hugging Face dataset uw-swag/input-bouncer" in res.stderr and "Traceback" not in res.stderr
