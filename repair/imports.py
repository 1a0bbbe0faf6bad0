"""What a model answer puts outside the fixed function: imports we merge, other code we refuse.

Models often write `from shlex import quote` above the function they return. `answer_extras`
sorts an answer's top-level statements: imports the fix uses are kept (merged later by
`import_edit` as one zero-width edit after the module's leading imports, so nothing else in the
file moves or is reformatted); quotes of the original module, examples (`print(f(3))`, asserts,
`if __name__ == "__main__":`) and code the fix does not use are ignored; a new or changed global,
class or statement that the fix depends on is refused with a reason: engines repair functions,
not modules.
"""
from __future__ import annotations

import ast

from patchwarden.repair.candidate import FunctionEdit
from patchwarden.sandboxes.safe_ast import safe_parse

IMPORT_QUALNAME = "<imports>"  # the qualname of the edit that adds imports
ONLY_IMPORTS = "only imports may be added outside the function"


def _bound(node: ast.stmt) -> set[str]:
    """Names a top-level statement binds in the module."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del))}


def _is_example(node: ast.stmt, names: set[str]) -> bool:
    """Code a model adds to show the fix working: never part of the fix."""
    if isinstance(node, ast.Assert):
        return True
    if isinstance(node, ast.If):
        t = node.test
        return (isinstance(t, ast.Compare) and isinstance(t.left, ast.Name) and t.left.id == "__name__")
    if isinstance(node, ast.Expr):
        v = node.value
        if isinstance(v, ast.Constant):
            return True  # a docstring or a stray string
        called = {n.id for n in ast.walk(v) if isinstance(n, ast.Name)}
        return bool(called & (names | {"print", "unittest", "doctest", "pytest"}))
    return False


def _kind(node: ast.stmt) -> str:
    if isinstance(node, ast.ClassDef):
        return "class"
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        return "global"
    return "statement"


def answer_extras(tree: ast.Module, keep: list[ast.AST], fixed_source: str, fixed_name: str,
                  module_text: str | None = None) -> tuple[list[str], str, list[str]]:
    """(imports the fix uses, refusal reason or '', notes) for the answer's top-level statements.

    `keep`: the top-level nodes that are the fix itself (or its class); `fixed_source`: the fixed
    function as it will be spliced (helpers nested), to see which names it uses; `module_text`:
    the original file, to tell a quote of its code from a change.
    """
    try:
        used = {n.id for n in ast.walk(safe_parse(fixed_source)) if isinstance(n, ast.Name)}
    except SyntaxError:
        used = set()
    original: set[str] = set()
    if module_text is not None:
        try:
            original = {ast.dump(n) for n in safe_parse(module_text).body}
        except SyntaxError:
            pass
    imports, notes, unused = [], [], []
    shown = {fixed_name} | {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    for node in tree.body:
        if node in keep or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue  # the fix; other functions are nested helpers (answer_functions.py) or ignored quotes
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a for a in node.names if (a.asname or a.name).split(".")[0] in used]
            if names and not (isinstance(node, ast.ImportFrom) and node.module == "__future__"):
                if isinstance(node, ast.ImportFrom):
                    imports.append(ast.unparse(ast.ImportFrom(node.module, names, node.level)))
                else:
                    imports.append(ast.unparse(ast.Import(names)))
            elif node.names:
                unused.append(ast.unparse(node))
            continue
        if ast.dump(node) in original or _is_example(node, shown):
            continue
        needed = sorted(_bound(node) & used)
        if needed:
            return [], f"module-level change outside the function: {_kind(node)} {', '.join(needed)} ({ONLY_IMPORTS})", notes
        if _bound(node):
            notes.append(f"ignored module-level code the fix does not use (line {node.lineno})")
            continue
        return [], f"module-level change outside the function: {_kind(node)} at answer line {node.lineno} ({ONLY_IMPORTS})", notes
    if unused:
        notes.append("ignored imports the fix does not use: " + "; ".join(unused))
    return imports, "", notes


# -- merging into the file ---------------------------------------------------------------------
def _alias_key(node: ast.stmt, alias: ast.alias) -> tuple:
    if isinstance(node, ast.ImportFrom):
        return ("from", node.level, node.module, alias.name, alias.asname)
    return ("import", alias.name, alias.asname)


def _header_end(tree: ast.Module) -> int:
    """The line after which new imports go: the last import at the top of the module (or docstring)."""
    end = 0
    for i, node in enumerate(tree.body):
        if i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            end = node.end_lineno
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            end = node.end_lineno
        elif isinstance(node, (ast.Try, ast.If)) and any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(node)):
            end = node.end_lineno  # `try: import x / except ImportError:` blocks belong to the imports
        elif isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) and t.id.startswith("__") for t in node.targets):
            continue  # __all__, __version__ between imports
        else:
            break
    return end


def import_edit(path: str, file_text: str, imports: list[str]) -> tuple[FunctionEdit | None, str]:
    """One zero-width edit adding the imports the file lacks (None when all are there), or a reason."""
    try:
        tree = safe_parse(file_text)
    except SyntaxError as e:
        return None, f"cannot add imports to {path}: {e.msg}"
    have: set[tuple] = set()
    imported: dict[str, set[tuple]] = {}
    defined: set[str] = set()
    for node in tree.body:
        for n in ([node] if isinstance(node, (ast.Import, ast.ImportFrom)) else
                  [x for x in ast.walk(node) if isinstance(x, (ast.Import, ast.ImportFrom))] if isinstance(node, (ast.Try, ast.If)) else []):
            for a in n.names:
                have.add(_alias_key(n, a))
                imported.setdefault((a.asname or a.name).split(".")[0], set()).add(_alias_key(n, a))
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            defined |= _bound(node)
    lines_out, seen = [], set()
    merged: dict[tuple, ast.ImportFrom] = {}  # `from m import a` + `from m import b` -> one statement
    nodes = []
    for text in imports:
        node = ast.parse(text).body[0]
        if isinstance(node, ast.ImportFrom):
            if (node.module, node.level) in merged:
                merged[(node.module, node.level)].names += node.names
                continue
            merged[(node.module, node.level)] = node
        nodes.append(node)
    for node in nodes:
        keep = []
        for a in node.names:
            key = _alias_key(node, a)
            name = (a.asname or a.name).split(".")[0]
            if key in have or key in seen:
                continue
            plain = isinstance(node, ast.Import) and a.asname is None  # `import a.b` binds the package a
            if name in defined or (name in imported and not (plain and all(k[0] == "import" and k[2] is None and k[1].split(".")[0] == name
                                                                             for k in imported[name]))):
                return None, f"the fix imports {name!r}, which would replace the module's own {name!r}"
            seen.add(key)
            keep.append(a)
        if keep:
            new = ast.ImportFrom(node.module, keep, node.level) if isinstance(node, ast.ImportFrom) else ast.Import(keep)
            lines_out.append(ast.unparse(new))
    if not lines_out:
        return None, ""
    data = file_text.encode()
    nl = "\r\n" if "\r\n" in file_text else "\n"
    end = _header_end(tree)
    rows = data.splitlines(keepends=True)
    at = sum(len(r) for r in rows[:end])
    text = nl.join(lines_out) + nl
    if end and rows[end - 1][-1:] not in (b"\n", b"\r"):
        text = nl + text  # the header ends the file without a newline
    elif end == 0 and data:
        text += nl  # a new import block above the code
    return FunctionEdit(path, IMPORT_QUALNAME, at, at, text), ""
