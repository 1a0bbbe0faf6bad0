"""The answer format: exactly one ```json block (a list of tests), then exactly one ```python block.

`parse_answer` never raises: it returns what it found and, when the format is broken, why.
"""
from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field

from patchwarden.sandboxes.safe_ast import safe_parse

JSON_FENCE = "```json"
PYTHON_FENCE = "```python"
_BLOCKS = re.compile(r"```json(.*?)```.*?```python(.*?)```", re.DOTALL)


@dataclass
class Answer:
    tests: list = field(default_factory=list)  # the parsed JSON list (may hold non-strings when malformed)
    fix: str | None = None  # the python block, or None when missing
    problem: str = ""  # why the format is broken; "" when it holds

    @property
    def well_formed(self) -> bool:
        return not self.problem


def completion_text(completion) -> str:
    """TRL hands a completion as text, or as a list of chat messages for conversational data."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        return "".join(m.get("content", "") or "" for m in completion if isinstance(m, dict))
    if isinstance(completion, dict):
        return completion.get("content", "") or ""
    return str(completion)


def parses(code: str) -> bool:
    try:
        safe_parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def is_assert_test(test) -> bool:
    """A function-level test: a string of Python holding at least one top-level `assert`."""
    if not isinstance(test, str) or not test.strip():
        return False
    try:
        tree = safe_parse(test)
    except (SyntaxError, ValueError):
        return False
    return any(isinstance(node, ast.Assert) for node in tree.body)


def parse_answer(text: str) -> Answer:
    """Split a completion into tests and fix; `problem` names the first format violation."""
    if text.count(JSON_FENCE) != 1:
        return Answer(fix=_python_block(text), problem=f"expected exactly one {JSON_FENCE} block, found {text.count(JSON_FENCE)}")
    if text.count(PYTHON_FENCE) != 1:
        return Answer(problem=f"expected exactly one {PYTHON_FENCE} block, found {text.count(PYTHON_FENCE)}")
    match = _BLOCKS.search(text)
    if not match:
        return Answer(fix=_python_block(text), problem="the ```json block must come first and be closed, then the ```python block")
    json_part, fix = match.group(1).strip(), match.group(2).strip("\n")
    try:
        tests = json.loads(json_part)
    except json.JSONDecodeError as exc:
        return Answer(fix=fix, problem=f"the tests are not valid JSON ({exc.msg})")
    if not isinstance(tests, list):
        return Answer(fix=fix, problem=f"the tests must be a JSON list, got {type(tests).__name__}")
    if not fix.strip() or not parses(fix):
        return Answer(tests=tests, fix=fix, problem="the fix is empty or not valid Python")
    bad = [i for i, t in enumerate(tests) if not is_assert_test(t)]
    if bad:
        return Answer(tests=tests, fix=fix, problem=f"test #{bad[0]} is not a string holding an assert statement")
    return Answer(tests=tests, fix=fix)


def _python_block(text: str) -> str | None:
    start = text.find(PYTHON_FENCE)
    if start < 0:
        return None
    body = text[start + len(PYTHON_FENCE):]
    end = body.find("```")
    return body[:end].strip("\n") if end >= 0 else None


def render_answer(tests: list[str], fix: str) -> str:
    """The canonical answer text (for the one-shot example, toy tasks and tests)."""
    return f"{JSON_FENCE}\n{json.dumps(tests, indent=2)}\n```\n{PYTHON_FENCE}\n{fix.rstrip()}\n```"
