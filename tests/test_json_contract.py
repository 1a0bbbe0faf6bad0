"""The scripting contract (docs/json.md): every command's --json names its schema and matches it,
errors under --json are a JSON object on stdout, one exit-code table (0/1/2/3/4) for all commands."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import SHAPES, make_repo

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "patchwarden.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def checked(proc: subprocess.CompletedProcess, code: int, schema: str) -> dict:
    """stdout is exactly one JSON object naming `schema`, valid against its documented schema."""
    from patchwarden.cli.schemas import validate

    assert proc.returncode == code, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    obj = json.loads(proc.stdout)
    assert obj["schema"] == schema, obj.get("schema")
    validate(obj)
    return obj


def json_commands() -> list[str]:
    from typer.main import get_command

    from patchwarden.cli.main import app

    def walk(cmd, path):
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                yield from walk(sub, [*path, name])
        elif any(p.name in ("as_json", "json_out") for p in cmd.params):
            yield ".".join(path)

    return list(walk(get_command(app), []))


def test_every_json_command_has_a_documented_schema_file():
    from patchwarden.cli.schemas import SCHEMAS

    commands = json_commands()
    assert len(commands) >= 18 and "repair" in commands and "bounce.input" in commands
    doc = (ROOT / "docs" / "json.md").read_text()
    for name in [f"patchwarden.{c}" for c in commands] + ["patchwarden.error"]:
        assert name in SCHEMAS, f"{name} has no schema in cli/schemas.py"
        version = SCHEMAS[name]["version"]
        assert f"`{name}/{version}`" in doc, f"{name}/{version} is not documented in docs/json.md"
        on_disk = json.loads((ROOT / "docs" / "schemas" / f"{name}.v{version}.json").read_text())
        assert {k: v for k, v in on_disk.items() if not k.startswith("$")} == json.loads(json.dumps(SCHEMAS[name]["schema"])), \
            f"docs/schemas/{name}.v{version}.json is stale: run python3 -m patchwarden.cli.schemas"
    for code in range(5):
        assert f"| {code} |" in doc


def test_cheap_commands_match_their_schemas(tmp_path):
    checked(cli("bench", "list", "--json"), 0, "patchwarden.bench.list/1")
    checked(cli("sandbox", "doctor", "--json", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"}), 0, "patchwarden.sandbox.doctor/1")
    run = checked(cli("sandbox", "run", "--backend", "local", "--json", "-w", str(tmp_path), "--", "sh", "-c", "echo hi"),
                  0, "patchwarden.sandbox.run/1")
    assert run["wall_time"] == run["duration"]  # the old name is kept next to the shared one
    issue = tmp_path / "issue.md"
    issue.write_text("`area(3, 4)` returns 7 but should return 12: scale adds instead of multiplying.\n")
    vague = tmp_path / "vague.md"
    vague.write_text("it does not work\n")
    checked(cli("bounce", "input", "--issue", str(issue), "--json"), 0, "patchwarden.bounce.input/1")
    checked(cli("bounce", "input", "--issue", str(vague), "--json"), 3, "patchwarden.bounce.input/1")
    patch = tmp_path / "p.diff"
    patch.write_text("--- a/shapes/geometry.py\n+++ b/shapes/geometry.py\n@@ -3 +3 @@\n-    return x + factor\n+    return x * factor\n")
    proc = cli("bounce", "output", "--issue", str(issue), "--patch", str(patch), "--json")
    checked(proc, proc.returncode if proc.returncode in (0, 3) else -1, "patchwarden.bounce.output/1")


def test_repair_and_localize_match_their_schemas(tmp_path):
    repo = make_repo(tmp_path / "shapes", SHAPES)
    cmd = "python -m pytest -q"
    loc = checked(cli("localize", str(repo), "--test-cmd", cmd, "--sandbox", "local", "--json"), 0, "patchwarden.localize/1")
    assert loc["functions"][0]["function"].endswith("scale")
    out = checked(cli("repair", str(repo), "--test-cmd", cmd, "--sandbox", "local", "--out", str(tmp_path / "run"),
                      "--no-bounce", "--json"), 0, "patchwarden.repair/1")
    assert out["status"] == "plausible"


def test_bench_run_and_report_match_their_schemas(tmp_path):
    from test_bench_util import make_jsonl_dataset

    data = make_jsonl_dataset(tmp_path / "bugs", ["add"])
    out = tmp_path / "out"
    run = checked(cli("bench", "run", "jsonl", "--path", str(data), "--out", str(out), "--engine", "template", "--sandbox", "local",
                      "--max-candidates", "60", "--time-budget", "60", "--no-bounce", "--json"), 0, "patchwarden.bench.run/1")
    assert run["fixed_equal_reference"] == run["fixed"]  # the old name is kept next to the shared one
    checked(cli("bench", "report", str(out), "--json"), 0, "patchwarden.bench.report/1")


def test_bouncerbench_and_train_dataset_match_their_schemas(tmp_path):
    from test_bouncer_cli import ISSUES

    data = tmp_path / "lite.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ISSUES))
    preds = tmp_path / "preds.json"
    assert cli("bouncerbench", "run", "--split", "lite", "--bouncer", "heuristic", "--data", str(data), "--out", str(preds)).returncode == 0
    checked(cli("bouncerbench", "score", "--split", "lite", "--predictions", str(preds), "--labels", str(data), "--json"),
            0, "patchwarden.bouncerbench.score/1")
    checked(cli("bouncerbench", "export", "--name", "x", "--site", "https://example.org", "--lite", str(preds),
                "--out", str(tmp_path / "sub"), "--json"), 0, "patchwarden.bouncerbench.export/1")
    checked(cli("train", "dataset", "--out", str(tmp_path / "r1"), "--json"), 0, "patchwarden.train.dataset/1")


def test_errors_under_json_are_an_object_on_stdout_and_a_line_on_stderr(tmp_path):
    # Our own check (a missing file) and click's (an unknown option): both exit 2, both a JSON object.
    for args in (["bounce", "input", "--issue", str(tmp_path / "missing.md"), "--json"],
                 ["bench", "run", "jsonl", "--out", str(tmp_path / "o"), "--no-such-flag", "--json"]):
        proc = cli(*args)
        err = checked(proc, 2, "patchwarden.error/1")
        assert err["exit_code"] == 2 and err["meaning"] == "bad input" and err["error"]
        assert proc.stderr.strip() and "Traceback" not in proc.stderr
    assert cli("bounce", "input", "--issue", str(tmp_path / "missing.md")).stdout == ""  # without --json: stderr only


def _dead_server() -> str:
    with socket.socket() as s:  # a port nothing listens on: connections are refused, like a server that is down
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/v1"


def test_model_outage_exits_4_unless_a_fallback_is_asked_for(tmp_path):
    issue = tmp_path / "issue.md"
    issue.write_text("`area(3, 4)` returns 7 but should return 12.\n")
    base = ["bounce", "input", "--issue", str(issue), "--model", "openai:judge", "--api-base", _dead_server(), "--json"]
    proc = cli(*base)
    err = checked(proc, 4, "patchwarden.error/1")
    assert err["meaning"] == "environment or service failure" and "--fallback heuristic" in err["error"]
    decision = checked(cli(*base, "--fallback", "heuristic"), 0, "patchwarden.bounce.input/1")
    assert "LLM unavailable" in decision["explanation"]


def test_repair_model_outage_and_missing_docker_exit_4(tmp_path):
    repo = make_repo(tmp_path / "shapes", SHAPES)
    common = ["repair", str(repo), "--test-cmd", "python -m pytest -q", "--no-bounce", "--json"]
    proc = cli(*common, "--sandbox", "local", "--engine", "srepair", "--model", "openai:coder", "--api-base", _dead_server(),
               "--out", str(tmp_path / "run1"))
    err = checked(proc, 4, "patchwarden.error/1")
    assert err["command"] == "repair" and "check that the server is up" in err["error"]
    proc = cli(*common, "--sandbox", "docker", "--out", str(tmp_path / "run2"), env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert checked(proc, 4, "patchwarden.error/1")["meaning"] == "environment or service failure"
    # Bad input stays 2.
    assert checked(cli(*common, "--engine", "magic", "--out", str(tmp_path / "run3")), 2, "patchwarden.error/1")


def test_what_counts_as_an_environment_failure():
    import openai

    httpx = pytest.importorskip("httpx2" if hasattr(openai._exceptions, "httpx2") else "httpx")  # what this openai uses

    from patchwarden.cli.contract import exit_code_for
    from patchwarden.repair.models import ModelError
    from patchwarden.sandboxes import SandboxError

    request = httpx.Request("POST", "http://127.0.0.1:1/v1/chat/completions")

    def wrapped(cause):
        try:
            try:
                raise cause
            except Exception as exc:
                raise ModelError("model failed") from exc
        except ModelError as err:
            return err

    assert exit_code_for(wrapped(openai.APIConnectionError(request=request))) == 4  # server down
    refused = openai.AuthenticationError("no", response=httpx.Response(401, request=request), body=None)
    assert exit_code_for(wrapped(refused)) == 2  # a wrong key is the user's to fix
    assert exit_code_for(SandboxError("image missing", environment=True)) == 4
    assert exit_code_for(SandboxError("command not found: 'pytset'")) == 2
