"""Pull a fixed method or function out of a model's answer for the tree-sitter languages
(Java, JavaScript, TypeScript), by parsing it.

Every fenced block (and the text around the fences) is parsed with the language's grammar; a
bare Java method is parsed inside a wrapper class. Among the functions found with the target's
name (a Java overload with the target's parameter types first), the last one that differs from
the original is the fix (answers quote the bug first). It is re-indented to the original column.
"""
from __future__ import annotations

import re

from patchwarden.repair.bug_context import FunctionInfo
from patchwarden.repair.candidate import normalize_source
from patchwarden.repair.answer_functions import Extracted, code_blocks
from patchwarden.repair.languages import get
from patchwarden.repair.languages.base import ParseProblem

JAVA_WRAPPER = "class PwAnswerWrapper {\n"


def _candidates(block: str, fn: FunctionInfo) -> list[tuple[FunctionInfo, str]]:
    """(function found, the text it was found in) for each function named like `fn` in `block`."""
    lang = get(fn.language)
    path = fn.path
    tries = [block]
    if fn.language == "java":
        tries.append(JAVA_WRAPPER + block + "\n}\n")
    for text in tries:
        try:
            found = lang.functions(text, path)
        except (ParseProblem, RuntimeError):
            continue
        named = [f for f in found if f.name == fn.name]
        if named:
            return [(f, text) for f in named]
    return []


def _signature(qualname: str) -> str:
    m = re.search(r"(\([^()]*\))$", qualname)
    return m.group(1) if m else ""


def _reindent(found: FunctionInfo, text: str, indent: str) -> str:
    """The function's text with its first line bare and the rest moved from its column to `indent`."""
    data = text.encode()
    line_start = data.rfind(b"\n", 0, found.start_byte) + 1
    base = data[line_start:found.start_byte].decode(errors="replace")
    base = base if not base.strip() else re.match(r"[ \t]*", base).group(0)
    lines = found.source.split("\n")
    out = [lines[0]]
    for line in lines[1:]:
        if not line.strip():
            out.append("")
        elif line.startswith(base):
            out.append(indent + line[len(base):])
        else:
            out.append(indent + line.lstrip())
    return "\n".join(out).rstrip()


def extract_ts_function(text: str, fn: FunctionInfo, indent: str = "") -> Extracted:
    """The fixed version of `fn` from a model answer, ready to splice by span (never raises)."""
    if not text or not text.strip():
        return Extracted(None, "empty answer")
    found: list[tuple[FunctionInfo, str]] = []
    for block in code_blocks(text):
        if fn.name not in block:
            continue
        found += _candidates(block, fn)
    if not found:
        return Extracted(None, f"no parsable function named {fn.name!r} in the answer"
                         if re.search(rf"\b{re.escape(fn.name)}\b", text) else f"no function named {fn.name!r} in the answer")
    want = _signature(fn.qualname)
    same_sig = [f for f in found if _signature(f[0].qualname) == want]
    pool = same_sig or found
    original = normalize_source(fn.source)
    changed = [f for f in pool if normalize_source(f[0].source) != original]
    if not changed:
        return Extracted(None, "unchanged: the answer repeats the buggy function")
    notes = [] if same_sig or not want else [f"the answer changed the signature to {_signature(changed[-1][0].qualname)}"]
    return Extracted(_reindent(*changed[-1], indent), notes=notes)
