"""Fixed-function extraction from nasty model answers, and suggestion parsing."""
import ast
import textwrap

from patchwarden.repair.candidate import FunctionEdit
from patchwarden.repair.splice import apply_edits
from patchwarden.repair.answer_functions import code_blocks, extract_function, split_function_sections
from patchwarden.repair.prompts.srepair import parse_suggestions

FILE = textwrap.dedent('''\
    import math


    class Stack:
        def __init__(self):
            self.items = []

        @property
        def top(self):
            return self.items[0]

        def push(self, x):
            """Add x on top."""
            self.items.insert(0, x)
            return len(self.items) - 1


    def mean(xs):
        return sum(xs) / (len(xs) + 1)
    ''')


def span(name):
    """(start_byte, end_byte, source, column) of a def (decorators included), as tree-sitter gives it."""
    tree = ast.parse(FILE)
    lines = FILE.splitlines(keepends=True)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            first = min([d.lineno for d in node.decorator_list] + [node.lineno])
            col = (node.decorator_list[0] if node.decorator_list else node).col_offset
            if node.decorator_list:
                col -= 1  # the '@'
            start = sum(len(l) for l in lines[: first - 1]) + col
            end = sum(len(l) for l in lines[: node.end_lineno - 1]) + len(lines[node.end_lineno - 1].rstrip("\n"))
            return start, end, FILE[start:end], col
    raise KeyError(name)


def splice(name, answer):
    start, end, src, col = span(name)
    got = extract_function(answer, name, src, col, known_names={"math", "Stack", "mean"})
    assert got.ok, got.reason
    new = apply_edits(FILE, [FunctionEdit("f.py", name, start, end, got.source)])
    ast.parse(new)
    return new, got


def test_prose_around_a_fence():
    answer = "The bug: the divisor is off by one.\n\n```python\ndef mean(xs):\n    return sum(xs) / len(xs)\n```\n\nThis divides by the length."
    new, _ = splice("mean", answer)
    assert "return sum(xs) / len(xs)\n" in new and "+ 1" not in new.split("def mean")[1]


def test_no_fence_prose_before_and_after():
    answer = "Here is the corrected function:\ndef mean(xs):\n    if not xs:\n        return 0.0\n    return sum(xs) / len(xs)\nIt handles empty lists too."
    new, _ = splice("mean", answer)
    assert "return 0.0" in new and "It handles" not in new


def test_two_fences_buggy_quote_then_fix():
    answer = ("Original:\n```python\ndef mean(xs):\n    return sum(xs) / (len(xs) + 1)\n```\n"
              "Fixed:\n```python\ndef mean(xs):\n    return sum(xs) / len(xs)\n```\n")
    new, _ = splice("mean", answer)
    assert "(len(xs) + 1)" not in new


def test_helper_function_is_nested_and_unrelated_code_dropped():
    answer = ("```python\nimport statistics\n\ndef _safe_len(xs):\n    return max(1, len(xs))\n\n"
              "def mean(xs):\n    return sum(xs) / _safe_len(xs)\n\nprint(mean([1, 2]))\n```")
    new, got = splice("mean", answer)
    body = new.split("def mean")[1]
    assert "def _safe_len" in body and "print(" not in new and "import statistics" not in new
    ns = {}
    exec(new, ns)
    assert ns["mean"]([2, 4]) == 3 and ns["mean"]([]) == 0
    assert "nested helper(s): _safe_len" in got.notes


def test_method_answered_at_column_zero_is_reindented():
    answer = '```python\ndef push(self, x):\n    """Add x on top."""\n    self.items.append(x)\n    return len(self.items) - 1\n```'
    new, _ = splice("push", answer)
    ns = {}
    exec(new, ns)
    s = ns["Stack"]()
    s.push(1), s.push(2)
    assert s.items == [1, 2]
    assert "    def push(self, x):\n        \"\"\"Add x on top.\"\"\"\n        self.items.append(x)" in new


def test_method_answered_inside_its_class_with_odd_indent():
    answer = "```\nclass Stack:\n  def push(self, x):\n     self.items.append(x)\n     return 0\n```"
    new, _ = splice("push", answer)
    ns = {}
    exec(new, ns)
    assert ns["Stack"]().push(5) == 0


def test_dropped_decorator_is_restored():
    answer = "```python\ndef top(self):\n    return self.items[-1]\n```"
    new, got = splice("top", answer)
    assert "    @property\n    def top(self):\n        return self.items[-1]" in new
    assert "kept the original decorators" in got.notes


def test_garbage_is_rejected_with_a_reason():
    start, end, src, col = span("mean")
    for answer, reason in [
        ("", "empty answer"),
        ("I cannot help with that.", "no function named 'mean'"),
        ("```python\ndef mean(xs:\n    return (\n```", "no parsable function"),
        ("```python\ndef mean(xs):\n    return sum(xs) / (len(xs) + 1)\n```", "unchanged"),
        ("\x00\x01 def mean( ::: ", "no parsable function"),
    ]:
        got = extract_function(answer, "mean", src, col)
        assert not got.ok and reason in got.reason, (answer, got)


def test_unclosed_fence_runs_to_the_end():
    assert code_blocks("text\n```python\ndef f():\n    pass\n") == ["def f():\n    pass\n"]


def test_function_id_sections():
    text = "Function ID: 1\nFixed function code:\n```python\ndef a(): pass\n```\n**Function ID: 2**\n```python\ndef b(): pass\n```"
    sections = split_function_sections(text)
    assert set(sections) == {1, 2} and "def a" in sections[1] and "def b" in sections[2] and "def a" not in sections[2]


def test_parse_suggestions_with_markdown():
    text = ("**Root Cause:** the loop stops one element early.\n\n"
            "**Suggestion 1: Extend the range**\nUse range(len(xs)) instead of range(len(xs) - 1).\n\n"
            "### Suggestion 2: Iterate directly\nLoop over the items.\n")
    root, sugs = parse_suggestions(text)
    assert root == "the loop stops one element early."
    assert [s.title for s in sugs] == ["Extend the range", "Iterate directly"]
    assert "range(len(xs))" in sugs[0].body
    assert parse_suggestions("nothing useful") == ("", [])


def test_tab_indented_file_keeps_tabs():
    text = "class A:\n\tdef f(self):\n\t\treturn 1\n"
    start = text.index("def f")
    end = text.index("return 1") + len("return 1")
    got = extract_function("```python\ndef f(self):\n    x = 2\n    return x\n```", "f", text[start:end], "\t")
    new = text[:start] + got.source + text[end:]
    assert new == "class A:\n\tdef f(self):\n\t\tx = 2\n\t\treturn x\n"
    ns = {}
    exec(new, ns)
    assert ns["A"]().f() == 2
