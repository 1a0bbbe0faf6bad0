"""OS confinement for the local sandbox: bubblewrap namespaces, an unprivileged uid, a disk cap.

Every command of a confined local sandbox runs as

    bwrap --unshare-{pid,net,ipc,uts,...} --ro-bind / / --proc /proc --dev /dev --tmpfs /tmp
          --tmpfs /root ... --bind ROOT ROOT --chdir WORK -- [setpriv --reuid=UID ... --] CMD

so it sees its own pid namespace (it cannot see or signal anything outside, and every process
it starts dies with the namespace), only a loopback network, a read-only host with the
owner's secrets masked, and a writable sandbox root at the same path as outside (recorded
work dirs and coverage paths stay valid). Run by root, the command then drops to a uid of
its own with `setpriv` (in a user namespace permission checks still see the host uid: host
root could read /etc/shadow), which also makes RLIMIT_NPROC a per-sandbox process cap.
As root the sandbox root is a size-limited tmpfs: the total disk cap.
"""
from __future__ import annotations

import ctypes
import os
import shlex
import pwd
import random
import shutil
import site
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

from .toolchains import lent_maven_repository, maven_groups

# Host places a test has no business reading; replaced by empty tmpfs inside the sandbox.
MASKED_DIRS = ("/root", "/home", "/run", "/var/run", "/var/lib/docker", "/etc/ssh")
# A uid range no account uses: each root-owned sandbox gets one of its own.
UID_BASE, UID_SPAN = 2_000_000_000, 100_000_000


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def sandbox_uid() -> int | None:
    """A fresh unprivileged uid for a sandbox owned by root; None for other owners (they
    already lack root's rights and cannot switch uid)."""
    if os.geteuid() != 0:
        return None
    while True:
        uid = UID_BASE + random.randrange(UID_SPAN)
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid


def home_dirs() -> list[str]:
    homes = {os.path.expanduser("~")}
    try:
        homes.add(pwd.getpwuid(os.geteuid()).pw_dir)
    except KeyError:
        pass
    return sorted(h for h in homes if h and h != "/")


def masked_dirs() -> list[str]:
    """Existing real directories to hide (symlinks such as /var/run -> /run need no mount)."""
    found = []
    for path in (*MASKED_DIRS, *home_dirs()):
        if os.path.isdir(path) and not os.path.islink(path) and path not in found:
            found.append(path)
    return found


def toolchain_dirs() -> list[str]:
    """Where the Python and tools a test needs live (virtualenv, conda, pyenv, pip --user, PATH)."""
    paths = [os.environ.get("VIRTUAL_ENV"), os.environ.get("CONDA_PREFIX"), sys.prefix, sys.base_prefix,
             sys.exec_prefix, site.getuserbase(), *os.environ.get("PATH", "").split(os.pathsep)]
    return [os.path.realpath(p) for p in dict.fromkeys(filter(None, paths)) if os.path.isdir(p)]


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def exposed_dirs(masked: list[str]) -> list[str]:
    """Toolchain folders that lie under a masked directory, re-exposed read-only as the first
    folder below it (~/.pyenv for ~/.pyenv/shims: pyenv's shims need the whole tree)."""
    found: list[str] = []
    for path in toolchain_dirs():
        parents = [m for m in masked if _under(path, m) and path != m]
        if not parents:
            continue
        parent = max(parents, key=len)  # the owner's home rather than /home
        top = os.path.join(parent, os.path.relpath(path, parent).split(os.sep)[0])
        if top not in found:
            found.append(top)
    return found


def _tmp_toolchains(root: Path) -> list[str]:
    """Toolchain folders (an activated virtualenv, a PATH entry) under /tmp or /dev/shm, which
    the sandbox replaces with its own: the env root (or the folder itself) to show again."""
    found = set()
    for path in toolchain_dirs():
        if any(_under(path, h) for h in ("/tmp", "/dev/shm")) and not _under(path, str(root)):
            parent = Path(path).parent
            env = (parent / "pyvenv.cfg").is_file() or (parent / "conda-meta").is_dir()
            found.add(str(parent) if env else path)
    return sorted(found)


def _hidden_maven_repository(masked: list[str], workdir: Path) -> list[str]:
    """The user's Maven repository (toolchains.py) for a Maven project (a pom.xml in `workdir`),
    when a masked folder (the home) hides it."""
    repo = lent_maven_repository(workdir)
    return [repo] if repo and any(_under(repo, m) for m in ("/tmp", "/dev/shm", *masked)) else []


def hidden_program_binds(argv: list[str], root: Path, workdir: Path) -> list[str]:
    """Host paths the command's own program needs that the sandbox would hide: a virtualenv
    (with its base interpreter) under /tmp, /dev/shm or a masked home, named by path in the
    command. They are shown again read-only at the same path."""
    from .envmount import plan_mounts

    cmd = argv[2] if len(argv) >= 3 and list(argv[:2]) == ["/bin/sh", "-c"] else shlex.join(argv)
    hidden = ["/tmp", "/dev/shm", *masked_dirs()]
    plan = plan_mounts(cmd, workdir, environ={})
    found = {src for dst, src in plan.binds.items()
             if dst == src and any(_under(src, h) for h in hidden) and not _under(src, str(root))}
    found |= {p for p in build_tool_caches(cmd) if any(_under(p, h) for h in hidden)}
    return sorted(found)


def hidden_paths(paths: list[str], root: Path) -> list[str]:
    """Those of `paths` (folders the copy links to, such as the repository's node_modules) that
    the sandbox would hide (/tmp, /dev/shm, a masked home): shown again read-only."""
    hidden = ["/tmp", "/dev/shm", *masked_dirs()]
    return sorted(p for p in paths if any(_under(p, h) for h in hidden) and not _under(p, str(root)))


def build_tool_caches(cmd: str) -> list[str]:
    """The user's Gradle cache a Gradle build in the command needs (read-only: the sandbox has no
    network, so an offline build resolves everything from it). Maven's repository is lent by
    toolchains.py, to Maven projects."""
    words = {os.path.basename(w) for w in cmd.replace(";", " ").replace("&", " ").split()}
    home = os.path.expanduser("~")
    found = []
    if words & {"gradle", "gradlew"} and os.path.isdir(os.path.join(home, ".gradle")):
        found.append(os.path.join(home, ".gradle"))
    return found


def bwrap_argv(root: Path, workdir: Path, tmp_bytes: int, uid: int | None, die_with_parent: bool = True,
               expose: list[str] = ()) -> list[str]:
    """The command prefix for one command whose writable world is `root` (cwd: `workdir`).

    `uid` (root owners): bwrap runs privileged, sets up the mounts as root (it can reach a
    toolchain under /root) and `setpriv` then drops to `uid` with no capabilities and no way
    back. Other owners: bwrap runs unprivileged in a user namespace as the owner's uid."""
    argv = [bwrap_path() or "bwrap"]
    if uid is None:
        argv += ["--unshare-all", "--unshare-user", "--disable-userns"]
    else:
        argv += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                 "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
    argv.append("--new-session")
    if die_with_parent:
        argv.append("--die-with-parent")
    argv += ["--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev",
             "--size", str(tmp_bytes), "--tmpfs", "/tmp", "--size", str(tmp_bytes), "--tmpfs", "/dev/shm"]
    masked = masked_dirs()
    for path in masked:
        argv += ["--tmpfs", path]
    for sock in sorted({os.path.realpath(p) for p in ("/var/run/docker.sock", "/run/docker.sock")}):
        if os.path.exists(sock) and not any(_under(sock, m) for m in masked):
            argv += ["--ro-bind", "/dev/null", sock]
    for path in exposed_dirs(masked):
        if not _under(str(root), path):
            argv += ["--ro-bind", path, path]
    maven = _hidden_maven_repository(masked, workdir)
    for path in sorted({*expose, *_tmp_toolchains(root), *maven}):
        # bwrap would make the missing parents with the host's modes (0700 for pytest's or a
        # home's folders), which the sandbox uid cannot traverse: make them 0755 first.
        hidden_root = next((h for h in ("/tmp", "/dev/shm", *masked) if _under(path, h)), None)
        if hidden_root is not None:
            parts = Path(path).relative_to(hidden_root).parts[:-1]
            for i in range(1, len(parts) + 1):
                argv += ["--perms", "0755", "--dir", os.path.join(hidden_root, *parts[:i])]
        argv += ["--ro-bind", path, path]
    argv += ["--bind", str(root), str(root), "--chdir", str(workdir), "--"]
    if uid is not None:
        groups = f"--groups={','.join(map(str, maven_groups(maven)))}" if maven_groups(maven) else "--clear-groups"
        argv += [shutil.which("setpriv") or "setpriv", f"--reuid={uid}", f"--regid={uid}", groups, "--inh-caps=-all",
                 "--bounding-set=-all", "--no-new-privs", "--"]
    return argv


@lru_cache(maxsize=1)
def confinement() -> tuple[bool, str]:
    """(confined, why): whether local sandboxes run under bubblewrap here, tried for real."""
    if not sys.platform.startswith("linux"):
        return False, f"bubblewrap needs Linux (this is {sys.platform})"
    if bwrap_path() is None:
        return False, "bubblewrap is not installed (apt-get install bubblewrap)"
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        return False, "setpriv (util-linux) is missing: root-owned sandboxes need it to drop root"
    import tempfile

    uid = sandbox_uid()
    probe = Path(tempfile.mkdtemp(prefix="patchwarden-probe-"))
    try:
        os.chmod(probe, 0o755)
        chown_tree(probe, uid)
        argv = bwrap_argv(probe, probe, 1 << 20, uid)
        argv += ["/bin/sh", "-c", "test $$ -lt 10 && ! test -w /etc && ! test -w /usr && echo confined"]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd="/", env={"PATH": "/usr/bin:/bin"})
    except (OSError, subprocess.SubprocessError) as exc:
        return False, f"bubblewrap could not start: {exc}"
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    if r.stdout.strip() != "confined":
        why = (r.stderr.strip().splitlines() or ["no namespace"])[-1]
        return False, f"bubblewrap cannot create namespaces here ({why}); user namespaces may be disabled"
    who = "an unprivileged uid of its own" if uid is not None else "the owner's uid"
    return True, f"bubblewrap: own pid/net/ipc/mount namespaces, read-only host with secrets masked, as {who}"


_LIBC = None


def _libc():
    global _LIBC
    if _LIBC is None:
        _LIBC = ctypes.CDLL(None, use_errno=True)
    return _LIBC


def mount_disk_cap(path: Path, size_mb: int) -> bool:
    """Make `path` (an empty directory) a tmpfs of `size_mb`: every byte the sandbox writes
    counts against it. Root only; False where mounting is not allowed."""
    if os.geteuid() != 0 or not sys.platform.startswith("linux"):
        return False
    opts = f"size={int(size_mb)}m,mode=0755".encode()
    try:
        return _libc().mount(b"tmpfs", os.fsencode(path), b"tmpfs", 0, opts) == 0
    except (OSError, AttributeError):
        return False


def chown_tree(path: Path, uid: int | None) -> None:
    """Hand a tree to the sandbox's uid (it must be able to change its copy)."""
    if uid is None:
        return
    os.lchown(path, uid, uid)
    for base, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(os.path.join(base, name), uid, uid)
