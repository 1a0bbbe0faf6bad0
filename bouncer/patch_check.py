"""Gather output-bouncer evidence for one patch by running a repo's tests in a sandbox.

The repo is copied into a sandbox (never written), its tests run once as they are and
once with the patch applied; per-test results (JUnit XML when the command is pytest)
give the trigger tests (failing before), whether they pass after, and regressions.
"""
from __future__ import annotations

import ast
from pathlib import Path

from patchwarden.sandboxes import open_sandbox
from patchwarden.sandboxes.junit import merge_by_nodeid
from patchwarden.sandboxes.pytest_command import pytest_args
from patchwarden.sandboxes.safe_ast import safe_parse
from patchwarden.sandboxes.suite_run import run_suite

from .evidence import PatchEvidence

JUNIT = ".patchwarden-bounce-junit.xml"
PATCH_FILE = ".patchwarden-bounce.patch"


def _run_tests(sbx, test_cmd: str, timeout: float) -> tuple[dict[str, bool] | None, bool]:
    """({nodeid: passed} or None when per-test results are unavailable, whole command passed)."""
    is_pytest = pytest_args(test_cmd) is not None
    # The user's options as given (no JUnit options of ours: their `--lf` needs the cache plugin).
    run = run_suite(sbx, test_cmd, JUNIT, timeout=timeout, via="argv" if is_pytest else None, options=[])
    result = run.result
    if result.returncode in (126, 127):  # the shell could not start it: no evidence either way
        last = (result.stderr or result.stdout).strip().splitlines()[-1:] or [""]
        raise ValueError(f"the test command `{test_cmd}` cannot run in the sandbox (exit {result.returncode}: "
                         f"{last[0][:200]}); fix --test-cmd, the tests were not run")
    if run.tests is None:  # not pytest, or no readable XML
        return None, result.ok
    sbx.run(["rm", "-f", JUNIT], timeout=30)  # the run after the patch must not read this one's results
    return {nid: not r.bad for nid, r in merge_by_nodeid(run.tests).items()}, result.ok


def _patch_tool(sbx) -> str | None:
    """The command that applies the patch here (`git apply`, else `patch -p1`), after a dry run."""
    for tool, check in (("git apply --whitespace=nowarn", "git apply --check"), ("patch -p1 --forward --batch <", "patch -p1 --forward --batch --dry-run <")):
        if sbx.run(f"{check} {PATCH_FILE}", timeout=60).ok:
            return tool
    return None


def trigger_test_source(repo: Path, nodeid: str) -> str | None:
    """Source of the test function a pytest node id names (parametrization ignored)."""
    path, *names = nodeid.split("[", 1)[0].split("::")
    try:
        tree = safe_parse((repo / path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    scope = tree.body
    node = None
    for name in names:
        node = next((n for n in scope if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name == name), None)
        if node is None:
            return None
        scope = node.body
    return ast.get_source_segment((repo / path).read_text(encoding="utf-8"), node) if node is not None else None


def collect_evidence(repo: Path, test_cmd: str, patch: str, *, issue: str | None = None, sandbox: str = "local", timeout: float = 600.0) -> PatchEvidence:
    """Run the tests before and after `patch` in a sandbox; raise ValueError when the patch does not apply."""
    with open_sandbox(sandbox, repo) as sbx:
        sbx.put_files({PATCH_FILE: patch if patch.endswith("\n") else patch + "\n"})
        tool = _patch_tool(sbx)  # checked before any test runs, so a bad patch fails fast
        if tool is None:
            raise ValueError(f"the patch does not apply to {repo}; make it against the repository's current files (a/ b/ paths)")
        before, _ = _run_tests(sbx, test_cmd, timeout)
        sbx.run(f"{tool} {PATCH_FILE}", timeout=60)
        sbx.run(["rm", "-f", PATCH_FILE], timeout=30)
        after, after_ok = _run_tests(sbx, test_cmd, timeout)
    if before is None or after is None:
        return PatchEvidence(patch=patch, trigger_passed=after_ok, regressions=None, issue=issue)
    trigger = sorted(nid for nid, ok in before.items() if not ok)
    regressions = sum(1 for nid, ok in before.items() if ok and not after.get(nid, False))
    sources = {nid: src for nid in trigger if (src := trigger_test_source(repo, nid))}
    return PatchEvidence(
        patch=patch,
        trigger_tests=trigger,
        test_sources=sources,
        trigger_passed=all(after.get(nid, False) for nid in trigger) if trigger else after_ok,
        regressions=regressions,
        issue=issue,
    )
