"""The results store: whole lines only, torn and corrupt lines reported and survived."""
import json
import os

import pytest

from patchwarden.benchmarks.results import ResultStore, ResultsWarning, read_results


def test_append_writes_one_complete_line_per_record(tmp_path):
    store = ResultStore(tmp_path / "r.jsonl")
    store.append({"id": "a", "status": "plausible"})
    store.append({"id": "b", "status": "none", "patch": "--- a\n+++ b\n"})
    data = (tmp_path / "r.jsonl").read_bytes()
    assert data.count(b"\n") == 2 and data.endswith(b"\n")
    assert [r["id"] for r in read_results(tmp_path / "r.jsonl").records] == ["a", "b"]


def test_torn_last_line_is_reported_and_cut_before_the_next_append(tmp_path):
    path = tmp_path / "r.jsonl"
    store = ResultStore(path)
    store.append({"id": "a"})
    with open(path, "ab") as fh:  # what a kill in the middle of a write would leave
        fh.write(b'{"id": "b", "status": "plau')
    read = read_results(path)
    assert [r["id"] for r in read.records] == ["a"]
    assert len(read.problems) == 1 and ":2 is incomplete" in read.problems[0]
    store.repair_tail()
    store.append({"id": "b"})
    assert [json.loads(line)["id"] for line in path.read_text().splitlines()] == ["a", "b"]
    assert read_results(path).problems == []


def test_whole_last_record_without_newline_is_kept(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"id": "a"}')
    store = ResultStore(path)
    store.repair_tail()
    store.append({"id": "b"})
    assert [r["id"] for r in read_results(path).records] == ["a", "b"]


def test_corrupt_middle_line_is_a_warning_with_its_number(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"id": "a"}\nnot json at all\n["no", "id"]\n{"id": "c"}\n')
    with pytest.warns(ResultsWarning) as caught:
        read = ResultStore(path).load()
    assert [r["id"] for r in read.records] == ["a", "c"]
    messages = [str(w.message) for w in caught]
    assert any(":2 is corrupt" in m for m in messages) and any(":3 is corrupt" in m for m in messages)


def test_record_is_durable_before_append_returns(tmp_path):
    path = tmp_path / "r.jsonl"
    ResultStore(path).append({"id": "x"})
    # A fresh descriptor (as after a crash and restart) sees the complete line.
    fd = os.open(path, os.O_RDONLY)
    try:
        assert os.read(fd, 100) == b'{"id": "x"}\n'
    finally:
        os.close(fd)
