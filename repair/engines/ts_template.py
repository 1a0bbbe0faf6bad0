"""Template operators over tree-sitter syntax trees, for the languages without libcst (Java,
JavaScript, TypeScript): each proposes single text edits inside one function, ranked by prior.

Operators (their names match the Python operators of fix_patterns.PRIORS where the pattern is the same):
comparison (`<` <-> `<=`, `==` <-> `!=`...), arithmetic, swap_operands (`a - b` -> `b - a`), boolean
(`&&` <-> `||`), off_by_one (integer
literals and comparison bounds +-1, indexes +-1), negation (conditions negated, `!` removed),
constant (`true` <-> `false`), swap_args (adjacent call arguments), guard (a `null` guard on an
object parameter; JavaScript `a.b` -> `a?.b`), equality (Java `==` <-> `.equals`/`Objects.equals`,
JavaScript `==` <-> `===`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from patchwarden.repair.bug_context import FunctionInfo
from patchwarden.repair.engines.fix_patterns import PRIORS
from patchwarden.repair.languages import get as get_language
from patchwarden.repair.languages.base import text_of

TS_PRIORS: dict[str, float] = {name: PRIORS[name] for name in
                               ("comparison", "off_by_one", "arithmetic", "boolean", "negation", "constant", "swap_args",
                                "swap_operands", "guard")}
TS_PRIORS["equality"] = 1.0  # `==` for `===` (JS) and `==` for equals (Java): as common as a comparison slip
TS_OPERATORS = tuple(TS_PRIORS)

CMP = {  # operator -> [(replacement, weight)]
    "<": [("<=", 1.0), (">", 0.8), (">=", 0.6)], "<=": [("<", 1.0), (">=", 0.8), (">", 0.6)],
    ">": [(">=", 1.0), ("<", 0.8), ("<=", 0.6)], ">=": [(">", 1.0), ("<=", 0.8), ("<", 0.6)],
    "==": [("!=", 1.0), ("<=", 0.25), (">=", 0.25)], "!=": [("==", 1.0), ("<", 0.3), (">", 0.3)],
    "===": [("!==", 1.0)], "!==": [("===", 1.0)],
}
ARITH = {"+": [("-", 1.0), ("*", 0.6)], "-": [("+", 1.0), ("*", 0.4)], "*": [("/", 0.8), ("+", 0.6)],
         "/": [("*", 0.8), ("%", 0.5)], "%": [("/", 0.5)], "&": [("|", 0.8)], "|": [("&", 0.8)], "^": [("&", 0.5)],
         "<<": [(">>", 0.8)], ">>": [("<<", 0.8), (">>>", 0.5)], ">>>": [(">>", 0.8)]}
BOOL = {"&&": [("||", 1.0)], "||": [("&&", 1.0)]}
JS_EQUALITY = {"==": [("===", 1.0)], "!=": [("!==", 1.0)], "===": [("==", 0.5)], "!==": [("!=", 0.5)]}
NUMBER = re.compile(r"^\d+$")
PRIMITIVES = {"int", "long", "short", "byte", "char", "float", "double", "boolean"}
LITERAL_TYPES = ("decimal_integer_literal", "number", "null_literal", "null", "undefined", "true", "false",
                 "character_literal", "decimal_floating_point_literal", "string", "string_literal")


@dataclass
class TSMutation:
    operator: str
    start: int  # byte offsets in the file
    end: int
    replacement: str
    line: int  # absolute line in the file
    weight: float
    label: str

    @property
    def prior(self) -> float:
        return TS_PRIORS[self.operator] * self.weight

    def apply(self, fn: FunctionInfo) -> str:
        data = fn.source.encode()
        s, e = self.start - fn.start_byte, self.end - fn.start_byte
        return (data[:s] + self.replacement.encode() + data[e:]).decode()


class _Collector:
    def __init__(self, fn: FunctionInfo, file_text: str, operators: set[str]):
        self.fn = fn
        self.lang = get_language(fn.language)
        self.data = file_text.encode()
        self.ops = operators
        self.out: list[TSMutation] = []
        self.java = fn.language == "java"

    def t(self, node) -> str:
        return text_of(node, self.data)

    def add(self, op: str, node_or_span, replacement: str, weight: float, label: str, line_node=None) -> None:
        if op not in self.ops:
            return
        start, end = (node_or_span.start_byte, node_or_span.end_byte) if not isinstance(node_or_span, tuple) else node_or_span
        line = (line_node if line_node is not None else node_or_span).start_point[0] + 1
        self.out.append(TSMutation(op, start, end, replacement, line, weight, label))

    def collect(self) -> list[TSMutation]:
        root = self.lang.parse(self.data, self.fn.path).root_node
        node = root.descendant_for_byte_range(self.fn.start_byte, self.fn.end_byte)
        while node is not None and not (node.start_byte <= self.fn.start_byte and node.end_byte >= self.fn.end_byte):
            node = node.parent
        if node is None:
            return []
        self._params(node)
        stack = [node]
        while stack:
            n = stack.pop()
            if self.fn.start_byte <= n.start_byte and n.end_byte <= self.fn.end_byte:
                self.visit(n)
            stack.extend(reversed(n.children))
        return self.out

    # -- per node
    def visit(self, n) -> None:
        t = n.type
        if t in self.lang.binary_types:
            self._binary(n)
        elif t in ("decimal_integer_literal", "number") and NUMBER.match(self.t(n)):
            self._number(n)
        elif t in ("true", "false"):
            self.add("constant", n, "false" if t == "true" else "true", 1.0, f"`{t}` -> `{'false' if t == 'true' else 'true'}`")
        elif t == "parenthesized_expression" and n.parent is not None and n.parent.type in self.lang.condition_parents \
                and n.parent.child_by_field_name("condition") == n:
            self._negate(n)
        elif t == "unary_expression" and n.children and self.t(n.children[0]) == "!":
            arg = n.child_by_field_name("argument") or n.named_children[-1]
            self.add("negation", n, self.t(arg), 0.8, f"`{_clip(self.t(n))}` -> `{_clip(self.t(arg))}`")
        elif t in self.lang.argument_list_types:
            self._swap_args(n)
        elif t in ("subscript_expression", "array_access"):
            self._index(n)
        elif t == "method_invocation" and self.java:
            self._equals_call(n)
        elif t == "member_expression" and not self.java:
            self._optional_chain(n)

    def _binary(self, n) -> None:
        op_node = n.child_by_field_name("operator")
        left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
        if op_node is None or left is None or right is None:
            return
        op = self.t(op_node)
        where = (op_node.start_byte, op_node.end_byte)
        table = [("comparison", CMP), ("arithmetic", ARITH), ("boolean", BOOL)]
        if not self.java:
            table.insert(0, ("equality", JS_EQUALITY))
        for name, swaps in table:
            for new, w in swaps.get(op, []):
                if name == "comparison" and not self.java and new in ("<=", ">=", "<", ">") and op in ("===", "!=="):
                    continue
                self.add(name, where, new, w, f"`{op}` -> `{new}`", line_node=op_node)
        if op in ("-", "/", "%", "<<", ">>", ">>>"):  # non-commutative: `lo - hi` for `hi - lo`
            self.add("swap_operands", (left.start_byte, right.end_byte), self.t(right) + self.data[left.end_byte:right.start_byte].decode()
                     + self.t(left), 1.0, f"swap operands of `{_clip(self.t(n))}`", line_node=n)
        if op in ("<", "<=", ">", ">=") and right.type not in ("decimal_integer_literal", "number"):
            for delta, sign in ((1, "+"), (-1, "-")):
                self.add("off_by_one", right, f"{self.t(right)} {sign} 1", 0.5, f"bound `{_clip(self.t(right))}` {sign} 1")
        if self.java and op in ("==", "!=") and not {left.type, right.type} & set(LITERAL_TYPES):
            a, b = self.t(left), self.t(right)
            call = f"java.util.Objects.equals({a}, {b})"
            self.add("equality", n, call if op == "==" else f"!{call}", 1.0, f"`{_clip(self.t(n))}` -> Objects.equals")

    def _number(self, n) -> None:
        value = int(self.t(n))
        parent = n.parent
        in_cmp = parent is not None and parent.type in self.lang.binary_types and \
            self.t(parent.child_by_field_name("operator")) in ("<", "<=", ">", ">=", "==", "!=", "===", "!==")
        w = 1.0 if in_cmp else 0.6
        for new in (value + 1, value - 1):
            if new >= 0:
                self.add("off_by_one", n, str(new), w, f"`{value}` -> `{new}`")

    def _negate(self, paren) -> None:
        inner = paren.named_children[0] if paren.named_children else None
        if inner is None:
            return
        self.add("negation", inner, f"!({self.t(inner)})", 0.7, f"negate `{_clip(self.t(inner))}`")

    def _swap_args(self, args) -> None:
        items = [a for a in args.named_children if a.type not in ("comment", "line_comment", "block_comment")]
        for a, b in zip(items, items[1:]):
            if self.t(a) == self.t(b):
                continue
            span = (a.start_byte, b.end_byte)
            between = self.data[a.end_byte:b.start_byte].decode()
            self.add("swap_args", span, self.t(b) + between + self.t(a), 1.0,
                     f"swap arguments `{_clip(self.t(a))}`, `{_clip(self.t(b))}`", line_node=a)

    def _index(self, n) -> None:
        index = n.child_by_field_name("index")
        if index is None or index.type in ("decimal_integer_literal", "number", "string"):
            return
        for sign in ("+", "-"):
            self.add("off_by_one", index, f"{self.t(index)} {sign} 1", 0.5, f"index `{_clip(self.t(index))}` {sign} 1")

    def _equals_call(self, n) -> None:
        name = n.child_by_field_name("name")
        obj = n.child_by_field_name("object")
        args = n.child_by_field_name("arguments")
        if name is None or obj is None or args is None or self.t(name) != "equals" or len(args.named_children) != 1:
            return
        a, b = self.t(obj), self.t(args.named_children[0])
        self.add("equality", n, f"{a} == {b}", 0.5, f"`{_clip(self.t(n))}` -> `==`")
        self.add("equality", n, f"java.util.Objects.equals({a}, {b})", 0.6, f"`{_clip(self.t(n))}` -> null-safe Objects.equals")

    def _optional_chain(self, n) -> None:
        obj = n.child_by_field_name("object")
        if obj is None or (n.parent is not None and n.parent.type == "assignment_expression"
                           and n.parent.child_by_field_name("left") == n):
            return
        dot = next((c for c in n.children if c.type in (".", "?.")), None)
        if dot is None or self.t(dot) != "." or obj.type in ("this", "super"):
            return
        self.add("guard", dot, "?.", 0.6, f"`{_clip(self.t(n))}` -> optional chaining", line_node=dot)

    def _params(self, fn_node) -> None:
        """A `null` guard at the start of the body for each object parameter."""
        body = fn_node.child_by_field_name("body")
        params = fn_node.child_by_field_name("parameters")
        if body is None or params is None or body.type not in ("block", "constructor_body", "statement_block") \
                or not body.children:
            return
        ret = fn_node.child_by_field_name("type")
        if self.java:
            rtype = self.t(ret) if ret is not None else "void"
            default = {"void": "return;", "boolean": "return false;"}.get(rtype, "return 0;" if rtype in PRIMITIVES else "return null;")
        else:
            default = "return undefined;"
        for p in params.named_children:
            if self.java:
                typ = p.child_by_field_name("type")
                if typ is None or self.t(typ) in PRIMITIVES:
                    continue
                name = p.child_by_field_name("name")
            else:
                name = p if p.type == "identifier" else p.child_by_field_name("pattern") if p.type == "required_parameter" else None
            if name is None or name.type != "identifier":
                continue
            pos = body.children[0].end_byte  # after `{`
            guard = f" if ({self.t(name)} == null) {default}"
            self.add("guard", (pos, pos), guard, 0.8, f"`{guard.strip()}` first", line_node=body)


def _clip(text: str, limit: int = 40) -> str:
    text = re.sub(r"\s+", " ", text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def collect_ts_mutations(fn: FunctionInfo, file_text: str, operators: set[str]) -> list[TSMutation]:
    """Every single edit the operators propose inside `fn` (a function of `file_text`)."""
    return _Collector(fn, file_text, operators).collect()


def parses(fn: FunctionInfo, file_text: str, new_source: str) -> bool:
    """Whether the file with the function replaced still parses without errors."""
    data = file_text.encode()
    patched = data[:fn.start_byte] + new_source.encode() + data[fn.end_byte:]
    return not get_language(fn.language).parse(patched, fn.path).root_node.has_error
