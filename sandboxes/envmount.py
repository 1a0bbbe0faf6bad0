"""Environment parity for the Docker sandbox: which host paths a test command's interpreter needs.

A test command that runs an interpreter by its path (`/home/me/venv/bin/python -m pytest`,
`.venv/bin/python ...`, a conda env, a pyenv build) works in a container only when that
interpreter and everything it loads are there at the same paths. This module works that out
from the file system alone, without running anything on the host (a `.venv` inside an
untrusted repository is the repository's code):

- the virtualenv (`pyvenv.cfg` next to `bin/`) or conda env (`conda-meta/`) it belongs to;
- the base interpreter its symlinks and `pyvenv.cfg`'s `home` lead to, and that
  interpreter's prefix: a private prefix (pyenv, conda, /opt/python3.11) is mounted whole;
  in a system prefix (/usr, /usr/local) only the interpreter file, its stdlib directory
  and its libpython are, never the system's libc or /usr itself;
- bare names (`pytest`, `python`) are looked up on the host's PATH only inside an activated
  env ($VIRTUAL_ENV / $CONDA_PREFIX), whose bin/ then goes first on the container's PATH.

Everything is mounted read-only. Whether it then really runs is decided by a dry start in
the container (see repair/backend_choice.py), not here.
"""
from __future__ import annotations

import configparser
import glob
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

SYSTEM_PREFIXES = ("/", "/usr", "/usr/local")
# Directories images keep unreadable for uid 1000; a mount below one needs an empty 0755 dir over it.
PRIVATE_IMAGE_DIRS = ("/root",)
CONTAINER_WORKDIR = "/work"
VENV_DIRS_NOT_COPIED = (".venv", "venv")  # sandboxes.local.COPY_IGNORE leaves these out of the copy


@dataclass
class EnvMounts:
    """Read-only bind mounts (host path -> container path) that make the interpreter available."""

    binds: dict[str, str] = field(default_factory=dict)  # container path -> host path
    covers: list[str] = field(default_factory=list)  # image dirs uid 1000 cannot traverse, laid over (empty, 0755)
    path_prepend: list[str] = field(default_factory=list)  # container PATH entries before the image's
    interpreter: str | None = None  # the host path the command runs, for messages
    problem: str | None = None  # why it cannot work, with the fix

    def __bool__(self) -> bool:
        return bool(self.binds)

    def describe(self) -> str:
        return ", ".join(sorted(self.binds)) or "nothing"


def command_executable(test_cmd: str) -> str | None:
    """The program a test command starts (after `VAR=value` assignments and `env`)."""
    try:
        argv = shlex.split(test_cmd)
    except ValueError:
        return None
    for tok in argv:
        if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", tok) or tok == "env":
            continue
        return tok
    return None


def plan_mounts(test_cmd: str, repo: Path | str, environ: dict[str, str] | None = None) -> EnvMounts:
    """What to mount so that `test_cmd` finds its interpreter in the container."""
    environ = os.environ if environ is None else environ
    repo = Path(repo).resolve()
    plan = EnvMounts()
    exe = command_executable(test_cmd)
    if not exe:
        return plan
    if "/" not in exe:
        host = _activated_env_lookup(exe, environ)
        if host is None:
            return plan  # the image's own tool
        plan.path_prepend.append(str(Path(host).parent))
    else:
        host = exe if exe.startswith("/") else str(repo / exe)
    plan.interpreter = host
    path = Path(os.path.abspath(host))
    if not os.path.lexists(path):
        where = "in the repository" if _inside(path, repo) else "on this machine"
        plan.problem = f"the test command's program {exe} does not exist {where}; fix --test-cmd"
        return plan
    if _inside(path, repo):
        _mount_env_inside_repo(plan, path, repo)
    env_root = _env_root(path)
    if env_root is not None and not _inside(env_root, repo):
        plan.binds[str(env_root)] = str(env_root)
    _mount_base_interpreter(plan, path, env_root)
    if not _inside(path, repo) and env_root is None and not plan.binds:
        # A tool outside any env (a toolchain's script or binary): the file itself.
        real = os.path.realpath(path)
        if not _inside(Path(real), repo):
            plan.binds[str(path)] = real
    _drop_redundant(plan)
    plan.covers = sorted({d for d in PRIVATE_IMAGE_DIRS for target in plan.binds.values() if _inside(Path(target), Path(d))})
    return plan


def _activated_env_lookup(name: str, environ) -> str | None:
    """`name` on the host PATH, but only when it lies in the activated virtualenv or conda env."""
    import shutil

    roots = [environ.get(k) for k in ("VIRTUAL_ENV", "CONDA_PREFIX") if environ.get(k)]
    if not roots:
        return None
    found = shutil.which(name, path=environ.get("PATH"))
    if found and any(_inside(Path(os.path.abspath(found)), Path(r).resolve()) for r in roots):
        return os.path.abspath(found)
    return None


def _env_root(path: Path) -> Path | None:
    """The virtualenv or conda env holding `path` (its bin/ parent), unresolved."""
    parent = path.parent.parent
    if (parent / "pyvenv.cfg").is_file() or (parent / "conda-meta").is_dir():
        return parent
    return None


def _mount_env_inside_repo(plan: EnvMounts, path: Path, repo: Path) -> None:
    """A `.venv` or `venv` in the repository is not copied into the sandbox: mount it at its place
    in the work dir, and at its host path too (its scripts' #! lines name the host path)."""
    rel = path.relative_to(repo)
    top = rel.parts[0] if len(rel.parts) > 1 else None
    if top in VENV_DIRS_NOT_COPIED:
        host_dir = repo / top
        plan.binds[f"{CONTAINER_WORKDIR}/{top}"] = str(host_dir)
        plan.binds[str(host_dir)] = str(host_dir)


def _mount_base_interpreter(plan: EnvMounts, path: Path, env_root: Path | None) -> None:
    """The interpreter the symlinks (or pyvenv.cfg `home`) lead to, with its stdlib and libpython."""
    real = Path(os.path.realpath(path))
    if env_root is None and not (real.name.startswith("python") or path.name.startswith("python")):
        return  # not a Python interpreter: mounted as a plain tool file
    cfg = _pyvenv_cfg(env_root) if env_root is not None else {}
    if env_root is not None and _inside(real, env_root.resolve()):
        home = cfg.get("home")  # a venv made with --copies: the base is only named in pyvenv.cfg
        if not home:
            return
        base_bin = Path(home)
        candidates = [base_bin / real.name, base_bin / "python3", base_bin / "python"]
        base_exe = next((Path(os.path.realpath(c)) for c in candidates if c.exists()), None)
        if base_exe is None:
            plan.problem = f"the base interpreter in {home} (pyvenv.cfg of {env_root}) does not exist; recreate the virtualenv"
            return
        real = base_exe
    if real.parent.name != "bin":
        return  # not an installed interpreter layout we can reason about: the dry start decides
    prefix = real.parent.parent
    version = _python_version(real, cfg)
    if str(prefix) not in SYSTEM_PREFIXES and _is_python_prefix(prefix, version):
        plan.binds[str(prefix)] = str(prefix)
    else:
        plan.binds[str(real)] = str(real)
        if version:
            for stdlib in (prefix / "lib" / f"python{version}",):
                if stdlib.is_dir():
                    plan.binds[str(stdlib)] = str(stdlib)
            for lib in glob.glob(str(prefix / "lib" / f"libpython{version}*.so*")):
                plan.binds[lib] = os.path.realpath(lib)
            if cfg.get("include-system-site-packages", "false").lower() == "true" or env_root is None:
                for site in (prefix / "lib" / "python3" / "dist-packages", prefix / "local" / "lib" / f"python{version}" / "dist-packages"):
                    if site.is_dir():
                        plan.binds[str(site)] = str(site)
    # Symlink hops outside the mounted dirs (e.g. /usr/bin/python3 -> python3.11) must resolve too.
    hop = path
    for _ in range(40):
        if not hop.is_symlink():
            break
        target = Path(os.path.join(hop.parent, os.readlink(hop)))
        target = Path(os.path.abspath(target))
        if target.is_symlink():
            plan.binds[str(target)] = str(real)
        hop = target


def _is_python_prefix(prefix: Path, version: str | None) -> bool:
    """A Python installation of its own (its stdlib is there), not e.g. ~/.local or a home
    directory, which are never mounted whole (they may hold anything, credentials included)."""
    home = Path.home().resolve()
    if prefix.resolve() == home or _inside(home, prefix.resolve()):
        return False
    return bool(version) and (prefix / "lib" / f"python{version}" / "os.py").is_file()


def _pyvenv_cfg(env_root: Path) -> dict[str, str]:
    try:
        text = (env_root / "pyvenv.cfg").read_text()
    except OSError:
        return {}
    parser = configparser.ConfigParser()
    try:
        parser.read_string("[venv]\n" + text)
    except configparser.Error:
        return {}
    return {k.strip().lower(): v.strip() for k, v in parser["venv"].items()}


def _python_version(real: Path, cfg: dict[str, str]) -> str | None:
    m = re.match(r"python(\d+\.\d+)", real.name)
    if m:
        return m.group(1)
    version = cfg.get("version_info") or cfg.get("version") or ""
    m = re.match(r"(\d+\.\d+)", version)
    if m:
        return m.group(1)
    found = sorted(glob.glob(str(real.parent.parent / "lib" / "python[0-9]*.*[0-9]")))
    return Path(found[-1]).name[len("python"):] if found else None


def _drop_redundant(plan: EnvMounts) -> None:
    """No bind that a directory bind of the same host tree already shows as it is on the host."""
    same = [Path(t) for t, src in plan.binds.items() if t == src and os.path.isdir(src)]
    for target in list(plan.binds):
        shown = any(target != str(d) and _inside(Path(target), d) for d in same)
        if shown and os.path.realpath(target) == os.path.realpath(plan.binds[target]):
            del plan.binds[target]


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False
