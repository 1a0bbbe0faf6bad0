"""Per-test results from JUnit XML (pytest's --junitxml and most other runners write it).

Independent of any runner's console format. pytest encodes a test as
classname="pkg.mod.Class" name="test_x" file="pkg/mod.py"; we rebuild pytest-style node
ids ("pkg/mod.py::Class::test_x") so they can be passed back to pytest.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

from .testresults import TestResult


def _nodeid(case: ET.Element) -> str:
    name = case.get("name", "")
    classname = case.get("classname", "")
    file = case.get("file")
    if file is None and classname:
        # Without a file attribute: classname "pkg.test_mod.TestA" -> guess the module path.
        parts = classname.split(".")
        # A class part starts with an upper-case letter (pytest's convention "TestX").
        mod_parts = [p for p in parts if not p[:1].isupper()]
        cls_parts = parts[len(mod_parts):]
        file = "/".join(mod_parts) + ".py"
        return "::".join([file, *cls_parts, name])
    if file is None:
        return name
    mod_dotted = file[:-3].replace("/", ".") if file.endswith(".py") else file
    cls_parts: list[str] = []
    if classname.startswith(mod_dotted + "."):
        cls_parts = classname[len(mod_dotted) + 1 :].split(".")
    elif classname and classname != mod_dotted and not classname.endswith(mod_dotted.split(".")[-1]):
        cls_parts = [classname.split(".")[-1]]
    return "::".join([file, *cls_parts, name])


def parse_junit(xml: bytes | str) -> list[TestResult]:
    """Parse JUnit XML into TestResults; raises ValueError on unreadable XML."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise ValueError(f"unreadable JUnit XML: {exc}") from exc
    results: list[TestResult] = []
    for case in root.iter("testcase"):
        status, message, text = "passed", "", ""
        for child in case:
            tag = child.tag
            if tag in ("failure", "error"):
                # An error after a passing call (teardown) still counts as a bad test.
                status = "failed" if tag == "failure" else "error"
                message = child.get("message", "") or ""
                text = (child.text or "").strip()
                break
            if tag == "skipped":
                status = "skipped"
                message = child.get("message", "") or ""
        try:
            duration = float(case.get("time", "0") or 0)
        except ValueError:
            duration = 0.0
        results.append(TestResult(_nodeid(case), status, message.strip(), text, duration))
    return results


def merge_by_nodeid(results: list[TestResult]) -> dict[str, TestResult]:
    """One result per test: a bad outcome (e.g. setup ok, teardown error) wins."""
    merged: dict[str, TestResult] = {}
    for r in results:
        if r.nodeid not in merged or r.bad:
            merged[r.nodeid] = r
    return merged
