"""Parsing from several threads at once (parallel validators do) must not corrupt CPython's AST state."""

import threading
from pathlib import Path

from patchwarden.sandboxes.safe_ast import safe_literal_eval, safe_parse

SOURCE = Path(__file__).resolve().parents[1].joinpath("repair", "validate.py").read_text() * 3


class Finalized:
    """Garbage with a Python finalizer: collecting it mid-parse lets another thread run."""

    def __del__(self):
        sum(range(50))


def test_parallel_parses_with_garbage_collection_all_succeed():
    errors = []

    def work():
        for _ in range(30):
            junk = [Finalized() for _ in range(100)]
            for item in junk:
                item.me = item  # a cycle: only the cyclic collector frees it, at any allocation
            del junk
            try:
                tree = safe_parse(SOURCE)
            except SystemError as exc:  # CPython 3.11's "AST constructor recursion depth mismatch"
                errors.append(str(exc))
                return
            assert tree.body

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_safe_helpers_behave_like_ast():
    assert safe_parse("x = 1").body[0].targets[0].id == "x"
    assert safe_parse("a + 1", mode="eval").body.op.__class__.__name__ == "Add"
    assert safe_literal_eval("[1, {'a': (2, 3)}]") == [1, {"a": (2, 3)}]
