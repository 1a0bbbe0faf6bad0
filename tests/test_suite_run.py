"""sandboxes/suite_run.py: the one way a suite runs cold and its per-test results are read."""
from __future__ import annotations

import sys

from patchwarden.sandboxes import open_sandbox
from patchwarden.sandboxes.suite_run import run_suite

TESTS = "def test_ok():\n    assert True\n\ndef test_bad():\n    assert 1 == 2\n"


def repo(tmp_path):
    (tmp_path / "test_m.py").write_text(TESTS)
    (tmp_path / "run.sh").write_text(f"{sys.executable} -m pytest -q test_m.py\n")  # pytest inside a script
    return tmp_path


def statuses(run):
    return {t.nodeid: t.status for t in run.tests}


def test_a_pytest_command_gets_per_test_results(tmp_path):
    with open_sandbox("local", repo(tmp_path)) as sbx:
        run = run_suite(sbx, f"{sys.executable} -m pytest -q test_m.py", "out/a.xml", timeout=120)
        argv = run_suite(sbx, [sys.executable, "-m", "pytest", "-q", "test_m.py::test_ok"], "out/b.xml", timeout=120)
    assert run.result.returncode == 1
    assert statuses(run) == {"test_m.py::test_ok": "passed", "test_m.py::test_bad": "failed"}
    assert statuses(argv) == {"test_m.py::test_ok": "passed"}


def test_a_script_is_asked_through_pytest_addopts_or_not_at_all(tmp_path):
    with open_sandbox("local", repo(tmp_path)) as sbx:
        asked = run_suite(sbx, "sh run.sh", "a.xml", timeout=120, via="env")
        plain = run_suite(sbx, "sh run.sh", "b.xml", timeout=120, via=None)
        nothing = run_suite(sbx, "true", "c.xml", timeout=60, via="env")  # ran no pytest: no XML
    assert statuses(asked) == {"test_m.py::test_ok": "passed", "test_m.py::test_bad": "failed"}
    assert plain.tests is None and plain.result.returncode == 1
    assert nothing.tests is None and nothing.result.ok
