"""Folders of bugs in any language, one folder per bug (shared by the java_bugs and js_bugs datasets).

--path FOLDER holds bug folders at any depth. A bug folder is one that holds `bug.json`:

    FOLDER/
      calc-1/
        bug.json      {"test_cmd": "mvn -o -q test", "issue": "...", "bug_type": "...", "language": "java"}
        buggy/        the project checked out at the buggy version, with the tests that expose the bug
        fixed/        optional: the same project with the fix (the reference)
        issue.md      optional: the issue text (instead of "issue")

Every key of bug.json is optional (`{}` is a valid bug.json): `test_cmd` defaults to the
project's usual command (Maven `mvn -o -q test`, Gradle `gradle test --offline`, npm
`npm test` when package.json has a test script, else `node --test`); `language` defaults to
what the project's build files and sources say. The bug's id is its folder's path under FOLDER
("projects/calc/1"). A bug is materialised as a copy of `buggy/` (without .git and build
output) committed to a fresh git repository, so the repair sees a clean tree; the reference
is every source file (not a test) that `fixed/` changes, adds or deletes.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Iterator

from .base import Bug, DatasetError, git

LANGUAGES = {
    "java": {"extensions": (".java",), "build_files": ("pom.xml", "build.gradle", "build.gradle.kts"),
             "skip_dirs": ("target", "build", ".gradle")},
    "javascript": {"extensions": (".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx"),
                   "build_files": ("package.json",), "skip_dirs": ("coverage",)},
}
NOT_COPIED = (".git", ".patchwarden")  # plus the language's build output (skip_dirs)
TEST_DIRS = ("test", "tests", "__tests__", "spec")
TEST_SUFFIXES = (".test", ".spec", "Test", "Tests", "TestCase")


def detect_language(project: Path) -> str | None:
    """java | javascript from the build files at the top, else from the sources' extensions."""
    for language, facts in LANGUAGES.items():
        if any((project / f).is_file() for f in facts["build_files"]):
            return language
    for language, facts in LANGUAGES.items():
        if any(p.suffix in facts["extensions"] for p in project.rglob("*") if "node_modules" not in p.parts):
            return language
    return None


def default_test_cmd(project: Path, language: str) -> str | None:
    if language == "java":
        if (project / "pom.xml").is_file():
            return "mvn -o -q test"
        if any((project / f).is_file() for f in ("build.gradle", "build.gradle.kts")):
            return "./gradlew test --offline" if (project / "gradlew").is_file() else "gradle test --offline"
        return None
    package = project / "package.json"
    if package.is_file():
        try:
            scripts = json.loads(package.read_text()).get("scripts") or {}
        except (ValueError, AttributeError):
            scripts = {}
        if isinstance(scripts, dict) and scripts.get("test"):
            return "npm test"
    return "node --test"


def is_test_path(rel: str) -> bool:
    """A test file: under a test folder (src/test/, test/, __tests__/...) or named like one
    (FooTest.java, foo.test.js, foo.spec.ts)."""
    path = Path(rel)
    return (any(part in TEST_DIRS for part in path.parts[:-1]) or rel.startswith("src/test/") or "/src/test/" in rel
            or any(path.stem.endswith(s) for s in TEST_SUFFIXES))


def _source_files(root: Path, facts: dict) -> dict[str, Path]:
    skip = set(NOT_COPIED) | set(facts["skip_dirs"]) | {"node_modules"}
    found = {}
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if path.is_file() and path.suffix in facts["extensions"] and not skip.intersection(rel.parts):
            found[rel.as_posix()] = path
    return found


def reference_files(buggy: Path, fixed: Path, language: str) -> dict[str, str]:
    """Source files (tests excluded) the fixed version changes, adds ("" for deletes)."""
    facts = LANGUAGES[language]
    before, after = _source_files(buggy, facts), _source_files(fixed, facts)
    changed = {}
    for rel in sorted(set(before) | set(after)):
        if is_test_path(rel):
            continue
        old = before[rel].read_bytes() if rel in before else None
        new = after[rel].read_bytes() if rel in after else None
        if old != new:
            changed[rel] = new.decode("utf-8", "replace") if new is not None else ""
    return changed


def load_folders(path: str | None, dataset: str, language: str) -> Iterator[Bug]:
    label = {"java": "Java", "javascript": "JavaScript"}[language]
    if path is None:
        raise DatasetError(f"the {dataset} dataset needs --path FOLDER holding bug folders (bug.json + buggy/ + optional fixed/)")
    root = Path(path).expanduser().resolve()
    if not root.is_dir():
        raise DatasetError(f"--path {path} is not a directory: pass a folder holding bug folders (bug.json + buggy/)")
    files = sorted(root.rglob("bug.json"), key=lambda p: [int(s) if s.isdigit() else s for s in p.parent.relative_to(root).parts])
    files = [f for f in files if not {"buggy", "fixed", "node_modules"}.intersection(f.parent.relative_to(root).parts)]
    if not files:
        raise DatasetError(f"no bug.json under {root}: each bug folder needs bug.json beside buggy/ (see `bench list`)")
    found = 0
    for spec_file in files:
        bug_dir = spec_file.parent
        try:
            spec = json.loads(spec_file.read_text() or "{}")
        except ValueError as exc:
            raise DatasetError(f"{spec_file} is not valid JSON ({exc}): fix it (an empty object {{}} is enough)") from exc
        if not isinstance(spec, dict):
            raise DatasetError(f"{spec_file} must hold a JSON object such as {{\"test_cmd\": \"...\"}}")
        buggy = bug_dir / "buggy"
        if not buggy.is_dir():
            raise DatasetError(f"{bug_dir} has no buggy/ folder: put the buggy project's checkout there")
        bug_language = spec.get("language") or detect_language(buggy)
        if bug_language in ("js", "typescript", "ts", "node"):
            bug_language = "javascript"
        if bug_language != language:
            continue  # another language's bug (a mixed folder): the other dataset loads it
        test_cmd = spec.get("test_cmd") or default_test_cmd(buggy, language)
        if not test_cmd:
            raise DatasetError(f"{spec_file}: no test command known for this {label} project; add \"test_cmd\"")
        fixed = bug_dir / "fixed"
        reference = {"files": reference_files(buggy, fixed, language)} if fixed.is_dir() else None
        issue = spec.get("issue") or next((f.read_text() for f in (bug_dir / "issue.md", bug_dir / "issue.txt") if f.is_file()), None)
        found += 1
        yield Bug(
            id=bug_dir.relative_to(root).as_posix() if bug_dir != root else bug_dir.name,
            dataset=dataset,
            test_cmd=test_cmd,
            issue=issue,
            bug_type=spec.get("bug_type") or "unknown",
            reference=reference,
            spec={"buggy": str(buggy), "language": language},
        )
    if not found:
        raise DatasetError(f"no {label} bugs under {root} (bug.json's \"language\" or the buggy/ project's files decide)")


def materialise_folder(bug: Bug, dest: Path) -> tuple[Path, str]:
    buggy = Path(bug.spec["buggy"])
    if not buggy.is_dir():
        raise DatasetError(f"{buggy} is gone: the bug folder moved since it was loaded")
    skip = set(NOT_COPIED) | set(LANGUAGES[bug.spec["language"]]["skip_dirs"])
    repo = dest / "repo"
    shutil.copytree(buggy, repo, symlinks=True, ignore=lambda _d, names: [n for n in names if n in skip])
    git("init", "--quiet", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "--quiet", "--allow-empty", "-m", f"{bug.dataset}: {bug.id} (buggy)", cwd=repo)
    return repo, bug.test_cmd
