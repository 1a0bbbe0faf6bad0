"""The same real-project bug repaired through the local and the Docker sandbox.

    python3 -m patchwarden.benchmarks.measure.env_parity [--package referencing] [--work DIR] [--json]

The project is a real open-source package as installed on this machine (default
`referencing`, whose dependency `rpds` is not in the sandbox image), copied into a fresh git
repository with its own test suite, with one injected bug. Its tests run from a virtualenv of
this interpreter (`--system-site-packages`, so its dependencies are there), by path:
`VENV/bin/python -m pytest -q PKG/tests`. Docker sees that venv (and its base interpreter)
mounted read-only. Prints each backend's verdict (status, patch, trigger tests, each
candidate's validation status) and wall time, and whether the verdicts are identical.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parents[2]
GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@invalid", "-c", "commit.gpgsign=false"]
# package -> (file, buggy replacement of one line, test files to drop: they need data outside the package)
BUGS = {
    "referencing": ("_core.py", ("            if resolver is not last:\n", "            if resolver is last:\n"),
                    ["tests/test_referencing_suite.py"]),
}


def make_project(package: str, work: Path) -> Path:
    module = importlib.import_module(package)
    source = Path(module.__file__).parent
    repo = work / f"{package}-repo"
    shutil.copytree(source, repo / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    rel, (good, bad), drop = BUGS[package]
    for name in drop:
        (repo / package / name).unlink(missing_ok=True)
    path = repo / package / rel
    text = path.read_text()
    if good not in text:
        raise SystemExit(f"{package} {getattr(module, '__version__', '')}: the line to break is not in {rel}")
    path.write_text(text.replace(good, bad, 1))
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "-q", "-m", f"{package} from {source} with an injected bug"], cwd=repo, check=True)
    return repo


def repair(repo: Path, test_cmd: str, backend: str, out: Path) -> tuple[dict, float]:
    cmd = [sys.executable, "-m", "patchwarden.cli", "repair", str(repo), "--test-cmd", test_cmd, "--sandbox", backend,
           "--out", str(out), "--json"]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env={**os.environ},
                          capture_output=True, text=True)
    wall = time.monotonic() - start
    if not proc.stdout.strip():
        raise SystemExit(f"{backend}: repair failed (exit {proc.returncode}): {proc.stderr.strip()[-500:]}")
    return json.loads(proc.stdout), wall


def verdict(result: dict, out: Path) -> dict:
    validations = [json.loads(line) for line in (out / "validations.jsonl").read_text().splitlines() if line.strip()]
    baseline = json.loads((out / "baseline.json").read_text())
    return {
        "backend": baseline["backend"],
        "status": result["status"],
        "patch": result["patch"],
        "trigger_tests": result["trigger_tests"],
        "tests": len(baseline["run"]["results"]),
        "validations": sorted((v["candidate_id"], v["status"]) for v in validations),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--package", default="referencing", choices=sorted(BUGS))
    ap.add_argument("--work", type=Path, help="Folder for the repository, venv and runs (default: a temp dir, removed).")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="pw-env-parity-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        repo = make_project(args.package, work)
        venv = work / "venv"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)], check=True)
        test_cmd = f"{venv}/bin/python -m pytest -q {args.package}/tests"
        rows = {}
        for backend in ("local", "docker"):
            out = work / f"run-{backend}"
            result, wall = repair(repo, test_cmd, backend, out)
            rows[backend] = {**verdict(result, out), "wall_s": round(wall, 1), "repair_wall_s": result["wall_time"],
                             "notes": result["notes"]}
        same = {k: v for k, v in rows["local"].items() if k not in ("backend", "wall_s", "repair_wall_s", "notes")} == \
               {k: v for k, v in rows["docker"].items() if k not in ("backend", "wall_s", "repair_wall_s", "notes")}
        report = {"package": args.package, "test_cmd": test_cmd, "identical_verdicts": same, "runs": rows}
        if args.json:
            print(json.dumps(report, indent=2))
            return
        print(f"{args.package}: {test_cmd}")
        for backend, row in rows.items():
            print(f"  {backend:6s} {row['status']:10s} tests={row['tests']} triggers={len(row['trigger_tests'])} "
                  f"validated={len(row['validations'])} plausible={sum(s == 'plausible' for _, s in row['validations'])} "
                  f"wall={row['wall_s']}s (repair {row['repair_wall_s']}s)")
        print("  patch:\n" + "\n".join("    " + line for line in rows["docker"]["patch"].splitlines()))
        print(f"  identical verdicts: {same}")
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
