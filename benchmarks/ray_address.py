"""`--ray ADDRESS` with Ray's own address semantics (as `ray.init(address=...)` and `ray start`):

- `auto`: connect to a cluster already running on this machine (error with the fix when none);
- `local`: start a fresh local Ray for this run, with `--workers` CPUs;
- `ray://HOST:PORT` (Ray Client) or `HOST:PORT` (a head node's GCS): connect to that cluster;
- no `--ray`: the `RAY_ADDRESS` environment variable when set (as Ray does), else no Ray at all.
"""
from __future__ import annotations

import os
import re

_HOST_PORT = re.compile(r"^(ray://)?\[?[A-Za-z0-9_.:\-]+\]?:\d{1,5}$")


class RayAddressError(ValueError):
    """A --ray value that is not an address Ray understands; the message names the fix."""


def resolve_ray_address(flag: str | None, environ: dict | None = None) -> str | None:
    """The address to use: --ray when given, else RAY_ADDRESS, else None (no Ray). Checked, not contacted."""
    environ = os.environ if environ is None else environ
    address = flag if flag is not None else (environ.get("RAY_ADDRESS") or None)
    if address is None:
        return None
    address = address.strip()
    source = "--ray" if flag is not None else "RAY_ADDRESS"
    if address in ("auto", "local") or _HOST_PORT.match(address):
        return address
    raise RayAddressError(f"{source}={address!r} is not a Ray address: use auto (a running cluster), local (start one "
                          "for this run), ray://HOST:PORT (Ray Client) or HOST:PORT (a head node)")


def ray_init_kwargs(address: str, workers: int) -> dict:
    """Arguments for `ray.init`: only a Ray started here gets a CPU count and a small object store
    (connecting to an existing cluster must not pass them)."""
    if address == "local":
        return {"address": "local", "num_cpus": workers, "object_store_memory": 100 * 1024 * 1024}
    return {"address": address}


def connect_failure_hint(address: str) -> str:
    """The fix to print when `ray.init` fails for this address."""
    if address == "auto":
        return ("--ray auto connects to a Ray cluster already running on this machine and found none: start one with "
                "`ray start --head`, or pass --ray local to start a local Ray for this run")
    if address == "local":
        return "a local Ray could not start; check free memory and /tmp space, or run without --ray"
    return f"check that the cluster at {address} is up (`ray status --address {address.removeprefix('ray://')}`), or pass --ray local"
