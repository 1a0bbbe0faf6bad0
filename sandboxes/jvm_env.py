"""Environment for JVM test runs (Maven, Gradle, the JUnit console launcher) in a sandbox.

The local sandbox caps address space (RLIMIT_AS), and a JVM's default reservations (a 1 GiB
compressed class space, a 240 MiB code cache, a heap of 1/4 of the machine, a malloc arena per
thread) exceed it before any test runs: the JVM is sized to the limit instead. The sandbox's
HOME is private, so Maven and Gradle are pointed at the user's own dependency caches (offline
builds need them; nothing is downloaded: the sandbox has no network). The caches are shown
read-only (confine.build_tool_caches); a root-owned sandbox runs as a uid of its own, which
cannot read root's 0750 ~/.m2, so it reads a world-readable snapshot of it instead
(MAVEN_SNAPSHOT, brought up to date once per process; `mvn -o` only reads its local repository).
"""
from __future__ import annotations

import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

MAVEN_SNAPSHOT = Path("/var/cache/patchwarden/m2-repository")


@lru_cache(maxsize=None)
def readable_maven_repo(source: str) -> str | None:
    """A copy of `source` every uid can read (new files copied in; None when it cannot be made)."""
    try:
        MAVEN_SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        cp = shutil.which("cp") or "cp"
        subprocess.run([cp, "-R", "--update", "--no-preserve=mode,ownership", source + "/.", str(MAVEN_SNAPSHOT)],
                       check=True, capture_output=True, timeout=600)
        subprocess.run(["chmod", "-R", "a+rX", str(MAVEN_SNAPSHOT)], check=True, capture_output=True, timeout=600)
        os.chmod(MAVEN_SNAPSHOT.parent, 0o755)
        return str(MAVEN_SNAPSHOT)
    except (OSError, subprocess.SubprocessError):
        return None


def jvm_env(sandbox) -> dict[str, str]:
    env: dict[str, str] = {}
    if getattr(sandbox, "backend", "") != "local":
        return env  # a container's JVM sizes itself to the container's memory limit
    memory_mb = getattr(getattr(sandbox, "limits", None), "memory_mb", 2048)
    heap = max(64, memory_mb // 4)
    env["JAVA_TOOL_OPTIONS"] = (f"-Xmx{heap}m -XX:CompressedClassSpaceSize=64m -XX:ReservedCodeCacheSize=64m "
                                "-XX:+UseSerialGC -XX:TieredStopAtLevel=1")
    env["MALLOC_ARENA_MAX"] = "2"
    m2 = Path.home() / ".m2" / "repository"
    if m2.is_dir():
        repo = readable_maven_repo(str(m2)) if getattr(sandbox, "uid", None) is not None else str(m2)
        if repo:
            env["MAVEN_OPTS"] = f"-Dmaven.repo.local={repo}"
    gradle = Path.home() / ".gradle"
    if gradle.is_dir():
        env["GRADLE_USER_HOME"] = str(gradle)
    return env
