"""Datasets: generic JSONL and BugsInPy-style folders over real git checkouts."""
import json
import subprocess
import sys

import pytest

from patchwarden.benchmarks.datasets import DatasetError, available, get_dataset, load_bugs
from patchwarden.benchmarks.datasets.bugsinpy import trigger_command
from test_bench_util import BUGS, git, make_jsonl_dataset, make_repo


def test_every_dataset_module_is_registered_by_its_file():
    assert {"humanevalfix", "bugsinpy", "jsonl"} <= set(available())
    for name in available():
        module = get_dataset(name)
        assert module.NAME == name and callable(module.load) and callable(module.materialise)
    with pytest.raises(DatasetError, match="unknown dataset"):
        get_dataset("nope")


def test_jsonl_bugs_use_the_repo_in_place_with_the_fixed_commit_as_reference(tmp_path):
    path = make_jsonl_dataset(tmp_path, ["add", "evens"])
    bugs = load_bugs("jsonl", str(path))
    assert [b.id for b in bugs] == ["add", "evens"]
    add = bugs[0]
    assert add.test_cmd == "python -m pytest -q" and add.bug_type == BUGS["add"][4] and "calc.py" in add.issue
    assert add.reference["commit"] == git(tmp_path / "add", "rev-parse", "HEAD~1")
    repo, cmd = get_dataset("jsonl").materialise(add, tmp_path / "work")
    assert repo == (tmp_path / "add").resolve() and cmd == add.test_cmd
    assert load_bugs("jsonl", str(path), limit=1) == bugs[:1]


def test_jsonl_commit_gets_a_private_checkout(tmp_path):
    repo, fixed = make_repo(tmp_path, "add")
    path = tmp_path / "b.jsonl"
    path.write_text(json.dumps({"id": "at-fixed", "repo": str(repo), "test_cmd": "pytest", "commit": fixed}) + "\n")
    bug = load_bugs("jsonl", str(path))[0]
    work, _ = get_dataset("jsonl").materialise(bug, tmp_path / "work")
    assert work != repo and "a + b" in (work / "calc.py").read_text()
    assert "a - b\n\n\ndef sub" in (repo / "calc.py").read_text()  # the source checkout is untouched


@pytest.mark.parametrize("line, message", [
    ("{not json", "b.jsonl:2: not valid JSON"),
    ('{"id": "x", "repo": "."}', "b.jsonl:2 lacks test_cmd"),
    ('{"id": "x", "repo": "missing", "test_cmd": "pytest"}', "is not a directory"),
])
def test_jsonl_bad_lines_name_the_line(tmp_path, line, message):
    path = tmp_path / "b.jsonl"
    path.write_text(json.dumps({"id": "ok", "repo": ".", "test_cmd": "pytest"}) + "\n" + line + "\n")
    with pytest.raises(DatasetError, match=message):
        load_bugs("jsonl", str(path))


def test_duplicate_ids_are_refused(tmp_path):
    path = tmp_path / "b.jsonl"
    path.write_text("".join(json.dumps({"id": i, "repo": ".", "test_cmd": "pytest"}) + "\n" for i in ("a/b", "a_b")))
    with pytest.raises(DatasetError, match="share the id"):
        load_bugs("jsonl", str(path))


def make_bugsinpy(tmp_path):
    """A BugsInPy-style project: the fix commit also adds the test that catches the bug."""
    project = tmp_path / "upstream"
    (project / "tests").mkdir(parents=True)
    (project / "conftest.py").write_text("import os, sys\nsys.path.insert(0, os.path.dirname(__file__))\n")
    (project / "people.py").write_text("def is_adult(age):\n    return age > 18\n")
    (project / "tests" / "test_people.py").write_text("from people import is_adult\n\n\ndef test_child():\n    assert not is_adult(7)\n")
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "buggy")
    buggy = git(project, "rev-parse", "HEAD")
    (project / "people.py").write_text("def is_adult(age):\n    return age >= 18\n")
    with open(project / "tests" / "test_people.py", "a") as fh:
        fh.write("\n\ndef test_eighteen():\n    assert is_adult(18)\n")
    git(project, "commit", "-qam", "fix is_adult at 18")
    fixed = git(project, "rev-parse", "HEAD")
    bug = tmp_path / "bugs_root" / "projects" / "people" / "bugs" / "1"
    bug.mkdir(parents=True)
    (bug.parents[1] / "repo").write_text(str(project))  # one checkout for the project's bugs, by path
    (bug / "bug.info").write_text(f'python_version="3.11.7"\nbuggy_commit_id="{buggy}"\nfixed_commit_id="{fixed}"\ntest_file="tests/test_people.py"\n')
    (bug / "run_test.sh").write_text("python -m pytest -q tests/test_people.py::test_eighteen\n")
    return tmp_path / "bugs_root", project, buggy, fixed


def test_bugsinpy_checkout_is_the_buggy_commit_with_the_fixed_tests(tmp_path):
    root, project, buggy, fixed = make_bugsinpy(tmp_path)
    [bug] = load_bugs("bugsinpy", str(root))
    assert bug.id == "people/1" and bug.slug == "people_1"
    assert bug.test_cmd == "python -m pytest -q tests/test_people.py::test_eighteen"
    assert bug.reference == {"git": str(project.resolve()), "base": buggy, "commit": fixed, "exclude": ["tests/test_people.py"]}
    repo, cmd = get_dataset("bugsinpy").materialise(bug, tmp_path / "work")
    assert "age > 18" in (repo / "people.py").read_text()
    assert "test_eighteen" in (repo / "tests" / "test_people.py").read_text()
    assert git(repo, "status", "--porcelain") == ""  # clean: a repair may branch or apply on it
    assert git(project, "rev-parse", "HEAD") == fixed  # the upstream checkout is untouched
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_people.py::test_eighteen"],
                          cwd=repo, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stdout  # the trigger test fails on the buggy checkout


def test_bugsinpy_run_test_lines_merge_into_one_pytest_run():
    assert trigger_command("python -m pytest -q a.py::t1\npython -m pytest -q b.py::t2\n") == ("python -m pytest -q a.py::t1 b.py::t2", False)
    assert trigger_command("python -m unittest -q tests.test_x\n") == ("bash bugsinpy_run_test.sh", True)


def test_bugsinpy_missing_pieces_are_named(tmp_path):
    root, *_ = make_bugsinpy(tmp_path)
    (root / "projects" / "people" / "bugs" / "1" / "run_test.sh").unlink()
    with pytest.raises(DatasetError, match="no run_test.sh"):
        load_bugs("bugsinpy", str(root))
    with pytest.raises(DatasetError, match="no bug.info"):
        load_bugs("bugsinpy", str(tmp_path / "upstream" / "tests"))


def test_humanevalfix_bugs_materialise_and_the_canonical_fix_equals_the_reference(tmp_path):
    from patchwarden.benchmarks.humanevalfix_repos import bug_files
    from patchwarden.benchmarks.reference import fixed_equal_reference

    bugs = load_bugs("humanevalfix")
    assert len(bugs) == 164 and len({b.slug for b in bugs}) == 164
    assert sum(b.bug_type == "operator misuse" for b in bugs) == 25
    bug = next(b for b in bugs if b.id == "Python/10")  # a prompt with a helper before the entry point
    assert "make_palindrome" in bug.issue and bug.reference is not None
    repo, cmd = get_dataset("humanevalfix").materialise(bug, tmp_path / "work")
    assert "pytest" in cmd and git(repo, "status", "--porcelain") == ""
    fixed = bug_files(bug.spec["row"], fixed=True)["solution.py"]

    def diff_to(text: str) -> str:
        (repo / "solution.py").write_text(text)
        patch = git(repo, "diff") + "\n"
        git(repo, "checkout", "--", "solution.py")
        return patch

    assert fixed_equal_reference(repo, diff_to(fixed), bug.reference) is True
    other_fix = diff_to(fixed.replace("[::-1]\n", "[::-1][:]\n"))  # same behaviour, different code
    assert other_fix.strip() and fixed_equal_reference(repo, other_fix, bug.reference) is False
