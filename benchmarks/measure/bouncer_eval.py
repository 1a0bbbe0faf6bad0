"""Benchmark: the heuristic input bouncer and the evidence output bouncer on HumanEvalFix.

    python3 -m patchwarden.benchmarks.measure.bouncer_eval [--tasks N] [--json]

Input side. Each HumanEvalFix bug becomes issues written at four levels of detail, labelled
as they are written with the BouncerBench 0-3 scale: 0 a well-specified report (function
name, the failing call, expected and actual output), 1 a reasonable one (function and the
wrong behaviour in words), 2 vague, 3 impossible to act on ("it doesn't work"). Each level
has four templates with different wording; templates c/d are held out (the heuristic's
weights were written before this generator and are not fitted to it).

Output side. For each bug whose example test fails, candidate patches are built and run in
a local sandbox: the reference fix, template-engine style single mutations of the buggy and
of the canonical code, and an overfitting patch that special-cases the failing example. A
candidate is plausible when it passes the example test (the trigger test); its label is the
hidden test (`test`): bounce = fails it. The evidence bouncer sees what a repair run sees:
the diff, the example test's source, and how many plausible candidates behave the same on
probe inputs derived from the example calls. It never sees the hidden test.
"""
from __future__ import annotations

import argparse
import ast
import copy
import difflib
import json
import random
import textwrap
import time
from collections import Counter, defaultdict


from patchwarden.bouncer.data import Label
from patchwarden.bouncer.evidence import EvidenceOutputBouncer, PatchEvidence
from patchwarden.bouncer.heuristic import HeuristicInputBouncer
from patchwarden.bouncer.metrics import score_side
from patchwarden.repair.humanevalfix import load_rows
from patchwarden.sandboxes import Limits, open_sandbox

HELD_OUT = ("c", "d")

# -- issue templates: {fname} {call} {expected} {actual} {summary} {sig} ----------------------
TEMPLATES = {
    0: {
        "a": "`{fname}` returns the wrong result.\n\nTo reproduce:\n```python\n>>> {call}\n{actual}\n```\nExpected `{expected}`, got `{actual}`. The function should {summary}",
        "b": "Bug in {fname}{sig}: calling {call} gives {actual} instead of {expected}. Per its docstring it should {summary}",
        "c": "When I run `{call}` the output is {actual}, but the correct answer is {expected}.\n{fname} is documented to {summary}",
        "d": "{fname}: incorrect output\n\nInput: {call}\nActual: {actual}\nExpected: {expected}\n\nSpec: {summary}",
    },
    1: {
        "a": "{fname} does not behave as documented. It is meant to {summary}, but for some inputs it returns a different result.",
        "b": "The results from `{fname}` look incorrect for inputs like the examples in its docstring. It should {summary}",
        "c": "I believe there is a bug in {fname}{sig}: its output doesn't match the description ({summary}).",
        "d": "{fname} gives an incorrect answer on the documented examples; expected behaviour: {summary}",
    },
    2: {
        "a": "Something is off with one of the helper functions, the numbers don't look right.",
        "b": "The output is wrong sometimes. Can someone take a look?",
        "c": "I've been using this module in a project for a while and recently noticed that the results are sometimes not what I "
        "would expect. I am not sure whether it is related to my inputs or to something in the library, but it seems off. "
        "Maybe a recent change? Could someone have a look when they get a chance?",
        "d": "Getting strange results after the last update. Please investigate.",
    },
    3: {
        "a": "it doesn't work",
        "b": "broken",
        "c": "fix the bug please",
        "d": "Doesn't work for me, any ideas?",
    },
}

# -- the child that runs candidates inside the sandbox ---------------------------------------
CHILD = r'''
import ast, copy, json, signal, sys, textwrap

class Timeout(Exception):
    pass

def _alarm(*_):
    raise Timeout()

signal.signal(signal.SIGALRM, _alarm)

def limited(fn, secs):
    signal.setitimer(signal.ITIMER_REAL, secs)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)

def show(fn):
    try:
        return repr(limited(fn, 0.25))
    except Timeout:
        return "TIMEOUT"
    except BaseException as e:
        return "EXC:" + type(e).__name__

def check_parts(test_src):
    tree = ast.parse(textwrap.dedent(test_src))
    check = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "check")
    helpers = ast.Module([n for n in tree.body if n is not check and not isinstance(n, ast.Expr)], [])
    return tree, check, helpers

def passes(ns, entry, test_src):
    try:
        _, check, helpers = check_parts(test_src)
        g = dict(ns)
        exec(compile(ast.Module([*helpers.body, check], []), "test.py", "exec"), g)
        limited(lambda: g["check"](ns[entry]), 1)
        return True
    except BaseException:
        return False

class _Each(ast.NodeTransformer):
    """Top-level `assert X` of check() -> `__pw_each(lambda: X)`: each assert timed and counted alone."""
    def visit_FunctionDef(self, node):
        node.body = [ast.Expr(ast.Call(ast.Name("__pw_each", ast.Load()), [ast.Lambda(ast.arguments([], [], None, [], [], None, []), st.test)], []))
                     if isinstance(st, ast.Assert) else st for st in node.body]
        return node

def pass_fraction(ns, entry, test_src):
    """Fraction of the hidden test's asserts that pass (BouncerBench's output_quality)."""
    try:
        _, check, helpers = check_parts(test_src)
        if any(isinstance(n, ast.Assert) for st in check.body if not isinstance(st, ast.Assert) for n in ast.walk(st)):
            return None  # asserts inside loops: no per-assert count
        check = ast.fix_missing_locations(_Each().visit(check))
        results = []
        def each(fn):
            try:
                results.append(bool(limited(fn, 0.5)))
            except BaseException:
                results.append(False)
        g = dict(ns, __pw_each=each)
        exec(compile(ast.Module([*helpers.body, check], []), "test.py", "exec"), g)
        limited(lambda: g["check"](ns[entry]), 5)
        return sum(results) / len(results) if results else None
    except BaseException:
        return None

def first_mismatch(ns, entry, test_src):
    """The first `f(...) == expected` assert the candidate fails: (call, expected, actual)."""
    try:
        _, check, helpers = check_parts(test_src)
    except Exception:
        return None
    param = check.args.args[0].arg
    g = dict(ns)
    g[param] = ns[entry]
    for node in ast.walk(check):
        if isinstance(node, ast.Assert) and isinstance(node.test, ast.Compare) and isinstance(node.test.ops[0], ast.Eq):
            left, right = node.test.left, node.test.comparators[0]
            if not (isinstance(left, ast.Call) and isinstance(left.func, ast.Name) and left.func.id == param):
                continue
            src_l = ast.unparse(left)
            try:
                exp = limited(lambda: eval(ast.unparse(right), g), 2)
            except BaseException:
                continue
            act = show(lambda: eval(src_l, g))
            if act != repr(exp):
                return [src_l.replace(param + "(", entry + "(", 1), repr(exp), act]
    return None

task = json.load(open(sys.argv[1]))
out = {}
for cid, body in task["candidates"].items():
    ns = {}
    try:
        limited(lambda: exec(compile(task["prompt"] + body, "solution.py", "exec"), ns), 5)
    except BaseException as e:
        out[cid] = {"example": False, "hidden": False, "probe": [], "error": type(e).__name__}
        continue
    f = ns.get(task["entry_point"])
    res = {"example": passes(ns, task["entry_point"], task["example_test"]), "hidden": False, "probe": []}
    if res["example"]:  # only plausible candidates need the hidden test and the probes
        res["hidden"] = passes(ns, task["entry_point"], task["test"])
        res["fraction"] = 1.0 if res["hidden"] else pass_fraction(ns, task["entry_point"], task["test"])
        for a in task["probes"]:
            res["probe"].append(show(lambda: f(*copy.deepcopy(ast.literal_eval(a)))))
            if res["probe"][-1] == "TIMEOUT":
                break
    if cid == "buggy":
        res["mismatch"] = first_mismatch(ns, task["entry_point"], task["example_test"]) or first_mismatch(ns, task["entry_point"], task["test"])
    out[cid] = res
print(json.dumps(out))
'''


# -- mutations (template-engine style: one operator / constant / name change) ------------------
CMP = {ast.Lt: [ast.LtE, ast.Gt], ast.LtE: [ast.Lt, ast.GtE], ast.Gt: [ast.GtE, ast.Lt], ast.GtE: [ast.Gt, ast.LtE],
       ast.Eq: [ast.NotEq], ast.NotEq: [ast.Eq], ast.In: [ast.NotIn], ast.NotIn: [ast.In], ast.Is: [ast.IsNot], ast.IsNot: [ast.Is]}
BIN = {ast.Add: [ast.Sub, ast.Mult], ast.Sub: [ast.Add], ast.Mult: [ast.Add, ast.FloorDiv], ast.FloorDiv: [ast.Div, ast.Mult],
       ast.Div: [ast.FloorDiv, ast.Mult], ast.Mod: [ast.FloorDiv]}


def _sites(fn: ast.FunctionDef) -> list[tuple[int, object]]:
    """(node index in walk order, replacement) for every single mutation of the function body."""
    names = sorted({a.arg for a in fn.args.args} | {n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)})
    sites = []
    for i, node in enumerate(ast.walk(fn)):
        if isinstance(node, ast.Compare):
            sites += [(i, ("cmp", k, alt)) for k, op in enumerate(node.ops) for alt in CMP.get(type(op), [])]
        elif isinstance(node, ast.BinOp):
            sites += [(i, ("bin", alt)) for alt in BIN.get(type(node.op), [])]
        elif isinstance(node, ast.AugAssign):
            sites += [(i, ("aug", alt)) for alt in BIN.get(type(node.op), [])]
        elif isinstance(node, ast.BoolOp):
            sites.append((i, ("bool", ast.Or if isinstance(node.op, ast.And) else ast.And)))
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            sites += [(i, ("const", node.value + 1)), (i, ("const", node.value - 1))]
        elif isinstance(node, ast.Constant) and type(node.value) is bool:
            sites.append((i, ("const", not node.value)))
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in names:
            sites += [(i, ("name", other)) for other in names if other != node.id]
    return sites


def _mutate(module: ast.Module, entry: str, index: int, change) -> str | None:
    tree = copy.deepcopy(module)
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == entry)
    node = list(ast.walk(fn))[index]
    kind = change[0]
    if kind == "cmp":
        node.ops[change[1]] = change[2]()
    elif kind in ("bin", "aug"):
        node.op = change[1]()
    elif kind == "bool":
        node.op = change[1]()
    elif kind == "const":
        node.value = change[1]
    elif kind == "name":
        node.id = change[1]
    try:
        return ast.unparse(fn)
    except Exception:
        return None


def function_source(code: str, entry: str) -> tuple[ast.Module, str]:
    module = ast.parse(code)
    fn = next(n for n in module.body if isinstance(n, ast.FunctionDef) and n.name == entry)
    return module, ast.unparse(fn)


def mutants(code: str, entry: str, rng: random.Random, cap: int) -> list[str]:
    module, original = function_source(code, entry)
    fn = next(n for n in module.body if isinstance(n, ast.FunctionDef) and n.name == entry)
    sites = _sites(fn)
    rng.shuffle(sites)
    out, seen = [], {original}
    for index, change in sites:
        src = _mutate(module, entry, index, change)
        if src and src not in seen:
            seen.add(src)
            out.append(src)
        if len(out) >= cap:
            break
    return out


# -- probes: inputs near the example calls, for behavioural agreement ---------------------------
def _variants(value) -> list:
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1, value - 1, value * 2 + 3]
    if isinstance(value, float):
        return [value * 2, value / 2 + 0.1]
    if isinstance(value, str):
        return [value[::-1], value + value[:1], value[1:]]
    if isinstance(value, list):
        return [value[::-1], value[:-1], value + value[:1]]
    if isinstance(value, tuple):
        return [value[::-1]]
    return []


def probes(example_test: str, param_count: int) -> list[str]:
    out: list[str] = []
    try:
        tree = ast.parse(textwrap.dedent(example_test))
    except SyntaxError:
        return out
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id != "check" and len(node.args) == param_count:
            try:
                args = [ast.literal_eval(a) for a in node.args]
            except (ValueError, SyntaxError):
                continue
            out.append(repr(tuple(args)))
            for i, a in enumerate(args):
                for v in _variants(a):
                    out.append(repr(tuple(args[:i] + [v] + args[i + 1 :])))
    return list(dict.fromkeys(out))[:24]


def overfit_body(prompt: str, buggy: str, entry: str, mismatch) -> str | None:
    """The buggy body plus `if <args> == <failing example>: return <expected>`."""
    if not mismatch:
        return None
    call, expected, _ = mismatch
    try:
        node = ast.parse(call, mode="eval").body
        fn = next(n for n in ast.parse(prompt + buggy).body if isinstance(n, ast.FunctionDef) and n.name == entry)
    except (SyntaxError, StopIteration):
        return None
    params = [a.arg for a in fn.args.args]
    if len(params) != len(node.args) or not params:
        return None
    cond = " and ".join(f"{p} == {ast.unparse(a)}" for p, a in zip(params, node.args))
    return f"    if {cond}:\n        return {expected}\n" + buggy


def diff(old: str, new: str) -> str:
    lines = difflib.unified_diff(old.splitlines(True), new.splitlines(True), "a/solution.py", "b/solution.py")
    return "".join(l if l.endswith("\n") else l + "\n" for l in lines)


# -- running -----------------------------------------------------------------------------------
def run_tasks(tasks: list[dict], rng_seed: int, cap: int) -> list[dict]:
    """Run every task's candidates in one local sandbox, one child process per task."""
    results = []
    with open_sandbox("local", limits=Limits(memory_mb=1024, cpu_seconds=120)) as sbx:
        sbx.put_files({"child.py": CHILD})
        for n, task in enumerate(tasks):
            rng = random.Random(rng_seed + n)
            prompt, entry = task["prompt"], task["entry_point"]
            cands = {"buggy": task["buggy_solution"], "reference": task["canonical_solution"]}
            indent = "    "
            for origin, body in (("from_buggy", task["buggy_solution"]), ("from_canonical", task["canonical_solution"])):
                try:
                    for k, src in enumerate(mutants(prompt + body, entry, rng, cap)):
                        cands[f"{origin}:{k}"] = _as_body(src, indent)
                except (SyntaxError, StopIteration):
                    pass
            fn_params = len(next(n for n in ast.parse(prompt + task["canonical_solution"]).body if isinstance(n, ast.FunctionDef) and n.name == entry).args.args)
            payload = {"prompt": prompt, "entry_point": entry, "example_test": task["example_test"], "test": task["test"],
                       "candidates": cands, "probes": probes(task["example_test"], fn_params)}
            sbx.put_files({"task.json": json.dumps(payload)})
            res = sbx.run(["python3", "child.py", "task.json"], timeout=120)
            try:
                out = json.loads(res.stdout.strip().splitlines()[-1])
            except (IndexError, json.JSONDecodeError):
                continue
            mismatch = out.get("buggy", {}).get("mismatch")
            overfit = overfit_body(prompt, task["buggy_solution"], entry, mismatch)
            if overfit and out["buggy"].get("example") is False:
                sbx.put_files({"task.json": json.dumps(dict(payload, candidates={"overfit": overfit}))})
                extra = sbx.run(["python3", "child.py", "task.json"], timeout=60)
                try:
                    out.update(json.loads(extra.stdout.strip().splitlines()[-1]))
                    cands["overfit"] = overfit
                except (IndexError, json.JSONDecodeError):
                    pass
            results.append({"task": task, "candidates": cands, "runs": out})
            if (n + 1) % 20 == 0 or n + 1 == len(tasks):
                print(f"  ran {n + 1}/{len(tasks)} tasks in the sandbox", flush=True)
    return results


def _as_body(function_src: str, indent: str) -> str:
    """The body of an unparsed function, as HumanEval stores it (after the prompt's signature)."""
    fn = ast.parse(function_src).body[0]
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) and isinstance(body[0].value.value, str):
        body = body[1:]  # the prompt already holds the docstring
    return "\n".join(textwrap.indent(ast.unparse(stmt), indent) for stmt in body) + "\n"


# -- input benchmark ----------------------------------------------------------------------------
def summary_of(task: dict) -> str:
    text = " ".join(task["docstring"].split(">>>")[0].split())
    first = text.split(". ")[0].rstrip(".")
    first = first[0].lower() + first[1:] if first else "do what its docstring says"
    return first + "."


def build_issues(ran: list[dict]) -> list[dict]:
    issues = []
    for r in ran:
        task, mismatch = r["task"], r["runs"].get("buggy", {}).get("mismatch")
        if not mismatch:
            continue
        call, expected, actual = mismatch
        fields = {"fname": task["entry_point"], "call": call, "expected": expected, "actual": actual,
                  "summary": summary_of(task), "sig": "(" + task["signature"].split("(", 1)[1].split(")")[0] + ")"}
        for level, templates in TEMPLATES.items():
            for name, tpl in templates.items():
                issues.append({"id": f"{task['task_id']}:{level}{name}", "level": level, "template": name, "text": tpl.format(**fields)})
    return issues


def eval_input(issues: list[dict], threshold: float) -> dict:
    bouncer = HeuristicInputBouncer(threshold)
    decisions = {i["id"]: bouncer.judge(i["text"]) for i in issues}
    report = {}
    for subset, keep in (("all templates", lambda i: True), ("held-out templates c/d", lambda i: i["template"] in HELD_OUT)):
        chosen = [i for i in issues if keep(i)]
        labels = {i["id"]: Label(i["id"], input_quality=i["level"], input_bounce=i["level"] >= 2) for i in chosen}
        m = score_side("input", labels, {i["id"]: decisions[i["id"]].bounce for i in chosen})
        always_accept = score_side("input", labels, {i["id"]: False for i in chosen})
        rate = {lvl: sum(decisions[i["id"]].bounce for i in chosen if i["level"] == lvl) / max(1, sum(1 for i in chosen if i["level"] == lvl)) for lvl in TEMPLATES}
        report[subset] = {"n": len(chosen), **m.leaderboard(), "always_accept": always_accept.leaderboard(),
                          "bounce_rate_by_level": {str(k): round(100 * v, 1) for k, v in rate.items()}}
    return report


# -- output benchmark ---------------------------------------------------------------------------
def build_patches(ran: list[dict], per_origin: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    items = []
    for r in ran:
        task, runs, cands = r["task"], r["runs"], r["candidates"]
        if runs.get("buggy", {}).get("example", True):
            continue  # the example test does not fail: nothing triggers a repair
        plausible = {cid for cid, res in runs.items() if cid != "buggy" and res.get("example")}
        by_origin = defaultdict(list)
        for cid in sorted(plausible):
            by_origin[cid.split(":")[0]].append(cid)
        pool = []
        for origin, cids in by_origin.items():
            rng.shuffle(cids)
            pool += cids[: (1 if origin in ("reference", "overfit") else per_origin)]
        signatures = Counter(tuple(runs[cid]["probe"]) for cid in pool)
        _, buggy_fn = function_source(task["prompt"] + task["buggy_solution"], task["entry_point"])
        for cid in pool:
            try:
                _, cand_fn = function_source(task["prompt"] + cands[cid], task["entry_point"])
            except (SyntaxError, StopIteration):
                continue
            fraction = runs[cid].get("fraction")
            items.append({
                "id": f"{task['task_id']}:{cid}", "origin": cid.split(":")[0], "correct": runs[cid]["hidden"],
                "quality": 1.0 if runs[cid]["hidden"] else min(fraction if fraction is not None else 0.0, 0.99),
                "evidence": PatchEvidence(
                    patch=diff(buggy_fn + "\n", cand_fn + "\n"),
                    trigger_tests=["test_example.py::check"],
                    test_sources={"test_example.py::check": textwrap.dedent(task["example_test"])},
                    trigger_passed=True,
                    regressions=None,  # HumanEvalFix has no other visible tests
                    agreeing=signatures[tuple(runs[cid]["probe"])],
                    plausible=len(pool),
                ),
            })
    return items


DEV_TASKS = 12  # Python/0-11 were looked at while the evidence weights were written


def eval_output(items: list[dict], threshold: float) -> dict:
    report = _eval_output(items, threshold)
    held_out = [i for i in items if int(i["id"].split(":")[0].split("/")[1]) >= DEV_TASKS]
    report[f"held-out tasks (Python/{DEV_TASKS}+)"] = {k: v for k, v in _eval_output(held_out, threshold).items() if k != "by origin"}
    return report


def _eval_output(items: list[dict], threshold: float) -> dict:
    bouncer = EvidenceOutputBouncer(threshold)
    labels = {i["id"]: Label(i["id"], output_quality=i["quality"], output_bounce=not i["correct"]) for i in items}
    full = {i["id"]: bouncer.judge_evidence(i["evidence"]).bounce for i in items}
    no_agree = {}
    for i in items:
        ev = copy.copy(i["evidence"])
        ev.agreeing, ev.plausible = 1, 1
        no_agree[i["id"]] = bouncer.judge_evidence(ev).bounce
    report = {"n": len(items), "correct": sum(i["correct"] for i in items),
              "evidence bouncer": score_side("output", labels, full).leaderboard(),
              "without agreement": score_side("output", labels, no_agree).leaderboard(),
              "always accept": score_side("output", labels, {k: False for k in labels}).leaderboard()}
    by_origin = {}
    for origin in sorted({i["origin"] for i in items}):
        chosen = [i for i in items if i["origin"] == origin]
        by_origin[origin] = {"n": len(chosen), "correct": sum(i["correct"] for i in chosen),
                             "bounced": sum(full[i["id"]] for i in chosen),
                             "bounced_wrong": sum(full[i["id"]] for i in chosen if not i["correct"]),
                             "bounced_correct": sum(full[i["id"]] for i in chosen if i["correct"])}
    report["by origin"] = by_origin
    return report


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", type=int, default=None, help="only the first N HumanEvalFix tasks")
    ap.add_argument("--mutants", type=int, default=20, help="mutants tried per source (buggy, canonical) per task")
    ap.add_argument("--per-origin", type=int, default=3, help="plausible mutants kept per source per task")
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    args = ap.parse_args(argv)
    tasks = load_rows()[: args.tasks]
    start = time.time()
    ran = run_tasks(tasks, args.seed, args.mutants)
    issues = build_issues(ran)
    patches = build_patches(ran, args.per_origin, args.seed)
    report = {"tasks": len(tasks), "seconds": round(time.time() - start, 1),
              "input (heuristic bouncer)": eval_input(issues, args.threshold),
              "output (evidence bouncer)": eval_output(patches, args.threshold)}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{len(tasks)} HumanEvalFix tasks, {report['seconds']} s")
    for subset, m in report["input (heuristic bouncer)"].items():
        print(f"input  [{subset}] n={m['n']}: F_m {m['F_m']:.3f}  R_b {m['R_b']:.1f}%  FNR_a {m['FNR_a']:.1f}%  I-Score {m['I_Score']:.3f}"
              f"  (always-accept F_m {m['always_accept']['F_m']:.3f}, I {m['always_accept']['I_Score']:.3f});"
              f" bounce % by level 0/1/2/3: {'/'.join(str(v) for v in m['bounce_rate_by_level'].values())}")
    out = report["output (evidence bouncer)"]
    print(f"output n={out['n']} patches ({out['correct']} correct):")
    for name in ("evidence bouncer", "without agreement", "always accept"):
        m = out[name]
        print(f"  {name:18s} F_m {m['F_m']:.3f}  R_b {m['R_b']:.1f}%  FNR_a {m['FNR_a']:.1f}%  O-Score {m['O_Score']:.3f}")
    held = next(v for k, v in out.items() if k.startswith("held-out"))
    m = held["evidence bouncer"]
    print(f"  held-out tasks     F_m {m['F_m']:.3f}  R_b {m['R_b']:.1f}%  FNR_a {m['FNR_a']:.1f}%  O-Score {m['O_Score']:.3f}  (n={held['n']})")
    for origin, m in out["by origin"].items():
        print(f"  {origin:15s} n={m['n']:4d} correct={m['correct']:4d} bounced wrong={m['bounced_wrong']:4d} bounced correct={m['bounced_correct']:4d}")


if __name__ == "__main__":
    main()
