import ast
import textwrap
from pathlib import Path

import libcst as cst
import pytest

from patchwarden.repair.bug_context import BugContext, SuspiciousFunction
from patchwarden.repair.splice import apply_edits
from patchwarden.repair.engines.template import TemplateEngine
from patchwarden.repair.engines.mutations import OPERATORS, collect_mutations
from patchwarden.repair.engines.template import parse_function, render, _splice, function_info


def canon(src: str) -> str:
    return ast.unparse(ast.parse(textwrap.dedent(src)))


def ctx_for(*functions, scores=None, line_scores=None):
    suspicious = []
    for i, fn in enumerate(functions):
        score = scores[i] if scores else 1.0
        suspicious.append(SuspiciousFunction(fn, score, line_scores=(line_scores or [{}] * len(functions))[i]))
    return BugContext(repo=Path("."), test_cmd="pytest", failing=[], suspicious=suspicious)


def generate(src: str, qualname: str = "f", line_scores=None, **kw):
    fn = function_info("m.py", qualname, textwrap.dedent(src).strip("\n"))
    engine = TemplateEngine(**{"max_candidates": 5000, "time_budget": None, **kw})
    cands = list(engine.generate(ctx_for(fn, line_scores=[line_scores or {}])))
    original = canon(fn.source)
    for c in cands:  # every candidate parses, changes something, and is one well-formed edit
        assert len(c.edits) == 1 and c.engine == "template"
        new = c.edits[0].new_source
        assert canon(new) != original, c.description
        assert c.edits[0].start_byte == fn.start_byte and c.edits[0].end_byte == fn.end_byte
        assert c.meta["operator"] in OPERATORS and c.description.startswith(f"line {c.meta['line']}: ")
    assert len({c.id for c in cands}) == len(cands)
    return cands


def assert_fix(buggy: str, fixed: str, **kw):
    cands = generate(buggy, **kw)
    wanted = canon(fixed)
    hits = [c for c in cands if canon(c.edits[0].new_source) == wanted]
    assert hits, f"fix not among {len(cands)} candidates"
    return hits[0], cands


@pytest.mark.parametrize("buggy,fixed,operator", [
    # comparison / arithmetic / augmented / boolean operator swaps
    ("def f(xs, n):\n    return [x for x in xs if x < n]", "def f(xs, n):\n    return [x for x in xs if x <= n]", "comparison"),
    ("def f(x, xs):\n    return x not in xs", "def f(x, xs):\n    return x in xs", "comparison"),
    ("def f(a, b):\n    return a - b * 2", "def f(a, b):\n    return a + b * 2", "arithmetic"),
    ("def f(a, b):\n    return a / b", "def f(a, b):\n    return a // b", "arithmetic"),
    ("def f(xs):\n    t = 0\n    for x in xs:\n        t -= x\n    return t", "def f(xs):\n    t = 0\n    for x in xs:\n        t += x\n    return t", "aug_assign"),
    ("def f(a, b):\n    return a > 0 and b > 0", "def f(a, b):\n    return a > 0 or b > 0", "boolean"),
    # negated conditions, both ways
    ("def f(x):\n    if x:\n        return 1\n    return 2", "def f(x):\n    if not x:\n        return 1\n    return 2", "negation"),
    ("def f(x):\n    while not x.done():\n        x.step()", "def f(x):\n    while x.done():\n        x.step()", "negation"),
    # off by one: constants, indices, slices, range bounds, differences
    ("def f(n):\n    return n * 3", "def f(n):\n    return n * 2", "off_by_one"),
    ("def f(xs, i):\n    return xs[i]", "def f(xs, i):\n    return xs[i - 1]", "off_by_one"),
    ("def f(xs, i, j):\n    return xs[i:j]", "def f(xs, i, j):\n    return xs[i:j + 1]", "off_by_one"),
    ("def f(n):\n    return [i for i in range(n)]", "def f(n):\n    return [i for i in range(n + 1)]", "off_by_one"),
    ("def f(xs):\n    return [xs[i] for i in range(1, len(xs))]", "def f(xs):\n    return [xs[i] for i in range(len(xs))]", "off_by_one"),
    ("def f(lo, hi):\n    return hi - lo", "def f(lo, hi):\n    return hi - lo + 1", "off_by_one"),
    # swapped arguments / operands / tuple elements
    ("def f(a, b):\n    return pow(b, a)", "def f(a, b):\n    return pow(a, b)", "swap_args"),
    ("def f(a, b):\n    return b - a", "def f(a, b):\n    return a - b", "swap_operands"),
    ("def f(s, k):\n    return s[k:] + s[:k]", "def f(s, k):\n    return s[:k] + s[k:]", "swap_operands"),
    ("def f(i, j):\n    return (j, i)", "def f(i, j):\n    return (i, j)", "swap_args"),
    # variable misuse, read and written
    ("def f(a, b):\n    c = a * 2\n    return a + c", "def f(a, b):\n    c = a * 2\n    return b + c", "variable"),
    ("def f(xs):\n    depth = 0\n    best = 0\n    for x in xs:\n        best += 1\n    return depth",
     "def f(xs):\n    depth = 0\n    best = 0\n    for x in xs:\n        depth += 1\n    return depth", "variable"),
    # constants
    ("def f(x):\n    if x:\n        return True\n    return True", "def f(x):\n    if x:\n        return False\n    return True", "constant"),
    ("def f(ws):\n    return ''.join(ws)", "def f(ws):\n    return ' '.join(ws)", "constant"),
    ("def f(a):\n    return a / 0.5", "def f(a):\n    return a / 2.0", "constant"),
    ("def f(s):\n    return s.count('(')", "def f(s):\n    return s.count('[')", "constant"),
    ("def f(s):\n    return s.replace(' ', '__')", "def f(s):\n    return s.replace(' ', '_')", "constant"),
    ("def f(c):\n    return chr(ord(c) - ord('a') + ord(c))", "def f(c):\n    return chr(ord(c) - ord('a') + ord('a'))", "variable"),
    ("def f(xs):\n    return [i * x for i, x in enumerate(xs)]", "def f(xs):\n    return [i * x for i, x in enumerate(xs)][1:]", "off_by_one"),
    # removed statement, unwrapped condition, swapped branches, inverted result
    ("def f(xs):\n    out = []\n    for x in xs:\n        out.append(x)\n        out.append(x)\n    return out",
     "def f(xs):\n    out = []\n    for x in xs:\n        out.append(x)\n    return out", "remove_stmt"),
    ("def f(x):\n    if x > 1:\n        return 'a'\n    else:\n        return 'b'", "def f(x):\n    if x > 1:\n        return 'b'\n    else:\n        return 'a'", "swap_branches"),
    ("def f(xs, t):\n    for x in xs:\n        if x > t:\n            return True\n    return False",
     "def f(xs, t):\n    for x in xs:\n        if x > t:\n            return False\n    return True", "negation"),
    # added guard / early return, added return
    ("def f(xs):\n    return xs[0]", "def f(xs):\n    if not xs:\n        return None\n    return xs[0]", "guard"),
    ("def f(xs):\n    if len(xs) > 3:\n        return 'long'\n    return xs[0]", "def f(xs):\n    if not xs:\n        return ''\n    if len(xs) > 3:\n        return 'long'\n    return xs[0]", "guard"),
    ("def f(xs):\n    total = sum(xs)\n    mean = total / len(xs)", "def f(xs):\n    total = sum(xs)\n    mean = total / len(xs)\n    return mean", "add_return"),
    # function misuse and missing abs()
    ("def f(xs):\n    return min(xs)", "def f(xs):\n    return max(xs)", "function"),
    ("def f(s):\n    return s.lower()", "def f(s):\n    return s.swapcase()", "function"),
    ("def f(xs):\n    return sorted(xs)", "def f(xs):\n    return sorted(xs, reverse=True)", "function"),
    ("def f(a, b):\n    return a - b < 0.1", "def f(a, b):\n    return abs(a - b) < 0.1", "wrap_abs"),
    # excess logic
    ("def f(xs):\n    return xs.sort()", "def f(xs):\n    return xs", "drop_operand"),
    ("def f(x, y):\n    return x * y * 2", "def f(x, y):\n    return x * y", "drop_operand"),
    # the outer function is mutated, not a nested helper
    ("def f(xs):\n    def key(x):\n        return -x\n    return sorted(xs, key=key)[0] - 1",
     "def f(xs):\n    def key(x):\n        return -x\n    return sorted(xs, key=key)[0] + 1", "arithmetic"),
])
def test_each_fix_pattern_is_generated(buggy, fixed, operator):
    hit, _ = assert_fix(buggy, fixed)
    assert hit.meta["operator"] == operator


def test_negating_a_boolean_condition_keeps_its_meaning_with_parentheses():
    hit, _ = assert_fix("def f(a, b):\n    if a or b:\n        return 1", "def f(a, b):\n    if not (a or b):\n        return 1")
    assert "not (a or b)" in hit.edits[0].new_source


def test_every_candidate_of_a_larger_function_parses():
    src = '''
    def search(xs, target, *, strict=False):
        """Binary search."""
        lo, hi = 0, len(xs) - 1
        while lo <= hi and not strict:
            mid = (lo + hi) // 2
            if xs[mid] == target:
                return mid
            elif xs[mid] < target:
                lo = mid + 1
            else:
                hi = mid - 1
        return -1 if lo > 0 else None
    '''
    cands = generate(src, qualname="search")
    assert len(cands) > 100
    ops = {c.meta["operator"] for c in cands}
    assert {"comparison", "arithmetic", "off_by_one", "variable", "remove_stmt", "boolean"} <= ops


CLASS_FILE = '''import functools


class Stack:
    """A stack."""

    def __init__(self):
        self.items = []

    @functools.lru_cache(maxsize=None)
    def peek(self, depth):
        if depth < len(self.items):
            return self.items[len(self.items) - depth]
        return None

    def size(self):
        return len(self.items)
'''


def method_info(text: str, cls: str, name: str):
    tree = ast.parse(text)
    node = next(n for c in tree.body if isinstance(c, ast.ClassDef) and c.name == cls for n in c.body
                if isinstance(n, ast.FunctionDef) and n.name == name)
    first = node.decorator_list[0] if node.decorator_list else node
    lines = text.splitlines(keepends=True)
    first_line = lines[first.lineno - 1]
    col = len(first_line) - len(first_line.lstrip())  # a decorator's ast column is after the `@`
    start = len("".join(lines[: first.lineno - 1]).encode()) + col
    end = len("".join(lines[: node.end_lineno - 1]).encode()) + node.end_col_offset
    return function_info("stack.py", f"{cls}.{name}", text.encode()[start:end].decode(), first.lineno, start)


def test_decorated_method_keeps_indentation_and_splices_back():
    fn = method_info(CLASS_FILE, "Stack", "peek")
    assert fn.source.startswith("@functools") and "\n    def peek" in fn.source
    cands = list(TemplateEngine(max_candidates=5000, time_budget=None).generate(ctx_for(fn)))
    assert len(cands) > 30
    fixed = CLASS_FILE.replace("len(self.items) - depth]", "len(self.items) - depth - 1]")
    seen_fix = False
    for c in cands:
        new_file = apply_edits(CLASS_FILE, c.edits)
        tree = ast.parse(new_file)  # the whole file still parses: indentation is intact
        cls = next(n for n in tree.body if isinstance(n, ast.ClassDef))
        assert [n.name for n in cls.body if isinstance(n, ast.FunctionDef)] == ["__init__", "peek", "size"]
        assert new_file.startswith(CLASS_FILE[: fn.start_byte]) and new_file.endswith(CLASS_FILE[fn.end_byte:])
        seen_fix |= new_file == fixed
    assert seen_fix
    # lines are absolute file lines
    assert {c.meta["line"] for c in cands} <= set(range(fn.start_line, fn.end_line + 1))
    guard = next(c for c in cands if c.meta["operator"] == "guard")
    assert "\n        if not depth:\n            return None\n        if depth" in apply_edits(CLASS_FILE, guard.edits)


def test_functions_from_the_tree_sitter_extractor():
    from patchwarden.repair.source_functions import extract_functions

    fns = {f.qualname: f for f in extract_functions(CLASS_FILE, "stack.py")}
    peek = fns["Stack.peek"]
    assert peek.source.startswith("@functools")
    cands = list(TemplateEngine(max_candidates=200, time_budget=None).generate(ctx_for(peek, fns["Stack.size"])))
    assert {c.edits[0].qualname for c in cands} == {"Stack.peek", "Stack.size"}
    for c in cands:
        ast.parse(apply_edits(CLASS_FILE, c.edits))
        assert peek.start_line <= c.meta["line"] <= fns["Stack.size"].end_line


def test_plain_method_in_nested_class_parses():
    text = "class A:\n    class B:\n        def m(self, x):\n            if x:\n                return x + 1\n            return 0\n"
    tree = ast.parse(text)
    node = tree.body[0].body[0].body[0]
    lines = text.splitlines(keepends=True)
    start = len("".join(lines[: node.lineno - 1])) + node.col_offset
    end = len("".join(lines[: node.end_lineno - 1])) + node.end_col_offset
    fn = function_info("a.py", "A.B.m", text[start:end], node.lineno, start)
    cands = list(TemplateEngine(time_budget=None).generate(ctx_for(fn)))
    assert cands
    for c in cands:
        ast.parse(apply_edits(text, c.edits))


def test_fast_splice_matches_libcst_rebuild():
    src = textwrap.dedent('''
    def f(xs, k):
        out = [(x, -k) for x in xs if (x % 2) == 0 and x > k]
        total = sum(x * 2 for x in xs[1:k]) + len(out)
        s = "a" if total else 'b'
        return out[k], total - 1, s.upper(), not xs
    ''').strip()
    pf = parse_function(src)
    checked = 0
    for m in collect_mutations(pf, set(OPERATORS)):
        fast = _splice(pf, m.target, m.build())
        if fast is None:
            continue
        slow = pf.module.deep_replace(m.target, m.build()).code[len(pf.prefix):]
        assert fast == slow, m.label
        checked += 1
    assert checked > 50


def test_path_copy_matches_libcst_rebuild_for_statements():
    src = "    @dec\n    def m(self, xs):\n        for x in xs:\n            if x:\n                xs.pop()\n            else:\n                return 1\n        total = 0\n        return total"
    pf = parse_function(src.lstrip())
    assert pf.prefix  # decorated method: parsed inside the indentation wrapper
    checked = 0
    for m in collect_mutations(pf, set(OPERATORS)):
        new = m.build()
        expected = (pf.module.deep_remove(m.target) if new is None else pf.module.deep_replace(m.target, new)).code
        assert render(pf, m) == expected[len(pf.prefix):], m.label
        checked += new is None or not isinstance(m.target, cst.BaseExpression)
    assert checked >= 5


def test_ordering_prefers_suspicious_lines_and_covered_lines_first():
    src = "def f(a, b):\n    x = a < b\n    y = a > b\n    z = a == b\n    return x, y, z"
    fn = function_info("m.py", "f", src, start_line=10)
    # line 12 (`y = a > b`) is the most suspicious, line 11 less, line 13 not covered by failing tests
    scores = {10: 0.2, 11: 0.3, 12: 0.9, 14: 0.2}
    cands = list(TemplateEngine(max_candidates=5000, time_budget=None).generate(ctx_for(fn, line_scores=[scores])))
    assert cands[0].meta["line"] == 12 and cands[0].meta["operator"] == "comparison"
    lines = [c.meta["line"] for c in cands]
    assert lines.index(12) < lines.index(11)
    first_uncovered = lines.index(13)
    assert all(line != 13 for line in lines[:first_uncovered])
    covered_after = [c for c in cands[first_uncovered:] if c.meta["line"] in scores]
    assert not covered_after, "a covered line came after an uncovered one"
    priors = [c.prior for c in cands]
    assert priors == sorted(priors, reverse=True)


def test_ordering_by_operator_prior_within_a_line():
    cands = generate("def f(a, b, c):\n    return a < b, c")
    ops = [c.meta["operator"] for c in cands]
    assert ops[0] == "comparison"
    assert ops.index("comparison") < ops.index("swap_args") < ops.index("variable")


def test_functions_ranked_by_suspiciousness():
    f1 = function_info("m.py", "low", "def low(a, b):\n    return a < b", start_line=1, start_byte=0)
    f2 = function_info("m.py", "high", "def high(a, b):\n    return a > b", start_line=4, start_byte=40)
    cands = list(TemplateEngine(time_budget=None).generate(ctx_for(f1, f2, scores=[0.1, 0.9])))
    assert cands[0].edits[0].qualname == "high"
    assert {c.edits[0].qualname for c in cands} == {"low", "high"}


def test_less_suspicious_functions_are_parsed_only_when_they_can_compete(monkeypatch):
    import patchwarden.repair.engines.template as template

    parsed = []
    real = template.parse_function
    monkeypatch.setattr(template, "parse_function", lambda src: parsed.append(src.split("(")[0]) or real(src))
    f1 = function_info("m.py", "top", "def top(a, b):\n    return a < b", start_line=1, start_byte=0)
    f2 = function_info("m.py", "low", "def low(a, b):\n    return a > b", start_line=4, start_byte=40)
    gen = TemplateEngine(time_budget=None).generate(ctx_for(f1, f2, scores=[1.0, 0.001]))
    first = [next(gen) for _ in range(3)]
    assert parsed == ["def top"] and all(c.edits[0].qualname == "top" for c in first)
    rest = list(gen)
    assert parsed == ["def top", "def low"] and rest[-1].edits[0].qualname == "low"


def test_count_and_time_budgets_hold():
    src = "def f(a, b, c):\n" + "".join(f"    a{i} = a + b * {i} - c\n" for i in range(30)) + "    return a0"
    fn = function_info("m.py", "f", src)
    assert len(list(TemplateEngine(max_candidates=7, time_budget=None).generate(ctx_for(fn)))) == 7
    assert list(TemplateEngine(max_candidates=1000, time_budget=0).generate(ctx_for(fn))) == []


def test_operator_subset_and_unknown_operator():
    cands = generate("def f(a, b):\n    return a < b + 1", operators=["comparison"])
    assert cands and {c.meta["operator"] for c in cands} == {"comparison"}
    with pytest.raises(ValueError, match="unknown template operators"):
        TemplateEngine(operators=["comparison", "teleport"])


def test_duplicates_are_skipped():
    # dropping either operand of `a and a` gives the same `return a`: emitted once
    cands = generate("def f(a):\n    return a and a")
    sources = [canon(c.edits[0].new_source) for c in cands]
    assert sources.count(canon("def f(a):\n    return a")) == 1
    assert len(sources) == len(set(sources))


def test_unparseable_or_foreign_functions_are_skipped():
    bad = function_info("m.py", "f", "def f(:\n    pass")
    js = function_info("m.js", "g", "function g() { return 1 }")
    js.language = "javascript"
    ok = function_info("m.py", "h", "def h(a):\n    return a < 1", start_byte=100)
    cands = list(TemplateEngine(time_budget=None).generate(ctx_for(bad, js, ok)))
    assert cands and {c.edits[0].qualname for c in cands} == {"h"}


def test_render_of_statement_removal_and_insertion_keeps_body_indentation():
    src = "def f(xs):\n        a = 1\n        b = 2\n        return a + b"
    pf = parse_function(src)
    for m in collect_mutations(pf, {"remove_stmt", "guard"}):
        out = render(pf, m)
        ast.parse(out)
        for line in out.splitlines()[1:]:
            assert line.startswith("        ")
