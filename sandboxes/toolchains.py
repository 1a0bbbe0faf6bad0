"""Host toolchains a local sandbox lends its commands: the user's Maven repository, read-only.

The local sandbox masks the owner's home (confine.py), where Maven keeps its local repository
(`~/.m2/repository`); and its commands get a HOME of their own. An offline `mvn -o test`
needs that repository, so it is shown again read-only at its own path and Maven is pointed at
it (`-Dmaven.repo.local` through MAVEN_OPTS). Maven only reads it offline; a build that wants
to download fails as it would without a network. Java and Node need nothing: they live under
/usr, which the sandbox shows read-only anyway.

PATCHWARDEN_MAVEN_REPO names another repository folder; an empty value lends none.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

MAVEN_REPO_ENV = "PATCHWARDEN_MAVEN_REPO"
CONTAINER_MAVEN_REPO = "/opt/patchwarden/m2-repository"  # where a Docker sandbox shows it


def maven_repository(environ: dict[str, str] | None = None) -> str | None:
    """The host's Maven local repository folder, when there is one."""
    environ = os.environ if environ is None else environ
    if MAVEN_REPO_ENV in environ:
        chosen = environ[MAVEN_REPO_ENV].strip()
        return os.path.realpath(os.path.expanduser(chosen)) if chosen and os.path.isdir(os.path.expanduser(chosen)) else None
    default = os.path.join(os.path.expanduser("~"), ".m2", "repository")
    return os.path.realpath(default) if os.path.isdir(default) else None


def maven_env(repository: str | None) -> dict[str, str]:
    """Environment for commands that should find `repository` (none when there is none)."""
    return {"MAVEN_OPTS": f"-Dmaven.repo.local={repository}"} if repository else {}


def maven_groups(repos: list[str]) -> list[int]:
    """The group of a lent Maven repository that others cannot read but its group can (a root
    umask of 027): the sandbox's user joins that group only, to read the repository (read-only)."""
    groups = []
    for repo in repos:
        st = os.stat(repo)
        if not st.st_mode & 0o005 and st.st_mode & 0o050 and st.st_gid not in groups:
            groups.append(st.st_gid)
    return groups


def lent_maven_repository(source: Path | str | None, choice: str | None = "auto") -> str | None:
    """The repository a Docker sandbox over `source` mounts read-only: with `choice` "auto", the
    host's (maven_repository) when `source` is a Maven project (a pom.xml at its top); a path
    mounts that folder; None or "" mounts none."""
    if not choice:
        return None
    if choice != "auto":
        path = os.path.realpath(os.path.expanduser(choice))
        return path if os.path.isdir(path) else None
    if source is None or not (Path(source) / "pom.xml").is_file():
        return None
    return maven_repository()


# V8 reserves about 10 GiB of address space per WebAssembly memory for its trap-handler guard
# regions, so under RLIMIT_AS any wasm fails ("Cannot allocate Wasm memory": Vitest/Vite's
# rollup and es-module-lexer). Inline bounds checks need no reservation (Node >= 20.15).
NODE_WASM_OPTION = "--disable-wasm-trap-handler"


@lru_cache(maxsize=1)
def _node_takes_wasm_option() -> bool:
    """Whether this host's node accepts the option (an older one refuses to start with it)."""
    node = shutil.which("node")
    try:
        return bool(node) and subprocess.run([node, NODE_WASM_OPTION, "-e", "0"], capture_output=True,
                                             timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def node_env(extra_options: str = "") -> dict[str, str]:
    """NODE_OPTIONS for a Node process under an address-space limit, with `extra_options` (a
    caller's own NODE_OPTIONS) kept after it; nothing when node lacks the option."""
    opts = [NODE_WASM_OPTION] if _node_takes_wasm_option() else []
    opts += [extra_options] if extra_options else []
    return {"NODE_OPTIONS": " ".join(opts)} if opts else {}


def jvm_env(memory_mb: int, home: str = "", tmp: str = "") -> dict[str, str]:
    """Options every JVM in a sandbox picks up so that it starts under an address-space limit of
    `memory_mb` (RLIMIT_AS): by default a JVM reserves a quarter of the machine's memory for its
    heap and 1 GiB for class metadata up front, and glibc a 64 MiB arena per thread.
    `home`/`tmp`: the sandbox's own, which a JVM does not take from HOME/TMPDIR (it asks the
    passwd file, which has no entry for the sandbox's uid: user.home "?", and writes to /tmp,
    which the sandbox uid cannot). Container support off: in the sandbox's cgroup namespace the
    JDK's cgroup v1 probe throws (Gradle's daemon dies of it); the heap is sized here anyway."""
    heap = max(128, memory_mb // 4)
    opts = f"-Xmx{heap}m -XX:CompressedClassSpaceSize=128m -XX:ReservedCodeCacheSize=64m -XX:+UseSerialGC"
    opts += " -XX:-UseContainerSupport"
    opts += f" -Duser.home={home}" if home else ""
    opts += f" -Djava.io.tmpdir={tmp}" if tmp else ""
    return {"JAVA_TOOL_OPTIONS": opts, "MALLOC_ARENA_MAX": "2"}
