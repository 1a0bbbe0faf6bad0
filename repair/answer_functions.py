"""Pull a fixed function out of a model's free-form answer, ready to splice by span.

Model answers come with prose around the code, no fence or several fences, the buggy version
quoted before the fix, extra helper functions, a whole class around a method, or the wrong
indentation. `extract_function` finds the function with the target name, nests helpers it needs,
keeps the original's decorators when the answer drops them, and re-indents it to the original
column. It never raises on garbage: it returns a reason instead.
"""
from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass, field

from patchwarden.repair.candidate import normalize_source
from patchwarden.repair.imports import answer_extras
from patchwarden.sandboxes.safe_ast import safe_parse

FENCE = re.compile(r"^[ \t]*(```|~~~)[^\n]*$", re.M)
FUNCTION_ID = re.compile(r"^[ \t*#>`-]*Function\s+ID\s*[:#]?\s*(\d+)\b[*`]*[^\n]*$", re.M | re.I)
MAX_LINES = 2000  # longer answers are cut before the salvage loop


@dataclass
class Extracted:
    source: str | None  # first line unindented, later lines at the original column; None = rejected
    reason: str = ""  # why it was rejected
    notes: list[str] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)  # import statements the fix needs (repair/imports.py)

    @property
    def ok(self) -> bool:
        return self.source is not None


def code_blocks(text: str) -> list[str]:
    """Fenced blocks in order; an unclosed last fence runs to the end. No fence: the whole text."""
    marks = list(FENCE.finditer(text))
    blocks = []
    for i in range(0, len(marks), 2):
        start = marks[i].end() + 1
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        blocks.append(text[start:end])
    if not blocks:
        blocks.append(text)
    elif len(marks) % 2 == 0:
        # Code may also sit outside the fences (e.g. the fix after a fenced quote of the bug).
        outside = FENCE.sub("", text)
        blocks.append(outside)
    return blocks


def _defs_named(tree: ast.AST, name: str) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    found = []
    for node in getattr(tree, "body", []):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            found.append(node)
        elif isinstance(node, ast.ClassDef):
            found += [n for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name]
    return found


def _parse_salvage(code: str, name: str) -> tuple[ast.Module, list[str]] | None:
    """Parse the code; if it does not parse, cut it to the longest parsable run starting at `def name`."""
    code = textwrap.dedent(code.expandtabs(8) if "\t" in code and " " in code else code)
    lines = code.splitlines()[:MAX_LINES]
    try:
        return safe_parse("\n".join(lines)), lines
    except SyntaxError:
        pass
    start_re = re.compile(rf"^(\s*)(async\s+)?def\s+{re.escape(name)}\s*\(")
    for i, line in enumerate(lines):
        m = start_re.match(line)
        if not m:
            continue
        j = i  # take decorators right above the def along
        while j > 0 and lines[j - 1].strip().startswith("@") and lines[j - 1].startswith(m.group(1)):
            j -= 1
        chunk = textwrap.dedent("\n".join(lines[j:])).splitlines()
        for end in range(len(chunk), 0, -1):
            try:
                return safe_parse("\n".join(chunk[:end])), chunk[:end]
            except SyntaxError:
                continue
    return None


def _segment(lines: list[str], node: ast.AST) -> list[str]:
    first = min([d.lineno for d in node.decorator_list] + [node.lineno])
    return textwrap.dedent("\n".join(lines[first - 1 : node.end_lineno])).splitlines()


def _helpers(tree: ast.Module, lines: list[str], target: ast.AST, known: set[str]) -> list[tuple[str, list[str]]]:
    """Top-level functions of the answer that the target calls and the original file lacks."""
    used = {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    out = []
    for node in tree.body:
        if (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node is not target
                and node.name in used and node.name not in known):
            out.append((node.name, _segment(lines, node)))
    return out


def _nest(func_lines: list[str], helpers: list[list[str]]) -> list[str]:
    """Insert helper functions at the top of the function body (after its docstring)."""
    tree = safe_parse("\n".join(func_lines))
    fn = tree.body[0]
    body0 = fn.body[0]
    at = body0.end_lineno if (isinstance(body0, ast.Expr) and isinstance(getattr(body0, "value", None), ast.Constant)
                             and isinstance(body0.value.value, str) and len(fn.body) > 1) else body0.lineno - 1
    indent = " " * body0.col_offset
    inserted = []
    for h in helpers:
        inserted += [indent + ln if ln.strip() else "" for ln in h]
    return func_lines[:at] + inserted + func_lines[at:]


def _at_zero(original: str, indent: str) -> str:
    """A span's text (first line unindented, the rest under `indent`) as a column-0 function."""
    return textwrap.dedent(indent + original)


def _tabify(lines: list[str]) -> list[str]:
    """Indent with tabs, one per level (for files indented with tabs)."""
    widths = [len(ln) - len(ln.lstrip(" ")) for ln in lines if ln.strip()]
    unit = min((w for w in widths if w), default=4)
    return [("\t" * ((len(ln) - len(ln.lstrip(" "))) // unit) + ln.lstrip(" ")) if ln.strip() else "" for ln in lines]


def _original_decorators(original0: str) -> list[str]:
    out = []
    for ln in original0.splitlines():
        if ln.lstrip().startswith(("def ", "async ")):
            break
        out.append(ln)
    return out if out and out[0].lstrip().startswith("@") else []


def place(func_lines: list[str], indent: str) -> str:
    """Re-indent a column-0 function for splicing after `indent`: first line bare, the rest shifted."""
    pad = indent
    out = [func_lines[0]] + [pad + ln if ln.strip() else "" for ln in func_lines[1:]]
    return "\n".join(out).rstrip()


def extract_function(text: str, name: str, original: str, col: int | str = 0, *, known_names: set[str] | None = None,
                     language: str = "python", module_text: str | None = None) -> Extracted:
    """The fixed version of function `name` from a model answer, placed at column `col`.

    `col` is the column of the original def, or the exact whitespace before it (tabs kept).

    `original` is the buggy function's span text (first line unindented), used to tell the fix
    from a quote of the bug and to restore dropped decorators. `known_names`: names defined in
    the original file (helpers already there are not nested). Imports the fix uses come back in
    `imports`; other module-level code it depends on is refused (`module_text`: the original file,
    to tell quoted module code from changed code).
    """
    if language != "python":
        return Extracted(None, f"extraction for {language} goes through extract_ts.extract_ts_function")
    if not text or not text.strip():
        return Extracted(None, "empty answer")
    found: list[tuple[list[str], list[str], tuple]] = []  # (function lines at col 0, notes, (tree, node))
    for block in code_blocks(text):
        if not re.search(rf"\bdef\s+{re.escape(name)}\s*\(", block):
            continue
        parsed = _parse_salvage(block, name)
        if parsed is None:
            continue
        tree, lines = parsed
        for node in _defs_named(tree, name):
            notes = []
            seg = _segment(lines, node)
            helpers = _helpers(tree, lines, node, (known_names or set()) | {name})
            if helpers:
                seg = _nest(seg, [h for _, h in helpers])
                notes.append("nested helper(s): " + ", ".join(n for n, _ in helpers))
            found.append((seg, notes, (tree, node)))
    if not found:
        has_def = re.search(rf"\bdef\s+{re.escape(name)}\b", text)
        return Extracted(None, "no parsable function" if has_def else f"no function named {name!r} in the answer")
    indent = col if isinstance(col, str) else " " * col
    original0 = _at_zero(original, indent)
    orig_norm = normalize_source(original0)
    changed = [f for f in found if normalize_source("\n".join(f[0])) != orig_norm]
    if not changed:
        return Extracted(None, "unchanged: the answer repeats the buggy function")
    seg, notes, _ = changed[-1]  # answers quote the bug first and end with the fix
    # The same fix may also be found in the text around the fences (parsed from `def` on): read
    # what sits beside it (imports) in the first block that holds it, the fenced one.
    tree, node = next(f[2] for f in changed if normalize_source("\n".join(f[0])) == normalize_source("\n".join(seg)))
    keep = [n for n in tree.body if n is node or (isinstance(n, ast.ClassDef) and node in ast.walk(n))]
    imports, refusal, extra_notes = answer_extras(tree, keep, "\n".join(seg), name, module_text)
    if refusal:
        return Extracted(None, refusal)
    notes = notes + extra_notes
    if not seg[0].lstrip().startswith("@"):
        decorators = _original_decorators(original0)
        if decorators:
            seg = decorators + seg
            notes.append("kept the original decorators")
    if any(ln.startswith("\t") for ln in original0.splitlines()):
        seg = _tabify([ln.expandtabs(8) for ln in seg])
    return Extracted(place(seg, indent), notes=notes, imports=imports)


def split_function_sections(text: str) -> dict[int, str]:
    """Split a multi-function answer into `Function ID: k` sections (k -> text)."""
    marks = list(FUNCTION_ID.finditer(text or ""))
    out: dict[int, str] = {}
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        out.setdefault(int(m.group(1)), text[m.end() : end])
    return out


def indent_before(file_text: str, start_byte: int) -> str:
    """The whitespace before a span's start on its line (the indentation of a def)."""
    head = file_text.encode()[:start_byte]
    return head.rsplit(b"\n", 1)[-1].decode(errors="replace")
