"""Cleans up after a local sandbox whose owner died (stdlib only; run as a script).

    python -I -S watchdog.py CGROUP_OR_EMPTY ROOT

The owner writes "+PGID" / "-PGID" lines (commands started / finished) to its stdin. "q" means
the owner closed the sandbox itself; end of input without it means the owner died (kill -9,
the OOM killer), so the watchdog kills what is left and removes the sandbox's files.
"""
import os
import shutil
import signal
import sys
import time


def kill_cgroup(path) -> None:
    """SIGKILL every process in a cgroup until it is empty (fork bombs respawn)."""
    for _ in range(100):
        try:
            with open(os.path.join(path, "cgroup.procs")) as fh:
                pids = [int(p) for p in fh.read().split()]
        except OSError:
            return
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.01)


def main(cgroup: str, root: str) -> None:
    groups = set()
    for line in sys.stdin:
        if line.startswith("q"):
            return
        (groups.add if line[0] == "+" else groups.discard)(int(line[1:]))
    if cgroup:  # the cgroup tree holds every process, setsid escapees too
        for path, _, _ in os.walk(cgroup, topdown=False):
            kill_cgroup(path)
            try:
                os.rmdir(path)
            except OSError:
                pass
    else:
        for pgid in groups:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except OSError:
                pass
    unmount(root)
    shutil.rmtree(root, ignore_errors=True)


def unmount(path) -> None:
    """Detach the sandbox root's disk-cap tmpfs, if it has one (EINVAL otherwise: harmless)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).umount2(os.fsencode(path), 2)  # MNT_DETACH
    except (OSError, AttributeError, ImportError):
        pass


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
