"""Python: functions by tree-sitter-python (decorators included in the span), pytest's test files,
traceback frames `File "...", line N, in f`; static calls come from repair/test_calls.py."""
from __future__ import annotations

from pathlib import Path

from .base import Language, text_of


def _docstring(fn_node, data: bytes) -> str:
    body = fn_node.child_by_field_name("body")
    if body is None or not body.named_children:
        return ""
    first = body.named_children[0]
    if first.type == "expression_statement" and first.named_children and first.named_children[0].type == "string":
        raw = text_of(first.named_children[0], data)
        for q in ('"""', "'''", '"', "'"):
            start = raw.find(q)
            if start != -1 and raw.endswith(q) and len(raw) >= start + 2 * len(q):
                return raw[start + len(q) : len(raw) - len(q)].strip()
        return raw
    return ""


class Python(Language):
    name = "python"
    extensions = (".py",)
    fence = "python"
    grammar_module = "tree_sitter_python"
    command_words = ("pytest", "python", "python3", "tox", "nox")
    call_types = ("call",)

    def is_test_file(self, relpath: str) -> bool:
        name = Path(relpath).name
        if name == "conftest.py" or name.startswith("test_") or name.endswith("_test.py"):
            return True
        return super().is_test_file(relpath)

    def visit(self, node, scope, data, path, out) -> None:
        for child in node.named_children:
            target, outer = child, child
            if child.type == "decorated_definition":
                target = child.child_by_field_name("definition") or child.named_children[-1]
            if target.type == "function_definition":
                name_node = target.child_by_field_name("name")
                name = text_of(name_node, data) if name_node else "<anonymous>"
                out.append(self.make_info(target, outer, ".".join([*scope, name]), name, data, path,
                                          _docstring(target, data)))
                self.visit(target, [*scope, name], data, path, out)
            elif target.type == "class_definition":
                name_node = target.child_by_field_name("name")
                self.visit(target, [*scope, text_of(name_node, data) if name_node else "<class>"], data, path, out)
            else:
                self.visit(child, scope, data, path, out)

    def functions(self, text: str, path: str):
        # Python keeps its historical names: a redefined function is listed twice under one name.
        from .base import ParseProblem, first_error

        data = text.encode()
        tree = self.parse(data, path)
        if tree.root_node.has_error:
            raise ParseProblem(f"{path}: {first_error(tree.root_node)}")
        out = []
        self.visit(tree.root_node, [], data, path, out)
        return out

    def frames(self, text, workdir, files):
        from patchwarden.repair.testrun import traceback_frames

        return traceback_frames(text, workdir)

    def callee_name(self, call, data):
        fn = call.child_by_field_name("function")
        if fn is None:
            return None
        if fn.type == "attribute":
            fn = fn.child_by_field_name("attribute")
        return text_of(fn, data) if fn is not None and fn.type == "identifier" else None
