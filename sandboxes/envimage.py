"""A per-project environment image: the sandbox image plus the project's dependencies, built offline.

    patchwarden sandbox build-env REPO [--wheelhouse DIR] [--requirements FILE]

The dependencies come from a requirements file (`--requirements`, else the repository's
requirements.txt, else its pyproject's [project] dependencies and `test`/`tests` extras)
and are installed from a wheelhouse: `--wheelhouse DIR`, or one the host's pip makes
(`pip wheel`, with the host's cache and index settings). The container build itself has no
network: `pip install --no-index --find-links` from the wheelhouse only.

The tag is `patchwarden/env-<repo>:<hash>`, the hash covering the base image, the
requirements and the wheels, so an unchanged project reuses its image (the SWE-bench habit:
one environment image per repository) and a changed one gets a new image.
"""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .base import SandboxError

ENV_LABEL = "patchwarden.env"
EXTRAS_FOR_TESTS = ("test", "tests", "testing")


@dataclass
class EnvImage:
    tag: str
    built: bool  # False: the cached image was reused
    requirements: list[str]


def project_requirements(repo: Path, requirements: Path | None = None) -> list[str]:
    """Requirement lines for the project (comments, blanks and pip options dropped)."""
    if requirements is not None:
        if not requirements.is_file():
            raise SandboxError(f"requirements file {requirements} does not exist; pass an existing --requirements file")
        return _requirement_lines(requirements.read_text())
    if (repo / "requirements.txt").is_file():
        return _requirement_lines((repo / "requirements.txt").read_text())
    pyproject = repo / "pyproject.toml"
    if pyproject.is_file():
        import tomllib

        try:
            project = tomllib.loads(pyproject.read_text()).get("project", {})
        except tomllib.TOMLDecodeError as exc:
            raise SandboxError(f"{pyproject} does not parse ({exc}); fix it or pass --requirements FILE") from exc
        lines = list(project.get("dependencies", []))
        for extra in EXTRAS_FOR_TESTS:
            lines += project.get("optional-dependencies", {}).get(extra, [])
        return lines
    raise SandboxError(f"{repo} has no requirements.txt or pyproject.toml; pass --requirements FILE")


def _requirement_lines(text: str) -> list[str]:
    lines = []
    for line in text.splitlines():
        line = line.split(" #")[0].strip()
        if line and not line.startswith(("#", "-")):
            lines.append(line)
    return lines


def make_wheelhouse(requirements: list[str], folder: Path, progress: Callable[[str], None]) -> None:
    """Wheels for the requirements, made by the host's pip (its cache and index settings)."""
    req = folder / "requirements.txt"
    req.write_text("\n".join(requirements) + "\n")
    progress(f"pip wheel -r {len(requirements)} requirements (the host's pip)")
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "--wheel-dir",
                          str(folder), "-r", str(req)], capture_output=True, text=True)
    req.unlink()
    if res.returncode != 0:
        last = [ln for ln in res.stderr.splitlines() if ln.strip()][-1:] or [f"exit {res.returncode}"]
        raise SandboxError(f"the host's pip could not make the wheels: {last[0]}; make a wheelhouse yourself "
                           "(pip wheel -w DIR -r requirements.txt, or pip download) and pass --wheelhouse DIR")


def env_tag(repo: Path, base_id: str, requirements: list[str], wheelhouse: Path) -> str:
    h = hashlib.sha256(base_id.encode() + b"\0" + "\n".join(requirements).encode())
    for wheel in sorted(wheelhouse.glob("*")):
        if wheel.is_file():
            h.update(wheel.name.encode() + b"\0" + hashlib.sha256(wheel.read_bytes()).digest())
    name = re.sub(r"[^a-z0-9_.-]+", "-", repo.resolve().name.lower()).strip("-.") or "project"
    return f"patchwarden/env-{name}:{h.hexdigest()[:12]}"


def build_env_image(repo: Path, *, base: str, wheelhouse: Path | None = None, requirements: Path | None = None,
                    tag: str | None = None, progress: Callable[[str], None] | None = None) -> EnvImage:
    from .docker_sandbox import docker_client, image_present, missing_image_message

    say = progress or (lambda _line: None)
    if not repo.is_dir():
        raise SandboxError(f"{repo} is not a directory; pass the repository's folder")
    lines = project_requirements(repo, requirements)
    if wheelhouse is not None and not wheelhouse.is_dir():
        raise SandboxError(f"wheelhouse {wheelhouse} is not a directory; pass a folder of wheels with --wheelhouse")
    client = docker_client()
    work = Path(tempfile.mkdtemp(prefix="patchwarden-env-"))
    try:
        if not image_present(client, base):
            raise SandboxError(missing_image_message(base))
        wheels = work / "wheels"
        if wheelhouse is not None:
            shutil.copytree(wheelhouse, wheels)
        else:
            wheels.mkdir()
            if lines:
                make_wheelhouse(lines, wheels, say)
        base_id = client.images.get(base).id
        tag = tag or env_tag(repo, base_id, lines, wheels)
        if image_present(client, tag):
            say(f"{tag} is up to date")
            return EnvImage(tag, False, lines)
        (work / "requirements.txt").write_text("\n".join(lines) + "\n")
        (work / "Dockerfile").write_text(
            f"FROM {base}\n"
            "COPY wheels /tmp/pw-wheels\n"
            "COPY requirements.txt /tmp/pw-requirements.txt\n"
            # No network in the build: only the wheelhouse. Debian's python marks its site
            # packages as externally managed; this image is ours to install into.
            "RUN python3 -m pip install --no-index --find-links /tmp/pw-wheels --no-cache-dir "
            "--disable-pip-version-check --break-system-packages -r /tmp/pw-requirements.txt "
            "&& rm -rf /tmp/pw-wheels /tmp/pw-requirements.txt\n"
        )
        say(f"building {tag} from {base} ({len(lines)} requirements, no network)")
        try:
            _, log = client.images.build(path=str(work), tag=tag, network_mode="none", rm=True, forcerm=True,
                                         labels={ENV_LABEL: repo.resolve().name})
            for chunk in log:
                text = (chunk.get("stream") or "").strip()
                if text:
                    say(text)
        except Exception as exc:  # docker.errors.BuildError / APIError
            detail = getattr(exc, "msg", None) or str(exc)
            raise SandboxError(f"building {tag} failed: {str(detail).strip()[-300:]}; check that the wheelhouse has a "
                               "wheel for every requirement (and its dependencies) for the image's Python") from exc
        return EnvImage(tag, True, lines)
    finally:
        client.close()
        shutil.rmtree(work, ignore_errors=True)


__all__ = ["EnvImage", "build_env_image", "env_tag", "project_requirements"]
