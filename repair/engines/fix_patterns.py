"""The fix patterns as data: operator priors and the swap tables the mutation operators read."""
from __future__ import annotations

from typing import Iterator

import libcst as cst

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

# (a, b, weight): boundary and negation swaps are the usual fixes, direction reversal less so.
CMP_SWAPS = [
    (cst.LessThan, cst.LessThanEqual, 1.0), (cst.GreaterThan, cst.GreaterThanEqual, 1.0),
    (cst.Equal, cst.NotEqual, 1.0), (cst.Is, cst.IsNot, 1.0), (cst.In, cst.NotIn, 1.0),
    (cst.LessThan, cst.GreaterThan, 0.8), (cst.LessThanEqual, cst.GreaterThanEqual, 0.8),
    (cst.LessThan, cst.GreaterThanEqual, 0.6), (cst.GreaterThan, cst.LessThanEqual, 0.6),
    (cst.Equal, cst.Is, 0.3), (cst.NotEqual, cst.IsNot, 0.3),
    (cst.Equal, cst.LessThan, 0.25), (cst.Equal, cst.GreaterThan, 0.25),
    (cst.Equal, cst.LessThanEqual, 0.25), (cst.Equal, cst.GreaterThanEqual, 0.25),
    (cst.NotEqual, cst.LessThan, 0.3), (cst.NotEqual, cst.GreaterThan, 0.3),
]
ARITH_SWAPS = [
    (cst.Add, cst.Subtract, 1.0), (cst.Multiply, cst.Divide, 0.8), (cst.Divide, cst.FloorDivide, 0.9),
    (cst.Multiply, cst.FloorDivide, 0.7), (cst.Modulo, cst.FloorDivide, 0.7), (cst.Multiply, cst.Power, 0.6),
    (cst.Add, cst.Multiply, 0.6), (cst.Subtract, cst.Multiply, 0.4), (cst.Modulo, cst.Divide, 0.5),
    (cst.Add, cst.Modulo, 0.3), (cst.Subtract, cst.Modulo, 0.3), (cst.Subtract, cst.FloorDivide, 0.3),
    (cst.Add, cst.Divide, 0.3), (cst.Subtract, cst.Divide, 0.3), (cst.Power, cst.Modulo, 0.3),
    (cst.BitAnd, cst.BitOr, 0.8), (cst.BitOr, cst.BitXor, 0.6), (cst.BitAnd, cst.BitXor, 0.6),
    (cst.LeftShift, cst.RightShift, 0.8),
]
AUG_OF = {
    cst.Add: cst.AddAssign, cst.Subtract: cst.SubtractAssign, cst.Multiply: cst.MultiplyAssign,
    cst.Divide: cst.DivideAssign, cst.FloorDivide: cst.FloorDivideAssign, cst.Modulo: cst.ModuloAssign,
    cst.Power: cst.PowerAssign, cst.BitAnd: cst.BitAndAssign, cst.BitOr: cst.BitOrAssign,
    cst.BitXor: cst.BitXorAssign, cst.LeftShift: cst.LeftShiftAssign, cst.RightShift: cst.RightShiftAssign,
}
AUG_SWAPS = [(AUG_OF[a], AUG_OF[b], w) for a, b, w in ARITH_SWAPS]  # `x -= k` is the same slip as `x - k`
NON_COMMUTATIVE = (cst.Subtract, cst.Divide, cst.FloorDivide, cst.Modulo, cst.Power, cst.LeftShift, cst.RightShift)


def alternatives(table, cls) -> Iterator[tuple[type, float]]:
    for a, b, w in table:
        if cls is a:
            yield b, w
        elif cls is b:
            yield a, w


# Builtins and methods that are commonly confused (same arity, same place in code).
FUNC_GROUPS = [
    ("min", "max"), ("any", "all"), ("sorted", "reversed"), ("sum", "len"), ("floor", "ceil"),
    ("append", "extend"), ("lower", "upper", "swapcase", "capitalize", "title"), ("isupper", "islower"), ("startswith", "endswith"),
    ("find", "rfind"), ("index", "rindex"), ("strip", "lstrip", "rstrip"), ("split", "rsplit"),
    ("isdigit", "isalpha", "isalnum", "isspace"), ("ljust", "rjust"), ("keys", "values", "items"),
    ("remove", "discard"), ("int", "float", "round"), ("bin", "hex", "oct"), ("chr", "ord"),
    ("map", "filter"), ("list", "set"), ("bisect_left", "bisect_right"),
    ("insert", "append"), ("pop", "popleft"), ("add", "append"),
]
FUNC_ALTS: dict[str, list[str]] = {}
for _g in FUNC_GROUPS:
    for _n in _g:
        FUNC_ALTS.setdefault(_n, []).extend(x for x in _g if x != _n)

# Calls whose removal ("excess logic") leaves their single argument: `sorted(set(x))` -> `sorted(x)`.
TRANSPARENT_CALLS = {"abs", "int", "float", "str", "list", "set", "tuple", "sorted", "reversed", "round", "len", "sum", "bool"}

# Methods that mutate in place and return None: their value is never what the code meant.
IN_PLACE_METHODS = {"sort", "reverse", "append", "extend", "insert", "remove", "clear", "update", "add", "discard"}

DERIVED_CALLS = {"len", "sum", "max", "min", "abs", "sorted", "set", "list", "str", "int"}

# Single characters commonly confused with one another: mirrored or other-kind brackets, signs, digits.
CONFUSED_CHARS = {
    "<": [">"], ">": ["<"], "(": [")", "["], ")": ["(", "]"], "[": ["]", "("], "]": ["[", ")"],
    "{": ["}", "["], "}": ["{", "]"], "+": ["-"], "-": ["+"], "0": ["1"], "1": ["0"],
}

PREDICATE_PREFIXES = ("is", "has", "can", "should")  # predicate-looking call names may be negated on return
