"""Run `run_repair` over a dataset's bugs: in parallel processes or as Ray tasks, crash-safe.

Layout of an output directory:
    bench.json      what was run (dataset, engine, model, ...); `--resume` checks it
    results.jsonl   one record per finished bug, appended as bugs finish (see results.py)
    predictions.jsonl  SWE-bench rows (instance_id, model_name_or_path, model_patch), one per finished bug
    runs/<id>/      each bug's repair run directory (baseline, candidates, validations, patch)
    work/<id>/      a bug's materialised repository while it is being repaired

Only the driver writes results.jsonl, so workers never race on it. A bug killed in flight
has no record; `--resume` reruns it from scratch (its partial run and work dirs are cleared).
"""
from __future__ import annotations

import os
import shutil
import time
import traceback
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from patchwarden.benchmarks.datasets import Bug, get_dataset
from patchwarden.benchmarks.results import ResultStore
from patchwarden.sandboxes.files import write_text

RESULTS = "results.jsonl"
PREDICTIONS = "predictions.jsonl"  # SWE-bench rows, one per finished bug, kept current as bugs finish
SETTINGS = "bench.json"
# Settings that change what a result means: --resume refuses to mix them.
SETTINGS_THAT_MATTER = ("dataset", "path", "engine", "model", "suggest_model", "patch_model", "max_candidates", "time_budget")


class BenchError(Exception):
    """Bad input or an unusable output directory; the message names the fix."""

    environment = False  # True: the machine or a service failed (a worker died, Ray unreachable), not the input


class BenchEnvironmentError(BenchError):
    """A worker died or the Ray cluster cannot be reached: exit 4 in the CLI."""

    environment = True


class BugTimeout(Exception):
    """A bug's repair ran past its wall-clock cap (a hang the repair's own timeouts missed)."""


class _bug_alarm:
    """Raise BugTimeout in this (main) thread after `seconds`: a blocked read or wait is
    interrupted, and the repair's `with` blocks close its sandboxes on the way out."""

    def __init__(self, seconds: float):
        import threading

        self.seconds = seconds
        self.active = threading.current_thread() is threading.main_thread()

    def _fire(self, signum, frame):
        raise BugTimeout(f"the bug took longer than {self.seconds:.0f}s (raise it with --bug-timeout)")

    def __enter__(self):
        import signal

        if self.active:
            self.previous = signal.signal(signal.SIGALRM, self._fire)
            # Fires again every 10 s should some `except Exception` in the repair swallow it.
            signal.setitimer(signal.ITIMER_REAL, self.seconds, 10.0)
        return self

    def __exit__(self, *exc):
        import signal

        if self.active:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)
        return False


# Repair options `bench run` spells differently: its own --workers counts bugs in parallel.
BENCH_SPELLING = {
    "workers": {"flags": ("--repair-workers",), "help": "Validation workers inside each bug's repair."},
    "bounce": {"flags": ("--bounce/--no-bounce",), "help": "Let the bouncers abstain on vague issues or weak patches.", "default": True, "invert": False},
}


def _repair_defaults() -> dict:
    from patchwarden.repair.options import field_default, shared_options

    return {o.name: field_default(o.name) for o in shared_options()}


@dataclass
class BenchSettings:
    dataset: str
    path: str | None = None
    keep_work: bool = False  # keep each bug's materialised repository
    bug_timeout: float | None = None  # wall-clock cap per bug; None: 2 x time_budget + 300 s
    # Every bug's repair options (RepairConfig fields, repair/options.py): the options `bench run` offers.
    repair: dict = field(default_factory=dict)

    def __post_init__(self):
        defaults = _repair_defaults()
        unknown = set(self.repair) - set(defaults)
        if unknown:
            raise BenchError(f"not repair options bench run can set: {', '.join(sorted(unknown))}")
        self.repair = {**defaults, **self.repair}

    def to_dict(self) -> dict:
        """Flat: the bench's own settings and the repair options side by side (bench.json's `settings`)."""
        return {"dataset": self.dataset, "path": self.path, "keep_work": self.keep_work, "bug_timeout": self.bug_timeout, **self.repair}

    @classmethod
    def from_dict(cls, d: dict) -> "BenchSettings":
        own = {k: d[k] for k in ("dataset", "path", "keep_work", "bug_timeout") if k in d}
        return cls(**own, repair={k: v for k, v in d.items() if k not in own})

    @property
    def engine(self) -> str:
        return self.repair["engine"]

    @property
    def bug_deadline(self) -> float:
        return self.bug_timeout or 2 * self.repair["time_budget"] + 300

    @property
    def model_name(self) -> str:
        """The `model_name_or_path` of SWE-bench predictions."""
        r = self.repair
        models = [m for m in (r["model"], r["suggest_model"], r["patch_model"]) if m]
        return "patchwarden-" + self.engine + ("-" + "+".join(dict.fromkeys(models)) if models else "")


def _repair_config(bug: Bug, settings: BenchSettings, repo: Path, test_cmd: str, run_dir: Path):
    from patchwarden.repair.options import config_from

    image = bug.spec.get("image") if settings.repair["sandbox"] != "local" else None  # a per-instance image (swebench)
    return config_from({**settings.repair, "image": image or settings.repair["image"]}, repo=repo, test_cmd=test_cmd,
                       issue=bug.issue, out=run_dir, model_name=settings.model_name, progress=False)


def bench_flag(message: str) -> str:
    """A repair check's message with the flags spelled as `bench run` spells them."""
    from patchwarden.repair.options import option

    for name, spelling in BENCH_SPELLING.items():
        message = message.replace(option(name).flag, spelling["flags"][0].split("/")[0])
    return message


def check_settings(settings: BenchSettings) -> None:
    """The repair settings every bug would use, checked once before any bug runs (BenchError):
    a bad engine or budget must not turn every bug into an `error` record."""
    from patchwarden.repair.checks import range_problem, settings_problem
    from patchwarden.repair.engines import registry
    from patchwarden.repair.options import config_from
    from patchwarden.repair.errors import RepairInputError

    if registry.unknown(settings.engine):
        raise BenchError(registry.unknown(settings.engine))
    if settings.repair["sandbox"] not in ("auto", "local", "docker"):
        raise BenchError(f"unknown sandbox {settings.repair['sandbox']!r}: choose auto, local or docker")
    cfg = config_from(settings.repair, repo=Path("."), test_cmd="python -m pytest")
    problem = (settings_problem(cfg) or range_problem("--bug-timeout", settings.bug_timeout, 0, False, "seconds per bug"))
    if problem:
        raise BenchError(bench_flag(problem))
    try:
        registry.check(cfg)
    except RepairInputError as exc:
        raise BenchError(str(exc)) from exc


def run_one(bug_dict: dict, settings_dict: dict, out: str) -> dict:
    """Repair one bug and return its result record. Runs in a worker process or a Ray task;
    never raises for a bug's own failure (that is an `error` record)."""
    from patchwarden.benchmarks.reference import fixed_equal_reference

    bug, settings, out_dir = Bug.from_dict(bug_dict), BenchSettings.from_dict(settings_dict), Path(out)
    run_dir, work = out_dir / "runs" / bug.slug, out_dir / "work" / bug.slug
    for stale in (run_dir, work):  # left by a run killed while this bug was in flight
        shutil.rmtree(stale, ignore_errors=True)
    work.mkdir(parents=True)
    started = time.monotonic()
    record = {
        "id": bug.id, "dataset": bug.dataset, "bug_type": bug.bug_type, "status": "error", "plausible": False,
        "fixed_equal_reference": None, "has_reference": bug.reference is not None, "patch": "", "model_patch": "", "message": "",
        "wall_time": 0.0, "repair_time": 0.0, "candidates_generated": 0, "candidates_validated": 0,
        "calls": 0, "tokens": 0, "cost": 0.0, "run_dir": f"runs/{bug.slug}", "engine": settings.engine,
        "model": settings.model_name,
    }
    try:
        with _bug_alarm(settings.bug_deadline):
            repo, test_cmd = get_dataset(bug.dataset).materialise(bug, work)
            from patchwarden.repair.pipeline import run_repair

            outcome = run_repair(_repair_config(bug, settings, Path(repo), test_cmd, run_dir))
        record.update(
            status=outcome.status, plausible=outcome.status == "plausible", patch=outcome.patch, message=outcome.message,
            repair_time=outcome.wall_time, candidates_generated=outcome.candidates_generated,
            candidates_validated=outcome.candidates_validated, calls=outcome.calls, tokens=outcome.tokens,
            cost=outcome.cost, candidate_id=outcome.candidate_id,
        )
        if outcome.status == "plausible":  # the SWE-bench row: paths from the git root, empty unless plausible
            from patchwarden.repair.predictions import patch_from_git_root

            record["model_patch"] = patch_from_git_root(Path(repo), outcome.patch)
        if bug.reference is not None:
            record["fixed_equal_reference"] = bool(record["plausible"]) and bool(fixed_equal_reference(Path(repo), outcome.patch, bug.reference))
    except Exception as exc:  # a bug that cannot be set up or repaired is a result, not a crash
        record["status"] = "timeout" if isinstance(exc, BugTimeout) else "error"
        record["message"] = f"{type(exc).__name__}: {exc}"
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "bench-error.txt").write_text(traceback.format_exc())
    finally:
        if not settings.keep_work:
            shutil.rmtree(work, ignore_errors=True)
    record["wall_time"] = round(time.monotonic() - started, 3)
    return record


@dataclass
class BenchSummary:
    total: int = 0  # bugs selected
    skipped: int = 0  # already recorded (resume)
    ran: int = 0
    plausible: int = 0
    fixed: int = 0  # equal to the reference
    failed: int = 0  # no plausible patch, abstained or error
    errors: int = 0
    wall_time: float = 0.0
    problems: list[str] = field(default_factory=list)  # unreadable results lines

    def add(self, record: dict) -> None:
        self.ran += 1
        self.plausible += bool(record.get("plausible"))
        self.fixed += bool(record.get("fixed_equal_reference"))
        self.failed += not record.get("plausible")
        self.errors += record.get("status") == "error"

    def to_dict(self) -> dict:
        return asdict(self)


def _write_settings(out: Path, settings: BenchSettings, resume: bool) -> None:
    import json

    path = out / SETTINGS
    current = settings.to_dict()
    if resume and path.exists():
        old = json.loads(path.read_text())
        for key in SETTINGS_THAT_MATTER:
            if old.get("settings", {}).get(key) != current.get(key):
                raise BenchError(f"--resume: {key} was {old['settings'].get(key)!r} in {out}, now {current.get(key)!r}; use the same options or another --out")
        return
    write_text(path, json.dumps({"settings": current, "model_name": settings.model_name, "started": datetime.now(timezone.utc).isoformat()}, indent=2))


def _record_session(out: Path, seconds: float, workers: int, ray: str | None, ran: int) -> None:
    """Add this invocation's wall time to bench.json (a resumed run adds up its sessions)."""
    import json

    path = out / SETTINGS
    meta = json.loads(path.read_text())
    meta["elapsed"] = round(meta.get("elapsed", 0.0) + seconds, 3)
    meta.setdefault("sessions", []).append({"workers": workers, "ray": ray, "bugs": ran, "wall_time": round(seconds, 3)})
    write_text(path, json.dumps(meta, indent=2))


def prepare_out(out: Path, settings: BenchSettings, resume: bool) -> tuple[ResultStore, set[str], list[str]]:
    """Check the output directory; return the store, the ids already done and any problems."""
    from patchwarden.repair.checks import output_dir_problem

    problem = output_dir_problem(out, "--out")
    if problem:
        raise BenchError(problem)
    out.mkdir(parents=True, exist_ok=True)
    store = ResultStore(out / RESULTS)
    loaded = store.load(warn=False)
    if not resume and (loaded.records or loaded.problems):
        raise BenchError(f"{out} already holds results; pass --resume to continue that run or choose another --out")
    _write_settings(out, settings, resume)
    store.repair_tail()
    # Only finished bugs are done: an `error` record (a crash, or settings since corrected) is redone.
    return store, {r["id"] for r in loaded.records if r.get("status") != "error"}, loaded.problems


def _die_with_driver() -> None:
    """Pool initializer: a worker whose driver is killed (kill -9) dies too, instead of writing
    into a run directory that `--resume` is about to redo. SIGTERM (sent by an interrupted
    driver) unwinds the bug's `with` blocks, so its sandboxes are closed on the way out."""
    import signal

    from patchwarden.sandboxes.base import exit_on_signal

    signal.signal(signal.SIGTERM, exit_on_signal)
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):  # not Linux: orphans finish their bug and exit
        pass


def _run_one_in_worker(bug_dict: dict, settings_dict: dict, out: str) -> dict:
    """`run_one` in a pool process. Stopped by the driver (SIGTERM) or Ctrl-C, the bug's `with`
    blocks have closed its sandboxes by the time the exception gets here; the process then
    exits instead of reporting back and waiting for another bug."""
    try:
        return run_one(bug_dict, settings_dict, out)
    except (SystemExit, KeyboardInterrupt):
        os._exit(143)


def _stop_workers(pool, grace: float = 15.0) -> None:
    """The driver was interrupted: stop the bugs in flight now (SIGTERM, then SIGKILL after
    `grace` seconds) instead of letting the pool's shutdown wait for each to finish."""
    import signal

    procs = [p for p in list((getattr(pool, "_processes", None) or {}).values()) if p.is_alive()]
    for proc in procs:
        try:
            os.kill(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    for proc in procs:
        proc.join(max(0.0, deadline - time.monotonic()))
        if proc.is_alive():
            proc.kill()


def _pool_results(bugs: list[Bug], settings: BenchSettings, out: Path, workers: int):
    """Yield records as bugs finish, from a pool of spawned processes."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    args = settings.to_dict(), str(out)
    # spawn: the driver runs a progress thread, and forking a threaded process can deadlock.
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=_die_with_driver) as pool:
        futures = [pool.submit(_run_one_in_worker, bug.to_dict(), *args) for bug in bugs]
        try:
            for future in as_completed(futures):
                yield future.result()
        except BaseException:
            for f in futures:
                f.cancel()
            _stop_workers(pool)
            raise


def check_ray_address(address: str, tries: int = 3, timeout: float = 3.0) -> None:
    """Something must answer at a cluster ADDRESS before Ray is asked to join it: `ray.init`
    retries an unreachable one forever, inside native code that a SIGTERM does not interrupt."""
    import socket

    if address in ("auto", "local"):
        return
    target = address.split("://", 1)[-1].rstrip("/")
    host, _, port = target.rpartition(":")
    if not port.isdigit():
        raise BenchError(f"--ray {address!r} is not HOST:PORT; pass the head node's address (e.g. 10.0.0.5:6379) or auto")
    last: OSError | None = None
    for attempt in range(tries):
        try:
            socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout).close()
            return
        except OSError as exc:
            last = exc
            time.sleep(min(1.0 * (attempt + 1), 3.0))
    raise BenchError(f"nothing answers at --ray {address} ({getattr(last, 'strerror', None) or last}, {tries} tries); "
                     "start the cluster there (`ray start --head`) or pass --ray auto for a local Ray")


def _ray_results(bugs: list[Bug], settings: BenchSettings, out: Path, workers: int, address: str):
    """Yield records as bugs finish, from Ray tasks (address semantics: benchmarks/ray_address.py)."""
    from patchwarden.benchmarks.ray_address import connect_failure_hint, ray_init_kwargs

    try:
        import ray
    except ImportError as exc:
        raise BenchError("--ray needs Ray: pip install 'patchwarden[ray]'") from exc
    import logging

    # Workers import patchwarden as the driver does: installed, or through the driver's PYTHONPATH.
    pythonpath = os.environ.get("PYTHONPATH", "")
    options = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING,
                   runtime_env={"env_vars": {"PYTHONPATH": pythonpath}} if pythonpath else None)
    try:
        ray.init(**ray_init_kwargs(address, workers), **options)
    except Exception as exc:
        raise BenchEnvironmentError(f"cannot start or reach Ray at {address!r} ({type(exc).__name__}: {exc}); "
                                    f"{connect_failure_hint(address)}") from exc
    try:
        task = ray.remote(num_cpus=settings.repair["workers"])(run_one)
        args = settings.to_dict(), str(out)
        pending = [task.remote(bug.to_dict(), *args) for bug in bugs]
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            yield ray.get(ready[0])
    finally:
        ray.shutdown()


def run_bench(
    bugs: list[Bug],
    settings: BenchSettings,
    out: Path,
    workers: int = 1,
    ray: str | None = None,
    resume: bool = False,
    on_start: Callable[[BenchSummary], None] | None = None,
    on_result: Callable[[dict, BenchSummary], None] | None = None,
) -> BenchSummary:
    """Repair every bug not yet recorded in `out`, appending each result as it finishes."""
    if workers < 1:
        raise BenchError("--workers must be at least 1")
    check_settings(settings)
    if ray:
        check_ray_address(ray)
    out = Path(out).resolve()
    store, done, problems = prepare_out(out, settings, resume)
    from patchwarden.repair.predictions import write_prediction

    summary = BenchSummary(total=len(bugs), problems=problems)
    todo = [b for b in bugs if b.id not in done]
    summary.skipped = len(bugs) - len(todo)
    if on_start:
        on_start(summary)
    started = time.monotonic()
    if todo:
        results = _ray_results(todo, settings, out, workers, ray) if ray else _pool_results(todo, settings, out, workers)
        try:
            for record in results:
                store.append(record)
                write_prediction(out / PREDICTIONS, record["id"], settings.model_name, record.get("model_patch") or "")
                summary.add(record)
                if on_result:
                    on_result(record, summary)
        except (KeyboardInterrupt, BenchError):
            raise
        except Exception as exc:  # a worker process or Ray task died (OOM killer, lost node)
            raise BenchEnvironmentError(f"a worker died ({type(exc).__name__}: {exc}); the {summary.ran} results so far are saved "
                             f"in {store.path}: continue with --resume") from exc
    summary.wall_time = round(time.monotonic() - started, 3)
    _record_session(out, summary.wall_time, workers, ray, summary.ran)
    if not settings.keep_work:
        shutil.rmtree(out / "work", ignore_errors=True)
    return summary
