"""What a sandbox costs: `python3 -c pass` bare, in the local sandbox and in Docker.

    python3 -m patchwarden.benchmarks.measure.sandbox_overhead --runs 20 [--json]

Cases, measured round-robin in one run so machine load hits them alike:
  bare          subprocess.run, no sandbox
  local         run() in an open local sandbox
  local cold    open a local sandbox + run + close
  local unconfined (cold)  the same without bubblewrap (the process-group sandbox of old)
  docker warm   run() (= docker exec) in an open Docker sandbox
  docker cold   new container + run + remove
The host runs its real interpreter (sys.executable), Docker the image's python3; with
--isolated both skip site-packages (`-I -S`), leaving mostly the sandbox's own cost.
Prints medians (and min / p90) in milliseconds and the ratio of each median to bare.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from typing import Callable

from patchwarden.sandboxes import DEFAULT_IMAGE, Limits, open_sandbox

# The real interpreter on the host (a pyenv/asdf shim would add its own startup cost);
# the image's python3 in Docker. Both are CPython 3.11.
HOST_COMMAND = [sys.executable, "-c", "pass"]
DOCKER_COMMAND = ["python3", "-c", "pass"]


def measure(cases: dict[str, Callable[[], None]], runs: int, warmup: int) -> dict[str, list[float]]:
    for fn in cases.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, fn in cases.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def summarize(times: dict[str, list[float]]) -> list[dict]:
    bare = statistics.median(times["bare"])
    rows = []
    for name, samples in times.items():
        ordered = sorted(samples)
        median = statistics.median(ordered)
        rows.append({
            "case": name,
            "runs": len(ordered),
            "median_ms": round(median * 1000, 1),
            "min_ms": round(ordered[0] * 1000, 1),
            "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))] * 1000, 1),
            "ratio_to_bare": round(median / bare, 2),
        })
    return rows


def checked(result) -> None:
    if result.returncode != 0:
        raise SystemExit(f"benchmark command failed: {result}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="measured runs per case (default 20)")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured runs per case first (default 2)")
    parser.add_argument("--image", default=DEFAULT_IMAGE, help=f"Docker image (default {DEFAULT_IMAGE})")
    parser.add_argument("--no-docker", action="store_true", help="measure only bare and local")
    parser.add_argument("--isolated", action="store_true",
                        help="run `python -I -S -c pass` everywhere, so that site-packages start-up (which differs "
                             "between the host and the image) does not blur the sandbox overhead")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if args.isolated:
        for command in (HOST_COMMAND, DOCKER_COMMAND):
            command[1:1] = ["-I", "-S"]
    limits = Limits()

    def cold(backend: str, command: list[str]) -> Callable[[], None]:
        def once() -> None:
            with open_sandbox(backend, None, image=args.image, limits=limits) as sbx:
                checked(sbx.run(command, timeout=60))
        return once

    from patchwarden.sandboxes.local import LocalSandbox

    def cold_unconfined() -> None:
        with LocalSandbox(None, limits, confine=False) as sbx:
            checked(sbx.run(HOST_COMMAND, timeout=60))

    local = open_sandbox("local", None, limits=limits)
    plain = LocalSandbox(None, limits, confine=False)
    opened = [local, plain]
    cases: dict[str, Callable[[], None]] = {
        "bare": lambda: checked(subprocess.run(HOST_COMMAND, capture_output=True)),
        "local": lambda: checked(local.run(HOST_COMMAND, timeout=60)),
        "local cold": cold("local", HOST_COMMAND),
        "local unconfined": lambda: checked(plain.run(HOST_COMMAND, timeout=60)),
        "local unconfined cold": cold_unconfined,
    }
    try:
        if not args.no_docker:
            from patchwarden.sandboxes.docker_sandbox import docker_ready

            ok, why = docker_ready(args.image)
            if not ok:
                raise SystemExit(f"docker: {why} (or pass --no-docker)")
            warm = open_sandbox("docker", None, image=args.image, limits=limits)
            opened.append(warm)
            cases["docker warm"] = lambda: checked(warm.run(DOCKER_COMMAND, timeout=60))
            cases["docker cold"] = cold("docker", DOCKER_COMMAND)
        rows = summarize(measure(cases, args.runs, args.warmup))
    finally:
        for sbx in opened:
            sbx.close()

    if args.json:
        print(json.dumps({"host_command": HOST_COMMAND, "docker_command": DOCKER_COMMAND, "rows": rows}, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table("case", "median ms", "min ms", "p90 ms", "x bare", title=f"`{' '.join(DOCKER_COMMAND)}`, {args.runs} runs each (host: {sys.executable})")
    for row in rows:
        table.add_row(row["case"], f"{row['median_ms']:.1f}", f"{row['min_ms']:.1f}", f"{row['p90_ms']:.1f}", f"{row['ratio_to_bare']:.2f}")
    Console().print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
