"""Java: methods and constructors named `pkg.Class.method(ParamType,...)` (overloads told apart by
their parameter types; nested, local and anonymous classes in the scope), JUnit/Maven test files,
stack frames `at pkg.Cls.m(File.java:12)`."""
from __future__ import annotations

import re
from pathlib import Path

from .base import Language, text_of

FRAME = re.compile(r"^\s*at\s+(?:[\w.$-]+/)*(?P<cls>[\w$.]+)\.(?P<fn>[\w$<>]+)\((?P<file>[\w$-]+\.java):(?P<line>\d+)\)", re.M)
CLASS_TYPES = ("class_declaration", "interface_declaration", "enum_declaration", "record_declaration",
               "annotation_type_declaration")


class Java(Language):
    name = "java"
    extensions = (".java",)
    fence = "java"
    grammar_module = "tree_sitter_java"
    skip_dirs = ("target", ".gradle", "out")
    command_words = ("mvn", "mvnw", "gradle", "gradlew", "java", "junit-platform-console-standalone")
    call_types = ("method_invocation", "object_creation_expression")
    argument_list_types = ("argument_list",)
    condition_parents = ("if_statement", "while_statement", "do_statement", "for_statement", "ternary_expression")
    class_types = CLASS_TYPES

    def is_test_file(self, relpath: str) -> bool:
        stem = Path(relpath).stem
        if stem.endswith(("Test", "Tests", "IT", "TestCase")) or (stem.startswith("Test") and stem[4:5].isupper()):
            return True
        return super().is_test_file(relpath)

    def root_scope(self, root, data):
        for child in root.named_children:
            if child.type == "package_declaration":
                for part in child.named_children:
                    if part.type in ("scoped_identifier", "identifier"):
                        return [text_of(part, data)]
        return []

    @staticmethod
    def signature(node, data: bytes) -> str:
        params = node.child_by_field_name("parameters")
        types = []
        for p in params.named_children if params is not None else []:
            if p.type in ("formal_parameter", "spread_parameter", "receiver_parameter"):
                t = p.child_by_field_name("type") or next((c for c in p.named_children if c.type.endswith("type")), None)
                typ = re.sub(r"\s+", "", text_of(t, data)) if t is not None else "?"
                if p.type == "spread_parameter":
                    typ += "..."
                dims = p.child_by_field_name("dimensions")
                types.append(typ + (text_of(dims, data) if dims is not None else ""))
        return "(" + ",".join(types) + ")"

    def visit(self, node, scope, data, path, out) -> None:
        for child in node.named_children:
            if child.type in ("method_declaration", "constructor_declaration") and child.child_by_field_name("body") is None:
                continue  # abstract and interface methods: no code to repair
            if child.type in ("method_declaration", "constructor_declaration"):
                name = text_of(child.child_by_field_name("name"), data)
                part = name + self.signature(child, data)
                out.append(self.make_info(child, child, ".".join([*scope, part]), name, data, path))
                self.visit(child, [*scope, part], data, path, out)
            elif child.type in CLASS_TYPES:
                name_node = child.child_by_field_name("name")
                self.visit(child, [*scope, text_of(name_node, data) if name_node else "<class>"], data, path, out)
            elif child.type == "object_creation_expression" and any(c.type == "class_body" for c in child.named_children):
                typ = child.child_by_field_name("type")
                label = f"<anonymous {text_of(typ, data) if typ is not None else ''}>".replace(" >", ">")
                self.visit(child, [*scope, label], data, path, out)
            else:
                self.visit(child, scope, data, path, out)

    def frames(self, text, workdir, files):
        by_suffix = {}
        for f in files:
            if f.endswith(".java"):
                by_suffix.setdefault(Path(f).name, []).append(f)
        found = []
        for m in FRAME.finditer(text):
            cls = m.group("cls").split("$")[0]
            package = cls.rsplit(".", 1)[0].replace(".", "/") if "." in cls else ""
            want = f"{package}/{m.group('file')}" if package else m.group("file")
            matches = [f for f in by_suffix.get(m.group("file"), []) if f == want or f.endswith("/" + want)]
            if len(matches) == 1:
                found.append((matches[0], int(m.group("line")), m.group("fn")))
        return list(reversed(found))  # Java prints the innermost frame first

    def test_location(self, nodeid, traceback, workdir, files):
        cls, _, method = nodeid.partition("#")
        if not method:
            return None
        method = re.split(r"[(\[]", method)[0].strip()
        want = cls.split("$")[0].replace(".", "/") + ".java"
        for f in files:
            if f == want or f.endswith("/" + want):
                return f, method
        return None

    def callee_name(self, call, data):
        if call.type == "object_creation_expression":
            typ = call.child_by_field_name("type")
            return text_of(typ, data).split("<")[0].split(".")[-1] if typ is not None else None
        name = call.child_by_field_name("name")
        return text_of(name, data) if name is not None else None
