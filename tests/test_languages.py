"""The language layer (repair/languages): functions, test files, trace frames, detection, per language."""
from pathlib import Path

import pytest

from patchwarden.repair.source_functions import ParseProblem, extract_functions, function_at, is_test_file
from patchwarden.repair.languages import LANGUAGES, Language, detect, get, language_for_path, register
from patchwarden.repair.languages.python import Python

from helpers import make_repo

JAVA = """package com.acme.util;

import java.util.List;

/** Sums. */
public class Sums {
    private int base;

    public Sums(int base) { this.base = base; }

    public int add(int a, int b) {
        return a + b;
    }

    public double add(double a, double b) { return a + b; }

    public int add(int... xs) { int s = 0; for (int x : xs) s += x; return s; }

    public <T> T first(List<T> xs, String[] names) {
        Runnable r = new Runnable() {
            public void run() { System.out.println(names[0]); }
        };
        return xs.get(0);
    }

    static class Inner {
        int twice(int x) { return 2 * x; }
    }

    interface Shape { double area(); }
}
"""

JS = """'use strict';
function outer(xs) {
  function inner(x) { return x + 1; }
  return xs.map((x) => inner(x));
}
const arrow = (a, b) => a + b;
const block = async (a) => {
  await a;
  [1, 2].forEach(function (v) {
    console.log(v);
  });
};
const api = {
  get: (k) => k,
  put(k, v) { return v; },
};
class Stack {
  #items = [];
  push = (x) => { this.#items.push(x); };
  get size() { return this.#items.length; }
  set size(n) { this.#items.length = n; }
  static from(xs) { return new Stack(); }
}
exports.helper = function () { return 1; };
module.exports.other = () => 2;
"""

TS = """export function pick(a: number): number;
export function pick(a: string): string;
export function pick(a: any): any { return a; }
abstract class Base<T> {
  abstract area(): number;
  scale(x: T, k: number): T { return x; }
}
interface I { m(): void; }
"""


def names(functions):
    return [f.qualname for f in functions]


def test_java_methods_are_qualified_and_overloads_told_apart():
    fns = extract_functions(JAVA, "src/main/java/com/acme/util/Sums.java")
    assert names(fns) == [
        "com.acme.util.Sums.Sums(int)",
        "com.acme.util.Sums.add(int,int)",
        "com.acme.util.Sums.add(double,double)",
        "com.acme.util.Sums.add(int...)",
        "com.acme.util.Sums.first(List<T>,String[])",
        "com.acme.util.Sums.first(List<T>,String[]).<anonymous Runnable>.run()",
        "com.acme.util.Sums.Inner.twice(int)",
    ]
    add = fns[1]
    assert add.name == "add" and add.language == "java" and (add.start_line, add.end_line) == (11, 13)
    assert add.source.startswith("public int add(int a, int b) {") and add.source.endswith("}")
    assert JAVA.encode()[add.start_byte:add.end_byte].decode() == add.source
    assert function_at(fns, add.path, 12) is add
    # the innermost function holds a line of the anonymous class
    assert function_at(fns, add.path, 21).name == "run"


def test_javascript_functions_arrows_methods_and_anonymous_callbacks():
    fns = extract_functions(JS, "lib/m.js")
    assert names(fns) == [
        "outer", "outer.inner", "arrow", "block", "block.<anonymous>", "api.get", "api.put",
        "Stack.push", "Stack.get size", "Stack.set size", "Stack.from", "helper", "other",
    ]
    by = {f.qualname: f for f in fns}
    # a bound arrow function's span is its whole declaration, so a replacement reads alone
    assert by["arrow"].source == "const arrow = (a, b) => a + b;"
    # an expression-bodied callback belongs to its function; a block-bodied one is a function of its own
    assert function_at(fns, "lib/m.js", 4).qualname == "outer"
    assert function_at(fns, "lib/m.js", 11).qualname == "block.<anonymous>"


def test_typescript_overload_signatures_are_not_functions_and_tsx_parses():
    fns = extract_functions(TS, "src/pick.ts")
    assert names(fns) == ["pick", "Base.scale"]
    assert fns[0].start_line == 3 and fns[0].language == "typescript"
    tsx = extract_functions("const View = () => { return <div onClick={() => { go(); }} />; };\n", "src/View.tsx")
    assert names(tsx) == ["View", "View.<anonymous>"]


def test_same_names_in_one_file_are_told_apart_by_line():
    fns = extract_functions("f(function () { a(); });\nf(function () { b(); });\n", "x.js")
    assert names(fns) == ["<anonymous>@L1", "<anonymous>@L2"]


def test_syntax_errors_name_the_line_in_every_language():
    with pytest.raises(ParseProblem, match="line 2"):
        extract_functions("class A {\n  void m( {\n}\n", "A.java")
    with pytest.raises(ParseProblem, match="line 2"):
        extract_functions("function f() {\n  return (;\n}\n", "a.js")


def test_test_files_per_language():
    assert is_test_file("src/test/java/com/acme/SumsTest.java") and is_test_file("src/main/java/a/SumsIT.java")
    assert not is_test_file("src/main/java/com/acme/Sums.java") and not is_test_file("src/main/java/a/Testimony.java")
    assert is_test_file("lib/a.test.js") and is_test_file("src/b.spec.ts") and is_test_file("src/__tests__/c.js")
    assert not is_test_file("lib/contest.js") and not is_test_file("src/latest.ts")
    # Python's rules are unchanged
    assert is_test_file("tests/test_a.py") and is_test_file("pkg/a_test.py") and is_test_file("conftest.py")
    assert not is_test_file("pkg/testing_utils.py")


JAVA_TRACE = """org.opentest4j.AssertionFailedError: expected: <3> but was: <2>
\tat org.junit.jupiter.api.AssertionUtils.fail(AssertionUtils.java:55)
\tat com.acme.util.Sums$Inner.twice(Sums.java:28)
\tat com.acme.util.Sums.add(Sums.java:12)
\tat com.acme.util.SumsTest.adds(SumsTest.java:9)
\tat java.base/java.lang.reflect.Method.invoke(Method.java:569)
"""

NODE_TRACE = """AssertionError [ERR_ASSERTION]: 4 !== 1
    at countZeros (/work/lib/tally.js:5:10)
    at Array.filter (<anonymous>)
    at async Object.run (file:///work/lib/run.mjs:3:7)
    at TestContext.<anonymous> (/work/test/tally.test.js:11:10)
    at Test.runInAsyncScope (node:async_hooks:206:9)
    at /work/node_modules/dep/index.js:1:1
"""


def test_java_frames_resolve_classes_to_repository_files():
    files = ["src/main/java/com/acme/util/Sums.java", "src/test/java/com/acme/util/SumsTest.java",
             "src/main/java/other/Sums.java"]
    frames = get("java").frames(JAVA_TRACE, "/work", files)
    assert frames == [  # outermost first; JDK and JUnit frames are not the repository's
        ("src/test/java/com/acme/util/SumsTest.java", 9, "adds"),
        ("src/main/java/com/acme/util/Sums.java", 12, "add"),
        ("src/main/java/com/acme/util/Sums.java", 28, "twice"),
    ]


def test_node_frames_are_relative_to_the_work_dir():
    frames = get("javascript").frames(NODE_TRACE, "/work", [])
    assert frames == [
        ("test/tally.test.js", 11, "TestContext.<anonymous>"),
        ("lib/run.mjs", 3, "Object.run"),
        ("lib/tally.js", 5, "countZeros"),
    ]


def test_language_of_a_repository_and_of_a_mixed_one(tmp_path):
    java = make_repo(tmp_path / "j", {"src/main/java/a/B.java": "package a; class B {}",
                                      "src/test/java/a/BTest.java": "package a; class BTest {}"}, git=False)
    assert detect(java).name == "java"
    mixed = make_repo(tmp_path / "m", {"tools/gen.py": "def f():\n    pass\n", "tools/more.py": "x = 1\n",
                                       "src/main/java/com/acme/util/Sums.java": "class Sums {}",
                                       "src/test/java/com/acme/util/SumsTest.java": "class SumsTest {}"}, git=False)
    assert detect(mixed).name == "python"  # more files, nothing else to go by
    assert detect(mixed, "mvn -o -q test").name == "java"  # the test command names the build tool
    # the failing tests' frames decide over the command
    assert detect(mixed, "make test", [JAVA_TRACE], "/work").name == "java"
    assert detect(tmp_path / "m", "python -m pytest", ['File "/work/tools/gen.py", line 2, in f'], "/work").name == "python"


def test_a_fourth_language_is_one_registered_module(tmp_path):
    class Stub(Python):  # any grammar will do: the registry is what is shown
        name = "stubpy"
        extensions = (".stubpy",)

    try:
        register(Stub())
        assert language_for_path("a/b.stubpy").name == "stubpy"
        repo = make_repo(tmp_path / "s", {"a/b.stubpy": "def f():\n    return 1\n"}, git=False)
        assert detect(repo).name == "stubpy"
        assert [f.qualname for f in extract_functions("def f():\n    return 1\n", "a/b.stubpy")] == ["f"]
    finally:
        LANGUAGES.pop("stubpy", None)
    assert isinstance(get("java"), Language)
