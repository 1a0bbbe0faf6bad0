"""JavaScript and TypeScript: function declarations, class methods (getters/setters as `get x`),
functions and arrow functions bound to a name (`const f = () => ...`, object members, class fields,
`exports.f = ...`), anonymous callbacks with a block body (`outer.<anonymous>`); test files
`*.test.js`/`*.spec.ts`/`__tests__/`; Node stack frames `at fn (file.js:12:5)`."""
from __future__ import annotations

import re
from pathlib import Path

from .base import Language, relative_frame_path, text_of

FRAME = re.compile(r"^\s*at (?:async )?(?:(?P<fn>[^\s(][^(]*?) \()?(?P<file>[^\s()]+?):(?P<line>\d+):(?P<col>\d+)\)?\s*$", re.M)
FUNCTION_VALUES = ("arrow_function", "function_expression", "function", "generator_function")
DECLARATIONS = ("function_declaration", "generator_function_declaration")
CLASS_TYPES = ("class_declaration", "class", "abstract_class_declaration")
TEST_CALLS = ("test", "it", "describe", "suite", "specify")


def _name(node, data) -> str:
    return text_of(node, data).strip("'\"`") if node is not None else "<anonymous>"


class JavaScript(Language):
    name = "javascript"
    extensions = (".js", ".mjs", ".cjs", ".jsx")
    fence = "javascript"
    grammar_module = "tree_sitter_javascript"
    test_dirs = ("test", "tests", "__tests__", "spec")
    skip_dirs = ("coverage", ".next", "out")
    command_words = ("node", "npm", "npx", "yarn", "pnpm", "jest", "vitest", "mocha")
    condition_parents = ("if_statement", "while_statement", "do_statement", "for_statement", "ternary_expression")
    null_literal = "null"
    class_types = CLASS_TYPES

    def is_test_file(self, relpath: str) -> bool:
        name = Path(relpath).name
        if re.search(r"[.-](test|spec)\.[cm]?[jt]sx?$", name):
            return True
        return super().is_test_file(relpath)

    def visit(self, node, scope, data, path, out) -> None:
        for child in node.named_children:
            t = child.type
            if t in DECLARATIONS:
                name = _name(child.child_by_field_name("name"), data)
                self._add(child, child, scope, name, data, path, out)
            elif t == "method_definition":
                name = _name(child.child_by_field_name("name"), data)
                accessor = next((c.type for c in child.children if c.type in ("get", "set")), None)
                self._add(child, child, scope, f"{accessor} {name}" if accessor else name, data, path, out)
            elif t in CLASS_TYPES:
                self.visit(child, [*scope, _name(child.child_by_field_name("name"), data)], data, path, out)
            elif t in ("lexical_declaration", "variable_declaration") and len(child.named_children) == 1 \
                    and self._bound(child.named_children[0], "value"):
                decl = child.named_children[0]
                self._add(decl.child_by_field_name("value"), child, scope, _name(decl.child_by_field_name("name"), data),
                          data, path, out)
            elif t == "variable_declarator" and self._bound(child, "value"):
                self._add(child.child_by_field_name("value"), child, scope, _name(child.child_by_field_name("name"), data),
                          data, path, out)
            elif t == "variable_declarator" and (v := child.child_by_field_name("value")) is not None and v.type == "object":
                self.visit(v, [*scope, _name(child.child_by_field_name("name"), data)], data, path, out)
            elif t == "pair" and self._bound(child, "value"):
                self._add(child.child_by_field_name("value"), child, scope, _name(child.child_by_field_name("key"), data),
                          data, path, out)
            elif t in ("field_definition", "public_field_definition") and self._bound(child, "value"):
                key = child.child_by_field_name("property") or child.child_by_field_name("name")
                self._add(child.child_by_field_name("value"), child, scope, _name(key, data), data, path, out)
            elif t == "expression_statement" and child.named_children and child.named_children[0].type == "assignment_expression" \
                    and self._bound(child.named_children[0], "right"):
                assign = child.named_children[0]
                left = assign.child_by_field_name("left")
                prop = left.child_by_field_name("property") if left.type == "member_expression" else left
                self._add(assign.child_by_field_name("right"), child, scope, _name(prop, data), data, path, out)
            elif t in FUNCTION_VALUES and self._block_body(child):
                fn_name = child.child_by_field_name("name")
                self._add(child, child, scope, _name(fn_name, data) if fn_name is not None else "<anonymous>", data, path, out)
            else:
                self.visit(child, scope, data, path, out)

    @staticmethod
    def _bound(node, field: str) -> bool:
        value = node.child_by_field_name(field)
        return value is not None and value.type in FUNCTION_VALUES

    @staticmethod
    def _block_body(fn) -> bool:
        body = fn.child_by_field_name("body")
        return body is not None and body.type == "statement_block"

    def _add(self, fn, outer, scope, name, data, path, out) -> None:
        if fn.child_by_field_name("body") is None:  # a TypeScript overload signature: no code to repair
            return
        out.append(self.make_info(fn, outer, ".".join([*scope, name]), name, data, path))
        self.visit(fn, [*scope, name], data, path, out)

    def frames(self, text, workdir, files):
        found = []
        for m in FRAME.finditer(text):
            rel = relative_frame_path(m.group("file"), workdir)
            if rel is None or "node_modules/" in rel or not self.owns(rel) and not rel.endswith((".ts", ".tsx")):
                continue
            found.append((rel, int(m.group("line")), (m.group("fn") or "<anonymous>").strip()))
        return list(reversed(found))  # V8 prints the innermost frame first

    def test_location(self, nodeid, traceback, workdir, files):
        name = nodeid.split(" > ")[-1]
        for path, _line, _fn in reversed(self.frames(traceback, workdir, files)):
            if self.is_test_file(path):
                return path, name
        head = nodeid.split(" > ")[0]
        if head in files:
            return head, name
        return None

    def test_source(self, text, path, name):
        """The `test('name', ...)`/`it(...)` call whose title is `name`."""
        data = text.encode()
        stack = [self.parse(data, path).root_node]
        while stack:
            node = stack.pop()
            if node.type == "call_expression":
                fn = node.child_by_field_name("function")
                args = node.child_by_field_name("arguments")
                callee = text_of(fn, data).split(".")[0] if fn is not None else ""
                if callee in TEST_CALLS and args is not None and args.named_children:
                    title = args.named_children[0]
                    if title.type in ("string", "template_string") and text_of(title, data)[1:-1] == name:
                        return text_of(node, data)
            stack.extend(node.children)
        return None

    def callee_name(self, call, data):
        fn = call.child_by_field_name("function")
        if fn is None:
            return None
        if fn.type == "member_expression":
            fn = fn.child_by_field_name("property")
        return text_of(fn, data) if fn is not None and fn.type in ("identifier", "property_identifier") else None


class TypeScript(JavaScript):
    name = "typescript"
    extensions = (".ts", ".mts", ".cts", ".tsx")
    fence = "typescript"
    grammar_module = "tree_sitter_typescript"

    def grammar_for(self, path: str) -> tuple[str, str]:
        return self.grammar_module, "language_tsx" if str(path).endswith(".tsx") else "language_typescript"

    def owns(self, path: str) -> bool:
        return str(path).endswith(self.extensions) and not str(path).endswith(".d.ts")
