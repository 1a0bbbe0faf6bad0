"""Claim integrity: does every "plausible" patch really pass the user's own test command?

Runs `patchwarden repair` (the CLI, as a user would, in a subprocess) over a set of bugs and
re-verifies every claim outside patchwarden: a fresh `git clone` of the bug repo, `git apply
patch.diff`, then the test command itself. A claim is confirmed when the command exits 0, or when
the only tests it fails also fail on the unpatched clone and are not the bug's trigger tests (the
pre-existing-failure rule of docs/validation.md). Printed: bugs, claims, confirmed, false claims.

Bug sets:
  integrity (default)  HumanEvalFix bugs under test commands users write (`-x`, `--maxfail=1`,
                       `--lf`), plus generated repos: a suite with an unrelated pre-existing
                       failure, a slow correct fix, and a test interpreter without coverage.py
                       (a real virtualenv that imports pytest but not coverage).
  --humanevalfix       the 164 HumanEvalFix bugs with their plain command (`--limit N`).
  --verify-runs WORK   only re-verify the runs of `benchmarks/measure/template_on_humanevalfix.py --work WORK`.

    python3 benchmarks/measure/claim_integrity.py --sandbox local [--bugs 8] [--workers 2] [--json]
    python3 -m patchwarden.benchmarks.measure.claim_integrity --patchwarden /other/checkout

`--patchwarden DIR` runs the repair CLI of another checkout (e.g. an older commit) so that
claims can be compared before and after a change; the verification is the same.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from patchwarden.benchmarks.humanevalfix_repos import TEST_CMD, bug_id, make_bug_repo
from patchwarden.repair.humanevalfix import load_rows

ROOT = Path(__file__).resolve().parents[2]

VARIANTS = {"x": " -x", "maxfail": " --maxfail=1", "lf": " --lf"}
GIT_IDENT = ["-c", "user.name=patchwarden", "-c", "user.email=bench@patchwarden.invalid", "-c", "commit.gpgsign=false"]


# -- generated bug repos ----------------------------------------------------------------------
def _git_repo(dest: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_text(text)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=dest, check=True)
    subprocess.run(["git", "add", "-A"], cwd=dest, check=True)
    subprocess.run(["git", *GIT_IDENT, "commit", "-q", "-m", "buggy"], cwd=dest, check=True)
    return dest


# One-character bugs whose first failing test (sorted first, so `-x` stops on it) is passed by a
# wrong candidate that the tests after it reject: the shape of a false claim
# under `-x` (a plausible verdict from a run that stopped early).
STOP_TRAPS = {
    "trap-first-non-positive": {
        "nums.py": "def first_non_positive(xs):\n    for x in xs:\n        if x > 0:\n            return x\n    return None\n",
        "tests/test_a_zero.py": "from nums import first_non_positive\n\n\ndef test_zero_first():\n"
                                "    assert first_non_positive([0, 5]) == 0\n",
        "tests/test_b_more.py": "from nums import first_non_positive\n\n\ndef test_negative():\n"
                                "    assert first_non_positive([4, -1]) == -1\n\n\ndef test_none():\n"
                                "    assert first_non_positive([1, 2]) is None\n",
    },
    "trap-first-at-least": {
        "search.py": "def first_at_least(xs, k):\n    for x in xs:\n        if x < k:\n            return x\n    return None\n",
        "tests/test_a_equal.py": "from search import first_at_least\n\n\ndef test_equal_first():\n"
                                 "    assert first_at_least([5, 1], 5) == 5\n",
        "tests/test_b_more.py": "from search import first_at_least\n\n\ndef test_larger_later():\n"
                                "    assert first_at_least([1, 7], 5) == 7\n\n\ndef test_none():\n"
                                "    assert first_at_least([1, 2], 5) is None\n",
    },
}


def preexisting_failure_repo(dest: Path) -> tuple[Path, str]:
    """A one-character bug, and an unrelated test that fails on the unpatched tree too."""
    return _git_repo(dest, {
        "shop/__init__.py": "",
        "shop/pricing.py": "def discount(total):\n    if total > 100:\n        return total * 0.9\n    return total\n",
        "tests/test_pricing.py": "from shop.pricing import discount\n\n\ndef test_small():\n    assert discount(50) == 50\n\n\n"
                                 "def test_edge():\n    assert discount(100) == 90.0\n\n\ndef test_big():\n    assert discount(200) == 180.0\n",
        "tests/test_release.py": "import os\n\n\ndef test_changelog_written():\n    assert os.path.exists('CHANGELOG.md'), 'no CHANGELOG.md'\n",
    }), "python3 -m pytest -q"


def slow_fix_repo(dest: Path) -> tuple[Path, str]:
    """The buggy code fails fast; the correct code takes seconds (naive recursion)."""
    return _git_repo(dest, {
        "fibo.py": "def fib(n):\n    if n >= 1:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
        "tests/test_fibo.py": "from fibo import fib\n\n\ndef test_one():\n    assert fib(1) == 1\n\n\n"
                              "def test_ten():\n    assert fib(10) == 55\n\n\ndef test_big():\n    assert fib(36) == 14930352\n",
    }), "python3 -m pytest -q"


def no_coverage_repo(dest: Path, venv: Path) -> tuple[Path, str]:
    """The test command names a virtualenv without coverage.py; the failing assertion is in the
    test function, so no repository frame is in the traceback."""
    from patchwarden.benchmarks.venvs import make_venv_without_coverage

    python = make_venv_without_coverage(venv)
    return _git_repo(dest, {
        "inventory/__init__.py": "",
        "inventory/stock.py": "def restock_needed(level, minimum):\n    return level > minimum\n\n\n"
                              "def describe(level):\n    return f'{level} items'\n",
        "tests/test_stock.py": "from inventory.stock import describe, restock_needed\n\n\n"
                               "def test_low():\n    assert restock_needed(2, 5)\n\n\n"
                               "def test_high():\n    assert not restock_needed(9, 5)\n\n\n"
                               "def test_describe():\n    assert describe(3) == '3 items'\n",
    }), f"{python} -m pytest -q"


def integrity_bugs(work: Path, n_hef: int) -> list[dict]:
    rows = [r for r in load_rows() if r.get("example_test")]
    step = max(1, len(rows) // max(1, n_hef))
    bugs = []
    for row in rows[::step][:n_hef]:
        for name, extra in VARIANTS.items():
            bid = f"{bug_id(row)}{extra.replace(' ', '_')}"
            repo, cmd = make_bug_repo(row, work / "repos" / bid)
            bugs.append({"id": bid, "repo": str(repo), "test_cmd": cmd + extra})
    for name, files in STOP_TRAPS.items():
        for extra in VARIANTS.values():
            bid = f"{name}{extra.replace(' ', '_')}"
            repo = _git_repo(work / "repos" / bid, files)
            bugs.append({"id": bid, "repo": str(repo), "test_cmd": TEST_CMD + extra})
    for name, maker in (("preexisting-failure", preexisting_failure_repo), ("slow-correct-fix", slow_fix_repo)):
        repo, cmd = maker(work / "repos" / name)
        bugs.append({"id": name, "repo": str(repo), "test_cmd": cmd})
    repo, cmd = no_coverage_repo(work / "repos" / "no-coverage-venv", work / "venv-nocov")
    bugs.append({"id": "no-coverage-venv", "repo": str(repo), "test_cmd": cmd})
    return bugs


def humanevalfix_bugs(work: Path, limit: int | None) -> list[dict]:
    bugs = []
    for row in load_rows()[:limit]:
        repo, cmd = make_bug_repo(row, work / "repos" / bug_id(row))
        bugs.append({"id": row["task_id"], "repo": str(repo), "test_cmd": cmd})
    return bugs


# -- running repair and checking its claims -----------------------------------------------------
def cli_of(checkout: Path, work: Path) -> tuple[list[str], str]:
    """The command and PYTHONPATH that run `checkout`'s CLI: installed as patchwarden.* since the
    package rename, as top-level `cli` before it (older commits, for before/after figures)."""
    if "from patchwarden." not in (checkout / "cli" / "main.py").read_text():
        return [sys.executable, "-m", "cli"], str(checkout)
    folder = work / "import-path"
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / "patchwarden"
    if not link.is_symlink():
        link.symlink_to(checkout, target_is_directory=True)
    return [sys.executable, "-m", "patchwarden.cli"], str(folder)


def run_repair(bug: dict, patchwarden: Path, work: Path, sandbox: str, time_budget: float) -> dict:
    out = work / "runs" / bug["id"].replace("/", "-")
    cli, pythonpath = cli_of(patchwarden, work)
    cmd = [*cli, "repair", bug["repo"], "--test-cmd", bug["test_cmd"], "--engine", "template",
           "--sandbox", sandbox, "--out", str(out), "--no-bounce", "--json", "--per-test-timeout", "5",
           "--test-timeout", "120", "--time-budget", str(time_budget)]
    env = {**os.environ, "PYTHONPATH": pythonpath}
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=patchwarden, env=env, capture_output=True, text=True, timeout=time_budget + 900)
    rec = {**bug, "exit": proc.returncode, "wall": round(time.monotonic() - start, 2), "run_dir": str(out)}
    try:
        result = json.loads(proc.stdout)
    except json.JSONDecodeError:
        rec.update(status="error", error=(proc.stderr.strip().splitlines() or ["?"])[-1][:300])
        return rec
    rec.update(status=result["status"], message=result.get("message", "")[:300], notes=result.get("notes", []),
               triggers=result.get("trigger_tests", []), confirm_s=(result.get("confirmation") or {}).get("duration"))
    return rec


def _junit_failures(path: Path) -> set[str]:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return set()
    bad = set()
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            bad.add(f"{case.get('file') or case.get('classname', '').replace('.', '/') + '.py'}::{case.get('name')}")
    return bad


def _clone_and_run(repo: str, test_cmd: str, dest: Path, patch: Path | None) -> tuple[int, set[str], str]:
    if dest.exists():
        shutil.rmtree(dest)
    subprocess.run(["git", "clone", "-q", repo, str(dest)], check=True, capture_output=True)
    if patch is not None:
        applied = subprocess.run(["git", "apply", str(patch)], cwd=dest, capture_output=True, text=True)
        if applied.returncode != 0:
            return -1, set(), f"git apply failed: {applied.stderr.strip()[:200]}"
    xml = dest.parent / (dest.name + ".xml")
    env = {**os.environ, "PYTEST_ADDOPTS": f"--junitxml={xml} -o junit_family=xunit1"}
    env.pop("PYTHONPATH", None)
    try:
        proc = subprocess.run(test_cmd, shell=True, cwd=dest, env=env, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return -2, set(), "timed out"
    return proc.returncode, _junit_failures(xml), (proc.stdout + proc.stderr)[-300:]


def verify(rec: dict, work: Path) -> dict:
    """Re-check one claim without patchwarden: git apply, run the command on a fresh clone."""
    patch = Path(rec["run_dir"]) / "patch.diff"
    if rec.get("status") != "plausible":
        return {"claim": False}
    if not patch.exists() or not patch.read_text().strip():
        return {"claim": True, "confirmed": False, "why": "no patch.diff"}
    base = work / "verify" / rec["id"].replace("/", "-")
    base.mkdir(parents=True, exist_ok=True)
    code, failing, tail = _clone_and_run(rec["repo"], rec["test_cmd"], base / "patched", patch)
    if code == 0:
        return {"claim": True, "confirmed": True}
    if code in (-1, -2) or not failing:
        return {"claim": True, "confirmed": False, "why": f"exit {code}: {tail}"}
    _, before, _ = _clone_and_run(rec["repo"], rec["test_cmd"], base / "unpatched", None)
    unexpected = sorted(t for t in failing if t not in before or t in set(rec.get("triggers", [])))
    if unexpected:
        return {"claim": True, "confirmed": False, "why": f"exit {code}; fails: {', '.join(unexpected[:3])}"}
    return {"claim": True, "confirmed": True, "preexisting": sorted(failing)}


def summarise(records: list[dict]) -> dict:
    claims = [r for r in records if r.get("claim")]
    confirm = [r["confirm_s"] for r in records if r.get("confirm_s") is not None]
    return {"bugs": len(records), "claims": len(claims), "confirmed": sum(bool(r.get("confirmed")) for r in claims),
            "false_claims": sum(not r.get("confirmed") for r in claims),
            "errors": sum(r.get("status") == "error" for r in records),
            "median_wall_s": round(statistics.median([r["wall"] for r in records if "wall" in r] or [0.0]), 2),
            "median_confirm_s": round(statistics.median(confirm), 3) if confirm else None}


def verify_runs(work: Path) -> list[dict]:
    """Records of a template_on_humanevalfix.py work dir, ready for `verify`."""
    from patchwarden.sandboxes.files import read_json

    records = []
    for rec in json.loads((work / "records.json").read_text()):
        if not rec.get("run_dir"):
            records.append({"id": rec["id"], "status": rec["status"]})
            continue
        run_dir = Path(rec["run_dir"])
        cfg = read_json(run_dir / "config.json")
        result = read_json(run_dir / "result.json") if (run_dir / "result.json").exists() else {}
        records.append({"id": rec["id"], "repo": cfg["repo"], "test_cmd": cfg["test_cmd"], "run_dir": str(run_dir),
                        "status": rec["status"], "triggers": result.get("trigger_tests", []), "wall": rec.get("wall", 0.0),
                        "confirm_s": (result.get("confirmation") or {}).get("duration")})
    return records


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sandbox", default="local", help="local, docker or auto (passed to `repair --sandbox`)")
    ap.add_argument("--bugs", type=int, default=8, help="HumanEvalFix bugs in the integrity set (each under -x, --maxfail=1, --lf)")
    ap.add_argument("--humanevalfix", action="store_true", help="the HumanEvalFix bugs with their plain command instead")
    ap.add_argument("--limit", type=int, default=None, help="with --humanevalfix: only the first N bugs")
    ap.add_argument("--verify-runs", default=None, metavar="WORK", help="only re-verify a template_on_humanevalfix.py --work folder")
    ap.add_argument("--patchwarden", default=str(ROOT), help="checkout whose `python -m patchwarden.cli repair` makes the claims")
    ap.add_argument("--workers", type=int, default=2, help="bugs repaired at once")
    ap.add_argument("--time-budget", type=float, default=120.0, help="seconds of validation per bug (repair --time-budget)")
    ap.add_argument("--work", default=None, help="folder for repos, runs and clones (default: a temp dir)")
    ap.add_argument("--json", action="store_true", help="print the summary and records as JSON")
    args = ap.parse_args()
    if args.workers < 1:
        ap.error("--workers must be at least 1")
    work = Path(args.work or tempfile.mkdtemp(prefix="pw-claims-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    patchwarden = Path(args.patchwarden).resolve()
    if args.verify_runs:
        records = verify_runs(Path(args.verify_runs))
    else:
        bugs = humanevalfix_bugs(work, args.limit) if args.humanevalfix else integrity_bugs(work, args.bugs)
        with ThreadPoolExecutor(max_workers=args.workers) as pool:
            records = list(pool.map(lambda b: run_repair(b, patchwarden, work, args.sandbox, args.time_budget), bugs))
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        checks = list(pool.map(lambda r: verify(r, work), records))
    for rec, check in zip(records, checks):
        rec.update(check)
    summary = summarise(records)
    (work / "claims.json").write_text(json.dumps({"summary": summary, "records": records}, indent=1))
    if args.json:
        print(json.dumps({"summary": summary, "records": records}, indent=1))
        return
    print(f"claim integrity — repair from {patchwarden}, {args.sandbox} sandbox; work dir {work}")
    for r in records:
        verdict = "-" if not r.get("claim") else ("confirmed" if r.get("confirmed") else f"FALSE CLAIM ({r.get('why', '')})")
        extra = f" (tolerated: {', '.join(r['preexisting'])})" if r.get("preexisting") else ""
        print(f"  {r['id']:<34} {r.get('status', '?'):<18} {verdict}{extra}")
    print(f"bugs: {summary['bugs']}  claims (plausible): {summary['claims']}  confirmed: {summary['confirmed']}  "
          f"false claims: {summary['false_claims']}  errors: {summary['errors']}")
    if summary["median_confirm_s"] is not None:
        print(f"confirmation run: median {summary['median_confirm_s']:.2f} s per claim; median wall per bug {summary['median_wall_s']:.1f} s")


if __name__ == "__main__":
    main()
