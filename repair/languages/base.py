"""The interface every language implements, and the tree-sitter walk they share.

A language says: which files are its sources and which are tests, how its functions are named
(FunctionInfo.qualname), how failure traces name frames, which names a test's source calls,
and (for the template engine) the node types of its operators. A new language is one module
that subclasses `Language` and registers an instance (repair/languages/__init__.py).
"""
from __future__ import annotations

import importlib
import re
from functools import lru_cache
from pathlib import Path

from patchwarden.repair.bug_context import FunctionInfo


class ParseProblem(Exception):
    """Source files that do not parse."""


@lru_cache(maxsize=None)
def ts_parser(module: str, attr: str = "language"):
    from tree_sitter import Language as TSLanguage, Parser

    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise RuntimeError(f"no tree-sitter grammar {module}: pip install {module.replace('_', '-')}") from exc
    return Parser(TSLanguage(getattr(mod, attr)()))


def text_of(node, data: bytes) -> str:
    return data[node.start_byte:node.end_byte].decode("utf-8", errors="replace")


def first_error(node) -> str:
    stack = [node]
    while stack:
        n = stack.pop(0)
        if n.type == "ERROR" or n.is_missing:
            return f"syntax error at line {n.start_point[0] + 1}"
        stack.extend(n.children)
    return "syntax error"


def leading_comments(node, data: bytes) -> str:
    lines = []
    prev = node.prev_sibling
    row = node.start_point[0]
    while prev is not None and prev.type in ("comment", "line_comment", "block_comment") and prev.end_point[0] == row - 1:
        lines.append(text_of(prev, data))
        row = prev.start_point[0]
        prev = prev.prev_sibling
    return "\n".join(reversed(lines))


class Language:
    """One programming language. Subclasses set the class attributes and override what differs."""

    name = ""
    extensions: tuple[str, ...] = ()
    fence = ""  # the Markdown code-fence tag models know
    grammar_module = ""
    test_dirs: tuple[str, ...] = ("tests", "test", "testing")
    skip_dirs: tuple[str, ...] = ()  # build output folders of this language's tools, never searched
    # Words of a test command that say it runs this language's tests (a mixed repository's tie-breaker).
    command_words: tuple[str, ...] = ()
    # Template engine node types (repair/engines/ts_template.py).
    binary_types: tuple[str, ...] = ("binary_expression",)
    call_types: tuple[str, ...] = ("call_expression",)
    argument_list_types: tuple[str, ...] = ("arguments",)
    condition_parents: tuple[str, ...] = ("if_statement", "while_statement", "do_statement", "for_statement",
                                          "ternary_expression")
    null_literal = "null"

    def grammar_for(self, path: str) -> tuple[str, str]:
        return self.grammar_module, "language"

    def parser(self, path: str = ""):
        return ts_parser(*self.grammar_for(path))

    def parse(self, data: bytes, path: str = ""):
        return self.parser(path).parse(data)

    def owns(self, path: str) -> bool:
        return str(path).endswith(self.extensions)

    def is_test_file(self, relpath: str) -> bool:
        return any(part in self.test_dirs for part in Path(relpath).parts[:-1])

    # -- functions
    def functions(self, text: str, path: str) -> list[FunctionInfo]:
        """All functions/methods in `text`, outer before inner; raises ParseProblem on syntax errors."""
        data = text.encode()
        tree = self.parse(data, path)
        if tree.root_node.has_error:
            raise ParseProblem(f"{path}: {first_error(tree.root_node)}")
        out: list[FunctionInfo] = []
        self.visit(tree.root_node, self.root_scope(tree.root_node, data), data, path, out)
        return unique_names(out)

    def root_scope(self, root, data: bytes) -> list[str]:
        return []

    def visit(self, node, scope: list[str], data: bytes, path: str, out: list[FunctionInfo]) -> None:
        raise NotImplementedError

    def make_info(self, node, outer, qual: str, name: str, data: bytes, path: str, docstring: str = "") -> FunctionInfo:
        return FunctionInfo(path=path, qualname=qual, name=name, start_line=outer.start_point[0] + 1,
                            end_line=outer.end_point[0] + 1, start_byte=outer.start_byte, end_byte=outer.end_byte,
                            source=text_of(outer, data), docstring=docstring,
                            comments=leading_comments(outer, data), language=self.name)

    # -- prompts
    class_types: tuple[str, ...] = ()  # node types whose members give a method its class context
    body_field = "body"

    def class_context(self, fn: FunctionInfo, file_text: str) -> str | None:
        """An outline of the class holding `fn`: its header, fields, and the other members' signatures
        with bodies elided (`fn` itself marked). None when `fn` is not a method."""
        if not self.class_types:
            return None
        data = file_text.encode()
        node = self.parse(data, fn.path).root_node.descendant_for_byte_range(fn.start_byte, fn.end_byte)
        while node is not None and node.type not in self.class_types:
            node = node.parent
        if node is None or node.child_by_field_name(self.body_field) is None:
            return None
        body = node.child_by_field_name(self.body_field)
        lines = [data[node.start_byte:body.start_byte].decode(errors="replace").strip() + " {"]
        for member in body.named_children:
            if member.start_byte == fn.start_byte or (member.start_byte <= fn.start_byte and fn.end_byte <= member.end_byte
                                                      and member.end_byte - member.start_byte == fn.end_byte - fn.start_byte):
                lines.append(f"    // {fn.name}: the method to fix (shown above)")
                continue
            inner = member.child_by_field_name("body") or member.child_by_field_name("value")
            if inner is not None and inner.type in ("block", "constructor_body", "statement_block", "class_body"):
                head = data[member.start_byte:inner.start_byte].decode(errors="replace").strip()
                lines.append(f"    {' '.join(head.split())} {{ ... }}")
            elif "comment" not in member.type:
                lines.append("    " + " ".join(text_of(member, data).split()))
        lines.append("}")
        return "\n".join(lines)

    # -- traces
    def frames(self, text: str, workdir: str, files: list[str]) -> list[tuple[str, int, str]]:
        """(repo-relative path, line, function) of each frame of a repository file, outermost first."""
        raise NotImplementedError

    # -- tests
    def test_location(self, nodeid: str, traceback: str, workdir: str, files: list[str]) -> tuple[str, str] | None:
        """(test file, test name) of a failing test, where it can be told."""
        return None

    def test_source(self, text: str, path: str, name: str) -> str | None:
        """The source of test `name` in a test file's text."""
        for fn in self.functions(text, path):
            if fn.name == name or fn.qualname == name:
                return fn.source
        return None

    def called_names(self, source: str, path: str = "") -> set[str]:
        """Names of the functions and methods a piece of source calls (static evidence)."""
        data = source.encode()
        tree = self.parse(data, path)
        names: set[str] = set()
        stack = [tree.root_node]
        while stack:
            node = stack.pop()
            if node.type in self.call_types:
                name = self.callee_name(node, data)
                if name:
                    names.add(name)
            stack.extend(node.children)
        return names

    def callee_name(self, call, data: bytes) -> str | None:
        return None


def unique_names(found: list[FunctionInfo]) -> list[FunctionInfo]:
    """Two functions of one file with the same qualified name (JS redefinitions, anonymous callbacks)
    are told apart by their line: `name@L12`."""
    seen: dict[str, int] = {}
    for fn in found:
        seen[fn.qualname] = seen.get(fn.qualname, 0) + 1
    for fn in found:
        if seen[fn.qualname] > 1:
            fn.qualname = f"{fn.qualname}@L{fn.start_line}"
    again: dict[str, int] = {}
    for fn in found:  # two on one line: their order on it
        again[fn.qualname] = again.get(fn.qualname, 0) + 1
        if again[fn.qualname] > 1:
            fn.qualname = f"{fn.qualname}#{again[fn.qualname]}"
    return found


def relative_frame_path(path: str, workdir: str) -> str | None:
    """A frame's file as a repo-relative path, or None when it is outside the work dir."""
    if path.startswith("file://"):
        path = path[len("file://"):]
    root = workdir.rstrip("/") + "/"
    if path.startswith(root):
        return path[len(root):]
    if not path.startswith("/") and not path.startswith("<") and ":" not in path.split("/")[0]:
        return path
    return None


IDENT = re.compile(r"[A-Za-z_$][\w$]*")
