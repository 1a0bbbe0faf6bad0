"""`ast.parse` that is safe to call from several threads at once.

CPython 3.11 keeps the recursion counter of its AST-to-object conversion in interpreter-wide
state; two threads parsing at the same time (a garbage collection in one lets the other run)
corrupt it and fail with "SystemError: AST constructor recursion depth mismatch". Parallel
validators and benchmark workers parse from threads, so every parse in patchwarden goes here.
"""

from __future__ import annotations

import ast
import threading

_PARSE_LOCK = threading.RLock()  # re-entrant: a finalizer run inside a parse may parse again


def safe_parse(source: str | bytes, filename: str = "<unknown>", mode: str = "exec") -> ast.AST:
    """`ast.parse(source, filename, mode)`, one thread at a time."""
    with _PARSE_LOCK:
        return ast.parse(source, filename, mode)


def safe_literal_eval(text: str):
    """`ast.literal_eval` of a string (it parses, so it shares the same lock)."""
    with _PARSE_LOCK:
        return ast.literal_eval(text)
