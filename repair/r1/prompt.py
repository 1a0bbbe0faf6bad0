"""The test-then-repair instruction, with its one-shot example (valid JSON, unlike the released one)."""
from __future__ import annotations

from .answer import render_answer

_EXAMPLE_BUGGY = '''def add(x, y):
    """Return the sum of x and y."""
    return x - y'''

_EXAMPLE_ANSWER = render_answer(
    ["assert add(1, 2) == 3", "assert add(-1, 1) == 0", "assert add(10, -3) == 7"],
    _EXAMPLE_BUGGY.replace("x - y", "x + y"),
)

INSTRUCTION = """You are an expert in software testing and repair. You are given a buggy Python function.
First write assertions that expose the bug (they must pass on the correct function and fail on the buggy one),
then write the fixed code. Answer with exactly one ```json block holding a JSON list of assert strings,
followed by exactly one ```python block holding the complete fixed code.

Example. The buggy function is:
```python
{example_buggy}
```
Answer:
{example_answer}

Now the buggy function is:
```python
{buggy}
```
Answer:
"""


# The same task for the tree-sitter languages: the one-shot example in the function's own language.
_OTHER = {
    "java": ("Java", "java", "int add(int x, int y) {\n    return x - y;\n}", ["add(1, 2) == 3", "add(-1, 1) == 0"]),
    "javascript": ("JavaScript", "javascript", "function add(x, y) {\n  return x - y;\n}", ["add(1, 2) === 3", "add(-1, 1) === 0"]),
    "typescript": ("TypeScript", "typescript", "function add(x: number, y: number): number {\n  return x - y;\n}",
                   ["add(1, 2) === 3", "add(-1, 1) === 0"]),
}


def build_prompt(buggy_code: str, language: str = "python") -> str:
    """The instruction for one buggy function; Python's is the one the policy was trained with."""
    if language in _OTHER:
        name, fence, example, tests = _OTHER[language]
        answer = render_answer(tests, example.replace("x - y", "x + y")).replace("```python", f"```{fence}")
        text = INSTRUCTION.replace("Python function", f"{name} function").replace("assertions", "boolean test expressions")
        text = text.replace("JSON list of assert strings", "JSON list of expression strings").replace("```python", f"```{fence}")
        return text.format(example_buggy=example, example_answer=answer, buggy=buggy_code.rstrip())
    return INSTRUCTION.format(example_buggy=_EXAMPLE_BUGGY, example_answer=_EXAMPLE_ANSWER, buggy=buggy_code.rstrip())


def as_messages(prompt: str) -> list[dict]:
    return [{"role": "user", "content": prompt}]
