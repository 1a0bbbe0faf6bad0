"""Model engines beyond one function, against a scripted model server on 127.0.0.1.

- a bug spanning two functions is repaired without --functions (groups from the failing tests);
- an answer that puts an import line above the fixed function is repaired, the import in the diff;
- an answer that needs another module-level change (a new global) is refused with its reason.
"""
import json
import re
import sys
import textwrap

from patchwarden.repair.config import RepairConfig
from patchwarden.repair.bug_context import BugContext, SuspiciousFunction
from patchwarden.repair.splice import patched_files
from patchwarden.sandboxes.testresults import TestResult
from patchwarden.repair.source_functions import extract_functions
from patchwarden.repair.groups import plan_groups
from patchwarden.repair.imports import answer_extras, import_edit
from patchwarden.repair.models.scripted_server import ScriptedChatServer
from patchwarden.repair.pipeline import run_repair
from patchwarden.sandboxes.safe_ast import safe_parse

MONEY = textwrap.dedent('''\
    """Prices as integer cents."""
    import math


    def to_cents(amount):
        """Whole cents in a decimal amount."""
        return int(amount * 100)


    def format_cents(cents):
        """`cents` as units and two-digit cents."""
        return f"{cents // 100}.{cents % 100}"


    def format_price(amount):
        return "$" + format_cents(to_cents(amount))


    def ceil_price(amount):
        return math.ceil(amount)
    ''')
MONEY_TESTS = textwrap.dedent('''\
    from money import ceil_price, format_price

    def test_rounding():
        assert format_price(1.15) == "$1.15"

    def test_padding():
        assert format_price(0.07) == "$0.07"

    def test_ceil():
        assert ceil_price(1.2) == 2
    ''')
MONEY_FIX = {
    "to_cents": 'def to_cents(amount):\n    """Whole cents in a decimal amount."""\n    return int(round(amount * 100))\n',
    "format_cents": 'def format_cents(cents):\n    """`cents` as units and two-digit cents."""\n    return f"{cents // 100}.{cents % 100:02d}"\n',
}

SHELL = textwrap.dedent('''\
    import os


    def command_line(args):
        """One shell command line that runs `args` (a list of words)."""
        return " ".join(args)
    ''')
SHELL_TESTS = textwrap.dedent('''\
    import shlex
    from shell import command_line

    def test_spaces_survive():
        assert shlex.split(command_line(["echo", "a b"])) == ["echo", "a b"]
    ''')
SHELL_FIX = ('from shlex import quote\nimport os\n\n\ndef command_line(args):\n'
             '    """One shell command line that runs `args` (a list of words)."""\n'
             '    return " ".join(quote(a) for a in args)\n')


def make_repo(tmp_path, module, source, tests):
    repo = tmp_path / "repo"
    (repo / "tests").mkdir(parents=True)
    (repo / f"{module}.py").write_text(source)
    (repo / "tests" / f"test_{module}.py").write_text(tests)
    return repo


def reference_model(fixes: dict[str, str], single_prefix: str = ""):
    """A model that knows the fixed version of each function in `fixes` and repeats the others."""
    def answer(req):
        prompt = req["messages"][-1]["content"]
        if "## Answer format" in prompt:
            return ["Root Cause: wrong values.\n\nSuggestion 1: Fix them\nCompute the right values."] * req["n"]
        names = re.findall(r"complete fixed (?:function )?`(\w+)`", prompt)
        if len(names) == 1:
            name = names[0]
            return [f"```python\n{single_prefix}{fixes[name]}```" if name in fixes else "I cannot tell."] * req["n"]
        listing = prompt.split("## Fixed Functions")[0]
        blocks = re.findall(r"```python\n(.*?)\n```", listing, re.S)  # the buggy functions, in Function ID order
        out = "".join(f"Function ID: {i}\nFixed function code:\n```python\n{fixes.get(n, blocks[i - 1] + chr(10))}```\n\n"
                      for i, n in enumerate(names, 1))
        return [out] * req["n"]
    return answer


def config(repo, tmp_path, srv, **kw):
    return RepairConfig(repo=repo, test_cmd=f"{sys.executable} -m pytest -q", engine="srepair", sandbox="local",
                        out=tmp_path / "run", suggestions=1, patches_per_suggestion=1, progress=False, bounce=False,
                        model="openai:m", api_base=srv.base_url, **kw)


def test_two_function_bug_repaired_without_functions(tmp_path):
    repo = make_repo(tmp_path, "money", MONEY, MONEY_TESTS)
    with ScriptedChatServer(reference_model(MONEY_FIX)) as srv:
        out = run_repair(config(repo, tmp_path, srv))
        multi = [r for r in srv.requests if "Function ID: 2" in r["messages"][-1]["content"]]
    assert out.status == "plausible", out.message
    assert "int(round(amount * 100))" in out.patch and "{cents % 100:02d}" in out.patch
    assert multi, "the two functions were never sent together"
    groups = json.loads((tmp_path / "run" / "groups.json").read_text())
    joint = [g for g in groups if {"money.py::to_cents", "money.py::format_cents"} <= set(g["functions"])]
    assert joint and joint[0]["tried"] and joint[0]["candidates"] >= 1 and joint[0]["reasons"]
    assert [g for g in groups if len(g["functions"]) == 1 and g["tried"]], "single functions come first"
    assert out.calls == len(srv.requests)


def test_answer_with_an_import_line_is_repaired(tmp_path):
    repo = make_repo(tmp_path, "shell", SHELL, SHELL_TESTS)
    with ScriptedChatServer(reference_model({"command_line": SHELL_FIX})) as srv:
        out = run_repair(config(repo, tmp_path, srv))
        prompt = srv.requests[1]["messages"][-1]["content"]
    assert out.status == "plausible", out.message
    assert "import statement(s) in the same code block, above the function" in prompt
    assert "+from shlex import quote\n" in out.patch and "+import os" not in out.patch  # no duplicate of `import os`
    patched = (tmp_path / "run" / "patch.diff").read_text()
    assert " import os\n+from shlex import quote\n" in patched  # after the existing imports
    assert (repo / "shell.py").read_text() == SHELL  # the user's tree is untouched


def test_answer_with_a_new_global_is_refused_with_its_reason(tmp_path):
    repo = make_repo(tmp_path, "shell", SHELL, SHELL_TESTS)
    fix = 'SEP = " "\n\n\ndef command_line(args):\n    return SEP.join(repr(a) for a in args)\n'
    with ScriptedChatServer(reference_model({"command_line": fix})) as srv:
        out = run_repair(config(repo, tmp_path, srv))
    assert out.status == "none" and out.rejected == 1 and out.candidates_generated == 0
    reasons = json.loads((tmp_path / "run" / "srepair.json").read_text())["reasons"]
    assert reasons == {"module-level change outside the function: global SEP (only imports may be added outside the function)": 1}


# -- the parts, without a server ----------------------------------------------------------------
def test_import_edit_dedupes_places_and_refuses_shadowing():
    src = '"""Doc."""\nfrom __future__ import annotations\n\nimport os\nfrom shlex import split\n\n\ndef f():\n    pass\n'
    edit, why = import_edit("m.py", src, ["from shlex import quote, split", "import os", "import re"])
    assert why == "" and edit.start_byte == edit.end_byte
    new = src.encode()[: edit.start_byte].decode() + edit.new_source + src.encode()[edit.start_byte:].decode()
    assert new == src.replace("from shlex import split\n", "from shlex import split\nfrom shlex import quote\nimport re\n")
    assert import_edit("m.py", src, ["import os"]) == (None, "")
    edit, _ = import_edit("m.py", src, ["from math import fsum", "from math import log", "from math import fsum"])
    assert edit.new_source == "from math import fsum, log\n"  # one statement per module, no repeats
    edit, why = import_edit("m.py", "def quote(s):\n    return s\n", ["from shlex import quote"])
    assert edit is None and "replace the module's own 'quote'" in why
    edit, _ = import_edit("m.py", "def g():\n    pass\n", ["import re"])  # no imports yet: on top
    assert edit.start_byte == 0 and edit.new_source == "import re\n\n"


def test_answer_extras_keeps_used_imports_ignores_examples_refuses_statements():
    def extras(code, module=None):
        tree = safe_parse(code)
        fn = [n for n in tree.body if getattr(n, "name", "") == "f"][0]
        return answer_extras(tree, [fn], ast_source(code, fn), "f", module)

    def ast_source(code, fn):
        return "\n".join(code.splitlines()[fn.lineno - 1 : fn.end_lineno])

    imports, why, notes = extras("import re\nimport json\n\ndef f(s):\n    return re.sub('a', 'b', s)\n\nprint(f('a'))\n")
    assert imports == ["import re"] and why == "" and "json" in notes[-1]
    assert extras("class K:\n    pass\n\ndef f():\n    return K()\n")[1].startswith("module-level change outside the function: class K")
    assert "statement" in extras("import sys\nsys.setrecursionlimit(10000)\n\ndef f():\n    return 1\n")[1]
    assert extras("def f():\n    return 1\n\ndef main():\n    print(f())\n\nmain()\n")[1] == ""  # a demo
    module = "LIMIT = 3\n\ndef f():\n    return LIMIT\n"
    assert extras("LIMIT = 3\n\ndef f():\n    return LIMIT + 1\n", module)[1] == ""  # a quote of the module
    assert "global LIMIT" in extras("LIMIT = 4\n\ndef f():\n    return LIMIT + 1\n", module)[1]  # a change


def test_groups_from_shared_failing_tests_come_after_single_functions(tmp_path):
    fns = {f.name: f for f in extract_functions(MONEY, "money.py")}
    both = ["tests/test_money.py::test_rounding", "tests/test_money.py::test_padding"]
    ranked = [SuspiciousFunction(fns["format_price"], 0.9, failing_tests=both),
              SuspiciousFunction(fns["to_cents"], 0.8, failing_tests=both[:1]),
              SuspiciousFunction(fns["format_cents"], 0.7, failing_tests=both)]
    failing = [TestResult(t, "failed", "AssertionError") for t in both]
    groups = plan_groups(BugContext(tmp_path, "pytest", failing, ranked), max_functions=2)
    assert [len(g.functions) for g in groups][:2] == [1, 1]
    joint = groups[2]
    assert joint.keys == ["money.py::format_price", "money.py::to_cents", "money.py::format_cents"]
    assert any("co-covered" in r for r in joint.reasons) and not joint.first


def test_patched_files_carry_the_import_edit(tmp_path):
    (tmp_path / "shell.py").write_text(SHELL)
    from patchwarden.repair.candidate import Candidate, FunctionEdit

    fn = extract_functions(SHELL, "shell.py")[0]
    edit, _ = import_edit("shell.py", SHELL, ["from shlex import quote"])
    cand = Candidate("srepair", [FunctionEdit("shell.py", fn.qualname, fn.start_byte, fn.end_byte,
                                              'def command_line(args):\n    return " ".join(quote(a) for a in args)'), edit], "x")
    ns = {}
    exec(patched_files(tmp_path, cand)["shell.py"], ns)
    assert ns["command_line"](["a b"]) == "'a b'"


def test_import_line_found_in_a_function_id_section_with_prose():
    from patchwarden.repair.answer_functions import extract_function, split_function_sections

    module = "def f():\n    return 1\n"
    answer = ("Function ID: 1\nFixed function code:\n```python\nimport datetime\n\n\ndef f():\n"
              "    return datetime.date(2024, 1, 1).weekday()\n```\n")
    got = extract_function(split_function_sections(answer)[1], "f", module, 0, module_text=module)
    assert got.ok and got.imports == ["import datetime"]


def test_callers_of_the_top_function_form_a_group_and_nested_functions_stay_out(tmp_path):
    src = ("def helper(x):\n    def inner(y):\n        return y\n    return inner(x)\n\n\n"
           "def user(x):\n    return helper(x) + 1\n\n\ndef other(x):\n    return x\n")
    (tmp_path / "m.py").write_text(src)
    fns = {f.qualname: f for f in extract_functions(src, "m.py")}
    t = ["tests/test_m.py::test_a"]
    ranked = [SuspiciousFunction(fns["helper"], 0.9, failing_tests=t), SuspiciousFunction(fns["helper.inner"], 0.8, failing_tests=t),
              SuspiciousFunction(fns["other"], 0.5, failing_tests=t)]
    groups = plan_groups(BugContext(tmp_path, "pytest", [TestResult(t[0], "failed")], ranked), max_functions=1)
    by_reason = {r: g.keys for g in groups for r in g.reasons}
    assert by_reason["callers of helper"] == ["m.py::helper", "m.py::user"]
    assert all("m.py::helper.inner" not in g.keys for g in groups if len(g.keys) > 1)
