"""Run every known bad input through the CLI and write the answers as a markdown table.

    python3 scripts/bad_input_table.py [--out docs/bad-input.md] [--only B3,S1]

Each row is a real `python3 -m patchwarden.cli ...` process over small fixtures built in a temp folder
(a git repo whose `add` returns `a - b`, tiny JSONL files, a dead model server address).
The table lists the command, the bad input, the exit code and the first line of output; a
row is marked `ok` when the answer is the expected exit code with one clean line and no
traceback. tests/test_bad_input.py runs the same cases.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST_CMD = "python3 -m pytest -q"


@dataclass
class Case:
    item: str  # the item: B1, S6, Also, ...
    args: list[str]
    input: str  # what is wrong, in words
    expect: int = 2
    timeout: float = 120.0
    env: dict[str, str] = field(default_factory=dict)
    contains: str = ""  # a word the message must hold (the thing it names)


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid", "-c", "commit.gpgsign=false", *args],
                   cwd=repo, check=True, capture_output=True)


def make_repo(root: Path, files: dict[str, str | bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        (root / rel).write_bytes(text if isinstance(text, bytes) else text.encode())
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "init")
    return root


CALC = {"calc.py": "def add(a, b):\n    return a - b\n",
        "test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"}


def dead_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fixtures(tmp: Path) -> dict[str, Path | str]:
    """Every file the cases point at."""
    f: dict[str, Path | str] = {}
    f["repo"] = make_repo(tmp / "calc", CALC)
    f["notests"] = make_repo(tmp / "notests", {"calc.py": CALC["calc.py"]})
    f["file"] = tmp / "a-file.txt"
    f["file"].write_text("not a folder\n")
    f["under"] = f["file"] / "sub"
    f["latin1_issue"] = tmp / "issue-latin1.txt"
    f["latin1_issue"].write_bytes("Caf\xe9: add() subtracts instead of adding\n".encode("latin-1"))
    f["corrupt"] = tmp / "corrupt.jsonl"
    f["corrupt"].write_text('{"task_id": "Python/0"}\n{"task_id": \n')
    f["empty"] = tmp / "empty.jsonl"
    f["empty"].write_text("")
    f["adir"] = tmp / "a-dir"
    f["adir"].mkdir()
    data = tmp / "data"  # a dataset folder whose test.jsonl has a corrupt line
    data.mkdir()
    (data / "train.jsonl").write_text('{"x": 1}\n{oops\n')
    (data / "test.jsonl").write_text('{"x": 1}\n{oops\n')
    f["corrupt_data"] = data
    good = tmp / "good-data"  # one real Repair-R1 row
    good.mkdir()
    row = {"problem_id": "p0", "source": "humanevalfix", "prompt": "Fix:\n```python\ndef add(a, b):\n    return a - b\n```",
           "buggy_code": "def add(a, b):\n    return a - b\n", "reference": "def add(a, b):\n    return a + b\n",
           "tests": "def check(add):\n    assert add(2, 3) == 5\ncheck(add)\n", "entry_point": "add", "task_id": "t/0"}
    for split in ("train", "test"):
        (good / f"{split}.jsonl").write_text(json.dumps(row) + "\n")
    f["good_data"] = good
    report = tmp / "neuron-run"  # a `neuron mint --out` folder whose report.json is torn
    report.mkdir()
    (report / "report.json").write_text('{"base_model": "x",\n  "summary": ')
    f["torn_report"] = report
    f["cases"] = tmp / "cases.jsonl"
    f["cases"].write_text(json.dumps({"prompt": "1 + 1 =", "target": " 2"}) + "\n")
    f["preds"] = tmp / "input-preds.json"  # a valid BouncerBench input-split submission
    f["preds"].write_text(json.dumps({"i1": {"input_bounce": True, "trace": "t"}}))
    f["bench_run"] = tmp / "bench-run"
    f["bench_run"].mkdir()  # a finished `bench run` of one bug
    (f["bench_run"] / "results.jsonl").write_text(json.dumps({
        "id": "Python/0", "dataset": "humanevalfix", "bug_type": "", "status": "none", "plausible": False,
        "fixed_equal_reference": False, "has_reference": True, "patch": "", "message": "", "wall_time": 1.0,
        "repair_time": 1.0, "candidates_generated": 0, "candidates_validated": 0, "calls": 0, "tokens": 0, "cost": 0.0,
        "run_dir": "runs/Python-0", "engine": "template", "model": "patchwarden-template"}) + "\n")
    script = tmp / "not-executable.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    f["script_dir"] = tmp
    f["patch"] = tmp / "fix.diff"
    f["patch"].write_text("--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n")
    f["issue"] = tmp / "issue.txt"
    f["issue"].write_text("calc.add(2, 3) returns -1 instead of 5: it subtracts.\n")
    latin = make_repo(tmp / "latin1", {
        "calc.py": "# -*- coding: latin-1 -*-\n# Fran\xe7ois wrote this\ndef add(a, b):\n    return a - b\n".encode("latin-1"),
        "test_calc.py": CALC["test_calc.py"]})
    f["latin1_repo"] = latin
    f["dead"] = f"http://127.0.0.1:{dead_port()}/v1"
    f["tmp"] = tmp
    return f


def cases(f: dict) -> list[Case]:
    repo, t = str(f["repo"]), ["-t", TEST_CMD, "--sandbox", "local"]
    r = ["repair", repo, *t, "--no-bounce"]
    out = lambda name: str(f["tmp"] / "out" / name)  # noqa: E731  a fresh --out per row
    dead_env = {"OPENAI_BASE_URL": f["dead"], "OPENAI_API_KEY": "x"}
    ev = ["train", "eval", "--model", "hf:none", "--data", str(f["good_data"])]
    bench = ["bench", "run", "humanevalfix", "--limit", "1", "--sandbox", "local"]
    return [
        Case("B1", [*r, "--test-timeout", "-5", "--out", out("b1")], "negative --test-timeout", contains="--test-timeout"),
        Case("B1", ["localize", repo, *t, "--test-timeout", "-5"], "negative --test-timeout", contains="--test-timeout"),
        Case("B2", [*r, "--issue", str(f["latin1_issue"]), "--out", out("b2")], "--issue file in latin-1 (not UTF-8)", contains="UTF-8"),
        Case("B3", [*r, "--out", str(f["file"])], "--out is an existing file", contains="--out"),
        Case("B3", [*r, "--out", str(f["under"])], "--out lies under a file", contains="--out"),
        Case("B3", ["bouncerbench", "export", "--name", "n", "--site", "s", "--input", str(f["preds"]), "--out", str(f["file"])], "--out is an existing file", contains="--out"),
        Case("B3", ["train", "dataset", "--out", str(f["under"])], "--out lies under a file", contains="--out"),
        Case("B3", ["train", "grpo", "--model", "hf:none", "--data", str(f["good_data"]), "--out", str(f["file"])], "--out is an existing file", contains="--out"),
        Case("B3", [*ev, "--details", str(f["adir"])], "--details is a folder", contains="--details"),
        Case("B3", [*ev, "--details", str(f["under"])], "--details lies under a file", contains="--details"),
        Case("B3", ["neuron", "mint", "--model", "hf:none", "--cases", str(f["cases"]), "--out", str(f["file"])], "--out is an existing file", contains="--out"),
        Case("B3", ["neuron", "irepair", "--model", "hf:none", "--error-data", str(f["cases"]), "--utility-data", str(f["cases"]), "--out", str(f["under"])], "--out lies under a file", contains="--out"),
        Case("B3", ["bench", "report", str(f["bench_run"]), "--out", str(f["file"])], "--out is an existing file", contains="--out"),
        Case("B4", [*r, "--bounce-threshold", "5", "--out", out("b4")], "--bounce-threshold outside [0, 1]", contains="--bounce-threshold"),
        Case("B5", ["train", "dataset", "--path", str(f["corrupt"]), "--out", out("b5a")], "corrupt JSONL line", contains=":2"),
        Case("B5", ["train", "dataset", "--path", str(f["adir"]), "--out", out("b5b")], "a folder as the input file", contains="folder"),
        Case("B5", ["train", "grpo", "--model", "hf:none", "--data", str(f["corrupt_data"]), "--out", out("b5c")], "corrupt JSONL line", contains=":2"),
        Case("B5", ["train", "eval", "--model", "hf:none", "--data", str(f["corrupt_data"])], "corrupt JSONL line", contains=":2"),
        Case("B5", ["neuron", "eval", "--model", str(f["torn_report"]), "--cases", str(f["cases"])], "torn report.json", contains="report.json"),
        Case("B6", ["train", "eval", "--model", "openai:x", "--data", str(f["good_data"]), "--samples", "1", "--workers", "1"], "nothing listens at the model server", env=dead_env, timeout=180, contains="openai:x", expect=4),
        Case("B7", [*ev, "--max-tokens", "0"], "--max-tokens 0", contains="--max-tokens"),
        Case("B8", ["sandbox", "run", "--backend", "local", "--workdir", str(f["script_dir"]), "--", "./not-executable.sh"], "a command without the execute bit", contains="not executable"),
        Case("S1", [*r, "--time-budget", "-1", "--out", out("s1a")], "negative --time-budget", contains="--time-budget"),
        Case("S1", [*r, "--max-candidates", "-1", "--out", out("s1b")], "negative --max-candidates", contains="--max-candidates"),
        Case("S1", [*r, "--max-candidates", "0", "--out", out("s1c")], "--max-candidates 0", contains="--max-candidates"),
        Case("S1", [*r, "--max-plausible", "0", "--out", out("s1d")], "--max-plausible 0", contains="--max-plausible"),
        Case("S2", [*r, "--memory", "-1", "--out", out("s2a")], "negative --memory", contains="--memory"),
        Case("S2", [*r, "--memory", "0", "--out", out("s2b")], "--memory 0", contains="--memory"),
        Case("S3", ["repair", repo, *t, "--no-bounce", "--engine", "policy", "--model", "openai:x", "--api-base", f["dead"], "--out", out("s3")], "policy model server not listening", env={"OPENAI_API_KEY": "x"}, timeout=180, contains="127.0.0.1", expect=4),
        Case("S4", ["train", "dataset", "--path", str(f["empty"]), "--out", out("s4")], "empty JSONL", contains="no rows"),
        Case("S5", [*ev, "--limit", "-1"], "negative --limit", contains="--limit"),
        Case("S5", ["localize", repo, *t, "--top", "-1"], "negative --top", contains="--top"),
        Case("S6", [*bench, "--engine", "bogus", "--out", out("s6a")], "unknown engine", contains="bogus"),
        Case("S6", [*bench, "--engine", "srepair", "--out", out("s6b")], "srepair without a model", contains="--model"),
        Case("S6", [*bench, "--bug-timeout", "-1", "--out", out("s6c")], "negative --bug-timeout", contains="--bug-timeout"),
        Case("S6", [*bench, "--time-budget", "-1", "--out", out("s6d")], "negative --time-budget", contains="--time-budget"),
        Case("S6", [*bench, "--max-candidates", "-1", "--out", out("s6e")], "negative --max-candidates", contains="--max-candidates"),
        Case("S7", [*bench, "--ray", f"127.0.0.1:{dead_port()}", "--out", out("s7")], "nothing at the Ray address", timeout=60, contains="--ray"),
        Case("Also", [*r, "--per-test-timeout", "-1", "--out", out("a1")], "negative --per-test-timeout", contains="--per-test-timeout"),
        Case("Also", ["train", "dataset", "--workers", "0", "--out", out("a2")], "--workers 0", contains="--workers"),
        Case("Also", ["train", "grpo", "--model", "hf:none", "--data", str(f["good_data"]), "--workers", "0", "--out", out("a3")], "--workers 0", contains="--workers"),
        Case("Also", [*ev, "--workers", "0"], "--workers 0", contains="--workers"),
        Case("Also", [*ev, "--temperature", "-1"], "negative --temperature", contains="--temperature"),
        Case("Also", ["train", "grpo", "--model", "hf:none", "--data", str(f["good_data"]), "--max-steps", "-1", "--out", out("a4")], "negative --max-steps", contains="--max-steps"),
        Case("Also", ["bounce", "output", "--issue", str(f["issue"]), "--patch", str(f["patch"]), "--repo", repo, "--test-cmd", "no-such-test-runner -q"], "a test command that does not exist", contains="cannot run"),
        Case("Also", ["repair", str(f["notests"]), *t, "--no-bounce", "--out", out("a5")], "a repository without tests", contains="no tests"),
        Case("Also", ["repair", str(f["latin1_repo"]), *t, "--no-bounce", "--out", out("a6")], "valid PEP 263 latin-1 source (not bad input: it must be repaired)", expect=0, timeout=240, contains="plausible"),
    ]


@dataclass
class Row:
    case: Case
    code: int
    first_line: str
    output: str

    @property
    def ok(self) -> bool:
        text = self.output
        clean = "Traceback" not in text and (self.case.contains.lower() in text.lower())
        if self.case.expect == 2:
            lines = [ln for ln in text.splitlines() if ln.strip()]
            clean = clean and len(lines) == 1
        return self.code == self.case.expect and clean


def run_case(case: Case, cwd: Path = ROOT, pythonpath: str | None = None) -> Row:
    env = dict(os.environ, PYTHONPATH=pythonpath or str(ROOT), COLUMNS="400", NO_COLOR="1", TERM="dumb", **case.env)
    if "OPENAI_BASE_URL" not in case.env:
        env.pop("OPENAI_BASE_URL", None)
    try:
        proc = subprocess.run([sys.executable, "-m", "patchwarden.cli", *case.args], cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=case.timeout, stdin=subprocess.DEVNULL)
        code, output = proc.returncode, proc.stderr + proc.stdout
    except subprocess.TimeoutExpired as exc:
        code, output = 124, f"(no answer within {case.timeout:.0f}s) " + ((exc.stderr or b"").decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or ""))
    lines = [ln for ln in output.splitlines() if ln.strip()]
    return Row(case, code, lines[0].strip() if lines else "(no output)", output)


def _shown(args: list[str], tmp: Path) -> str:
    text = " ".join(a if a and " " not in a else repr(a) for a in args)
    return text.replace(str(tmp), "$TMP")


def markdown(rows: list[Row], tmp: Path) -> str:
    ok = sum(r.ok for r in rows)
    out = [
        "# Bad input: what each command answers",
        "",
        "Generated by `python3 scripts/bad_input_table.py`: every bad input in its table run through",
        "`python3 -m patchwarden.cli` over small fixtures (`$TMP`: a temp folder; `calc` is a git repo whose `add` returns",
        "`a - b`). Expected: exit 2 (bad input) and one line naming the problem and the fix, no traceback;",
        "exit 4 where a service (a model server) does not answer, as docs/json.md's exit-code table says;",
        "a valid latin-1 source is repaired (exit 0).",
        "",
        f"{ok} of {len(rows)} rows answer as expected.",
        "",
        "| item | command | bad input | exit | first line of output | ok |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        cmd = _shown(r.case.args, tmp).replace("|", "\\|")
        line = r.first_line.replace(str(tmp), "$TMP").replace("|", "\\|")
        out.append(f"| {r.case.item} | `{cmd}` | {r.case.input} | {r.code} | {line} | {'yes' if r.ok else '**no**'} |")
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "bad-input.md"), help="Markdown file to write.")
    ap.add_argument("--only", default="", help="Comma-separated items to run (e.g. B3,S1); default all.")
    args = ap.parse_args()
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    with tempfile.TemporaryDirectory(prefix="pw-bad-input-") as tmp_name:
        tmp = Path(tmp_name)
        rows = []
        for case in cases(fixtures(tmp)):
            if only and case.item not in only:
                continue
            row = run_case(case)
            rows.append(row)
            print(f"{'ok ' if row.ok else 'BAD'} {case.item:5} exit {row.code:3}  {row.first_line[:150]}", flush=True)
        Path(args.out).write_text(markdown(rows, tmp))
    bad = [r for r in rows if not r.ok]
    print(f"{len(rows) - len(bad)}/{len(rows)} rows as expected; table: {args.out}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
