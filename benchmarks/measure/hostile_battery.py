"""Hostile tests against each sandbox backend: how many attacks does each contain?

    python3 -m patchwarden.benchmarks.measure.hostile_battery [--backends local,docker] [--json]

Each attack is a test command run through a sandbox opened over a small git repository
(`calc.py` whose `add` returns `a - b`) by an *owner* process of its own, so that an attack
that kills its owner (L4) ends only that owner. The owner's environment holds a fake API
key. After each attack this process checks the host for its effect (a file written outside
the copy, a changed repository, a process left running, a dead owner, ...). Prints
contained/tried per backend.

Two attacks are not tried where they would hurt this host: `kill(-1)` where the sandbox can
see host processes, and the fork bomb where nothing caps processes (root without a pids
cgroup and without bubblewrap); both then count as tried and not contained.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable


ROOT = Path(__file__).resolve().parents[2]
SECRET = "sk-battery-" + uuid.uuid4().hex[:12]  # the owner's fake API key
CAP_MB = 256  # the battery's disk cap; the disk fill writes 4x that


@dataclass
class Attack:
    name: str
    code: str  # Python run in the sandbox as `python3 -c CODE`; `params.json` in the copy holds ctx
    contained: Callable[[dict, dict], bool]  # (ctx, owner report) -> contained?
    then: str | None = None  # a second command in the same sandbox (D1)
    timeout: float = 60
    guard: Callable[[dict], str | None] = lambda ctx: None  # a reason not to run it here


@dataclass
class Context:
    repo: Path
    outside: Path
    canary: subprocess.Popen | None = None
    listener: socket.socket | None = None
    values: dict = field(default_factory=dict)


# -- attack code --------------------------------------------------------------------------
P = "import json, os, signal, socket, subprocess, sys, time\np = json.load(open('params.json'))\n"

SCAN = P + """
hits = []
for pid in filter(str.isdigit, os.listdir('/proc')):
    if int(pid) == os.getpid():
        continue
    for part in ('environ', 'cmdline'):
        try:
            data = open(f'/proc/{pid}/{part}', 'rb').read()
        except OSError:
            continue
        if p['needle'].encode() in data:
            hits.append((pid, part))
print(json.dumps(hits))
"""

DAEMON = P + """
for procs in ('/sys/fs/cgroup/pids/cgroup.procs', '/sys/fs/cgroup/cgroup.procs'):
    try:
        open(procs, 'w').write(str(os.getpid()))
    except OSError:
        pass
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execve('/bin/sleep', ['sleep', p['daemon']], {})
    os._exit(0)
print('started')
"""

KILL_ALL = P + """
mine = {os.getpid(), os.getppid()}
others = [q for q in map(int, filter(str.isdigit, os.listdir('/proc'))) if q not in mine]
if len(others) > 8:
    print('NOT SENT: sees', len(others), 'processes')
else:
    try:
        os.kill(-1, signal.SIGKILL)
    except ProcessLookupError:  # nothing it may signal: the best answer
        pass
    print('sent')
"""

PTRACE = P + """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
attached = []
for pid in map(int, filter(str.isdigit, os.listdir('/proc'))):
    if pid in (os.getpid(), os.getppid(), 1):
        continue
    try:
        owner = p['owner_mark'].encode() in open(f'/proc/{pid}/cmdline', 'rb').read()
    except OSError:
        continue
    if owner and libc.ptrace(16, pid, None, None) == 0:  # PTRACE_ATTACH
        attached.append(pid)
        libc.ptrace(17, pid, None, None)  # PTRACE_DETACH
print(json.dumps(attached))
"""


def _write(path: str) -> str:
    return P + f"""
try:
    open({path!r}.format(**p), 'w').write('pwned')
    print('WROTE')
except OSError as exc:
    print('refused', exc)
"""


def _report_ok(report: dict) -> bool:
    return bool(report.get("runs"))


def _stdout(report: dict, i: int = 0) -> str:
    runs = report.get("runs") or []
    return runs[i]["stdout"] if len(runs) > i else ""


def host_pids(cmdline: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                raw = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if raw.rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace") == cmdline:
                found.append(int(entry))
    return found


def _daemon_gone(ctx: dict, report: dict) -> bool:
    name = f"sleep {ctx['daemon']}"
    deadline = time.monotonic() + 5
    while host_pids(name) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = host_pids(name)
    for pid in left:
        os.kill(pid, 9)
    return _report_ok(report) and not left and not report.get("daemon_alive_between_commands")


def _no_outside_file(path_key: str) -> Callable[[dict, dict], bool]:
    def check(ctx: dict, report: dict) -> bool:
        path = Path(ctx[path_key])
        written = path.exists()
        if written:
            path.unlink()
        return _report_ok(report) and not written
    return check


ATTACKS = [
    Attack("L1 write through a committed symlink", P + "open('out/PWNED.txt', 'w').write('pwned')\n",
           lambda c, r: _report_ok(r) and not (Path(c["outside"]) / "PWNED.txt").exists()),
    Attack("L2 write the original repository by path", P + """
for name in ('calc.py', 'PWNED.txt'):
    try:
        open(os.path.join(p['repo'], name), 'a').write('pwned')
    except OSError:
        pass
""", lambda c, r: _report_ok(r) and _digest(Path(c["repo"])) == c["digest"]),
    Attack("L2 find the original repository in the owner's command line",
           SCAN.replace("p['needle']", "p['owner_mark']"), lambda c, r: _report_ok(r) and json.loads(_stdout(r) or "[]") == []),
    Attack("L3 read /etc/shadow", P + "print(open('/etc/shadow').read()[:5])\n",
           lambda c, r: _report_ok(r) and "root" not in _stdout(r)),
    Attack("L3 list /root", P + "print(json.dumps(os.listdir('/root')))\n",
           lambda c, r: _report_ok(r) and c["root_canary"] not in _stdout(r)),
    Attack("L3 read the owner's API key from /proc/PID/environ", SCAN.replace("p['needle']", "p['secret']"),
           lambda c, r: _report_ok(r) and json.loads(_stdout(r) or "[]") == []),
    Attack("secrets in the test's own environment", P + "print(json.dumps(dict(os.environ)))\n",
           lambda c, r: _report_ok(r) and c["secret"] not in _stdout(r)),
    Attack("L4 kill the parent (os.kill(getppid(), SIGKILL))", P + "os.kill(os.getppid(), signal.SIGKILL)\ntime.sleep(1)\n",
           lambda c, r: _report_ok(r)),
    Attack("L5 root daemon: root cgroup, double fork, setsid", DAEMON, _daemon_gone),
    Attack("D1 daemon with a cleared environment outlives its command", DAEMON, _daemon_gone,
           then=P + "print('second command')\n"),
    Attack("L6 kill(-1, SIGKILL)", KILL_ALL,
           lambda c, r: _report_ok(r) and "sent" == _stdout(r).strip() and c["canary_alive"]()),
    Attack("signal a host process by its pid", P + """
try:
    os.kill(p['canary_pid'], signal.SIGKILL); print('sent')
except OSError as exc:
    print('refused', exc)
""", lambda c, r: _report_ok(r) and c["canary_alive"]()),
    Attack("ptrace the owner", PTRACE, lambda c, r: _report_ok(r) and json.loads(_stdout(r) or "[]") == []),
    Attack("reach a host service on 127.0.0.1", P + """
try:
    socket.create_connection(('127.0.0.1', p['port']), timeout=3); print('CONNECTED')
except OSError as exc:
    print('refused', exc)
""", lambda c, r: _report_ok(r) and "CONNECTED" not in _stdout(r)),
    Attack("network interfaces other than loopback", P + "print(json.dumps([n for _, n in socket.if_nameindex()]))\n",
           lambda c, r: _report_ok(r) and set(json.loads(_stdout(r) or '["?"]')) <= {"lo"}),
    Attack("write /usr/local on the host", _write("/usr/local/pw-battery-{token}"), _no_outside_file("usr_file")),
    Attack("write the host's /tmp", _write("/tmp/pw-battery-{token}"), _no_outside_file("tmp_file")),
    Attack("fork bomb", P + "subprocess.run(['bash', '-c', ':(){ :|:& };:'], timeout=8)\n",
           lambda c, r: _report_ok(r) and r["runs"][0]["duration"] < 40 and r.get("usable_after", False), timeout=10,
           guard=lambda c: c["fork_guard"]),
    Attack("memory bomb", P + "chunks = []\nwhile True:\n    chunks.append(bytearray(64 << 20))\n",
           lambda c, r: _report_ok(r) and r["runs"][0]["returncode"] != 0 and r.get("usable_after", False)),
    Attack(f"disk fill ({4 * CAP_MB} MiB in 8 MiB files, cap {CAP_MB} MiB)", P + f"""
os.makedirs('fill', exist_ok=True)
total = 0
for i in range({4 * CAP_MB // 8}):
    try:
        with open(f'fill/f{{i}}', 'wb') as fh:
            fh.write(bytes(8 << 20))
        total += 8
    except OSError:
        break
print(total)
""", lambda c, r: _report_ok(r) and int(_stdout(r).strip() or 0) <= CAP_MB),
    Attack("huge output (200 MB on stdout)", P + "chunk = b'x' * (1 << 20)\nfor _ in range(200):\n    sys.stdout.buffer.write(chunk)\n",
           lambda c, r: _report_ok(r) and r["runs"][0]["stdout_len"] <= (1 << 20) + 200 and r["runs"][0]["truncated"]),
    Attack("sleeping background process outlives its command", P + """
subprocess.Popen(['sleep', p['daemon']], start_new_session=True)
print('started')
""", _daemon_gone),
]


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if ".git" in path.parts:
            continue
        h.update(str(path.relative_to(root)).encode())
        if path.is_file() and not path.is_symlink():
            h.update(path.read_bytes())
    return h.hexdigest()


def make_repo(base: Path, outside: Path) -> Path:
    repo = base / "repo"
    repo.mkdir()
    (repo / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (repo / "test_calc.py").write_text("from calc import add\n\ndef test_add():\n    assert add(2, 3) == 5\n")
    os.symlink(outside, repo / "out")  # L1: a committed link to a host directory
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "init"], cwd=repo, check=True)
    return repo


# -- the owner: opens the sandbox, runs the attack, reports -----------------------------
OWNER_MARK = "pw-battery-owner"


def owner_main(spec: dict) -> int:
    from patchwarden.sandboxes import Limits, open_sandbox

    limits = Limits(memory_mb=512, max_procs=128, cpu_seconds=60)
    limits.max_disk_mb = CAP_MB  # set after construction: older Limits have no such field
    report: dict = {"runs": []}
    with open_sandbox(spec["backend"], spec["repo"], limits=limits) as sbx:
        sbx.put_files({"params.json": json.dumps(spec["params"])})
        for i, code in enumerate(c for c in (spec["code"], spec.get("then")) if c):
            if i == 1:
                name = f"sleep {spec['params']['daemon']}"
                report["daemon_alive_between_commands"] = bool(host_pids(name))
            r = sbx.run(["python3", "-c", code], timeout=spec["timeout"])
            report["runs"].append({"returncode": r.returncode, "stdout": r.stdout[-2000:], "stderr": r.stderr[-500:],
                                   "duration": r.duration, "stdout_len": len(r.stdout.encode()),
                                   "truncated": r.stdout_truncated})
        usable = sbx.run(["echo", "alive"], timeout=30)
        report["usable_after"] = usable.stdout == "alive\n"
    print(json.dumps(report), flush=True)
    return 0


def run_attack(backend: str, attack: Attack, ctx: dict) -> tuple[bool | None, str]:
    reason = attack.guard(ctx)
    if reason:
        return False, f"not tried: {reason}"
    spec = {"backend": backend, "repo": ctx["repo"], "code": attack.code, "then": attack.then,
            "timeout": attack.timeout, "params": ctx["params"]}
    env = {**os.environ, "OPENAI_API_KEY": SECRET}
    proc = subprocess.run([sys.executable, "-m", "patchwarden.benchmarks.measure.hostile_battery", "--owner", json.dumps(spec), OWNER_MARK],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    report = json.loads(lines[-1]) if lines else {"owner_exit": proc.returncode}
    ok = attack.contained(ctx, report)
    detail = "" if lines else f"owner exited {proc.returncode} without a report"
    return ok, detail


def battery(backend: str, only: list[str] | None = None) -> list[dict]:
    base = Path(tempfile.mkdtemp(prefix="pw-battery-"))
    outside = Path(tempfile.mkdtemp(prefix="pw-battery-outside-", dir="/var/tmp"))
    token = uuid.uuid4().hex[:12]
    canary = subprocess.Popen(["sleep", "1000"])
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    root_canary = f".pw-battery-canary-{token}"
    canary_file = Path("/root") / root_canary
    try:
        try:
            canary_file.write_text("x")
        except OSError:
            pass
        os.chmod(base, 0o755)
        repo = make_repo(base, outside)
        params = {"repo": str(repo), "secret": SECRET, "owner_mark": OWNER_MARK, "token": token,
                  "canary_pid": canary.pid, "port": listener.getsockname()[1]}
        ctx = {"repo": str(repo), "outside": str(outside), "secret": SECRET, "root_canary": root_canary,
               "usr_file": f"/usr/local/pw-battery-{token}", "tmp_file": f"/tmp/pw-battery-{token}",
               "canary_alive": lambda: canary.poll() is None, "fork_guard": _fork_guard(backend)}
        rows = []
        for attack in ATTACKS:
            if only and not any(o.lower() in attack.name.lower() for o in only):
                continue
            params["daemon"] = f"1000.{uuid.uuid4().int % 10**9}"
            ctx["daemon"] = params["daemon"]
            ctx["params"] = params
            (repo / "params.json").unlink(missing_ok=True)
            ctx["digest"] = _digest(repo)
            start = time.monotonic()
            try:
                ok, detail = run_attack(backend, attack, ctx)
            except subprocess.TimeoutExpired:
                ok, detail = False, "owner did not finish in 600 s"
            rows.append({"backend": backend, "attack": attack.name, "contained": bool(ok), "detail": detail,
                         "seconds": round(time.monotonic() - start, 1)})
        return rows
    finally:
        canary.kill()
        listener.close()
        canary_file.unlink(missing_ok=True)
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(outside, ignore_errors=True)


def _fork_guard(backend: str) -> str | None:
    if backend != "local":
        return None
    from patchwarden.sandboxes.local import confinement, pids_cgroup_parent

    confined = confinement()[0]
    if os.geteuid() == 0 and not confined and pids_cgroup_parent() is None:
        return "nothing caps processes here (root, no pids cgroup, no bubblewrap)"
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--owner"]:
        return owner_main(json.loads(argv[1]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="local,docker", help="comma-separated backends (default local,docker)")
    parser.add_argument("--only", default="", help="comma-separated substrings of attack names to run")
    parser.add_argument("--json", action="store_true", help="print JSON rows instead of a table")
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = [b for b in backends if b not in ("local", "docker")]
    if unknown:
        print(f"unknown backend {unknown[0]!r}: choose local and/or docker", file=sys.stderr)
        return 2
    if "docker" in backends:
        from patchwarden.sandboxes.docker_sandbox import docker_ready

        ok, why = docker_ready("patchwarden/sandbox:py3")
        if not ok:
            print(f"docker: {why} (or pass --backends local)", file=sys.stderr)
            return 2
    rows = []
    for backend in backends:
        rows += battery(backend, [o for o in args.only.split(",") if o] or None)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            mark = "contained" if row["contained"] else "ESCAPED  "
            print(f"{row['backend']:7} {mark} {row['attack']}" + (f"  ({row['detail']})" if row["detail"] else ""))
    for backend in backends:
        mine = [r for r in rows if r["backend"] == backend]
        print(f"{backend}: contained {sum(r['contained'] for r in mine)}/{len(mine)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
