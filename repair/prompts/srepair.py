"""SRepair's prompts (Xiang et al. 2024), in our words: one suggestion prompt, one patch prompt,
and their multi-function (`Function ID: k`) variants, plus the parser for suggestion answers."""
from __future__ import annotations

import re
from dataclasses import dataclass

from patchwarden.repair.bug_context import FunctionInfo

SYSTEM = "You are an expert software engineer. You find the root cause of bugs and fix them precisely."
IMPORTS = ("If the fix needs a module the file does not import yet, write the import statement(s) in the same "
           "code block, above the function (e.g. `from shlex import quote`); they are added to the file's imports. "
           "Nothing else outside the function is applied: no new globals, classes or top-level statements.")


@dataclass
class Suggestion:
    title: str
    body: str

    @property
    def text(self) -> str:
        return f"{self.title}\n{self.body}".strip()


def _lang(fn: FunctionInfo) -> str:
    """The code-fence tag of the function's language (`java`, `javascript`, `typescript`, `python`)."""
    from patchwarden.repair.languages import LANGUAGES

    lang = LANGUAGES.get(fn.language or "python")
    return lang.fence if lang is not None else (fn.language or "python")


def _class_block(fn: FunctionInfo, class_context: str | None) -> str:
    """The outline of the class a method belongs to (fields, other members' signatures), when known."""
    if not class_context:
        return ""
    return f"## Class Context\nThe method belongs to this class (bodies elided):\n```{_lang(fn)}\n{class_context}\n```\n\n"


def _function_block(fn: FunctionInfo, code: str) -> str:
    """The function's leading comments, then its code (its docstring is part of the code)."""
    comments = f"{fn.comments}\n" if fn.comments else ""
    return f"```{_lang(fn)}\n{comments}{code}\n```"


def _context(test_source: str | None, test_id: str | None, error: str, issue: str | None, fence: str = "python") -> str:
    parts = []
    if test_source:
        parts.append(f"## Trigger Test\n`{test_id}`\n```{fence}\n{test_source}\n```")
    elif test_id:
        parts.append(f"## Trigger Test\n`{test_id}` (source not available)")
    if error:
        parts.append(f"## Error Message\n```\n{error}\n```")
    if issue:
        parts.append(f"## Issue Report\n{issue.strip()}")
    return "\n\n".join(parts)


def suggestion_messages(fn: FunctionInfo, code: str, test_source: str | None, test_id: str | None, error: str,
                        issue: str | None, k: int, class_context: str | None = None) -> list[dict]:
    user = (
        "Analyse the buggy function below together with the trigger test and its error message. "
        "Find the root cause of the bug, then propose different ways to fix it. Only this function may "
        "change: do not add new functions and do not change other code.\n\n"
        f"## Buggy Function\n`{fn.path}` `{fn.qualname}`\n{_function_block(fn, code)}\n\n"
        f"{_class_block(fn, class_context)}{_context(test_source, test_id, error, issue, _lang(fn))}\n\n"
        "## Answer format\nRoot Cause: <one paragraph>\n\n"
        + "\n".join(f"Suggestion {i}: <short title>\n<how to change the function>" for i in range(1, k + 1))
        + f"\n\nGive exactly {k} suggestion{'s' if k > 1 else ''}, each a distinct fix."
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def patch_messages(fn: FunctionInfo, code: str, root_cause: str, suggestion: Suggestion,
                   class_context: str | None = None) -> list[dict]:
    imports = IMPORTS if (fn.language or "python") == "python" else \
        "Change only this function: nothing outside it is applied (no new imports, fields or classes)."
    user = (
        "Provide a fix for the buggy function.\n\n"
        f"Root cause: {root_cause or 'not stated'}\n\nSuggestion: {suggestion.text}\n\n"
        f"## Buggy Function\n{_function_block(fn, code)}\n\n{_class_block(fn, class_context)}"
        f"## Fixed Function\nAnswer with the complete fixed function `{fn.name}` (same name and signature "
        f"unless the fix needs otherwise) in one ```{_lang(fn)} code block, and nothing else. {imports}"
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def multi_suggestion_messages(fns: list[tuple[FunctionInfo, str]], test_source: str | None, test_id: str | None,
                              error: str, issue: str | None, k: int) -> list[dict]:
    listing = "\n\n".join(
        f"Function ID: {i}\n`{fn.path}` `{fn.qualname}`\n{_function_block(fn, code)}" for i, (fn, code) in enumerate(fns, 1)
    )
    user = (
        f"The bug involves the {len(fns)} functions below; they must be fixed together. Analyse them with the "
        "trigger test and its error message, find the root cause, and propose different ways to fix it. Only "
        "these functions may change: do not add new functions.\n\n"
        f"## Buggy Functions\n{listing}\n\n{_context(test_source, test_id, error, issue, _lang(fns[0][0]))}\n\n"
        "## Answer format\nRoot Cause: <one paragraph>\n\n"
        + "\n".join(
            f"Suggestion {i}: <short title>\n" + "\n".join(f"Function ID: {j}\n<change to function {j}>" for j in range(1, len(fns) + 1))
            for i in range(1, k + 1)
        )
        + f"\n\nGive exactly {k} suggestion{'s' if k > 1 else ''}."
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def multi_patch_messages(fns: list[tuple[FunctionInfo, str]], root_cause: str, suggestion: Suggestion) -> list[dict]:
    listing = "\n\n".join(f"Function ID: {i}\n{_function_block(fn, code)}" for i, (fn, code) in enumerate(fns, 1))
    fmt = "\n\n".join(
        f"Function ID: {i}\nFixed function code:\n```{_lang(fn)}\n<the complete fixed `{fn.name}`>\n```" for i, (fn, _) in enumerate(fns, 1)
    )
    user = (
        "Provide a fix for the buggy functions; they must change together.\n\n"
        f"Root cause: {root_cause or 'not stated'}\n\nSuggestion: {suggestion.text}\n\n"
        f"## Buggy Functions\n{listing}\n\n## Fixed Functions\nAnswer in exactly this format:\n\n{fmt}\n\n"
        f"A function that needs no change may be repeated as it is. {IMPORTS}"
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


_ROOT = re.compile(r"^[ \t#>*_-]*root[ \t_-]*cause[*_ ]*[:：]?[*_]*[ \t]*", re.I | re.M)
_SUGG = re.compile(r"^[ \t#>*_-]*suggestion[ \t]*(\d+)[*_ ]*[:.)：-]?[*_]*[ \t]*", re.I | re.M)


def parse_suggestions(text: str) -> tuple[str, list[Suggestion]]:
    """`Root Cause: ...` and numbered `Suggestion k: title\\nbody`, tolerant of markdown decoration."""
    text = text or ""
    marks = list(_SUGG.finditer(text))
    root = ""
    m = _ROOT.search(text)
    if m:
        end = marks[0].start() if marks and marks[0].start() > m.end() else len(text)
        root = text[m.end() : end].strip()
    out: list[Suggestion] = []
    for i, s in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        chunk = text[s.end() : end].strip()
        title, _, body = chunk.partition("\n")
        title = title.strip().strip("*_").strip()
        if title or body.strip():
            out.append(Suggestion(title, body.strip()))
    return root, out
