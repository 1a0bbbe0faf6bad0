"""Static localization evidence: the repository functions a failing test imports and uses.

Needs nothing from the test environment (no coverage, no traceback): the failing test
function is parsed, names are resolved through its module's imports, and every repository
function it calls or passes on (`check(solution.f)`) counts, one level into helpers defined in
the test module itself.
"""
from __future__ import annotations

import ast
from pathlib import Path

from .bug_context import FunctionInfo

__test__ = False  # not a pytest module, despite the name


def _module_path(module: str) -> tuple[str, str]:
    base = module.replace(".", "/")
    return base + ".py", base + "/__init__.py"


def _imports(tree: ast.Module) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """({local name: (module, name)} for `from m import n`, {local name: module} for `import m`)."""
    names: dict[str, tuple[str, str]] = {}
    modules: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                # `from m import *` is kept under a key no name can have: its module counts as imported.
                key = "*" + node.module if alias.name == "*" else alias.asname or alias.name
                names[key] = (node.module, alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                modules[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
    return names, modules


def _find(tree: ast.Module, qual: list[str]) -> ast.AST | None:
    scope: list[ast.AST] = list(tree.body)
    node = None
    for part in qual:
        node = next((n for n in scope if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                     and n.name == part), None)
        if node is None:
            return None
        scope = list(node.body)
    return node


def _used(fn: ast.AST, tree: ast.Module, depth: int = 1) -> set[tuple[str | None, str]]:
    """(qualifier or None, name) of every name and `x.name` the function uses, helpers included."""
    used: set[tuple[str | None, str]] = set()
    local_defs = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            used.add((None, node.id))
            if depth > 0 and node.id in local_defs and local_defs[node.id] is not fn:
                used |= _used(local_defs[node.id], tree, depth - 1)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            qualifier = node.value.id if isinstance(node.value, ast.Name) else ""
            used.add((qualifier, node.attr))
    return used


def functions_used_by_tests(repo: Path, nodeids: list[str], functions: list[FunctionInfo]) -> dict[str, list[str]]:
    """{function key: failing tests that use it}, for repository (non-test) functions."""
    by_name: dict[str, list[FunctionInfo]] = {}
    for f in functions:
        by_name.setdefault(f.name, []).append(f)
    trees: dict[str, ast.Module | None] = {}
    found: dict[str, list[str]] = {}
    for nodeid in nodeids:
        path, _, rest = nodeid.partition("::")
        if not rest or not path.endswith(".py"):
            continue
        if path not in trees:
            try:
                trees[path] = ast.parse((Path(repo) / path).read_text(encoding="utf-8"))
            except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
                trees[path] = None
        tree = trees[path]
        fn = _find(tree, [p.split("[")[0] for p in rest.split("::")]) if tree is not None else None
        if fn is None:
            continue
        names, modules = _imports(tree)
        imported_paths = {p for m, _ in names.values() for p in _module_path(m)} | \
            {p for m in modules.values() for p in _module_path(m)}
        for qualifier, name in _used(fn, tree):
            for f in by_name.get(name, ()):
                if qualifier is None:
                    src = names.get(name)
                    ok = src is not None and f.path.endswith(_module_path(src[0])) and f.qualname == src[1] \
                        or (src is None and f.qualname == name and _ends_with_any(f.path, imported_paths))
                elif qualifier in modules:
                    ok = f.qualname == name and f.path.endswith(_module_path(modules[qualifier]))
                elif qualifier in names:  # `from pkg import mod; mod.f()` or `from m import C; C.f()`
                    mod, attr = names[qualifier]
                    ok = (f.qualname == name and f.path.endswith(_module_path(f"{mod}.{attr}"))) or \
                        (f.qualname == f"{attr}.{name}" and f.path.endswith(_module_path(mod)))
                else:  # obj.method(...): a method of a class from a module the test imports
                    ok = "." in f.qualname and _ends_with_any(f.path, imported_paths)
                if ok and nodeid not in found.setdefault(f.key, []):
                    found[f.key].append(nodeid)
    return {k: v for k, v in found.items() if v}


def _ends_with_any(path: str, suffixes: set[str]) -> bool:
    return any(path == s or path.endswith("/" + s) for s in suffixes)
