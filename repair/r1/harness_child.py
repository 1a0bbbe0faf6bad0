"""Runs inside the sandbox: execute `program + test` for each test in its own forked child.

Reads one JSON job on stdin: {"program": str, "tests": [str], "timeout": float}; prints a JSON
list of booleans. One interpreter per job, one fork per test: a hanging or crashing test costs
only its own timeout. A child counts as passing only if it reports a per-job nonce on a pipe
*after* its code returned, so `os._exit(0)` inside the code under test is a failure, not a pass.
"""
import json
import os
import secrets
import signal
import sys
import time


def run_one(source: str, timeout: float) -> bool:
    nonce = secrets.token_bytes(16)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.setpgid(0, 0)
            os.close(read_fd)
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            code = compile(source, "<test>", "exec")
            token = nonce
            exec(code, {"__name__": "__main__", "__builtins__": __builtins__})
            os.write(write_fd, token)
            os._exit(0)
        except BaseException:
            os._exit(1)
    os.close(write_fd)
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.0005)
    else:
        status = None
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if status is None:
        os.waitpid(pid, 0)
        os.close(read_fd)
        return False
    got = os.read(read_fd, 64)
    os.close(read_fd)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and got == nonce


def main() -> None:
    job = json.loads(sys.stdin.read())
    program, timeout = job["program"], float(job["timeout"])
    results = [run_one(program + "\n" + test, timeout) for test in job["tests"]]
    sys.stdout.write(json.dumps(results))


if __name__ == "__main__":
    main()
