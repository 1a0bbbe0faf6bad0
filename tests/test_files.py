"""sandboxes/files.py: the one atomic-write helper and the one reader of JSONL input."""
import itertools
import os
import stat

import pytest

from patchwarden.sandboxes.files import JsonLinesError, atomic_path, json_lines, write_json, write_text


def test_atomic_write_replaces_whole_and_leaves_no_temp(tmp_path):
    target = tmp_path / "sub" / "out.json"
    write_json(target, {"a": 1})
    assert target.read_text() == '{\n  "a": 1\n}\n'
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("writer died")
    assert target.read_text() == '{\n  "a": 1\n}\n'  # the old file stands, whole
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.json"]  # no temp left behind


def test_atomic_write_keeps_the_mode_of_the_file_it_replaces(tmp_path):
    script = tmp_path / "run.sh"
    script.write_text("#!/bin/sh\n")
    os.chmod(script, 0o755)
    write_text(script, "#!/bin/sh\necho new\n")
    assert stat.S_IMODE(script.stat().st_mode) == 0o755
    fresh = tmp_path / "new.txt"
    write_text(fresh, "x")  # a new file gets what a plain open would give, not mkstemp's 0600
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert stat.S_IMODE(fresh.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)


def test_suffix_reaches_writers_that_choose_a_format_by_extension(tmp_path):
    with atomic_path(tmp_path / "plot.png", suffix=".png") as tmp:
        assert tmp.suffix == ".png" and tmp.parent == tmp_path
        tmp.write_bytes(b"png")
    assert (tmp_path / "plot.png").read_bytes() == b"png"


class Mine(ValueError):
    pass


def test_json_lines_names_the_bad_line_with_the_callers_error(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n\n[1]\n{oops\n')
    assert list(itertools.islice(json_lines(path), 2)) == [(1, {"a": 1}), (3, [1])]
    with pytest.raises(Mine, match=r"rows.jsonl:4: not valid JSON"):
        list(json_lines(path, error=Mine))
    with pytest.raises(JsonLinesError, match=r"rows.jsonl:3: expected one JSON object per line"):
        list(json_lines(path, objects=True))
    with pytest.raises(Mine, match="is a folder"):
        list(json_lines(tmp_path, error=Mine))
    (tmp_path / "latin.jsonl").write_bytes(b'{"a": "\xe9"}\n')
    with pytest.raises(Mine, match="not UTF-8"):
        list(json_lines(tmp_path / "latin.jsonl", error=Mine))
