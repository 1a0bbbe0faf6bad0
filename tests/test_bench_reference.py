"""Fixed-equal-to-reference: normalized-AST comparison of the functions a patch or the fix changes."""
from pathlib import Path

from patchwarden.benchmarks.reference import fixed_equal_reference, function_map, patch_paths
from test_bench_util import git, make_repo


def patch_for(repo: Path, rel: str, text: str) -> str:
    """The diff that turns the repo's file into `text` (the repo is restored afterwards)."""
    (repo / rel).write_text(text)
    diff = git(repo, "diff") + "\n"
    git(repo, "checkout", "--", rel)
    return diff


def test_reference_fix_with_other_formatting_comments_and_docstring_is_equal(tmp_path):
    repo, fixed = make_repo(tmp_path, "add")
    ref = {"git": str(repo), "base": "HEAD", "commit": fixed}
    same = patch_for(repo, "calc.py", 'def add(a, b):\n    """Sum."""\n    return (a +\n            b)  # fixed\n\n\ndef sub(a, b):\n    return a - b\n')
    assert fixed_equal_reference(repo, same, ref) is True
    assert (repo / "calc.py").read_text().count("a - b") == 2  # the repo itself is untouched


def test_a_different_fix_is_not_equal(tmp_path):
    repo, fixed = make_repo(tmp_path, "add")
    ref = {"git": str(repo), "base": "HEAD", "commit": fixed}
    swapped = patch_for(repo, "calc.py", "def add(a, b):\n    return b + a\n\n\ndef sub(a, b):\n    return a - b\n")
    extra = patch_for(repo, "calc.py", "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b + 0\n")
    assert fixed_equal_reference(repo, swapped, ref) is False
    assert fixed_equal_reference(repo, extra, ref) is False  # also changes a function the fix leaves alone
    assert fixed_equal_reference(repo, "", ref) is False
    assert fixed_equal_reference(repo, swapped, None) is None


def test_function_reference_compares_that_function_only(tmp_path):
    repo, _ = make_repo(tmp_path, "adult")
    ref = {"functions": {"is_adult": 'def is_adult(age):\n    """Docstring of the reference."""\n    return age >= 18\n'}}
    good = patch_for(repo, "people.py", "def is_adult(age):\n    return age >= 18\n")
    other = patch_for(repo, "people.py", "def is_adult(age):\n    return age > 17\n")
    assert patch_paths(good) == ["people.py"]
    assert fixed_equal_reference(repo, good, ref) is True
    assert fixed_equal_reference(repo, other, ref) is False


def test_function_map_keys_methods_and_module_code():
    funcs = function_map("import os\n\nclass A:\n    x = 1\n    def f(self):\n        return 1\n\ndef g():\n    def inner():\n        pass\n")
    assert set(funcs) == {"<module>", "A", "A.f", "g"}
    assert function_map("def broken(:\n") is None
