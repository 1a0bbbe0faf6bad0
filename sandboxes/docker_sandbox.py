"""Docker sandbox: one network-less, read-only container per sandbox, reused through `exec`.

The container:
- has no network (`network_mode="none"`), memory / CPU / pids limits, drops every
  capability, runs as uid 1000 with no-new-privileges, on a read-only root file system
  with a tmpfs /tmp and an anonymous volume at /work holding a COPY of the source dir;
- sees the test command's interpreter (a virtualenv, conda env, pyenv build) read-only at
  its host paths when given `mounts` (see sandboxes/envmount.py), and, for a Maven project,
  the host's Maven repository read-only (`maven_repo`, see sandboxes/toolchains.py);
- idles as `docker-init -- cat` with stdin attached by this process and `AutoRemove`: when
  this process dies in any way (even SIGKILL) the attach socket closes, `cat` sees EOF and
  Docker removes the container and its volume. `close()`, atexit and SIGTERM/SIGHUP remove
  it sooner; `patchwarden sandbox prune` removes anything left over.

Every command runs under a small shell wrapper: `timeout -s KILL` in its own process group,
then the group is killed (background children die with the command) and so is everything
else the command started, found by ancestry (see SWEEP_FN): escapees that cleared their
environment, called setsid and double-forked included.
"""
from __future__ import annotations

import atexit
import io
import os
import posixpath
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
import uuid
from pathlib import Path

from .base import CappedBuffer, Limits, RunResult, SandboxError, check_source_dir, exit_on_signal
from .local import COPY_IGNORE
from .toolchains import CONTAINER_MAVEN_REPO, lent_maven_repository, maven_env, maven_groups

LABEL = "patchwarden.sandbox"
OWNER_LABEL = "patchwarden.owner"
SANDBOX_USER = "1000:1000"
SANDBOX_UID = 1000
WORKDIR = "/work"
MARKER = "PW_RUN"
BASE_ENV = {
    "HOME": "/tmp",
    "TMPDIR": "/tmp",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
}
NO_DAEMON = (
    "the Docker daemon does not answer: start it "
    "(dockerd --bridge=none --iptables=false --ip-masq=false &) or use the local sandbox (--sandbox local)"
)
IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
WATCHDOG_GRACE = 15.0  # seconds past the command's timeout before we stop trusting the container

# `sweep ROOT`: SIGKILL ROOT's process tree (never this shell) and every orphan (a child of
# pid 1, docker-init, other than the oldest: our `cat` lifeline), with their trees, until
# none is left. Processes can shed a marker variable, a process group or a session, but not
# their ancestry: whatever a command started is in its tree or, once its parent died, an
# orphan of pid 1. Other commands' trees (exec roots have ppid 0) are left alone. Builtins
# only: no helper process of ours may appear in the tree. (`stat` fields after the command
# name: 1 state, 2 ppid, 20 start time.)
SWEEP_FN = r"""
sweep() {
  root=$1; n=0
  while [ $n -lt 100 ]; do
    n=$((n+1)); all=; keep=; oldest=
    for f in /proc/[0-9]*/stat; do
      read -r l 2>/dev/null <"$f" || continue
      p=${f#/proc/}; p=${p%/stat}
      set -- ${l##*") "}
      [ "$1" = Z ] && continue
      all="$all$p:$2 "
      if [ "$2" = 1 ] && { [ -z "$oldest" ] || [ "${20}" -lt "$oldest" ]; }; then oldest=${20}; keep=$p; fi
    done
    t=" $root "
    for e in $all; do case $e in *:1) [ "${e%:*}" = "$keep" ] || t="$t${e%:*} ";; esac; done
    c=1
    while [ $c = 1 ]; do
      c=0
      for e in $all; do
        case "$t" in *" ${e%:*} "*) continue;; esac
        case "$t" in *" ${e#*:} "*) t="$t${e%:*} "; c=1;; esac
      done
    done
    hit=0
    for q in $t; do [ "$q" = "$$" ] || { kill -9 "$q" 2>/dev/null && hit=1; }; done
    [ $hit = 0 ] && return 0
  done
}
"""
# Kill the process whose environment carries `PW_RUN=$1` (a popen'd process: its environment
# is ours, set at exec) with its tree. The glob is expanded before grep starts.
SWEEP = SWEEP_FN + (
    'for f in $(grep -lsxzF "' + MARKER + '=$1" /proc/[0-9]*/environ); do '
    'q=${f#/proc/}; q=${q%/environ}; [ "$q" = "$$" ] || sweep "$q"; done; sweep "$$"'
)
# $1 = timeout seconds (0 = none), $2 = marker, then the command. fd 3 keeps stdin: an
# asynchronous list would otherwise read /dev/null.
WRAPPER = SWEEP_FN + (
    't=$1; m=$2; shift 2\n'
    'exec 3<&0\n'
    'timeout -s KILL "$t" "$@" <&3 3<&- &\n'
    'p=$!\n'
    'wait "$p" 2>/dev/null; rc=$?\n'
    'exec 3<&-\n'
    'kill -9 -"$p" 2>/dev/null\n'
    'sweep "$$"\n'
    'exit "$rc"\n'
)

_LIVE: dict[str, "DockerSandbox"] = {}
_HOOKS_INSTALLED = False


def missing_image_message(image: str) -> str:
    from . import DEFAULT_IMAGE

    build = "patchwarden sandbox build-image --offline" + ("" if image == DEFAULT_IMAGE else f" --tag {image}")
    return f"sandbox image {image} is not present: run `{build}` or pass an existing --image"


def docker_client(timeout: int = 120):
    """A Docker SDK client whose daemon answers, or a SandboxError naming the fix."""
    try:
        import docker
    except ImportError as exc:
        raise SandboxError("the docker Python package is missing: pip install docker, or use the local sandbox (--sandbox local)",
                           environment=True) from exc
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except Exception as exc:  # DockerException, requests errors, socket errors
        raise SandboxError(NO_DAEMON) from exc
    return client


def docker_ready(image: str) -> tuple[bool, str]:
    """(True, why) when the daemon answers, the CLI exists and `image` is present."""
    try:
        client = docker_client(timeout=10)
    except SandboxError as exc:
        return False, str(exc)
    try:
        if shutil.which("docker") is None:
            return False, "the `docker` command-line client is not installed (long-lived processes need it)"
        if not image_present(client, image):
            return False, missing_image_message(image)
        return True, f"daemon answers and image {image} is present"
    finally:
        client.close()


def image_present(client, image: str) -> bool:
    import docker.errors

    try:
        client.images.get(image)
        return True
    except docker.errors.ImageNotFound:
        return False


def owner_token() -> str:
    """Who owns a container: host, pid and the pid's start time (pids get reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_start_time(os.getpid())}"


def owner_alive(token: str) -> bool:
    try:
        host, pid, started = token.rsplit(":", 2)
        pid_n = int(pid)
    except ValueError:
        return False
    if host != socket.gethostname():
        return True  # another machine's: never ours to judge
    return _start_time(pid_n) == started and started != ""


def _start_time(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


class DockerSandbox:
    backend = "docker"

    def __init__(self, source: Path | str | None = None, image: str | None = None, limits: Limits | None = None,
                 mounts=None, maven_repo: str | None = "auto"):
        from . import DEFAULT_IMAGE

        src = check_source_dir(source)
        self.image = image or DEFAULT_IMAGE
        self.limits = limits or Limits()
        self.mounts = mounts  # sandboxes.envmount.EnvMounts or None
        # The host's Maven repository, read-only (toolchains.py): "auto" lends it to Maven projects.
        self.maven_repo = lent_maven_repository(src, maven_repo)
        self._cover_dirs: list[Path] = []
        self.workdir = WORKDIR
        self._closed = False
        self._procs: list[subprocess.Popen] = []
        self._owner_pid = os.getpid()
        self._client = docker_client()
        if not image_present(self._client, self.image):
            self._client.close()
            raise SandboxError(missing_image_message(self.image), environment=True)
        try:
            self.container_id = self._create()
        except BaseException:
            self._client.close()
            for cover in self._cover_dirs:
                shutil.rmtree(cover, ignore_errors=True)
            raise
        _register(self)
        try:
            if src is not None:
                self._put_tree(src)
        except BaseException:
            self.close()
            raise

    # -- container -------------------------------------------------------------
    def _create(self) -> str:
        from docker.types import DriverConfig, Mount, Ulimit

        api, lim = self._client.api, self.limits
        cpus = lim.cpus if lim.cpus <= 1 else min(lim.cpus, float(self._client.info().get("NCPU", 1)))
        memory = f"{lim.memory_mb}m"
        fsize = lim.max_file_mb * 1024 * 1024
        # /work is a size-limited tmpfs volume: the total disk cap (overlay2 on ext4 has no
        # --storage-opt size); docker cp still reaches it, unlike a --tmpfs mount.
        mounts = [Mount(WORKDIR, None, type="volume", labels={LABEL: "1"}, driver_config=DriverConfig("local", {
            "type": "tmpfs", "device": "tmpfs", "o": f"size={lim.max_disk_mb}m,uid={SANDBOX_UID},gid={SANDBOX_UID},mode=0755"}))]
        tmpfs = {"/tmp": f"rw,nosuid,nodev,size={lim.memory_mb}m,mode=1777"}
        environment = dict(BASE_ENV)
        env_mounts = self.mounts
        if env_mounts:
            for target, source in sorted(env_mounts.binds.items()):
                mounts.append(Mount(target, source, type="bind", read_only=True))
            for covered in env_mounts.covers:
                mounts.append(Mount(covered, self._cover_dir(covered, env_mounts.binds), type="bind", read_only=True))
            if env_mounts.path_prepend:
                environment["PATH"] = ":".join([*env_mounts.path_prepend, IMAGE_PATH])
        extra = {}
        if self.maven_repo:
            mounts.append(Mount(CONTAINER_MAVEN_REPO, self.maven_repo, type="bind", read_only=True))
            environment.update(maven_env(CONTAINER_MAVEN_REPO))
            if maven_groups([self.maven_repo]):
                extra["group_add"] = [str(g) for g in maven_groups([self.maven_repo])]
        host_config = api.create_host_config(
            **extra,
            network_mode="none",
            mem_limit=memory,
            memswap_limit=memory,  # no swap on top of the memory limit
            nano_cpus=int(cpus * 1e9),
            pids_limit=lim.max_procs,
            read_only=True,
            tmpfs=tmpfs,
            mounts=mounts,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            ulimits=[
                Ulimit(name="fsize", soft=fsize, hard=fsize),
                Ulimit(name="core", soft=0, hard=0),
                Ulimit(name="cpu", soft=lim.cpu_seconds, hard=lim.cpu_seconds + 5),
            ],
            init=True,  # docker-init reaps orphans, so zombies never eat the pids limit
            auto_remove=True,
        )
        try:
            created = api.create_container(
                self.image,
                command=["cat"],
                stdin_open=True,  # with attach below: StdinOnce, our lifeline
                # Root without capabilities: the sandbox user cannot kill the lifeline (kill -1
                # would otherwise end the container); every command runs as SANDBOX_USER.
                user="0:0",
                working_dir=WORKDIR,
                environment=environment,
                labels={LABEL: "1", OWNER_LABEL: owner_token()},
                name=f"patchwarden-sbx-{uuid.uuid4().hex[:12]}",
                host_config=host_config,
            )
            cid = created["Id"]
            self._lifeline = api.attach_socket(cid, params={"stdin": 1, "stream": 1})
            api.start(cid)
        except Exception as exc:
            raise SandboxError(f"could not start a sandbox container from {self.image}: {_api_message(exc)}") from exc
        return cid

    def _cover_dir(self, covered: str, binds: dict[str, str]) -> str:
        """An empty, world-traversable host directory to lay over `covered` (/root is 0700 in
        images, so uid 1000 could not reach a mount below it; a tmpfs there would copy that
        mode up), with the mount points below it made in advance."""
        cover = Path(tempfile.mkdtemp(prefix="patchwarden-cover-"))
        self._cover_dirs.append(cover)
        cover.chmod(0o755)
        for target in binds:
            rel = posixpath.relpath(target, covered)
            if not rel.startswith(".."):
                point = cover / rel
                if os.path.isdir(binds[target]):
                    point.mkdir(parents=True, exist_ok=True)
                else:
                    point.parent.mkdir(parents=True, exist_ok=True)
                    point.touch()
        for path in cover.rglob("*"):
            path.chmod(0o755)
        return str(cover)

    def _exec_create(self, cmd: list[str], env: dict[str, str] | None, marker: str, stdin: bool) -> str:
        if self._closed:
            raise SandboxError("sandbox is closed")
        environment = {**(env or {}), MARKER: marker}
        try:
            return self._client.api.exec_create(
                self.container_id, cmd, stdin=stdin, user=SANDBOX_USER, workdir=WORKDIR, environment=environment
            )["Id"]
        except Exception as exc:
            raise SandboxError(f"sandbox container is gone or refused the command: {_api_message(exc)}") from exc

    # -- files -----------------------------------------------------------------
    def put_files(self, files: dict[str, str | bytes]) -> None:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            dirs_done: set[str] = set()
            for rel, content in files.items():
                rel = _inside(rel)
                parent = posixpath.dirname(rel)
                parts = parent.split("/") if parent else []
                for i in range(len(parts)):
                    d = "/".join(parts[: i + 1])
                    if d not in dirs_done:
                        dirs_done.add(d)
                        tar.addfile(_tarinfo(d, tarfile.DIRTYPE, 0o755))
                data = content.encode() if isinstance(content, str) else content
                info = _tarinfo(rel, tarfile.REGTYPE, 0o644)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        self._put_archive(buf.getvalue())

    def _put_tree(self, src: Path) -> None:
        """Copy a directory in, owned by the sandbox user (the same files local would copy)."""
        with tempfile.TemporaryFile() as fh:
            with tarfile.open(fileobj=fh, mode="w") as tar:
                for root, dirs, names in os.walk(src):
                    ignored = COPY_IGNORE(root, dirs + names)
                    dirs[:] = [d for d in dirs if d not in ignored]
                    for name in sorted(dirs + names):
                        if name in ignored:
                            continue
                        path = os.path.join(root, name)
                        info = tar.gettarinfo(path, arcname=os.path.relpath(path, src))
                        if info is None:  # sockets and the like: nothing a test run needs
                            continue
                        info.uid = info.gid = SANDBOX_UID
                        info.uname = info.gname = "sandbox"
                        if info.isreg():
                            with open(path, "rb") as data:
                                tar.addfile(info, data)
                        else:
                            tar.addfile(info)
            fh.seek(0)
            self._put_archive(fh)

    def _put_archive(self, data) -> None:
        try:
            self._client.api.put_archive(self.container_id, WORKDIR, data)
        except Exception as exc:
            raise SandboxError(f"could not copy files into the sandbox: {_api_message(exc)}") from exc

    def read_file(self, relpath: str, _links: int = 0) -> bytes:
        import docker.errors

        rel = _inside(relpath)
        try:
            stream, _stat = self._client.api.get_archive(self.container_id, f"{WORKDIR}/{rel}")
            raw = b"".join(stream)
        except docker.errors.NotFound as exc:
            raise FileNotFoundError(f"{relpath} does not exist in the sandbox") from exc
        except docker.errors.APIError as exc:  # e.g. a symlink loop
            raise OSError(f"cannot read {relpath} from the sandbox: {_api_message(exc)}") from exc
        with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
            member = tar.next()
            if member is not None and member.issym() and not member.linkname.startswith("/") and _links < 20:
                return self.read_file(posixpath.join(posixpath.dirname(rel), member.linkname), _links + 1)
            if member is None or not member.isreg():
                raise IsADirectoryError(f"{relpath} is not a regular file in the sandbox")
            return tar.extractfile(member).read()

    # -- processes -------------------------------------------------------------
    def run(self, cmd, timeout: float | None = 60.0, env: dict[str, str] | None = None, stdin: str | None = None) -> RunResult:
        from docker.utils.socket import frames_iter

        argv = ["/bin/sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        limit = f"{timeout:g}" if timeout else "0"
        marker = uuid.uuid4().hex
        start = time.monotonic()
        exec_id = self._exec_create(["/bin/sh", "-c", WRAPPER, "pw", limit, marker, *argv], env, marker, True)
        try:
            sock = self._client.api.exec_start(exec_id, socket=True)
        except Exception as exc:
            raise SandboxError(f"sandbox container refused the command: {_api_message(exc)}") from exc
        raw = sock._sock
        threading.Thread(target=_feed, args=(raw, (stdin or "").encode()), daemon=True).start()
        cap = self.limits.output_cap
        out, err = CappedBuffer(cap), CappedBuffer(cap)

        def drain():
            try:
                for stream_id, data in frames_iter(sock, tty=False):
                    (err if stream_id == 2 else out).feed(data)
            except OSError:
                pass

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        reader.join(None if not timeout else timeout + WATCHDOG_GRACE)
        if reader.is_alive():
            # The wrapper's own timeout should have ended this long ago: the container is wedged.
            self.close()
            raise SandboxError(f"sandbox container stopped answering after {timeout}s; it was removed", environment=True)
        sock.close()
        code = self._exit_code(exec_id)
        duration = time.monotonic() - start
        timed_out = bool(timeout) and code == 137 and duration >= timeout
        stdout, out_cut = out.text()
        stderr, err_cut = err.text()
        return RunResult(124 if timed_out else code, stdout, stderr, duration, timed_out, out_cut, err_cut)

    def _exit_code(self, exec_id: str) -> int:
        for _ in range(100):
            info = self._client.api.exec_inspect(exec_id)
            if not info.get("Running") and info.get("ExitCode") is not None:
                return int(info["ExitCode"])
            time.sleep(0.01)
        return -1

    def popen(self, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        """A long-lived process in the container, as the sandbox user in the work dir.

        Through `docker exec -i` so that the caller gets an ordinary Popen with binary,
        unbuffered pipes; killing it also kills the process inside the container.
        """
        if self._closed:
            raise SandboxError("sandbox is closed")
        marker = uuid.uuid4().hex
        flags = ["-i", "-u", SANDBOX_USER, "-w", WORKDIR]
        for key, value in {**(env or {}), MARKER: marker}.items():
            flags += ["-e", f"{key}={value}"]
        # The CLI must talk to the daemon the SDK created the container on (a CLI context
        # could point elsewhere); the SDK's default is the local socket.
        cli_env = {**os.environ, "DOCKER_HOST": os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"}
        proc = ContainerProcess(
            ["docker", "exec", *flags, self.container_id, *argv],
            env=cli_env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
            start_new_session=True,  # Ctrl-C in a terminal goes to us, not straight to the exec
        )
        proc.kill_inside = lambda: self._sweep(marker)
        self._procs.append(proc)
        return proc

    def _sweep(self, marker: str) -> None:
        if self._closed:
            return
        try:
            exec_id = self._exec_create(["/bin/sh", "-c", SWEEP, "pw", marker], None, "sweep", False)
            self._client.api.exec_start(exec_id)
        except Exception:
            pass  # the container may already be gone, which is the point

    def close(self) -> None:
        if self._closed:
            return
        for proc in self._procs:
            if proc.poll() is None:
                proc.kill_inside()
                subprocess.Popen.kill(proc)
                proc.wait()
        self._closed = True
        _LIVE.pop(self.container_id, None)
        try:
            remove_container(self._client, self.container_id)
        finally:
            self._client.close()
            for cover in self._cover_dirs:
                shutil.rmtree(cover, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ContainerProcess(subprocess.Popen):
    """A `docker exec` client whose kill()/terminate() also kill the process in the container
    (killing only the client would leave it running there)."""

    kill_inside = staticmethod(lambda: None)

    def kill(self) -> None:
        self.kill_inside()
        super().kill()

    def terminate(self) -> None:
        self.kill_inside()
        super().terminate()


def remove_container(client, container_id: str) -> None:
    import docker.errors

    try:
        client.api.remove_container(container_id, force=True, v=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        if exc.status_code != 409:  # 409: AutoRemove is already removing it
            raise


def prune(everything: bool = False) -> list[str]:
    """Remove our containers whose owner process is gone (all of ours with `everything`;
    never a live owner's, which may be between create and start),
    then our volumes no container uses. Returns the names removed."""
    client = docker_client()
    removed = []
    try:
        for container in client.containers.list(all=True, filters={"label": LABEL}):
            owner = container.labels.get(OWNER_LABEL, "")
            if everything or not owner_alive(owner):
                remove_container(client, container.id)
                removed.append(container.name)
        result = client.volumes.prune(filters={"label": LABEL})
        removed += [f"volume {v[:12]}" for v in result.get("VolumesDeleted") or []]
    finally:
        client.close()
    return removed


def _inside(relpath: str) -> str:
    rel = posixpath.normpath(str(relpath).replace(os.sep, "/"))
    if rel.startswith("/") or rel == ".." or rel.startswith("../") or rel == ".":
        raise SandboxError(f"path {relpath!r} leaves the sandbox work dir")
    return rel


def _tarinfo(name: str, kind: bytes, mode: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = kind, mode, int(time.time())
    info.uid = info.gid = SANDBOX_UID
    info.uname = info.gname = "sandbox"
    return info


def _feed(raw: socket.socket, data: bytes) -> None:
    try:
        if data:
            raw.sendall(data)
        raw.shutdown(socket.SHUT_WR)  # EOF on the command's stdin
    except OSError:
        pass


def _api_message(exc: Exception) -> str:
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc).strip()


def _register(sbx: DockerSandbox) -> None:
    global _HOOKS_INSTALLED
    _LIVE[sbx.container_id] = sbx
    if _HOOKS_INSTALLED:
        return
    _HOOKS_INSTALLED = True
    atexit.register(_close_all)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(sig) is signal.SIG_DFL:
                signal.signal(sig, exit_on_signal)


def _close_all() -> None:
    for sbx in list(_LIVE.values()):
        if sbx._owner_pid != os.getpid():
            continue  # a forked child exiting must not remove its parent's sandboxes
        try:
            sbx.close()
        except Exception:
            pass
