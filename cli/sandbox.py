"""`patchwarden sandbox`: run a command in a sandbox, build the Docker image, check backends, prune."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from patchwarden.cli.common import console, fail, print_json
from patchwarden.cli.contract import EXIT_DONE, EXIT_ENVIRONMENT, EXIT_NO_RESULT, exit_code_for

app = typer.Typer(no_args_is_help=True, help="Run commands in local or Docker sandboxes; build the image; check backends.")


@app.command("run", context_settings={"allow_interspersed_args": False})
def run(
    cmd: List[str] = typer.Argument(None, help="The command and its arguments, after `--`.", show_default=False),
    backend: str = typer.Option("auto", "--backend", "-b", help="local, docker, or auto (docker when its daemon and image are ready)."),
    image: Optional[str] = typer.Option(None, "--image", help="Docker image (default patchwarden/sandbox:py3)."),
    timeout: float = typer.Option(300.0, "--timeout", "-t", min=0.1, help="Seconds before the command and its children are killed (exit 124)."),
    memory: Optional[int] = typer.Option(None, "--memory", "-m", min=16, help="Memory limit in MB (default 2048)."),
    workdir: Path = typer.Option(Path("."), "--workdir", "-w", help="Directory whose COPY the command runs in; the original is never written."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON result record instead of the command's output."),
    pass_exit_code: bool = typer.Option(False, "--pass-exit-code", help="Exit with the command's own exit code (124 on timeout, 128+N when killed by signal N), like a shell, instead of patchwarden's exit-code table."),
):
    """Run CMD over a copy of --workdir and print its output. Exit 0 when the command succeeded,
    1 when it failed or timed out (its own code is in the JSON's `returncode` and on stderr),
    2 for bad input, 4 when the sandbox is unavailable; --pass-exit-code passes the command's code through."""
    from patchwarden.sandboxes import BACKENDS, DEFAULT_IMAGE, Limits, SandboxError, open_sandbox, resolve_backend

    if not cmd:
        fail("no command given: put it after `--`, e.g. patchwarden sandbox run -- python3 -m pytest -q")
    if backend not in BACKENDS:
        fail(f"unknown backend {backend!r}: choose one of local, docker, auto")
    if not workdir.is_dir():
        fail(f"work dir {workdir} does not exist or is not a directory: pass an existing directory with --workdir")
    image_name = image or DEFAULT_IMAGE
    try:
        chosen = _choose_backend(backend, image, image_name, resolve_backend)
        limits = Limits() if memory is None else Limits(memory_mb=memory)
        mounts = None
        if chosen == "docker":  # an interpreter run by path (a venv) is mounted read-only
            import shlex

            from patchwarden.sandboxes.envmount import plan_mounts

            mounts = plan_mounts(shlex.join(cmd), workdir)
            if mounts.problem:
                fail(mounts.problem)
        with open_sandbox(chosen, workdir, image=image_name, limits=limits, mounts=mounts) as sbx:
            result = sbx.run(list(cmd), timeout=timeout)
    except SandboxError as exc:  # Docker engine, image or container failing: 4; a command not found: 2
        fail(str(exc), exit_code_for(exc))
    code = result.returncode
    shell_code = 128 - code if code < 0 else min(code, 255)  # killed by signal N -> 128+N, like a shell
    if as_json:  # `duration` is kept for scripts written before the contract; `wall_time` is the shared name
        print_json({"backend": chosen, "command": list(cmd), **result.to_dict(), "wall_time": result.duration,
                    "command_exit_code": shell_code})
    else:
        sys.stdout.write(result.stdout)
        sys.stdout.flush()
        sys.stderr.write(result.stderr)
        if result.timed_out:
            sys.stderr.write(f"patchwarden: command timed out after {timeout:g}s and was killed\n")
        if shell_code and not pass_exit_code:
            sys.stderr.write(f"patchwarden: the command exited with {shell_code}\n")
        sys.stderr.flush()
    if pass_exit_code:
        raise typer.Exit(shell_code)
    raise typer.Exit(EXIT_DONE if shell_code == 0 else EXIT_NO_RESULT)


def _choose_backend(backend: str, image: Optional[str], image_name: str, resolve_backend) -> str:
    """docker must be ready when asked for; auto with an explicit --image must not silently drop it."""
    if backend == "docker" or (backend == "auto" and image):
        from patchwarden.sandboxes.docker_sandbox import NO_DAEMON, docker_ready

        ok, why = docker_ready(image_name)
        if ok:
            return "docker"
        if backend == "docker" or why != NO_DAEMON:
            fail(why, EXIT_ENVIRONMENT)
    return resolve_backend(backend, image_name)


@app.command("build-image")
def build_image(
    offline: bool = typer.Option(False, "--offline", help="Build with debootstrap from the Debian mirror apt uses (no registry needed; root)."),
    tag: Optional[str] = typer.Option(None, "--tag", help="Image tag (default patchwarden/sandbox:py3)."),
    force: bool = typer.Option(False, "--force", help="Rebuild even when the tag exists."),
    mirror: Optional[str] = typer.Option(None, "--mirror", help="Debian mirror for --offline (default: the first one apt uses)."),
    check: bool = typer.Option(False, "--check", help="Build nothing: exit 0 when the image is up to date, 1 when it is missing or stale (built from older inputs)."),
):
    """Build the sandbox image: python3 (also as python), pip, pytest, coverage, git, patch, a
    uid-1000 user and /work. An existing image built from older inputs is rebuilt."""
    from patchwarden.sandboxes import DEFAULT_IMAGE, SandboxError
    from patchwarden.sandboxes.image import build_image as build, image_staleness

    tag = tag or DEFAULT_IMAGE
    if check:
        stale = image_staleness(tag)
        console.print(stale or f"image {tag} is up to date", highlight=False)
        raise typer.Exit(1 if stale else 0)
    with console.status(f"building {tag}") as status:
        phase = [""]

        def progress(line: str) -> None:
            # debootstrap prints hundreds of per-package lines: the spinner shows them, the log
            # (also in CI, where there is no spinner) gets one line per phase.
            if line.startswith(("I: Retrieving", "I: Validating", "I: Extracting", "I: Unpacking", "I: Configuring", "Step ", " ---> ")):
                status.update(f"[bold]{tag}[/]: {line[:100]}")
                current = line.split()[1] if line.startswith("I: ") else ""
                if current and current != phase[0]:
                    phase[0] = current
                    console.print(f"  {current.lower()} packages ...", highlight=False)
            else:
                console.print(f"  {line[:160]}", highlight=False)

        try:
            built = build(tag, offline=offline, force=force, mirror=mirror, progress=progress)
        except SandboxError as exc:
            fail(str(exc))
    console.print(f"[green]ready:[/] {tag}" + ("" if built else " (already present)"), highlight=False)


@app.command("build-env")
def build_env(
    repo: Path = typer.Argument(..., help="The repository whose dependencies the image gets."),
    wheelhouse: Optional[Path] = typer.Option(None, "--wheelhouse", help="A folder of wheels to install from (e.g. made with `pip wheel -w DIR -r requirements.txt` or `pip download`); default: the host's pip makes one."),
    requirements: Optional[Path] = typer.Option(None, "--requirements", "-r", help="Requirements file (default: REPO/requirements.txt, else pyproject's dependencies and test extras)."),
    base: Optional[str] = typer.Option(None, "--base", help="Image to build on (default patchwarden/sandbox:py3)."),
    tag: Optional[str] = typer.Option(None, "--tag", help="Tag for the image (default patchwarden/env-REPO:HASH of the inputs, reused while they do not change)."),
):
    """Build an environment image for a project offline: the sandbox image plus its dependencies,
    installed from a wheelhouse without network. Use it with `repair --image TAG`."""
    from patchwarden.sandboxes import DEFAULT_IMAGE, SandboxError
    from patchwarden.sandboxes.envimage import build_env_image

    try:
        with console.status(f"building the environment image for {repo}") as status:
            env = build_env_image(repo, base=base or DEFAULT_IMAGE, wheelhouse=wheelhouse, requirements=requirements,
                                  tag=tag, progress=lambda line: status.update(line[:100]))
    except SandboxError as exc:
        fail(str(exc))
    console.print(f"[green]ready:[/] {env.tag}" + ("" if env.built else " (cached)"), highlight=False)
    console.print(f"use it: patchwarden repair {repo} --image {env.tag} --test-cmd \"python -m pytest -q\"", highlight=False)


@app.command("doctor")
def doctor(
    image: Optional[str] = typer.Option(None, "--image", help="Docker image to check (default patchwarden/sandbox:py3)."),
    as_json: bool = typer.Option(False, "--json", help="Print the checks as JSON."),
):
    """Which backends work here (each tried with a real command), and why not."""
    from rich.table import Table

    from patchwarden.sandboxes import DEFAULT_IMAGE
    from patchwarden.sandboxes.doctor import diagnose

    checks = diagnose(image or DEFAULT_IMAGE)
    auto = next((c.backend for c in reversed(checks) if c.ok), None)
    if as_json:
        print_json({"checks": [c.to_dict() for c in checks], "auto": auto})
    else:
        table = Table("backend", "works", "details")
        for c in checks:
            table.add_row(c.backend, "[green]yes[/]" if c.ok else "[red]no[/]", c.detail)
        console.print(table)
        console.print(f"--backend auto uses: [bold]{auto or 'nothing works'}[/]")
    if auto is None:
        raise typer.Exit(1)


@app.command("prune")
def prune(
    everything: bool = typer.Option(False, "--all", help="Also remove sandboxes of processes still running."),
    as_json: bool = typer.Option(False, "--json", help="Print what was removed as JSON."),
):
    """Remove leftover sandbox containers (their owner process is gone) and their volumes."""
    from patchwarden.sandboxes import SandboxError
    from patchwarden.sandboxes.docker_sandbox import prune as prune_all

    try:
        removed = prune_all(everything)
    except SandboxError as exc:
        fail(str(exc), exit_code_for(exc, EXIT_ENVIRONMENT))
    if as_json:
        print_json({"removed": removed})
    elif removed:
        for name in removed:
            console.print(f"removed {name}", highlight=False)
    else:
        console.print("nothing to prune")
