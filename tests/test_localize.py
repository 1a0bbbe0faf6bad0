from patchwarden.repair.source_functions import repo_functions
from patchwarden.repair.localize import localize, ochiai
from patchwarden.repair.testrun import TestCommandProblem, run_tests
from patchwarden.sandboxes import open_sandbox

import pytest

from helpers import SHAPES, make_repo


def test_ochiai_values():
    assert ochiai(2, 0, 2) == 1.0
    assert ochiai(0, 5, 2) == 0.0
    assert abs(ochiai(1, 1, 2) - 0.5) < 1e-9


def test_buggy_function_ranks_first_with_evidence(tmp_path):
    repo = make_repo(tmp_path / "shapes", SHAPES)
    with open_sandbox("local", repo) as sbx:
        run = run_tests(sbx, "python3 -m pytest -q")
        workdir = sbx.workdir
    statuses = {k: r.status for k, r in run.results.items()}
    assert statuses == {
        "tests/test_geometry.py::test_area": "failed",
        "tests/test_geometry.py::test_square": "failed",
        "tests/test_geometry.py::test_perimeter": "passed",
        "tests/test_geometry.py::test_negative": "passed",
    }
    assert "assert 7 == 12" in run.results["tests/test_geometry.py::test_area"].traceback
    assert run.coverage, "per-test coverage was recorded"
    functions, problems = repo_functions(repo)
    assert not problems
    ranked = localize(run, functions, workdir)
    assert ranked[0].function.qualname == "scale"
    assert any("Ochiai" in e for e in ranked[0].evidence)
    # perimeter is covered only by passing tests: not suspicious at all
    assert "perimeter" not in {s.function.qualname for s in ranked}
    # the line-level scores cover the buggy return line
    assert ranked[0].line_scores.get(3, 0) > 0


def test_command_that_cannot_start(tmp_path):
    repo = make_repo(tmp_path / "shapes", SHAPES, git=False)
    with open_sandbox("local", repo) as sbx:
        with pytest.raises(TestCommandProblem, match="could not run"):
            run_tests(sbx, "python3 -m pytest --no-such-flag -q")
        with pytest.raises(TestCommandProblem, match="could not run"):
            run_tests(sbx, "no-such-command --flag")


CRASH = {
    "textkit/__init__.py": "",
    "textkit/core.py": (
        "def last_char(s):\n"
        "    return s[len(s)]\n"
        "\n\n"
        "def shout(s):\n"
        "    return s.upper() + last_char(s)\n"
        "\n\n"
        "def whisper(s):\n"
        "    return s.lower()\n"
    ),
    "tests/test_core.py": (
        "from textkit.core import shout, whisper\n\n\n"
        "def test_shout():\n    assert shout('ab') == 'ABb'\n\n\n"
        "def test_whisper():\n    assert whisper('AB') == 'ab'\n"
    ),
}


def test_traceback_evidence_points_at_the_innermost_frame(tmp_path):
    repo = make_repo(tmp_path / "textkit", CRASH, git=False)
    with open_sandbox("local", repo) as sbx:
        run = run_tests(sbx, "python3 -m pytest -q")
        workdir = sbx.workdir
    assert "IndexError" in run.results["tests/test_core.py::test_shout"].traceback
    ranked = localize(run, repo_functions(repo)[0], workdir)
    assert [s.function.qualname for s in ranked[:2]] == ["last_char", "shout"]
    assert "innermost repo frame" in ranked[0].evidence[0]
    assert ranked[0].score > ranked[1].score


def test_stuck_test_fails_inside_the_loop_instead_of_hanging(tmp_path):
    files = {
        "spin/__init__.py": "",
        "spin/core.py": "def wait_for(n):\n    i = 0\n    while i != n:\n        i += 2\n    return i\n",
        "tests/test_spin.py": "from spin.core import wait_for\n\n\ndef test_odd():\n    assert wait_for(3) == 3\n\n\ndef test_even():\n    assert wait_for(4) == 4\n",
    }
    repo = make_repo(tmp_path / "spin", files, git=False)
    with open_sandbox("local", repo) as sbx:
        run = run_tests(sbx, "python3 -m pytest -q", timeout=120, per_test_timeout=1.0)
        workdir = sbx.workdir
    odd = run.results["tests/test_spin.py::test_odd"]
    assert odd.status == "failed" and "per-test timeout" in odd.traceback
    assert run.results["tests/test_spin.py::test_even"].status == "passed"
    ranked = localize(run, repo_functions(repo)[0], workdir)
    assert ranked[0].function.qualname == "wait_for"
    assert "innermost repo frame" in ranked[0].evidence[0]


def test_a_test_that_exhausts_memory_fails_cleanly_and_is_localized(tmp_path):
    """Its frames held the memory while pytest wrote the report (an INTERNALERROR and a JUnit
    file without the failure, read as "all pass"): the plugin frees them first."""
    from patchwarden.sandboxes import Limits

    files = {
        "grow/__init__.py": "",
        "grow/core.py": "def collatz(n):\n    seen = []\n    while n > 1:\n        n = n * 2 + 1\n        seen.append(n)\n    return seen\n",
        "tests/test_grow.py": "from grow.core import collatz\n\n\ndef test_small():\n    assert collatz(5) == [16]\n\n\ndef test_one():\n    assert collatz(1) == []\n",
    }
    repo = make_repo(tmp_path / "grow", files, git=False)
    with open_sandbox("local", repo, limits=Limits(memory_mb=400)) as sbx:
        run = run_tests(sbx, "python3 -m pytest -q", timeout=120, per_test_timeout=60)
        workdir = sbx.workdir
    small = run.results["tests/test_grow.py::test_small"]
    assert small.status == "failed" and "MemoryError" in small.message
    assert run.results["tests/test_grow.py::test_one"].status == "passed"
    assert set(run.results) == {"tests/test_grow.py::test_small", "tests/test_grow.py::test_one"}
    assert localize(run, repo_functions(repo)[0], workdir)[0].function.qualname == "collatz"


def test_pytest_internal_error_is_a_problem_not_a_green_suite(tmp_path):
    files = {
        "calc.py": "def add(a, b):\n    return a - b\n",
        "conftest.py": "def pytest_runtest_logreport(report):\n    if report.when == 'call' and report.failed:\n        raise RuntimeError('plugin broke')\n",
        "tests/test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(2, 2) == 4\n",
    }
    repo = make_repo(tmp_path / "ie", files, git=False)
    with open_sandbox("local", repo) as sbx:
        with pytest.raises(TestCommandProblem, match="internal error"):
            run_tests(sbx, "python3 -m pytest -q", timeout=120)
