"""Fix patterns as single-node syntax-tree edits (libcst keeps the user's formatting).

`collect_mutations(fn)` walks one parsed function and yields every single edit the operators
propose, each as "replace node X by node Y" (or remove X). Nothing is materialised here: the
engine ranks the sites first and renders only what it will emit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import libcst as cst
from libcst.metadata import (ExpressionContext, ExpressionContextProvider, MetadataWrapper, ParentNodeProvider,
                             PositionProvider, WhitespaceInclusivePositionProvider)

# Per-operator prior (higher = tried earlier at equal suspiciousness). Roughly follows how often
# each pattern is the fix in studies of one-line bugs (ManySStuBs4J, Defects4J/QuixBugs template
# tools): operator and boundary fixes are common *and* cheap to enumerate; variable replacement is
# common but has many alternatives per site; removals and inserted guards rarely are the fix.
PRIORS: dict[str, float] = {
    "comparison": 1.0,
    "off_by_one": 0.9,
    "arithmetic": 0.85,
    "boolean": 0.8,
    "negation": 0.8,
    "constant": 0.7,
    "function": 0.7,
    "aug_assign": 0.65,
    "swap_args": 0.55,
    "swap_operands": 0.5,
    "drop_operand": 0.45,
    "add_return": 0.45,
    "variable": 0.4,
    "wrap_abs": 0.35,
    "swap_branches": 0.6,
    "remove_stmt": 0.3,
    "unwrap_if": 0.3,
    "guard": 0.25,
}
OPERATORS = tuple(PRIORS)

_EMPTY = cst.Module(body=[])


def code(node: cst.CSTNode) -> str:
    return _EMPTY.code_for_node(node)


@dataclass
class Mutation:
    operator: str
    target: cst.CSTNode  # node in the parsed tree that is replaced or removed
    replacement: cst.CSTNode | None  # None = remove target
    line: int  # line in the parsed text (1-based)
    weight: float  # variant weight inside the operator, multiplied with PRIORS[operator]
    label: str  # human description without the line, e.g. "`<` -> `<=`"
    extra: dict = field(default_factory=dict)

    @property
    def prior(self) -> float:
        return PRIORS[self.operator] * self.weight


# ---------------------------------------------------------------- precedence and parentheses
_BIN_PREC = {
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
        return _BIN_PREC[type(node.operator)]
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


_SP = cst.SimpleWhitespace(" ")


def _op(cls, old):
    """Build operator `cls` with the old operator's spacing (keywords need at least one space)."""
    before = getattr(old, "whitespace_before", _SP)
    after = getattr(old, "whitespace_after", _SP)
    keyword = cls in (cst.Is, cst.IsNot, cst.In, cst.NotIn, cst.And, cst.Or)
    if keyword:
        before = before if code_ws(before) else _SP
        after = after if code_ws(after) else _SP
    kwargs = {"whitespace_before": before, "whitespace_after": after}
    if cls in (cst.IsNot, cst.NotIn):
        kwargs["whitespace_between"] = _SP
    return cls(**kwargs)


def code_ws(ws) -> str:
    return getattr(ws, "value", " ")  # ParenthesizedWhitespace counts as present


# ---------------------------------------------------------------- operator tables
# (a, b, weight): boundary and negation swaps are the usual fixes, direction reversal less so.
_CMP = [
    (cst.LessThan, cst.LessThanEqual, 1.0), (cst.GreaterThan, cst.GreaterThanEqual, 1.0),
    (cst.Equal, cst.NotEqual, 1.0), (cst.Is, cst.IsNot, 1.0), (cst.In, cst.NotIn, 1.0),
    (cst.LessThan, cst.GreaterThan, 0.8), (cst.LessThanEqual, cst.GreaterThanEqual, 0.8),
    (cst.LessThan, cst.GreaterThanEqual, 0.6), (cst.GreaterThan, cst.LessThanEqual, 0.6),
    (cst.Equal, cst.Is, 0.3), (cst.NotEqual, cst.IsNot, 0.3),
    (cst.Equal, cst.LessThan, 0.4), (cst.Equal, cst.GreaterThan, 0.4),
    (cst.Equal, cst.LessThanEqual, 0.4), (cst.Equal, cst.GreaterThanEqual, 0.4),
    (cst.NotEqual, cst.LessThan, 0.3), (cst.NotEqual, cst.GreaterThan, 0.3),
]
_ARITH = [
    (cst.Add, cst.Subtract, 1.0), (cst.Multiply, cst.Divide, 0.8), (cst.Divide, cst.FloorDivide, 0.9),
    (cst.Multiply, cst.FloorDivide, 0.7), (cst.Modulo, cst.FloorDivide, 0.7), (cst.Multiply, cst.Power, 0.6),
    (cst.Add, cst.Multiply, 0.6), (cst.Subtract, cst.Multiply, 0.4), (cst.Modulo, cst.Divide, 0.5),
    (cst.Add, cst.Modulo, 0.3), (cst.Subtract, cst.Modulo, 0.3), (cst.Subtract, cst.FloorDivide, 0.3),
    (cst.Add, cst.Divide, 0.3), (cst.Subtract, cst.Divide, 0.3), (cst.Power, cst.Modulo, 0.3),
    (cst.BitAnd, cst.BitOr, 0.8), (cst.BitOr, cst.BitXor, 0.6), (cst.BitAnd, cst.BitXor, 0.6),
    (cst.LeftShift, cst.RightShift, 0.8),
]
_AUG_OF = {
    cst.Add: cst.AddAssign, cst.Subtract: cst.SubtractAssign, cst.Multiply: cst.MultiplyAssign,
    cst.Divide: cst.DivideAssign, cst.FloorDivide: cst.FloorDivideAssign, cst.Modulo: cst.ModuloAssign,
    cst.Power: cst.PowerAssign, cst.BitAnd: cst.BitAndAssign, cst.BitOr: cst.BitOrAssign,
    cst.BitXor: cst.BitXorAssign, cst.LeftShift: cst.LeftShiftAssign, cst.RightShift: cst.RightShiftAssign,
}
_AUG = [(_AUG_OF[a], _AUG_OF[b], w) for a, b, w in _ARITH]  # `x -= k` is the same slip as `x - k`
_NON_COMMUTATIVE = (cst.Subtract, cst.Divide, cst.FloorDivide, cst.Modulo, cst.Power, cst.LeftShift, cst.RightShift)


def _alternatives(table, cls) -> Iterator[tuple[type, float]]:
    for a, b, w in table:
        if cls is a:
            yield b, w
        elif cls is b:
            yield a, w


# Builtins and methods that are commonly confused (same arity, same place in code).
_FUNC_GROUPS = [
    ("min", "max"), ("any", "all"), ("sorted", "reversed"), ("sum", "len"), ("floor", "ceil"),
    ("append", "extend"), ("lower", "upper", "swapcase", "capitalize", "title"), ("isupper", "islower"), ("startswith", "endswith"),
    ("find", "rfind"), ("index", "rindex"), ("strip", "lstrip", "rstrip"), ("split", "rsplit"),
    ("isdigit", "isalpha", "isalnum", "isspace"), ("ljust", "rjust"), ("keys", "values", "items"),
    ("remove", "discard"), ("int", "float", "round"), ("bin", "hex", "oct"), ("chr", "ord"),
    ("map", "filter"), ("list", "set"), ("bisect_left", "bisect_right"),
    ("insert", "append"), ("pop", "popleft"), ("add", "append"),
]
_FUNC_ALTS: dict[str, list[str]] = {}
for _g in _FUNC_GROUPS:
    for _n in _g:
        _FUNC_ALTS.setdefault(_n, []).extend(x for x in _g if x != _n)

# Calls whose removal ("excess logic") leaves their single argument: `sorted(set(x))` -> `sorted(x)`.
_TRANSPARENT = {"abs", "int", "float", "str", "list", "set", "tuple", "sorted", "reversed", "round", "len", "sum", "bool"}

# Methods that mutate in place and return None: their value is never what the code meant.
_IN_PLACE = {"sort", "reverse", "append", "extend", "insert", "remove", "clear", "update", "add", "discard"}

_DERIVED = {"len", "sum", "max", "min", "abs", "sorted", "set", "list", "str", "int"}

_MIRRORED = {"<": ">", ">": "<", "(": ")", ")": "(", "[": "]", "]": "[", "{": "}", "}": "{",
             "+": "-", "-": "+", "0": "1", "1": "0"}

_PRED_CALLS = ("is", "has", "can", "should")  # predicate-looking call names may be negated on return


# ---------------------------------------------------------------- the collector
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

    def offset(self, pos) -> int:
        return self.line_starts[pos.line - 1] + pos.column


def analyse(module: cst.Module, prefix: str) -> ParsedFunction:
    wrapper = MetadataWrapper(module)
    meta = wrapper.resolve_many([PositionProvider, ParentNodeProvider, ExpressionContextProvider,
                                 WhitespaceInclusivePositionProvider])
    positions, parents = meta[PositionProvider], meta[ParentNodeProvider]
    contexts, spans = meta[ExpressionContextProvider], meta[WhitespaceInclusivePositionProvider]
    func = next(n for n in walk(wrapper.module) if isinstance(n, cst.FunctionDef))
    starts, total = [], 0
    text = wrapper.module.code
    for line in text.splitlines(keepends=True) or [""]:
        starts.append(total)
        total += len(line)
    starts.append(total)
    return ParsedFunction(wrapper.module, func, prefix, positions, parents, contexts, spans, starts, text)


def walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))


class _Collector:
    def __init__(self, pf: ParsedFunction, operators: set[str]):
        self.pf = pf
        self.ops = operators
        self.out: list[Mutation] = []
        self.locals = self._local_names()
        self.derived = self._derived_values()

    # -- helpers
    def line(self, node) -> int:
        return self.pf.positions[node].start.line

    def add(self, operator, target, replacement, weight, label, anchor=None, **extra):
        if operator not in self.ops:
            return
        if replacement is not None and isinstance(target, cst.BaseExpression):
            replacement = keep_parens(target, replacement)
        self.out.append(Mutation(operator, target, replacement, self.line(anchor or target), weight, label, extra))

    def parent(self, node):
        return self.pf.parents.get(node)

    def is_load(self, node: cst.Name) -> bool:
        return self.pf.contexts.get(node) == ExpressionContext.LOAD

    def _local_names(self) -> list[str]:
        """Parameters and names assigned in the function (not in comprehensions), in source order."""
        names: list[str] = []
        p = self.pf.func.params
        for param in [*p.posonly_params, *p.params, *p.kwonly_params]:
            names.append(param.name.value)
        for star in (p.star_arg, p.star_kwarg):
            if isinstance(star, cst.Param):
                names.append(star.name.value)
        for node in walk(self.pf.func.body):
            if isinstance(node, cst.Name) and self.pf.contexts.get(node) == ExpressionContext.STORE:
                if not self._in_comprehension(node):
                    names.append(node.value)
        seen: dict[str, None] = {}
        for n in names:
            if n not in ("self", "cls", "_"):
                seen.setdefault(n, None)
        return list(seen)

    def _derived_values(self) -> list[cst.Call]:
        """Short builtin calls on local names (`len(xs)`, `max(xs)`) the function already uses."""
        found: dict[str, cst.Call] = {}
        for node in walk(self.pf.func.body):
            if (isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in _DERIVED
                    and len(node.args) == 1 and isinstance(node.args[0].value, cst.Name)
                    and node.args[0].value.value in self.locals and not node.args[0].star):
                found.setdefault(code(node.with_changes(lpar=[], rpar=[])), node.with_changes(lpar=[], rpar=[]))
        return list(found.values())[:6]

    def _in_comprehension(self, node) -> bool:
        n = self.parent(node)
        while n is not None and n is not self.pf.func:
            if isinstance(n, cst.CompFor):
                return True
            n = self.parent(n)
        return False

    def _is_docstring(self, stmt) -> bool:
        return (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1
                and isinstance(stmt.body[0], cst.Expr)
                and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString)))

    # -- main walk
    def run(self) -> list[Mutation]:
        for node in walk(self.pf.func.body):
            if isinstance(node, cst.Comparison):
                self.comparison(node)
            elif isinstance(node, cst.BinaryOperation):
                self.binary(node)
            elif isinstance(node, cst.BooleanOperation):
                self.boolean(node)
            elif isinstance(node, cst.UnaryOperation):
                self.unary(node)
            elif isinstance(node, cst.AugAssign):
                self.aug(node)
            elif isinstance(node, cst.Assign):
                self.assign(node)
            elif isinstance(node, cst.Integer):
                self.integer(node)
            elif isinstance(node, cst.Float):
                self.float_(node)
            elif isinstance(node, (cst.List, cst.Tuple, cst.Set)):
                self.collection(node)
            elif isinstance(node, (cst.SimpleString,)):
                self.string(node)
            elif isinstance(node, cst.Name):
                self.name(node)
            elif isinstance(node, cst.Attribute):
                self.attribute(node)
            elif isinstance(node, cst.Call):
                self.call(node)
            elif isinstance(node, cst.Subscript):
                self.subscript(node)
            elif isinstance(node, (cst.If, cst.While, cst.IfExp)):
                self.condition(node)
            elif isinstance(node, cst.Return):
                self.return_(node)
            elif isinstance(node, cst.IndentedBlock):
                self.block(node)
        self.function_level()
        return self.out

    # -- operators
    def comparison(self, node: cst.Comparison):
        for i, target in enumerate(node.comparisons):
            left = node.left if i == 0 else node.comparisons[i - 1].comparator
            literal = any(isinstance(x, (cst.BaseNumber, cst.BaseString, cst.List, cst.Tuple, cst.Dict))
                          for x in (left, target.comparator))
            for alt, w in _alternatives(_CMP, type(target.operator)):
                if literal and alt in (cst.Is, cst.IsNot):
                    continue
                new_op = _op(alt, target.operator)
                comps = list(node.comparisons)
                comps[i] = target.with_changes(operator=new_op)
                self.add("comparison", node, node.with_changes(comparisons=comps), w,
                         f"`{code(target.operator).strip()}` -> `{code(new_op).strip()}`")
        if len(node.comparisons) == 1 and isinstance(node.comparisons[0].operator, (cst.In, cst.NotIn)):
            t = node.comparisons[0]  # `a in b` -> `b in a`
            new = node.with_changes(left=at_least(t.comparator, 6),
                                    comparisons=[t.with_changes(comparator=at_least(node.left, 6))])
            self.add("swap_operands", node, new, 1.0, f"`{code(node)}` -> `{code(new)}`")
        for side in (node.left, node.comparisons[-1].comparator):
            if not isinstance(side, (cst.Integer, cst.Float, cst.SimpleString, cst.Name)) or (
                    isinstance(side, cst.Name) and side.value in self.locals):
                if not _is_call_to(side, "abs"):
                    new = cst.Call(func=cst.Name("abs"), args=[cst.Arg(side)])
                    self.add("wrap_abs", side, new, 0.8, f"`{code(side)}` -> `{code(new)}`")

    def binary(self, node: cst.BinaryOperation):
        cls = type(node.operator)
        for alt, w in _alternatives(_ARITH, cls):
            new_op = _op(alt, node.operator)
            self.add("arithmetic", node, node.with_changes(operator=new_op), w,
                     f"`{code(node.operator).strip()}` -> `{code(new_op).strip()}`")
        p = _BIN_PREC[cls]
        parent = self.parent(node)
        if cls in _NON_COMMUTATIVE or cls is cst.Add:
            right_assoc = cls is cst.Power
            new = node.with_changes(left=at_least(node.right, p + 1 if right_assoc else p),
                                    right=at_least(node.left, p if right_assoc else p + 1))
            self.add("swap_operands", node, new, 0.5 if cls is cst.Add else 1.0, f"`{code(node)}` -> `{code(new)}`")
        if cls is cst.Subtract and not (isinstance(parent, cst.BinaryOperation) and isinstance(
                parent.operator, (cst.Add, cst.Subtract))) and not _off_by_one_covered(node):
            for k in (1, -1):  # a difference is a count between bounds: the classic fencepost
                new = at_least(plus(node, k), _required_prec(parent, node))
                self.add("off_by_one", node, new, 0.8, f"`{code(node)}` -> `{code(new)}`")
        for keep, w in ((node.left, 1.0), (node.right, 0.6)):
            self.add("drop_operand", node, keep, w, f"`{code(node)}` -> `{code(keep)}`")
        keep, w = node.left, 0.7  # shorter prefixes of a chain: `x + y + y + x` -> `x + y`
        while isinstance(keep, cst.BinaryOperation) and not keep.lpar and _BIN_PREC[type(keep.operator)] == p:
            keep, w = keep.left, w * 0.8
            self.add("drop_operand", node, keep, w, f"`{_clip(code(node))}` -> `{_clip(code(keep))}`")
        if cls in (cst.Add, cst.Subtract, cst.Multiply) and not _is_call_to(parent, "abs"):
            if not isinstance(parent, cst.BinaryOperation):  # wrap whole arithmetic expressions only
                new = cst.Call(func=cst.Name("abs"), args=[cst.Arg(node)])
                self.add("wrap_abs", node, new, 1.0, f"`{code(node)}` -> `{code(new)}`")

    def boolean(self, node: cst.BooleanOperation):
        alt = cst.Or if isinstance(node.operator, cst.And) else cst.And
        new_op = _op(alt, node.operator)
        self.add("boolean", node, node.with_changes(operator=new_op), 1.0,
                 f"`{code(node.operator).strip()}` -> `{code(new_op).strip()}`")
        for keep in (node.left, node.right):
            self.add("drop_operand", node, keep, 0.9, f"`{code(node)}` -> `{code(keep)}`")
        parent = self.parent(node)
        if isinstance(node.left, cst.BooleanOperation) and type(node.left.operator) is type(node.operator) and not (
                isinstance(parent, cst.BooleanOperation) and type(parent.operator) is type(node.operator)):
            new = _flip_chain(node, type(node.operator), alt)  # `a and b and c` -> `a or b or c`
            self.add("boolean", node, new, 0.8, f"every `{code(node.operator).strip()}` -> `{code(new_op).strip()}`")
        for side in ("left", "right"):  # negate one operand: `a and b` -> `a and not b`
            operand = getattr(node, side)
            if isinstance(operand, cst.UnaryOperation) and isinstance(operand.operator, cst.Not):
                continue  # removing the `not` is proposed by unary()
            neg = cst.UnaryOperation(operator=cst.Not(), expression=at_least(operand, 4))
            neg = at_least(neg, prec(node) + (1 if side == "right" else 0))
            self.add("negation", operand, neg, 0.6, f"`{code(operand)}` -> `{code(neg)}`")

    def unary(self, node: cst.UnaryOperation):
        if isinstance(node.operator, cst.Not):
            self.add("negation", node, node.expression, 1.0, f"`{code(node)}` -> `{code(node.expression)}`")
        elif isinstance(node.operator, (cst.Minus, cst.BitInvert)):
            self.add("constant" if isinstance(node.expression, (cst.Integer, cst.Float)) else "negation",
                     node, node.expression, 0.7, f"`{code(node)}` -> `{code(node.expression)}`")

    def aug(self, node: cst.AugAssign):
        for alt, w in _alternatives(_AUG, type(node.operator)):
            new_op = _op(alt, node.operator)
            self.add("aug_assign", node, node.with_changes(operator=new_op), w,
                     f"`{code(node.operator).strip()}` -> `{code(new_op).strip()}`")
        # `x += e` -> `x = e`
        new = cst.Assign(targets=[cst.AssignTarget(node.target)], value=node.value)
        self.add("aug_assign", node, new, 0.5, f"`{code(node)}` -> `{code(new)}`")

    def assign(self, node: cst.Assign):
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            name = node.targets[0].target.value
            if name in self.locals and self.line(node) > self.line(self.pf.func.body):
                for op_cls, w in ((cst.AddAssign, 0.5), (cst.SubtractAssign, 0.3), (cst.MultiplyAssign, 0.3)):
                    new = cst.AugAssign(target=node.targets[0].target, operator=op_cls(), value=node.value)
                    self.add("aug_assign", node, new, w, f"`{code(node)}` -> `{code(new)}`")

    def integer(self, node: cst.Integer):
        try:
            value = int(node.value, 0)
        except ValueError:
            return
        negated = isinstance(self.parent(node), cst.UnaryOperation) and isinstance(self.parent(node).operator, cst.Minus)
        for k in (1, -1):
            v = value + k
            if v < 0 and negated:
                continue
            new = cst.Integer(str(v)) if v >= 0 else cst.UnaryOperation(operator=cst.Minus(), expression=cst.Integer(str(-v)))
            if v < 0:
                new = at_least(new, _required_prec(self.parent(node), node))
            self.add("off_by_one", node, new, 1.0, f"`{node.value}` -> `{code(new)}`")
        if not negated:  # small constants can also be plain wrong (0 <-> 1 is the +-1 above)
            for v in (x for x in (0, 1, 2) if abs(x - value) > 1):
                self.add("constant", node, cst.Integer(str(v)), 0.3, f"`{node.value}` -> `{v}`")
        if not negated and value != 0:
            new = at_least(cst.UnaryOperation(operator=cst.Minus(), expression=node), _required_prec(self.parent(node), node))
            self.add("constant", node, new, 0.3, f"`{node.value}` -> `{code(new)}`")

    def float_(self, node: cst.Float):
        try:
            value = float(node.value)
        except ValueError:
            return
        if value not in (0.0, 1.0):  # `x / 0.5` for `x / 2`
            new = cst.Float(repr(1 / value))
            self.add("constant", node, new, 0.5, f"`{node.value}` -> `{new.value}`")
        for k in (1, -1):
            if value + k >= 0:
                new = cst.Float(repr(value + k))
                self.add("constant", node, new, 0.3, f"`{node.value}` -> `{new.value}`")

    def collection(self, node):
        elements = list(node.elements)
        if not 2 <= len(elements) <= 6 or any(isinstance(e, cst.StarredElement) for e in elements):
            return
        for i in range(len(elements) - 1):  # swapped elements: `(j, i)` -> `(i, j)`
            swapped = list(elements)
            swapped[i] = elements[i].with_changes(value=elements[i + 1].value)
            swapped[i + 1] = elements[i + 1].with_changes(value=elements[i].value)
            new = node.with_changes(elements=swapped)
            self.add("swap_args", node, new, 0.7, f"`{code(node)}` -> `{code(new)}`")
        if isinstance(node, cst.Tuple) and not node.lpar:
            return  # dropping from a bare tuple changes an unpacking arity
        if all(isinstance(e.value, (cst.BaseNumber, cst.BaseString)) for e in elements) and len(elements) > 2:
            for i in range(len(elements)):  # one value too many in a table of constants
                rest = elements[:i] + elements[i + 1:]
                rest[-1] = rest[-1].with_changes(comma=elements[-1].comma)
                new = node.with_changes(elements=rest)
                self.add("drop_operand", node, new, 0.3, f"remove `{code(elements[i].value)}` from `{_clip(code(node))}`")

    def string(self, node: cst.SimpleString):
        parent = self.parent(node)
        if isinstance(parent, cst.Expr):
            return  # docstring / bare string statement
        for new, w in _string_alternatives(node):
            self.add("constant", node, new, w, f"`{node.value}` -> `{new.value}`")

    def name(self, node: cst.Name):
        v = node.value
        if v in ("True", "False"):
            new = cst.Name("False" if v == "True" else "True")
            self.add("constant", node, new, 1.0, f"`{v}` -> `{new.value}`")
            return
        if v == "None":
            return
        parent = self.parent(node)
        if not self.is_load(node):
            if v in self.locals and (isinstance(parent, cst.AugAssign) or (
                    isinstance(parent, cst.AssignTarget) and isinstance(self.parent(parent), cst.Assign))):
                alts = [n for n in self.locals if n != v]  # updating the wrong variable
                for alt in alts:
                    self.add("variable", node, node.with_changes(value=alt), 0.5 / max(1, len(alts)) ** 0.5,
                             f"`{v}` -> `{alt}`")
            return
        if isinstance(parent, cst.Call) and parent.func is node:
            return  # function names are handled by call()
        if isinstance(parent, cst.Arg) and parent.keyword is node:
            return
        if v in _FUNC_ALTS and v not in self.locals:  # e.g. `key=len`
            for alt in _FUNC_ALTS[v]:
                self.add("function", node, node.with_changes(value=alt), 0.6, f"`{v}` -> `{alt}`")
        if v in self.locals:
            for expr in self.derived:  # `/ mean` -> `/ len(numbers)`
                if code(expr) != v and v not in {a.value.value for a in expr.args if isinstance(a.value, cst.Name)}:
                    self.add("variable", node, expr, 0.3, f"`{v}` -> `{code(expr)}`")
            alts = [n for n in self.locals if n != v]
            for alt in alts:
                self.add("variable", node, node.with_changes(value=alt), 1.0 / max(1, len(alts)) ** 0.5,
                         f"`{v}` -> `{alt}`")

    def attribute(self, node: cst.Attribute):
        attr = node.attr.value
        parent = self.parent(node)
        called = isinstance(parent, cst.Call) and parent.func is node
        for alt in _FUNC_ALTS.get(attr, []):
            new = node.with_changes(attr=node.attr.with_changes(value=alt))
            self.add("function", node, new, 1.0 if called else 0.5, f"`.{attr}` -> `.{alt}`")

    def call(self, node: cst.Call):
        fname = node.func.value if isinstance(node.func, cst.Name) else None
        if fname in _FUNC_ALTS and fname not in self.locals:
            for alt in _FUNC_ALTS[fname]:
                new = node.with_changes(func=node.func.with_changes(value=alt))
                self.add("function", node, new, 1.0, f"`{fname}` -> `{alt}`")
        positional = [i for i, a in enumerate(node.args) if a.keyword is None and not a.star]
        for x in range(len(positional)):
            for y in range(x + 1, min(len(positional), x + 3)):
                i, j = positional[x], positional[y]
                args = list(node.args)
                args[i] = node.args[i].with_changes(value=node.args[j].value)
                args[j] = node.args[j].with_changes(value=node.args[i].value)
                new = node.with_changes(args=args)
                self.add("swap_args", node, new, 1.0 if y == x + 1 else 0.6, f"`{code(node)}` -> `{code(new)}`")
        if fname in _TRANSPARENT and len(node.args) == 1 and not node.args[0].star and node.args[0].keyword is None:
            inner = at_least(node.args[0].value, _required_prec(self.parent(node), node))
            self.add("drop_operand", node, inner, 0.7, f"`{code(node)}` -> `{code(inner)}`")
        if fname == "range":
            self.range_bounds(node)
        if (fname == "sorted" or _call_name(node) == "sort") and not any(
                a.keyword and a.keyword.value == "reverse" for a in node.args):
            args = list(node.args)
            if args:
                args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=_SP))
            args.append(cst.Arg(keyword=cst.Name("reverse"), value=cst.Name("True"),
                                equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                                                      whitespace_after=cst.SimpleWhitespace(""))))
            new = node.with_changes(args=args)
            self.add("function", node, new, 0.6, f"`{_clip(code(node))}` -> `{_clip(code(new))}`")
        if (isinstance(node.func, cst.Attribute) and node.func.attr.value in _IN_PLACE
                and not isinstance(self.parent(node), cst.Expr)):
            receiver = node.func.value  # `return xs.sort()` returns None: the value meant is `xs`
            self.add("drop_operand", node, receiver, 0.8, f"`{_clip(code(node))}` -> `{_clip(code(receiver))}`")
        if isinstance(node.func, cst.Attribute) and isinstance(node.func.value, cst.Call):
            inner = node.func.value  # one call too many in a chain: `s.replace(a, b).replace(b, a)`
            self.add("drop_operand", node, inner, 0.4, f"`{_clip(code(node))}` -> `{_clip(code(inner))}`")

    def range_bounds(self, node: cst.Call):
        args = node.args
        if not args or any(a.star or a.keyword for a in args):
            return
        for i, a in enumerate(args[:2]):
            if _off_by_one_covered(a.value):
                continue  # integer literals (and `x + 1`) are already varied by the constant operator
            for k in (1, -1):
                new_args = list(args)
                new_args[i] = a.with_changes(value=plus(a.value, k))
                new = node.with_changes(args=new_args)
                self.add("off_by_one", node, new, 1.0, f"`{code(node)}` -> `{code(new)}`")
        if len(args) == 2:  # range(1, n) -> range(n)
            new = node.with_changes(args=[args[1]])
            self.add("off_by_one", node, new, 0.6, f"`{code(node)}` -> `{code(new)}`")
        if len(args) == 1:  # range(n) -> range(1, n)
            new = node.with_changes(args=[cst.Arg(cst.Integer("1"), comma=cst.Comma(whitespace_after=_SP)), args[0]])
            self.add("off_by_one", node, new, 0.6, f"`{code(node)}` -> `{code(new)}`")

    def subscript(self, node: cst.Subscript):
        if len(node.slice) != 1:
            return
        elem = node.slice[0]
        sl = elem.slice
        if isinstance(sl, cst.Index) and sl.star is None:
            if not _off_by_one_covered(sl.value):
                for k in (1, -1):
                    new = node.with_changes(slice=[elem.with_changes(slice=sl.with_changes(value=plus(sl.value, k)))])
                    self.add("off_by_one", node, new, 1.0, f"`{code(node)}` -> `{code(new)}`")
        elif isinstance(sl, cst.Slice):
            for bound in ("lower", "upper"):
                value = getattr(sl, bound)
                if value is None:
                    default = cst.Integer("1") if bound == "lower" else cst.UnaryOperation(cst.Minus(), cst.Integer("1"))
                    new = node.with_changes(slice=[elem.with_changes(slice=sl.with_changes(**{bound: default}))])
                    self.add("off_by_one", node, new, 0.4, f"`{code(node)}` -> `{code(new)}`")
                elif not _off_by_one_covered(value):
                    for k in (1, -1):
                        new_sl = sl.with_changes(**{bound: plus(value, k)})
                        new = node.with_changes(slice=[elem.with_changes(slice=new_sl)])
                        self.add("off_by_one", node, new, 0.9, f"`{code(node)}` -> `{code(new)}`")
                if value is not None:  # drop a bound: `a[i:j]` -> `a[:j]`
                    new = node.with_changes(slice=[elem.with_changes(slice=sl.with_changes(**{bound: None}))])
                    self.add("drop_operand", node, new, 0.5, f"`{code(node)}` -> `{code(new)}`")

    def condition(self, node):
        if isinstance(node, cst.If) and isinstance(node.orelse, cst.Else):
            new = node.with_changes(body=node.orelse.body, orelse=node.orelse.with_changes(body=node.body))
            self.add("swap_branches", node, new, 1.0, f"swap the branches of `if {_clip(code(node.test))}:`")
        elif isinstance(node, cst.IfExp):
            new = node.with_changes(body=at_least(node.orelse, 2), orelse=node.body)
            self.add("swap_branches", node, new, 1.0, f"`{_clip(code(node))}` -> `{_clip(code(new))}`")
        test = node.test
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            return  # unary() proposes removing it
        if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
            return  # the comparison swap already gives the negated operator
        neg = cst.UnaryOperation(operator=cst.Not(), expression=at_least(test, 4))
        if isinstance(node, cst.IfExp):
            neg = at_least(neg, 2)
        self.add("negation", test, neg, 1.0, f"`{code(test)}` -> `{code(neg)}`")

    def return_(self, node: cst.Return):
        value = node.value
        if value is None:
            return
        boolish = isinstance(value, (cst.BooleanOperation,)) or (
            isinstance(value, cst.Call) and isinstance(value.func, (cst.Name, cst.Attribute))
            and _call_name(value).startswith(_PRED_CALLS))
        if boolish:
            neg = cst.UnaryOperation(operator=cst.Not(), expression=at_least(value, 4))
            self.add("negation", value, neg, 0.8, f"`{code(value)}` -> `{code(neg)}`")
        if isinstance(value, (cst.Name, cst.Subscript, cst.Attribute)) and not _is_const_name(value):
            new = cst.Call(func=cst.Name("abs"), args=[cst.Arg(value)])
            self.add("wrap_abs", value, new, 0.5, f"`{code(value)}` -> `{code(new)}`")
        if isinstance(value, cst.Name) and value.value in self.locals:
            for k in (1, -1):  # `return n` -> `return n + 1`
                new = plus(value, k)
                self.add("off_by_one", value, new, 0.5, f"`{code(value)}` -> `{code(new)}`")

    def block(self, node: cst.IndentedBlock):
        body = list(node.body)
        real = [s for s in body if not self._is_docstring(s)]
        if len(real) > 1:
            for stmt in real:
                simple = isinstance(stmt, cst.SimpleStatementLine)
                is_return = simple and any(isinstance(s, cst.Return) for s in stmt.body)
                w = 0.5 if is_return else (1.0 if simple else 0.6)
                text = code(stmt).strip().splitlines()[0]
                self.add("remove_stmt", stmt, None, w, f"remove `{text}`")
        for i, stmt in enumerate(body):  # unwrap `if c: body` (no else) -> body
            if isinstance(stmt, cst.If) and stmt.orelse is None and isinstance(stmt.body, cst.IndentedBlock):
                new_body = body[:i] + list(stmt.body.body) + body[i + 1:]
                new = node.with_changes(body=new_body)
                self.add("unwrap_if", node, new, 1.0, f"drop condition `if {code(stmt.test)}:`", anchor=stmt)
            if isinstance(stmt, cst.If) and isinstance(stmt.orelse, cst.Else):  # drop the else branch
                new_body = body[:i] + [stmt.with_changes(orelse=None)] + body[i + 1:]
                self.add("unwrap_if", node, node.with_changes(body=new_body), 0.5,
                         f"remove `else` of `if {code(stmt.test)}:`", anchor=stmt)

    def function_level(self):
        body = self.pf.func.body
        if not isinstance(body, cst.IndentedBlock):
            return
        stmts = list(body.body)
        start = 1 if stmts and self._is_docstring(stmts[0]) else 0
        if start >= len(stmts):
            return
        anchor = stmts[start]
        returns = [n for n in walk(body) if isinstance(n, cst.Return)]
        # Missing return: the last statement computes something but nothing is returned.
        if not any(r.value is not None for r in returns):
            last = stmts[-1]
            if isinstance(last, cst.SimpleStatementLine) and len(last.body) == 1 and isinstance(last.body[0], cst.Expr) \
                    and not self._is_docstring(last):
                new = last.with_changes(body=[cst.Return(value=last.body[0].value)])
                self.add("add_return", last, new, 1.0, f"`{code(last).strip()}` -> `{code(new).strip()}`")
            assigned = [n for n in self.locals if n not in _param_names(self.pf.func)]
            for i, name in enumerate(reversed(assigned[-4:] or self.locals[:2])):
                ret = cst.SimpleStatementLine(body=[cst.Return(value=cst.Name(name))])
                new = body.with_changes(body=stmts + [ret])
                self.add("add_return", body, new, 0.8 / (1 + i), f"add `return {name}`", anchor=last)
        # Inverted result: every `return True` / `return False` flipped at once.
        bool_returns = [r for r in returns if isinstance(r.value, cst.Name) and r.value.value in ("True", "False")]
        if len({r.value.value for r in bool_returns}) == 2:
            new = body.visit(_ReplaceMany({
                r.value: r.value.with_changes(value="False" if r.value.value == "True" else "True") for r in bool_returns}))
            self.add("negation", body, new, 0.9, "flip every `return True` / `return False`", anchor=bool_returns[0])
        # The same wrong literal used everywhere (`return " "` in every branch).
        literals: dict[str, list[cst.SimpleString]] = {}
        for n in walk(body):
            if isinstance(n, cst.SimpleString) and not isinstance(self.parent(n), cst.Expr):
                literals.setdefault(n.value, []).append(n)
        for text, nodes in literals.items():
            if len(nodes) < 2:
                continue
            for new, w in _string_alternatives(nodes[0]):
                new_body = body.visit(_ReplaceMany({n: new for n in nodes}))
                self.add("constant", body, new_body, w * 0.7, f"every `{text}` -> `{new.value}`", anchor=nodes[0])
        # Guard / early return for empty or false-y parameters.
        defaults = _default_returns(returns)
        for name in _param_names(self.pf.func):
            for j, d in enumerate(defaults):
                ret = f"return {d}" if d else "return"
                guard = cst.parse_statement(f"if not {name}:\n    {ret}\n")
                new = body.with_changes(body=stmts[:start] + [guard] + stmts[start:])
                self.add("guard", body, new, 1.0 / (1 + j), f"insert `if not {name}: {ret}`", anchor=anchor)


class _ReplaceMany(cst.CSTTransformer):
    """Replace several nodes (by identity) in one pass."""

    def __init__(self, mapping: dict):
        super().__init__()
        self.mapping = mapping

    def on_leave(self, original_node, updated_node):
        return self.mapping.get(original_node, updated_node)


def _string_alternatives(node: cst.SimpleString) -> list[tuple[cst.SimpleString, float]]:
    """Likely intended values of a string literal: empty <-> space, case, mirrored brackets."""
    try:
        value = node.evaluated_value
    except Exception:
        return []
    if not isinstance(value, str):
        return []
    quote = node.quote[-1]
    options = [" "] if value == "" else [""]
    if len(value) == 1:
        if value.isalpha():
            options.append(value.swapcase())
        if value in _MIRRORED:
            options.append(_MIRRORED[value])
        if value != " ":
            options.append(" ")
    weight = 0.8 if value in ("", " ") or len(value) == 1 else 0.3
    return [(cst.SimpleString(f"{node.prefix}{quote}{opt}{quote}"), weight)
            for opt in options if not any(ch in opt for ch in (quote, "\\", "\n"))]


def _flip_chain(node, cls, alt):
    if isinstance(node, cst.BooleanOperation) and type(node.operator) is cls and not node.lpar:
        return node.with_changes(left=_flip_chain(node.left, cls, alt), operator=_op(alt, node.operator),
                                 right=_flip_chain(node.right, cls, alt))
    return node


def _call_name(call: cst.Call) -> str:
    f = call.func
    return f.value if isinstance(f, cst.Name) else f.attr.value if isinstance(f, cst.Attribute) else ""


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_call_to(node, name: str) -> bool:
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == name


def _is_const_name(node) -> bool:
    return isinstance(node, cst.Name) and node.value in ("True", "False", "None")


def _off_by_one_covered(expr) -> bool:
    """Integer literals and `e +/- <int>` are already varied by the integer operator."""
    if isinstance(expr, cst.Integer):
        return True
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.expression, cst.Integer):
        return True
    return (isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, (cst.Add, cst.Subtract))
            and isinstance(expr.right, cst.Integer))


def _required_prec(parent, child) -> int:
    """The precedence an expression needs to sit where `child` sits inside `parent` unparenthesized."""
    if isinstance(parent, cst.BinaryOperation):
        p = _BIN_PREC[type(parent.operator)]
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


def _param_names(func: cst.FunctionDef) -> list[str]:
    p = func.params
    return [x.name.value for x in [*p.posonly_params, *p.params, *p.kwonly_params] if x.name.value not in ("self", "cls")]


def _default_returns(returns: list[cst.Return]) -> list[str]:
    """What an early return gives back, judged by what the function returns elsewhere."""
    kinds: list[str] = []
    for r in returns:
        v = r.value
        if v is None:
            k = ""
        elif isinstance(v, (cst.List, cst.ListComp)) or _is_call_to(v, "list") or _is_call_to(v, "sorted"):
            k = "[]"
        elif isinstance(v, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString)) or _is_call_to(v, "str") or (
                isinstance(v, cst.Call) and _call_name(v) == "join"):
            k = '""'
        elif isinstance(v, (cst.Comparison, cst.BooleanOperation)) or _is_const_name(v) and v.value != "None":
            k = "False"
        elif isinstance(v, cst.Integer):
            k = "0"
        elif isinstance(v, cst.Tuple):
            continue
        elif isinstance(v, cst.Dict):
            k = "{}"
        elif _is_const_name(v):
            k = "None"
        else:
            continue
        if k not in kinds:
            kinds.append(k)
        if k == "False" and "True" not in kinds:
            kinds.append("True")
    return kinds[:3] or ["None"]


def collect_mutations(pf: ParsedFunction, operators: set[str]) -> list[Mutation]:
    return _Collector(pf, operators).run()

