"""libcst helpers for single-node edits: printing, precedence-aware parentheses, metadata."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import libcst as cst
from libcst.metadata import (ExpressionContextProvider, MetadataWrapper, ParentNodeProvider, PositionProvider,
                             WhitespaceInclusivePositionProvider)

EMPTY = cst.Module(body=[])


def code(node: cst.CSTNode) -> str:
    return EMPTY.code_for_node(node)


# ---------------------------------------------------------------- precedence and parentheses
BIN_PREC = {
    cst.BitOr: 6, cst.BitXor: 7, cst.BitAnd: 8, cst.LeftShift: 9, cst.RightShift: 9,
    cst.Add: 10, cst.Subtract: 10, cst.Multiply: 11, cst.Divide: 11, cst.FloorDivide: 11,
    cst.Modulo: 11, cst.MatrixMultiply: 11, cst.Power: 13,
}
ATOM = 15


def prec(node: cst.CSTNode) -> int:
    if getattr(node, "lpar", None):
        return ATOM
    if isinstance(node, (cst.Lambda, cst.NamedExpr)):
        return 0
    if isinstance(node, cst.IfExp):
        return 1
    if isinstance(node, cst.BooleanOperation):
        return 2 if isinstance(node.operator, cst.Or) else 3
    if isinstance(node, cst.UnaryOperation):
        return 4 if isinstance(node.operator, cst.Not) else 12
    if isinstance(node, cst.Comparison):
        return 5
    if isinstance(node, cst.BinaryOperation):
        return BIN_PREC[type(node.operator)]
    if isinstance(node, cst.Await):
        return 14
    return ATOM


def paren(node: cst.BaseExpression) -> cst.BaseExpression:
    return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def at_least(node: cst.BaseExpression, p: int) -> cst.BaseExpression:
    """Parenthesize `node` if it would bind weaker than precedence `p` where it is put."""
    return node if prec(node) >= p else paren(node)


def keep_parens(old: cst.CSTNode, new: cst.CSTNode) -> cst.CSTNode:
    """A replacement takes over the parentheses the old expression had."""
    if getattr(old, "lpar", None) and hasattr(new, "lpar") and not new.lpar:
        return new.with_changes(lpar=old.lpar, rpar=old.rpar)
    return new


def plus(node: cst.BaseExpression, k: int) -> cst.BaseExpression:
    op = cst.Add() if k > 0 else cst.Subtract()
    return cst.BinaryOperation(left=at_least(node, 10), operator=op, right=cst.Integer(str(abs(k))))


SP = cst.SimpleWhitespace(" ")


def make_op(cls, old):
    """Build operator `cls` with the old operator's spacing (keywords need at least one space)."""
    before = getattr(old, "whitespace_before", SP)
    after = getattr(old, "whitespace_after", SP)
    keyword = cls in (cst.Is, cst.IsNot, cst.In, cst.NotIn, cst.And, cst.Or)
    if keyword:
        before = before if code_ws(before) else SP
        after = after if code_ws(after) else SP
    kwargs = {"whitespace_before": before, "whitespace_after": after}
    if cls in (cst.IsNot, cst.NotIn):
        kwargs["whitespace_between"] = SP
    return cls(**kwargs)


def code_ws(ws) -> str:
    return getattr(ws, "value", " ")  # ParenthesizedWhitespace counts as present


def required_prec(parent, child) -> int:
    """The precedence an expression needs to sit where `child` sits inside `parent` unparenthesized."""
    if isinstance(parent, cst.BinaryOperation):
        p = BIN_PREC[type(parent.operator)]
        right = parent.right is child
        if isinstance(parent.operator, cst.Power):
            return p if right else p + 1
        return p + 1 if right else p
    if isinstance(parent, cst.UnaryOperation):
        return prec(parent)
    if isinstance(parent, (cst.Attribute, cst.Subscript)) and getattr(parent, "value", None) is child:
        return ATOM
    if isinstance(parent, cst.Call) and parent.func is child:
        return ATOM
    return 0


class ReplaceMany(cst.CSTTransformer):
    """Replace several nodes (by identity) in one pass."""

    def __init__(self, mapping: dict):
        super().__init__()
        self.mapping = mapping

    def on_leave(self, original_node, updated_node):
        return self.mapping.get(original_node, updated_node)


@dataclass
class ParsedFunction:
    module: cst.Module  # the tree mutations apply to (possibly wrapped, see template.parse_function)
    func: cst.FunctionDef
    prefix: str  # text before the function in module.code (wrapper), stripped after rendering
    positions: dict
    parents: dict
    contexts: dict
    spans: dict  # node -> CodeRange covering exactly code_for_node(node) inside module.code
    line_starts: list[int]  # character offset of each line of module.code
    text: str  # module.code, computed once (libcst regenerates it on every access)
    children: dict  # node -> its children in source order (libcst's .children re-visits the subtree)

    def walk(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        stack = [node]
        while stack:
            n = stack.pop()
            yield n
            stack.extend(reversed(self.children.get(n, ())))

    def offset(self, pos) -> int:
        return self.line_starts[pos.line - 1] + pos.column


def analyse(module: cst.Module, prefix: str) -> ParsedFunction:
    wrapper = MetadataWrapper(module)
    meta = wrapper.resolve_many([PositionProvider, ParentNodeProvider, ExpressionContextProvider,
                                 WhitespaceInclusivePositionProvider])
    positions, parents = meta[PositionProvider], meta[ParentNodeProvider]
    contexts, spans = meta[ExpressionContextProvider], meta[WhitespaceInclusivePositionProvider]
    children: dict = {}
    for child, parent in parents.items():  # filled in visit order, so children keep source order
        children.setdefault(parent, []).append(child)
    func = wrapper.module.body[0]
    if isinstance(func, cst.If):  # the indentation wrapper, see template.parse_function
        func = func.body.body[0]
    starts, total = [], 0
    text = wrapper.module.code
    for line in text.splitlines(keepends=True) or [""]:
        starts.append(total)
        total += len(line)
    starts.append(total)
    return ParsedFunction(wrapper.module, func, prefix, positions, parents, contexts, spans, starts, text, children)
