"""Buggy variants of a correct function by single AST mutations, spliced back into the source text.

Only nodes inside the entry point's body (after its docstring) are mutated, so the prompt's
signature and docstring stay intact; each mutant differs from the original by one operator or
constant, re-rendered with `ast.unparse` and parenthesized so precedence does not change.

Not the template engine's fix patterns (repair/engines/mutations.py): training bugs made by
inverting them would be only bugs the template engine already repairs (see that module's docstring).
"""
from __future__ import annotations

import ast
import copy
import random

from patchwarden.sandboxes.safe_ast import safe_parse

_BINOP_SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Add, ast.Div: ast.Mult, ast.FloorDiv: ast.Div,
                ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult}
_CMP_SWAPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
              ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
_BOOL_SWAPS = {ast.And: ast.Or, ast.Or: ast.And}


def _entry_body_nodes(tree: ast.Module, entry_point: str):
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == entry_point:
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                    and isinstance(body[0].value.value, str):
                body = body[1:]
            for stmt in body:
                yield from ast.walk(stmt)
            return


def _variants(node: ast.AST):
    """(replacement node, description) for every single mutation of one node."""
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOP_SWAPS:
        new = copy.deepcopy(node)
        new.op = _BINOP_SWAPS[type(node.op)]()
        yield new, f"operator {type(node.op).__name__} -> {type(new.op).__name__}"
    elif isinstance(node, ast.AugAssign) and type(node.op) in _BINOP_SWAPS:
        new = copy.deepcopy(node)
        new.op = _BINOP_SWAPS[type(node.op)]()
        yield new, f"augmented {type(node.op).__name__} -> {type(new.op).__name__}"
    elif isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in _CMP_SWAPS:
                new = copy.deepcopy(node)
                new.ops[i] = _CMP_SWAPS[type(op)]()
                yield new, f"comparison {type(op).__name__} -> {type(new.ops[i]).__name__}"
    elif isinstance(node, ast.BoolOp):
        new = copy.deepcopy(node)
        new.op = _BOOL_SWAPS[type(node.op)]()
        yield new, f"boolean {type(node.op).__name__} -> {type(new.op).__name__}"
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield copy.deepcopy(node.operand), "dropped `not`"
    elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
        yield ast.Constant(not node.value), f"constant {node.value} -> {not node.value}"
    elif isinstance(node, ast.Constant) and type(node.value) is int:
        yield ast.Constant(node.value + 1), f"constant {node.value} -> {node.value + 1}"
        if node.value != 0:
            yield ast.Constant(node.value - 1), f"constant {node.value} -> {node.value - 1}"


def _splice(source: str, node: ast.AST, replacement: ast.AST) -> str:
    """Replace the node's text span (ast positions are UTF-8 byte columns) with the new node's text.

    Parentheses are added only where precedence needs them (the parsed trees with and without
    them differ), so a mutant carries no visual mark of where it was changed.
    """
    data = source.encode()
    starts = [0]
    for line in data.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    begin = starts[node.lineno - 1] + node.col_offset
    end = starts[node.end_lineno - 1] + node.end_col_offset
    text = ast.unparse(replacement)
    bare = (data[:begin] + text.encode() + data[end:]).decode()
    if not isinstance(replacement, ast.expr):
        return bare
    wrapped = (data[:begin] + f"({text})".encode() + data[end:]).decode()
    try:
        same = ast.dump(safe_parse(bare)) == ast.dump(safe_parse(wrapped))
    except SyntaxError:
        same = False
    return bare if same else wrapped


def mutants(source: str, entry_point: str) -> list[tuple[str, str]]:
    """Every single-mutation variant of the entry point: (new source, what changed), in source order."""
    try:
        tree = safe_parse(source)
    except SyntaxError:
        return []
    out, seen = [], {source}
    for node in _entry_body_nodes(tree, entry_point):
        if not hasattr(node, "lineno"):
            continue
        for replacement, what in _variants(node):
            try:
                new = _splice(source, node, replacement)
                safe_parse(new)
            except (SyntaxError, ValueError):
                continue
            if new not in seen:
                seen.add(new)
                out.append((new, what))
    return out


def sample_mutants(source: str, entry_point: str, k: int, seed: str) -> list[tuple[str, str]]:
    """Up to k mutants in a reproducible random order (seeded by e.g. the problem id)."""
    found = mutants(source, entry_point)
    random.Random(seed).shuffle(found)
    return found[:k]
