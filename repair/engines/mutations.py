"""Fix patterns as single-node syntax-tree edits (libcst keeps the user's formatting).

`collect_mutations(fn)` walks one parsed function and yields every single edit the operators
propose, each as "replace node X by node Y" (or remove X). Nothing is materialised here: the
engine ranks the sites first and renders only what it will emit.

The project has two other single-edit mutators, kept apart on purpose:
- repair/r1/mutants.py makes the *bugs* of the Repair-R1 dataset (classic operator and constant
  swaps on `ast`). Were they the inverses of these fix patterns, the policy would train only on
  bugs the template engine already fixes, and its dataset (and every figure trained on it) would
  change; it needs no formatting kept either, only the prompt's signature and docstring.
- benchmarks/measure/bouncer_eval.py makes plausible-but-wrong patches for the output bouncer (it also
  swaps variable names, which no fix pattern does); its published figures were measured with that
  set. It sits in benchmarks/ (the bouncer layer may not import repair).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import libcst as cst
from libcst.metadata import ExpressionContext

from patchwarden.repair.engines.cst_tools import (ATOM, BIN_PREC, SP, ParsedFunction, ReplaceMany, at_least, code, keep_parens,
                                      make_op, prec, plus, required_prec)
from patchwarden.repair.engines.fix_patterns import (ARITH_SWAPS, AUG_SWAPS, CMP_SWAPS, DERIVED_CALLS, FUNC_ALTS, IN_PLACE_METHODS,
                                         CONFUSED_CHARS, NON_COMMUTATIVE, OPERATORS, PREDICATE_PREFIXES, PRIORS,
                                         TRANSPARENT_CALLS, alternatives)

__all__ = ["Mutation", "collect_mutations", "OPERATORS", "PRIORS"]


@dataclass
class Mutation:
    operator: str
    target: cst.CSTNode  # node in the parsed tree that is replaced or removed
    replacement: cst.CSTNode | None  # None = remove target (see `make`)
    line: int  # line in the parsed text (1-based)
    weight: float  # variant weight inside the operator, multiplied with PRIORS[operator]
    label: str  # human description without the line, e.g. "`<` -> `<=`"
    make: Callable[[], cst.CSTNode] | None = None  # builds the replacement lazily (whole-block rewrites)

    def build(self) -> cst.CSTNode | None:
        return self.make() if self.make is not None else self.replacement

    @property
    def prior(self) -> float:
        return PRIORS[self.operator] * self.weight


class _Collector:
    def __init__(self, pf: ParsedFunction, operators: set[str]):
        self.pf = pf
        self.ops = operators
        self.out: list[Mutation] = []
        self.locals = self._local_names()
        self.derived = self._derived_values()
        self.calls_by_name = self._single_arg_calls()

    # -- helpers
    def line(self, node) -> int:
        return self.pf.positions[node].start.line

    def add(self, operator, target, replacement, weight, label, anchor=None):
        if operator not in self.ops:
            return
        make = None
        if callable(replacement):
            make, replacement = replacement, None
        elif replacement is not None and isinstance(target, cst.BaseExpression):
            replacement = keep_parens(target, replacement)
        self.out.append(Mutation(operator, target, replacement, self.line(anchor or target), weight, label, make))

    def src(self, node) -> str:
        """Original text of a node of the parsed tree (cheaper than printing it again)."""
        span = self.pf.spans[node]
        return self.pf.text[self.pf.offset(span.start):self.pf.offset(span.end)].strip()

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
        for node in self.pf.walk(self.pf.func.body):
            if isinstance(node, cst.Name) and self.pf.contexts.get(node) == ExpressionContext.STORE:
                if not self._in_comprehension(node):
                    names.append(node.value)
        seen: dict[str, None] = {}
        for n in names:
            if n not in ("self", "cls", "_"):
                seen.setdefault(n, None)
        return list(seen)

    def _derived_values(self) -> list[tuple[str, cst.Call]]:
        """Short builtin calls on local names (`len(xs)`, `max(xs)`) the function already uses."""
        found: dict[str, cst.Call] = {}
        for node in self.pf.walk(self.pf.func.body):
            if (isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in DERIVED_CALLS
                    and len(node.args) == 1 and isinstance(node.args[0].value, cst.Name)
                    and node.args[0].value.value in self.locals and not node.args[0].star):
                found.setdefault(code(node.with_changes(lpar=[], rpar=[])), node.with_changes(lpar=[], rpar=[]))
        return list(found.items())[:6]

    def _single_arg_calls(self) -> dict[str, list[cst.Call]]:
        """Calls of a plain name with one positional argument, by name, one per distinct argument."""
        calls: dict[str, dict[str, cst.Call]] = {}
        for node in self.pf.walk(self.pf.func.body):
            if (isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and len(node.args) == 1
                    and not node.args[0].keyword and not node.args[0].star):
                calls.setdefault(node.func.value, {}).setdefault(self.src(node.args[0].value), node)
        return {name: list(by_arg.values())[:4] for name, by_arg in calls.items() if len(by_arg) > 1}

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
        for node in self.pf.walk(self.pf.func.body):
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
            for alt, w in alternatives(CMP_SWAPS, type(target.operator)):
                if literal and alt in (cst.Is, cst.IsNot):
                    continue
                new_op = make_op(alt, target.operator)
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
        for alt, w in alternatives(ARITH_SWAPS, cls):
            new_op = make_op(alt, node.operator)
            self.add("arithmetic", node, node.with_changes(operator=new_op), w,
                     f"`{code(node.operator).strip()}` -> `{code(new_op).strip()}`")
        p = BIN_PREC[cls]
        parent = self.parent(node)
        if cls in NON_COMMUTATIVE or cls is cst.Add:
            right_assoc = cls is cst.Power
            new = node.with_changes(left=at_least(node.right, p + 1 if right_assoc else p),
                                    right=at_least(node.left, p if right_assoc else p + 1))
            self.add("swap_operands", node, new, 0.5 if cls is cst.Add else 1.0, f"`{code(node)}` -> `{code(new)}`")
        if cls is cst.Subtract and not (isinstance(parent, cst.BinaryOperation) and isinstance(
                parent.operator, (cst.Add, cst.Subtract))) and not _off_by_one_covered(node):
            for k in (1, -1):  # a difference is a count between bounds: the classic fencepost
                new = at_least(plus(node, k), required_prec(parent, node))
                self.add("off_by_one", node, new, 0.8, f"`{code(node)}` -> `{code(new)}`")
        for keep, w in ((node.left, 1.0), (node.right, 0.6)):
            self.add("drop_operand", node, keep, w, f"`{code(node)}` -> `{code(keep)}`")
        keep, w = node.left, 0.7  # shorter prefixes of a chain: `x + y + y + x` -> `x + y`
        while isinstance(keep, cst.BinaryOperation) and not keep.lpar and BIN_PREC[type(keep.operator)] == p:
            keep, w = keep.left, w * 0.8
            self.add("drop_operand", node, keep, w, f"`{_clip(code(node))}` -> `{_clip(code(keep))}`")
        if cls in (cst.Add, cst.Subtract, cst.Multiply) and not _is_call_to(parent, "abs"):
            if not isinstance(parent, cst.BinaryOperation):  # wrap whole arithmetic expressions only
                new = cst.Call(func=cst.Name("abs"), args=[cst.Arg(node)])
                self.add("wrap_abs", node, new, 1.0, f"`{code(node)}` -> `{code(new)}`")

    def boolean(self, node: cst.BooleanOperation):
        alt = cst.Or if isinstance(node.operator, cst.And) else cst.And
        new_op = make_op(alt, node.operator)
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
        for alt, w in alternatives(AUG_SWAPS, type(node.operator)):
            new_op = make_op(alt, node.operator)
            self.add("aug_assign", node, node.with_changes(operator=new_op), w,
                     f"`{code(node.operator).strip()}` -> `{code(new_op).strip()}`")
        # `x += e` -> `x = e`
        new = cst.Assign(targets=[cst.AssignTarget(node.target)], value=node.value)
        self.add("aug_assign", node, new, 0.5, f"`{code(node)}` -> `{code(new)}`")

    def assign(self, node: cst.Assign):
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            name = node.targets[0].target.value
            if name in self.locals and self.line(node) > self.line(self.pf.func.body):
                for op_cls, w in ((cst.AddAssign, 0.3), (cst.SubtractAssign, 0.15), (cst.MultiplyAssign, 0.15)):
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
                new = at_least(new, required_prec(self.parent(node), node))
            self.add("off_by_one", node, new, 1.0, f"`{node.value}` -> `{code(new)}`")
        if not negated:  # small constants can also be plain wrong (0 <-> 1 is the +-1 above)
            for v in (x for x in (0, 1, 2) if abs(x - value) > 1):
                self.add("constant", node, cst.Integer(str(v)), 0.3, f"`{node.value}` -> `{v}`")
        if not negated and value != 0:
            new = at_least(cst.UnaryOperation(operator=cst.Minus(), expression=node), required_prec(self.parent(node), node))
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
        if v in FUNC_ALTS and v not in self.locals:  # e.g. `key=len`
            for alt in FUNC_ALTS[v]:
                self.add("function", node, node.with_changes(value=alt), 0.6, f"`{v}` -> `{alt}`")
        if v in self.locals:
            for text, expr in self.derived:  # `/ mean` -> `/ len(numbers)`
                if v != expr.args[0].value.value:
                    self.add("variable", node, expr, 0.3, f"`{v}` -> `{text}`")
            alts = [n for n in self.locals if n != v]
            for alt in alts:
                self.add("variable", node, node.with_changes(value=alt), 1.0 / max(1, len(alts)) ** 0.5,
                         f"`{v}` -> `{alt}`")

    def attribute(self, node: cst.Attribute):
        attr = node.attr.value
        parent = self.parent(node)
        called = isinstance(parent, cst.Call) and parent.func is node
        for alt in FUNC_ALTS.get(attr, []):
            new = node.with_changes(attr=node.attr.with_changes(value=alt))
            self.add("function", node, new, 1.0 if called else 0.5, f"`.{attr}` -> `.{alt}`")

    def call(self, node: cst.Call):
        fname = node.func.value if isinstance(node.func, cst.Name) else None
        if fname and len(node.args) == 1 and not node.args[0].keyword and not node.args[0].star:
            mine = self.src(node.args[0].value)
            for other in self.calls_by_name.get(fname, ()):  # copy-paste slip: `ord(ch)` for `ord("a")`
                if other is not node and self.src(other.args[0].value) != mine:
                    new = node.with_changes(args=[node.args[0].with_changes(value=other.args[0].value)])
                    self.add("variable", node, new, 0.5, f"`{_clip(code(node))}` -> `{_clip(code(new))}`")
        if fname in FUNC_ALTS and fname not in self.locals:
            for alt in FUNC_ALTS[fname]:
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
        if fname in TRANSPARENT_CALLS and len(node.args) == 1 and not node.args[0].star and node.args[0].keyword is None:
            inner = at_least(node.args[0].value, required_prec(self.parent(node), node))
            self.add("drop_operand", node, inner, 0.7, f"`{code(node)}` -> `{code(inner)}`")
        if fname == "range":
            self.range_bounds(node)
        if (fname == "sorted" or _call_name(node) == "sort") and not any(
                a.keyword and a.keyword.value == "reverse" for a in node.args):
            args = list(node.args)
            if args:
                args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=SP))
            args.append(cst.Arg(keyword=cst.Name("reverse"), value=cst.Name("True"),
                                equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                                                      whitespace_after=cst.SimpleWhitespace(""))))
            new = node.with_changes(args=args)
            self.add("function", node, new, 0.6, f"`{_clip(code(node))}` -> `{_clip(code(new))}`")
        if (isinstance(node.func, cst.Attribute) and node.func.attr.value in IN_PLACE_METHODS
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
            new = node.with_changes(args=[cst.Arg(cst.Integer("1"), comma=cst.Comma(whitespace_after=SP)), args[0]])
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
            self.add("swap_branches", node, new, 1.0, f"swap the branches of `if {_clip(self.src(node.test))}:`")
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
            and _call_name(value).startswith(PREDICATE_PREFIXES))
        if boolish:
            neg = cst.UnaryOperation(operator=cst.Not(), expression=at_least(value, 4))
            self.add("negation", value, neg, 0.8, f"`{code(value)}` -> `{code(neg)}`")
        if isinstance(value, (cst.Name, cst.Subscript, cst.Attribute)) and not _is_const_name(value):
            new = cst.Call(func=cst.Name("abs"), args=[cst.Arg(value)])
            self.add("wrap_abs", value, new, 0.5, f"`{code(value)}` -> `{code(new)}`")
        if isinstance(value, (cst.ListComp, cst.List)) or _is_call_to(value, "sorted") or _is_call_to(value, "list"):
            for lower, upper in (("1", None), (None, "-1")):  # one element too many at either end
                sl = cst.Slice(lower=cst.Integer(lower) if lower else None,
                               upper=cst.UnaryOperation(cst.Minus(), cst.Integer("1")) if upper else None)
                new = cst.Subscript(value=at_least(value, ATOM), slice=[cst.SubscriptElement(sl)])
                self.add("off_by_one", value, new, 0.4, f"`{_clip(code(value))}` -> `{_clip(code(new))}`")
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
                text = next((ln.strip() for ln in self.src(stmt).splitlines()
                             if ln.strip() and not ln.strip().startswith("#")), "")
                self.add("remove_stmt", stmt, None, w, f"remove `{text}`")
        for i, stmt in enumerate(body):  # unwrap `if c: body` (no else) -> body
            if isinstance(stmt, cst.If) and stmt.orelse is None and isinstance(stmt.body, cst.IndentedBlock):
                new_body = body[:i] + list(stmt.body.body) + body[i + 1:]
                new = node.with_changes(body=new_body)
                self.add("unwrap_if", node, new, 1.0, f"drop condition `if {_clip(self.src(stmt.test))}:`", anchor=stmt)
            if isinstance(stmt, cst.If) and isinstance(stmt.orelse, cst.Else):  # drop the else branch
                new_body = body[:i] + [stmt.with_changes(orelse=None)] + body[i + 1:]
                self.add("unwrap_if", node, node.with_changes(body=new_body), 0.5,
                         f"remove `else` of `if {_clip(self.src(stmt.test))}:`", anchor=stmt)

    def function_level(self):
        body = self.pf.func.body
        if not isinstance(body, cst.IndentedBlock):
            return
        stmts = list(body.body)
        start = 1 if stmts and self._is_docstring(stmts[0]) else 0
        if start >= len(stmts):
            return
        anchor = stmts[start]
        returns = [n for n in self.pf.walk(body) if isinstance(n, cst.Return)]
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
            flips = {r.value: r.value.with_changes(value="False" if r.value.value == "True" else "True")
                     for r in bool_returns}
            self.add("negation", body, lambda: body.visit(ReplaceMany(flips)), 0.9, "flip every `return True` / `return False`", anchor=bool_returns[0])
        # The same wrong literal used everywhere (`return " "` in every branch).
        literals: dict[str, list[cst.SimpleString]] = {}
        for n in self.pf.walk(body):
            if isinstance(n, cst.SimpleString) and not isinstance(self.parent(n), cst.Expr):
                literals.setdefault(n.value, []).append(n)
        for text, nodes in literals.items():
            if len(nodes) < 2:
                continue
            for new, w in _string_alternatives(nodes[0]):
                mapping = {n: new for n in nodes}
                self.add("constant", body, lambda mapping=mapping: body.visit(ReplaceMany(mapping)), w * 0.7, f"every `{text}` -> `{new.value}`", anchor=nodes[0])
        # Guard / early return for empty or false-y parameters.
        defaults = _default_returns(returns)
        for name in _param_names(self.pf.func):
            for j, d in enumerate(defaults):
                ret = f"return {d}" if d else "return"
                guard = cst.parse_statement(f"if not {name}:\n    {ret}\n")
                new = body.with_changes(body=stmts[:start] + [guard] + stmts[start:])
                self.add("guard", body, new, 1.0 / (1 + j), f"insert `if not {name}: {ret}`", anchor=anchor)


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
    if len(value) > 1 and len(set(value)) == 1:  # "__" -> "_" / "___"
        options += [value[:-1], value + value[0]]
    if len(value) == 1:
        if value.isalpha():
            options.append(value.swapcase())
        options.extend(CONFUSED_CHARS.get(value, []))
        if value != " ":
            options.append(" ")
    weight = 0.8 if value in ("", " ") or len(value) == 1 else 0.3
    return [(cst.SimpleString(f"{node.prefix}{quote}{opt}{quote}"), weight)
            for opt in options if not any(ch in opt for ch in (quote, "\\", "\n"))]


def _flip_chain(node, cls, alt):
    if isinstance(node, cst.BooleanOperation) and type(node.operator) is cls and not node.lpar:
        return node.with_changes(left=_flip_chain(node.left, cls, alt), operator=make_op(alt, node.operator),
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

