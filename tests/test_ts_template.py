"""The template engine's operators over tree-sitter trees (Java, JavaScript, TypeScript)."""
from pathlib import Path

import pytest

from patchwarden.repair.bug_context import BugContext, SuspiciousFunction
from patchwarden.repair.splice import apply_edits
from patchwarden.repair.engines.template import TemplateEngine
from patchwarden.repair.source_functions import extract_functions
from patchwarden.repair.languages import language_for_path


def candidates(tmp_path: Path, path: str, text: str, qualname: str, operators: list[str]) -> list[str]:
    """The patched function texts the engine proposes for one function, each checked to parse."""
    (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / path).write_text(text)
    fn = next(f for f in extract_functions(text, path) if f.qualname == qualname)
    ctx = BugContext(repo=tmp_path, test_cmd="x", failing=[], suspicious=[SuspiciousFunction(fn, 1.0)])
    out = []
    for cand in TemplateEngine(max_candidates=5000, time_budget=None, operators=operators).generate(ctx):
        patched = apply_edits(text, cand.edits)
        assert not language_for_path(path).parse(patched.encode(), path).root_node.has_error, cand.description
        out.append(" ".join(cand.edits[0].new_source.split()))
    assert len(out) == len(set(out))
    return out


JAVA = """package p;
class C {
    boolean in(int x, int lo, int hi) {
        if (x >= lo && x < hi) {
            return true;
        }
        return false;
    }
    int diff(int a, int b) { return a - b; }
    int at(int[] xs, int i) { return xs[i]; }
    String pick(String a, String b) { return a == b ? a : b.trim(); }
    boolean same(String a, String b) { return a.equals(b); }
    int call(int a, int b) { return diff(a, b) * 10; }
}
"""


def test_java_comparison_boolean_negation_constant(tmp_path):
    got = candidates(tmp_path, "src/main/java/p/C.java", JAVA, "p.C.in(int,int,int)",
                     ["comparison", "boolean", "negation", "constant"])
    assert "boolean in(int x, int lo, int hi) { if (x > lo && x < hi) { return true; } return false; }" in got
    assert "boolean in(int x, int lo, int hi) { if (x >= lo && x <= hi) { return true; } return false; }" in got
    assert "boolean in(int x, int lo, int hi) { if (x >= lo || x < hi) { return true; } return false; }" in got
    assert "boolean in(int x, int lo, int hi) { if (!(x >= lo && x < hi)) { return true; } return false; }" in got
    assert "boolean in(int x, int lo, int hi) { if (x >= lo && x < hi) { return false; } return false; }" in got


def test_java_arithmetic_off_by_one_and_argument_swap(tmp_path):
    got = candidates(tmp_path, "src/main/java/p/C.java", JAVA, "p.C.diff(int,int)", ["arithmetic", "swap_operands"])
    assert "int diff(int a, int b) { return a + b; }" in got
    assert "int diff(int a, int b) { return b - a; }" in got
    got = candidates(tmp_path, "src/main/java/p/C.java", JAVA, "p.C.at(int[],int)", ["off_by_one"])
    assert got == ["int at(int[] xs, int i) { return xs[i + 1]; }", "int at(int[] xs, int i) { return xs[i - 1]; }"]
    got = candidates(tmp_path, "src/main/java/p/C.java", JAVA, "p.C.call(int,int)", ["swap_args", "off_by_one"])
    assert "int call(int a, int b) { return diff(b, a) * 10; }" in got
    assert "int call(int a, int b) { return diff(a, b) * 11; }" in got


def test_java_identity_against_equals_both_ways_and_null_guard(tmp_path):
    got = candidates(tmp_path, "src/main/java/p/C.java", JAVA, "p.C.pick(String,String)", ["equality"])
    assert got == ["String pick(String a, String b) { return java.util.Objects.equals(a, b) ? a : b.trim(); }"]
    got = candidates(tmp_path, "src/main/java/p/C.java", JAVA, "p.C.same(String,String)", ["equality", "guard"])
    assert "boolean same(String a, String b) { return a == b; }" in got
    assert "boolean same(String a, String b) { return java.util.Objects.equals(a, b); }" in got
    assert "boolean same(String a, String b) { if (a == null) return false; return a.equals(b); }" in got
    # primitive parameters get no null guard
    assert not candidates(tmp_path, "src/main/java/p/C.java", JAVA, "p.C.diff(int,int)", ["guard"])


JS = """'use strict';
function isZero(v) {
  return v == 0;
}
const count = (xs, limit) => {
  let n = 0;
  for (let i = 0; i < xs.length; i++) {
    if (xs[i] !== undefined && xs[i] > limit) n += 1;
  }
  return n;
};
class Box {
  label(item) { return item.name + ':' + this.size; }
}
"""


def test_javascript_strict_equality_first(tmp_path):
    got = candidates(tmp_path, "lib/m.js", JS, "isZero", ["equality", "comparison"])
    assert got[0] == "function isZero(v) { return v === 0; }"  # the JS-specific fix ranks first
    assert "function isZero(v) { return v != 0; }" in got
    got = candidates(tmp_path, "lib/m.js", JS, "count", ["equality"])
    assert any("xs[i] != undefined" in g for g in got)


def test_javascript_boundaries_negation_and_optional_chaining(tmp_path):
    got = candidates(tmp_path, "lib/m.js", JS, "count", ["comparison", "off_by_one", "negation"])
    assert any("i <= xs.length" in g for g in got)
    assert any("i < xs.length - 1" in g for g in got)
    assert any("let i = 1;" in g for g in got)
    assert any("if (!(xs[i] !== undefined && xs[i] > limit))" in g for g in got)
    got = candidates(tmp_path, "lib/m.js", JS, "Box.label", ["guard"])
    assert "label(item) { return item?.name + ':' + this.size; }" in got
    assert "label(item) { if (item == null) return undefined; return item.name + ':' + this.size; }" in got
    assert not any("this?.size" in g for g in got)


def test_typescript_functions_get_the_same_operators(tmp_path):
    src = "export function clamp(x: number, hi: number): number {\n  return x > hi ? hi : x;\n}\n"
    got = candidates(tmp_path, "src/clamp.ts", src, "clamp", ["comparison"])
    assert "export function clamp(x: number, hi: number): number { return x >= hi ? hi : x; }" not in got  # span starts at `function`
    assert "function clamp(x: number, hi: number): number { return x >= hi ? hi : x; }" in got


def test_unknown_operator_names_are_refused():
    with pytest.raises(ValueError, match="unknown template operators"):
        TemplateEngine(operators=["no_such"])
