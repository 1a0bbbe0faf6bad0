"""`patchwarden bounce`: judge one issue or one patch. Exit 0 = accept, 3 = bounce."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from patchwarden.cli.common import console, fail, print_json
from patchwarden.cli.contract import exit_code_for

app = typer.Typer(no_args_is_help=True, help="Judge one issue (input) or one patch (output): accept or bounce. Exits 3 on bounce.")

BOUNCE_EXIT = 3


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(f"{what} file {path} not found; pass an existing file")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {what} file {path} ({exc}); pass a UTF-8 text file")


def _show(decision, as_json: bool) -> None:
    if as_json:
        print_json(decision.to_dict())
    else:
        verdict = "[bold red]BOUNCE[/]" if decision.bounce else "[bold green]ACCEPT[/]"
        console.print(f"{verdict} {decision.label} (confidence {decision.confidence:.2f})")
        console.print(decision.explanation, highlight=False)
    if decision.bounce:
        raise typer.Exit(BOUNCE_EXIT)


FALLBACK = typer.Option("none", "--fallback", help="When the --model server fails: none (exit 4, the default) or heuristic (judge without the model, saying so in the explanation).")


def _judge(gate, spec: str | None, fallback: str, *args, **kwargs):
    """Run a gate; a model that fails is an error (exit 4 when the server is down) unless a fallback is asked for."""
    if fallback not in ("none", "heuristic"):
        fail(f"unknown --fallback {fallback!r}; choose none or heuristic")
    try:
        return gate(*args, **kwargs, fallback=fallback == "heuristic")
    except Exception as exc:  # only reached with a model and no fallback
        fail(f"the model {spec} failed ({exc}); start its server or fix --model/--api-base, "
             "or pass --fallback heuristic to judge without it", exit_code_for(exc))


def _model(model: str | None, api_base: str | None):
    from patchwarden.cli.bouncerbench import load_model_or_fail

    return load_model_or_fail(model, api_base) if model else None


@app.command("input")
def input_cmd(
    issue: Path = typer.Option(..., "--issue", help="File with the issue text."),
    model: Optional[str] = typer.Option(None, "--model", help="Ask an LLM with the paper's rubric (e.g. openai:NAME) instead of the heuristic."),
    api_base: Optional[str] = typer.Option(None, "--api-base", help="Base URL of an OpenAI-compatible server."),
    threshold: float = typer.Option(0.5, "--threshold", min=0.0, max=1.0, help="The heuristic bounces below this confidence."),
    fallback: str = FALLBACK,
    as_json: bool = typer.Option(False, "--json", help="Print the decision as JSON."),
):
    """Is this issue specific enough to act on?"""
    from patchwarden.bouncer.gate import input_gate

    text = _read(issue, "issue")
    if not text.strip():
        fail(f"issue file {issue} is empty; write the issue text into it")
    _show(_judge(input_gate, model, fallback, text, threshold=threshold, model=_model(model, api_base)), as_json)


@app.command("output")
def output_cmd(
    issue: Path = typer.Option(..., "--issue", help="File with the issue text."),
    patch: Path = typer.Option(..., "--patch", help="Unified diff of the patch to judge."),
    repo: Optional[Path] = typer.Option(None, "--repo", help="Repository the patch applies to: its tests run in a sandbox, before and after."),
    test_cmd: Optional[str] = typer.Option(None, "--test-cmd", help="Test command for --repo, e.g. 'python -m pytest -q'."),
    sandbox: str = typer.Option("local", "--sandbox", help="Sandbox for the test runs: local, docker or auto."),
    timeout: float = typer.Option(600.0, "--timeout", min=1.0, help="Seconds allowed for each test run."),
    model: Optional[str] = typer.Option(None, "--model", help="Add an LLM judge (paper's rubric) to the evidence, e.g. openai:NAME."),
    api_base: Optional[str] = typer.Option(None, "--api-base", help="Base URL of an OpenAI-compatible server."),
    threshold: float = typer.Option(0.5, "--threshold", min=0.0, max=1.0, help="Bounce below this confidence."),
    fallback: str = FALLBACK,
    as_json: bool = typer.Option(False, "--json", help="Print the decision as JSON."),
):
    """Is this patch trustworthy? With --repo/--test-cmd the tests decide most of it."""
    from patchwarden.bouncer.evidence import PatchEvidence
    from patchwarden.bouncer.gate import output_gate

    issue_text, diff = _read(issue, "issue"), _read(patch, "patch")
    if not diff.strip():
        fail(f"patch file {patch} is empty; pass a unified diff")
    if test_cmd is not None and not test_cmd.strip():
        fail("--test-cmd is empty, so the tests cannot run; pass the command, e.g. --test-cmd 'python -m pytest -q'")
    if (repo is None) != (test_cmd is None):
        fail("--repo and --test-cmd go together; pass both to run the tests, or neither")
    if repo is not None:
        if not repo.is_dir():
            fail(f"--repo {repo} is not a directory; pass the repository the patch applies to")
        from patchwarden.bouncer.patch_check import collect_evidence
        from patchwarden.sandboxes import SandboxError

        try:
            evidence = collect_evidence(repo, test_cmd, diff, issue=issue_text, sandbox=sandbox, timeout=timeout)
        except (ValueError, SandboxError) as exc:
            fail(str(exc))
    else:
        evidence = PatchEvidence(patch=diff, issue=issue_text)
    _show(_judge(output_gate, model, fallback, evidence, threshold=threshold, model=_model(model, api_base)), as_json)
