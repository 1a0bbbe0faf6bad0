"""Building the sandbox image: offline with debootstrap, or from the shipped Dockerfile.

Offline (no registry): debootstrap a minimal Debian with python3 (also as `python`), pip,
pytest, coverage, git, patch, a JDK 17, Maven and Node.js from the mirror apt already uses, add the sandbox user and
/work, then `docker import`. With a registry: `docker build` of `sandboxes/images/Dockerfile`
(python:3.11-slim). Both images have a uid-1000 user and a /work directory it owns.

Each image carries a label with a hash of its build inputs (`patchwarden.inputs`): an image
built from older inputs is stale and `build-image` rebuilds it (CI machines keep old images).
"""
from __future__ import annotations

import hashlib
import inspect
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable

from .base import SandboxError

OFFLINE_SUITE = "bookworm"
OFFLINE_PACKAGES = (
    "python3", "python-is-python3", "python3-pip", "python3-pytest", "python3-coverage",
    "git", "patch", "procps", "coreutils",
    # Java and JavaScript projects: a JDK, Maven (offline, against a mounted repository) and Node.
    "openjdk-17-jdk-headless", "maven", "nodejs",
)
# What test commands expect to find in the image (checked by `sandbox doctor`).
EXPECTED_COMMANDS = ("python", "python3", "pytest", "git", "patch", "java", "javac", "mvn", "node")
EXPECTED_MODULES = ("pytest", "coverage")
INPUTS_LABEL = "patchwarden.inputs"
APT_SOURCES = (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list"))
DOCKERFILE_DIR = Path(__file__).parent / "images"
SANDBOX_UID = 1000
IMPORT_CHANGES = (
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    "ENV HOME=/tmp",
    "WORKDIR /work",
    'CMD ["/bin/sh"]',
    "LABEL patchwarden.image=offline",
)

Progress = Callable[[str], None]


def apt_mirror(sources: tuple[Path, ...] = APT_SOURCES) -> str:
    """The first Debian mirror apt is configured with (deb822 `URIs:` or a `deb` line)."""
    for path in sources:
        try:
            text = path.read_text()
        except OSError:
            continue
        for line in text.splitlines():
            line = line.strip()
            m = re.match(r"URIs:\s*(\S+)", line) or re.match(r"deb\s+(?:\[[^\]]*\]\s+)?(\S+)", line)
            if m:
                return m.group(1)
    raise SandboxError(
        "no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list: "
        "pass --mirror URL, or build from the Dockerfile without --offline"
    )


def image_present(tag: str) -> bool:
    return _docker(["image", "inspect", tag], check=False).returncode == 0


def inputs_hash() -> str:
    """A hash of everything both builds are made from; changes whenever the image would."""
    h = hashlib.sha256()
    for part in (OFFLINE_SUITE, *OFFLINE_PACKAGES, *IMPORT_CHANGES, inspect.getsource(prepare_rootfs),
                 (DOCKERFILE_DIR / "Dockerfile").read_text()):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:16]


def image_staleness(tag: str) -> str | None:
    """None when `tag` exists and was built from the current inputs; else why it needs a build."""
    res = _docker(["image", "inspect", "--format", "{{ index .Config.Labels \"" + INPUTS_LABEL + "\" }}", tag], check=False)
    if res.returncode != 0:
        return f"image {tag} is not present"
    label = res.stdout.strip()
    if label != inputs_hash():
        return f"image {tag} is stale (built from inputs {label or 'without a hash'}, now {inputs_hash()})"
    return None


def build_image(tag: str, *, offline: bool, force: bool = False, mirror: str | None = None, progress: Progress | None = None) -> bool:
    """Build the sandbox image; returns False when it already existed (and not `force`)."""
    say = progress or (lambda _line: None)
    if shutil.which("docker") is None:
        raise SandboxError("the `docker` command is not installed: install Docker (apt-get install docker.io)")
    if _docker(["info"], check=False).returncode != 0:
        raise SandboxError(
            "the Docker daemon does not answer: start it (dockerd --bridge=none --iptables=false --ip-masq=false &)"
        )
    stale = image_staleness(tag)
    if stale is None and not force:
        say(f"image {tag} is up to date (use --force to rebuild)")
        return False
    if stale and "stale" in stale:
        say(f"{stale}: rebuilding")
    if offline:
        build_offline(tag, mirror=mirror, progress=say)
    else:
        build_from_dockerfile(tag, progress=say)
    return True


def build_offline(tag: str, *, mirror: str | None = None, progress: Progress) -> None:
    if os.geteuid() != 0:
        raise SandboxError("the offline image build runs debootstrap, which needs root: rerun as root (sudo)")
    if shutil.which("debootstrap") is None:
        raise SandboxError("debootstrap is not installed: apt-get install -y debootstrap")
    mirror = mirror or apt_mirror()
    # /var/tmp, not /tmp: the root file system is a few hundred MB and /tmp is often a small tmpfs.
    work = Path(tempfile.mkdtemp(prefix="patchwarden-rootfs-", dir="/var/tmp"))
    rootfs = work / "rootfs"
    try:
        progress(f"debootstrap {OFFLINE_SUITE} from {mirror}")
        cmd = [
            "debootstrap", "--variant=minbase", "--include=" + ",".join(OFFLINE_PACKAGES),
            OFFLINE_SUITE, str(rootfs), mirror,
        ]
        _stream(cmd, progress, "debootstrap")
        progress("adding the sandbox user and /work")
        prepare_rootfs(rootfs)
        progress(f"importing the root file system as {tag}")
        tar = subprocess.Popen(
            ["tar", "-C", str(rootfs), "--numeric-owner", "--exclude=./dev/*", "--exclude=./proc/*",
             "--exclude=./sys/*", "-c", "."],
            stdout=subprocess.PIPE,
        )
        labels = (*IMPORT_CHANGES, f"LABEL {INPUTS_LABEL}={inputs_hash()}")
        changes = [arg for change in labels for arg in ("--change", change)]
        imp = subprocess.run(["docker", "import", *changes, "-", tag], stdin=tar.stdout, capture_output=True, text=True)
        tar.stdout.close()
        if tar.wait() != 0 or imp.returncode != 0:
            raise SandboxError(f"docker import failed: {imp.stderr.strip() or 'tar failed'}")
        progress(f"built {tag}")
    finally:
        _remove_tree(work)


def prepare_rootfs(rootfs: Path) -> None:
    """Add the uid-1000 `sandbox` user, a /work it owns, and drop apt caches."""
    passwd, group = rootfs / "etc/passwd", rootfs / "etc/group"
    if f":{SANDBOX_UID}:" not in passwd.read_text():
        with passwd.open("a") as fh:
            fh.write(f"sandbox:x:{SANDBOX_UID}:{SANDBOX_UID}:patchwarden sandbox:/tmp:/bin/sh\n")
    if f":{SANDBOX_UID}:" not in group.read_text():
        with group.open("a") as fh:
            fh.write(f"sandbox:x:{SANDBOX_UID}:\n")
    work = rootfs / "work"
    work.mkdir(exist_ok=True)
    os.chown(work, SANDBOX_UID, SANDBOX_UID)
    for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for entry in (rootfs / cache).glob("*"):
            if entry.is_file():
                entry.unlink()


def build_from_dockerfile(tag: str, *, progress: Progress) -> None:
    progress(f"docker build {DOCKERFILE_DIR} -> {tag}")
    try:
        _stream(["docker", "build", "--label", f"{INPUTS_LABEL}={inputs_hash()}", "-t", tag, str(DOCKERFILE_DIR)],
                progress, "docker build")
    except SandboxError as exc:
        raise SandboxError(f"{exc} -- without a registry, build with --offline") from exc


def _docker(args: list[str], check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)


def _stream(cmd: list[str], progress: Progress, what: str) -> None:
    """Run a command, passing each output line to `progress`; keep the tail for errors."""
    tail: list[str] = []
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    try:
        for line in proc.stdout:
            line = line.rstrip()
            if line:
                progress(line)
                tail = (tail + [line])[-5:]
        rc = proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    if rc != 0:
        raise SandboxError(f"{what} failed (exit {rc}): {' | '.join(tail)}")


def _remove_tree(path: Path) -> None:
    """Delete a temporary root file system without ever crossing into a mount inside it.

    An interrupted debootstrap can leave /proc or /sys (or a bind of /dev) mounted in the
    chroot: unmount those first, and let `rm --one-file-system` skip anything still mounted.
    """
    prefix = str(path.resolve()) + "/"
    try:
        mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        mounts = []
    for mount in sorted((m for m in mounts if m.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "-l", mount], capture_output=True)
    subprocess.run(["rm", "-rf", "--one-file-system", str(path)], capture_output=True)
