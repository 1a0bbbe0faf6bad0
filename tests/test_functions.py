from patchwarden.repair.candidate import FunctionEdit
from patchwarden.repair.splice import apply_edits
from patchwarden.repair.source_functions import ParseProblem, extract_functions, function_at, is_test_file

import pytest

SRC = '''import os

# Adds things.
# Two comment lines.
def add(a, b):
    """Sum of a and b."""
    return a + b


class Box:
    @property
    def size(self):
        def inner():
            return 1
        return inner()

    async def fetch(self):
        return os.sep
'''


def test_extracts_spans_qualnames_docs_comments():
    fns = {f.qualname: f for f in extract_functions(SRC, "m.py")}
    assert set(fns) == {"add", "Box.size", "Box.size.inner", "Box.fetch"}
    add = fns["add"]
    assert (add.start_line, add.end_line) == (5, 7)
    assert add.docstring == "Sum of a and b."
    assert add.comments == "# Adds things.\n# Two comment lines."
    assert SRC.encode()[add.start_byte:add.end_byte].decode() == add.source
    size = fns["Box.size"]
    assert size.source.startswith("@property")  # decorators belong to the span
    assert size.start_line == 11


def test_function_at_picks_innermost():
    fns = extract_functions(SRC, "m.py")
    assert function_at(fns, "m.py", 14).qualname == "Box.size.inner"
    assert function_at(fns, "m.py", 15).qualname == "Box.size"
    assert function_at(fns, "m.py", 1) is None
    assert function_at(fns, "other.py", 6) is None


def test_splice_by_span_keeps_the_rest():
    fns = {f.qualname: f for f in extract_functions(SRC, "m.py")}
    fetch = fns["Box.fetch"]
    new = fetch.source.replace("os.sep", "os.linesep")
    out = apply_edits(SRC, [FunctionEdit("m.py", "Box.fetch", fetch.start_byte, fetch.end_byte, new)])
    assert "return os.linesep" in out and out.count("def ") == SRC.count("def ")
    assert {f.qualname for f in extract_functions(out, "m.py")} == {f.qualname for f in fns.values()}


def test_syntax_error_is_reported():
    with pytest.raises(ParseProblem, match="line 2"):
        extract_functions("x = 1\ndef f(:\n    pass\n", "bad.py")


def test_test_file_detection():
    assert is_test_file("tests/test_a.py") and is_test_file("pkg/a_test.py") and is_test_file("conftest.py")
    assert not is_test_file("pkg/testing_utils.py") and not is_test_file("pkg/core.py")
