"""`run_repair`: baseline tests -> localization -> candidates -> validation -> patch.

Every stage writes its artifact into the run directory:
    config.json, baseline.json, localization.json, candidates.jsonl, validations.jsonl,
    result.json, patch.diff
so a killed run continues with `resume=True` without redoing finished validations.
"""
from __future__ import annotations

import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator

from patchwarden.sandboxes import Limits, SandboxError, SandboxSpec, open_spec
from patchwarden.sandboxes.files import append_jsonl, read_json, read_jsonl, write_json, write_text
from patchwarden.sandboxes.local import sandbox_notes
from patchwarden.sandboxes.pytest_command import full_suite_command, pytest_args, split_cmd

from .checks import output_dir_problem, output_file_problem, settings_problem
from .config import RepairConfig, RepairOutcome
from .bug_context import BugContext, FunctionInfo, SuspiciousFunction
from .candidate import Candidate
from .splice import patched_files
from .emit import GitProblem, apply_to_tree, check_branch_name, create_branch, diff_bytes, ensure_clean, unified_diff
from .source_functions import extract_functions, repo_functions
from .languages import detect as detect_language, languages_in
from .envcheck import environment_problem
from .errors import RepairInputError
from .localize import localize
from .sandbox_choice import choose_sandbox
from .source_io import read_source
from .test_calls import functions_used_by_tests
from .testrun import TestCommandProblem, TestRun, run_tests

DEFAULT_RUNS_HOME = Path.home() / ".cache" / "patchwarden" / "runs"


def _environment(exc: Exception) -> Exception:
    """Mark an error as the test environment's fault, not the user's input: the CLI exits 4 (docs/json.md)."""
    exc.environment = True
    return exc


# -- run directory --------------------------------------------------------------------------
def default_run_dir(repo: Path) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
    return DEFAULT_RUNS_HOME / f"{repo.resolve().name}-{stamp}"


def _config_record(cfg: RepairConfig) -> dict:
    rec = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()}
    rec["repo"] = str(Path(cfg.repo).resolve())
    return rec


def prepare_run_dir(cfg: RepairConfig) -> Path:
    run_dir = Path(cfg.out) if cfg.out else default_run_dir(Path(cfg.repo))
    if cfg.resume:
        if not (run_dir / "config.json").exists():
            raise RepairInputError(f"--resume: {run_dir} holds no earlier run; pass the --out of the run to continue")
        old = read_json(run_dir / "config.json")
        for key in ("repo", "test_cmd", "engine"):
            if old.get(key) != _config_record(cfg).get(key):
                raise RepairInputError(f"--resume: {key} differs from the earlier run in {run_dir} ({old.get(key)!r}); use the same options or a new --out")
        return run_dir
    if run_dir.exists() and any(run_dir.iterdir()):
        raise RepairInputError(f"run directory {run_dir} is not empty; pass --resume to continue it or choose another --out")
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / "config.json", _config_record(cfg))
    return run_dir


def check_inputs(cfg: RepairConfig) -> Path:
    problem = settings_problem(cfg) or output_dir_problem(cfg.out, "--out") or output_file_problem(cfg.predictions, "--predictions")
    if problem:  # before any work: a bad number must not cost a whole run
        raise RepairInputError(problem)
    repo = Path(cfg.repo)
    if not repo.exists():
        raise RepairInputError(f"{repo} does not exist; pass the path of the repository to repair")
    if not repo.is_dir():
        raise RepairInputError(f"{repo} is not a directory; pass the repository's folder")
    if not cfg.test_cmd or not cfg.test_cmd.strip():
        raise RepairInputError('no test command; pass --test-cmd, e.g. --test-cmd "python -m pytest -q"')
    try:
        split_cmd(cfg.test_cmd)
    except ValueError as exc:
        raise RepairInputError(f"{exc}; quote the test command correctly") from exc
    from .engines import registry

    if registry.unknown(cfg.engine):
        raise RepairInputError(registry.unknown(cfg.engine))
    if cfg.apply and cfg.branch:
        raise RepairInputError("--apply and --branch exclude each other; choose one")
    if bool(cfg.instance_id) != bool(cfg.predictions):
        raise RepairInputError("--instance-id and --predictions go together; pass both")
    if cfg.predictions:
        from .predictions import PredictionsError, read_predictions

        try:  # an unreadable file is refused now, not after the whole repair
            read_predictions(Path(cfg.predictions))
        except PredictionsError as exc:
            raise RepairInputError(str(exc)) from exc
    registry.check(cfg)
    if not languages_in(repo):
        raise RepairInputError(f"{repo} holds no Python, Java, JavaScript or TypeScript source files outside tests; "
                               "point at the repository root")
    return repo.resolve()


# -- stages ---------------------------------------------------------------------------------
def baseline_stage(cfg: RepairConfig, repo: Path, spec: SandboxSpec, run_dir: Path, test_cmd: str | None = None) -> tuple[TestRun, str]:
    path = run_dir / "baseline.json"
    if cfg.resume and path.exists():
        data = read_json(path)
        return TestRun.from_dict(data["run"]), data["workdir"]
    try:
        with open_spec(spec, repo) as sbx:
            run = run_tests(sbx, test_cmd or cfg.test_cmd, timeout=cfg.test_timeout, per_test_timeout=cfg.per_test_timeout)
            workdir = sbx.workdir
        problem = environment_problem(run, repo, spec.backend)
        if problem:
            raise _environment(TestCommandProblem(problem))
    except TestCommandProblem as exc:
        raise RepairInputError(str(exc)) from exc
    write_json(path, {"workdir": workdir, "backend": spec.backend, "run": run.to_dict()})
    return run, workdir


def repo_language(repo: Path, test_cmd: str, run: TestRun, workdir: str) -> str:
    """The language to repair in (repair/languages): a mixed repository's failing traces decide."""
    lang = detect_language(repo, test_cmd, [r.traceback for r in run.failing], workdir)
    return lang.name if lang else "python"


def localization_stage(cfg: RepairConfig, repo: Path, run: TestRun, workdir: str, run_dir: Path) -> tuple[list[SuspiciousFunction], list[FunctionInfo]]:
    lang = repo_language(repo, cfg.test_cmd, run, workdir)
    functions, problems = repo_functions(repo, lang=lang)
    if problems:
        listed = "; ".join(f"{p}: {why}" for p, why in list(problems.items())[:5])
        raise RepairInputError(f"source files do not parse ({listed}); fix the syntax first — patchwarden repairs behaviour, not syntax")
    try:
        if lang == "python":
            static = functions_used_by_tests(repo, [r.nodeid for r in run.failing], functions)
            ranked = localize(run, functions, workdir, pinned=cfg.functions or None, static=static)
        else:
            ranked = _localize_other(repo, lang, run, workdir, functions, cfg.functions or None)
    except ValueError as exc:
        raise RepairInputError(str(exc)) from exc
    write_json(run_dir / "localization.json", [
        {"function": s.function.key, "score": s.score, "evidence": s.evidence, "lines": [s.function.start_line, s.function.end_line]}
        for s in ranked
    ])
    return ranked, functions


def _localize_other(repo: Path, lang: str, run: TestRun, workdir: str, functions: list[FunctionInfo],
                    pinned: list[str] | None) -> list[SuspiciousFunction]:
    """Java/JavaScript/TypeScript: the language's frames, its coverage, and the functions the failing tests call."""
    from .languages import get, source_files as lang_files
    from .test_evidence import failing_test_sources, functions_called_by_tests

    language = get(lang)
    sources = failing_test_sources(repo, language, run.failing, workdir)
    static = functions_called_by_tests(repo, language, sources, functions)
    files = lang_files(repo, include_tests=True, lang=lang)
    return localize(run, functions, workdir, pinned=pinned, static=static, language=language, files=files)


def no_evidence_reason(run: TestRun) -> str:
    """Why localization found nothing, each kind of evidence in turn."""
    cov = ("per-test coverage shows no repository line run by a failing test" if run.coverage
           else run.coverage_note or "no per-test coverage")
    return (f"{cov}; no repository frame in the failing tests' tracebacks; the failing tests' source uses no "
            f"repository function by a name we can resolve (pin one with --functions PATH.py:NAME)")


def test_sources(repo: Path, run: TestRun, lang: str = "python", workdir: str = "") -> dict[str, str]:
    """Source of each failing test function (for model prompts)."""
    if lang != "python":
        from .languages import get
        from .test_evidence import failing_test_sources

        return {n: src for n, (_path, src) in failing_test_sources(repo, get(lang), run.failing, workdir).items()}
    out: dict[str, str] = {}
    cache: dict[str, list[FunctionInfo]] = {}
    for result in run.failing:
        path, _, rest = result.nodeid.partition("::")
        if not rest or not path.endswith(".py") or not (repo / path).is_file():
            continue
        if path not in cache:
            try:
                cache[path] = extract_functions(read_source(repo / path), path)
            except Exception:
                cache[path] = []
        name = rest.split("::")[-1].split("[")[0]
        qual = ".".join(p.split("[")[0] for p in rest.split("::"))
        for fn in cache[path]:
            if fn.qualname == qual or fn.name == name:
                out[result.nodeid] = fn.source
                break
    return out


def make_engines(cfg: RepairConfig, run_dir: Path, notes: list[str] | None = None) -> list:
    """The engines to run, cheapest first (repair/engines/registry.py)."""
    from .engines import registry

    return registry.build(cfg, run_dir, notes)


def _limited(cands: Iterable[Candidate], seen: set[str], limit: int, deadline: float, log: Path, counter: list[int]) -> Iterator[Candidate]:
    """Deduplicate, count, log and cap a candidate stream."""
    for cand in cands:
        if counter[0] >= limit or time.monotonic() > deadline:
            return
        if cand.id in seen:
            continue
        seen.add(cand.id)
        counter[0] += 1
        append_jsonl(log, cand.to_dict())
        yield cand


def run_repair(cfg: RepairConfig, on_progress: Callable[[dict], None] | None = None) -> RepairOutcome:
    """Repair one bug. Raises RepairInputError on bad input; returns an outcome otherwise."""
    started = time.monotonic()
    repo = check_inputs(cfg)
    try:  # refuse before any work, not after minutes of validation
        if cfg.apply:
            ensure_clean(repo)
        elif cfg.branch:
            check_branch_name(repo, cfg.branch)
    except GitProblem as exc:
        raise RepairInputError(str(exc)) from exc
    run_dir = prepare_run_dir(cfg)
    try:
        choice = choose_sandbox(cfg.sandbox, cfg.image, cfg.test_cmd, repo, Limits(memory_mb=cfg.memory_mb))
    except SandboxError as exc:
        raise RepairInputError(str(exc)) from exc
    spec = choice.spec
    outcome = RepairOutcome(status="none", run_dir=run_dir, notes=[choice.note] if choice.note else [])
    stage = (lambda name: on_progress({"stage": name})) if on_progress else (lambda name: None)
    stage("running the tests")

    def finish(status: str, message: str) -> RepairOutcome:
        outcome.status, outcome.message = status, message
        outcome.wall_time = round(time.monotonic() - started, 3)
        write_json(run_dir / "result.json", outcome.to_dict())
        if cfg.predictions:  # one row per attempted instance: empty unless plausible
            from .predictions import patch_from_git_root, write_prediction

            row_patch = patch_from_git_root(repo, outcome.patch) if status == "plausible" else ""
            write_prediction(Path(cfg.predictions), cfg.instance_id, cfg.model_name, row_patch)
        return outcome

    # patchwarden's own runs see the whole suite; the user's exact command confirms at the end.
    run_cmd, removed = full_suite_command(cfg.test_cmd)
    notes: list[str] = outcome.notes
    notes.extend(sandbox_notes(spec.backend))  # e.g. "the local sandbox runs UNCONFINED here"
    if removed:
        notes.append(f"removed {', '.join(removed)} from the test command for the baseline and candidate runs "
                     f"(they stop early or narrow the run); the confirmation run uses the command as given")
    try:
        run, workdir = baseline_stage(cfg, repo, spec, run_dir, run_cmd)
    except SandboxError as exc:
        raise RepairInputError(str(exc)) from exc
    if not run.failing:
        return finish("nothing-to-repair", f"all {len(run.results)} tests pass: nothing to repair (write a failing test that shows the bug)")
    outcome.trigger_tests = [r.nodeid for r in run.failing]
    stage("localizing")
    ranked, _functions = localization_stage(cfg, repo, run, workdir, run_dir)
    outcome.top_functions = [s.function.key for s in ranked[:5]]
    if run.coverage_note:
        notes.append(run.coverage_note)
    if not ranked:
        why = no_evidence_reason(run)
        notes.append(why)
        if run.junit and run.coverage is None and pytest_args(cfg.test_cmd) is not None:  # not even the stdlib tracer ran: the test setup, not the bug
            raise _environment(RepairInputError(
                f"environment error, not a repair result: no coverage was recorded (no tracer ran where the tests run) "
                f"and {why}; check the test interpreter with `patchwarden sandbox doctor`, or name the functions with --functions"))
        return finish("none", f"no function of the repository is implicated by the failing tests: {why}")
    lang = ranked[0].function.language
    ctx = BugContext(repo, cfg.test_cmd, run.failing, ranked, cfg.issue, test_sources(repo, run, lang, workdir), run_dir)

    gate = _input_gate(cfg, ctx)
    if gate is not None:
        outcome.bounce = gate
        return finish("abstained", f"the issue is too vague to act on: {gate.get('explanation', '')}")

    from .validate import validate_candidates, validator_factory
    from .validate_maven import uses_maven_test

    triggers = outcome.trigger_tests
    validations_path = run_dir / "validations.jsonl"
    candidates_path = run_dir / "candidates.jsonl"
    done = {v["candidate_id"]: v for v in read_jsonl(validations_path)} if cfg.resume else {}
    known = {c["id"]: Candidate.from_dict(c) for c in read_jsonl(candidates_path)} if cfg.resume else {}
    plausible: list[str] = [cid for cid, v in done.items() if v.get("status") == "plausible"]
    deadline = time.monotonic() + cfg.time_budget
    validate_started = time.monotonic()
    seen: set[str] = set(known)
    counter = [len(known)]

    def on_result(res) -> None:
        rec = res.to_dict()
        append_jsonl(validations_path, rec)
        done[rec["candidate_id"]] = rec
        if rec["status"] == "plausible":
            plausible.append(rec["candidate_id"])
        if on_progress:
            on_progress({"validated": len(done), "plausible": len(plausible), "generated": counter[0]})

    from .confirm import Confirmer, confirming, describe

    factory = validator_factory
    if uses_maven_test(repo, run_cmd):  # a Maven project: the warm JVM path (cold where it doubts)
        from .validate_maven import maven_validator_factory as factory
    make_validator = confirming(factory(repo, run_cmd, spec, run.results, triggers, on_fallback=notes.append),
                                Confirmer(repo, cfg.test_cmd, spec, triggers, cfg.test_timeout))

    def validate(cands) -> None:
        left = cfg.max_plausible - len(plausible)
        budget = deadline - time.monotonic()
        if left > 0 and budget > 0:
            validate_candidates(cands, make_validator, cfg.workers, budget, on_result, set(done), left)

    engines = make_engines(cfg, run_dir, notes)
    stage("validating candidates")
    try:
        # Candidates generated before a kill are validated first, then the engines continue.
        validate([c for cid, c in known.items() if cid not in done])
        for engine in engines:
            if len(plausible) >= cfg.max_plausible or time.monotonic() > deadline:
                break
            validate(_limited(engine.generate(ctx), seen, cfg.max_candidates, deadline, candidates_path, counter))
    except SandboxError as exc:
        raise RepairInputError(str(exc)) from exc
    finally:
        _record_usage(outcome, engines)
    if not outcome.stop_reason and time.monotonic() > deadline:
        outcome.stop_reason = f"time budget reached (--time-budget {cfg.time_budget:g}s)"
    unconfirmed = [v for v in done.values() if v.get("status") == "unconfirmed"]
    if unconfirmed:
        notes.append(f"{len(unconfirmed)} candidate(s) passed validation but not the test command as given, so they "
                     f"were demoted: {unconfirmed[0].get('message', '')}")
    outcome.validate_time = round(time.monotonic() - validate_started, 3)
    outcome.candidates_generated = counter[0]
    outcome.candidates_validated = len(done)
    outcome.plausible_ids = plausible
    if not plausible:
        stopped = f"; stopped early: {outcome.stop_reason}" if outcome.stop_reason else ""
        return finish("none", f"no plausible patch among {len(done)} validated candidates{stopped}")

    all_cands = {c["id"]: c for c in read_jsonl(candidates_path)}
    best = _best(plausible, all_cands, repo)
    new_files = patched_files(repo, best)
    patch = unified_diff(repo, new_files)
    write_text(run_dir / "patch.diff", diff_bytes(repo, patch))  # each file in its own encoding
    outcome.patch, outcome.candidate_id = patch, best.id
    outcome.confirmation = done.get(best.id, {}).get("confirmation")

    gate = _output_gate(cfg, ctx, best, patch, plausible, done, all_cands)
    if gate is not None:
        outcome.bounce = gate
        if gate.get("bounce"):
            return finish("abstained", f"the best patch is not trustworthy enough (confidence {gate.get('confidence', 0):.2f} < {cfg.bounce_threshold}): {gate.get('explanation', '')}; the patch is kept in {run_dir / 'patch.diff'}")

    message = f"plausible patch {best.id}: {best.description}"
    if outcome.confirmation:
        message += "; " + describe(outcome.confirmation)
    try:
        if cfg.apply:
            ensure_clean(repo)
            apply_to_tree(repo, new_files)
            message += f"; applied to {repo}"
        elif cfg.branch:
            sha = create_branch(repo, cfg.branch, new_files, f"patchwarden: {best.description}")
            message += f"; committed on branch {cfg.branch} ({sha[:10]})"
    except GitProblem as exc:
        outcome.message = str(exc)
        finish("plausible", message)
        raise RepairInputError(f"{exc} (the patch is in {run_dir / 'patch.diff'})") from exc
    return finish("plausible", message)


def _best(plausible: list[str], cands: dict[str, dict], repo: Path) -> Candidate:
    """Prefer the smallest change, then the engine's own order (prior)."""
    def size(cid: str) -> tuple:
        c = Candidate.from_dict(cands[cid])
        return (len(c.edits), len(unified_diff(repo, patched_files(repo, c)).splitlines()), -c.prior)
    return Candidate.from_dict(cands[min(plausible, key=size)])


def _record_usage(outcome: RepairOutcome, engines: list) -> None:
    for engine in engines:  # the Engine protocol (repair/engines/base.py)
        usage = engine.usage()
        if usage is not None:
            outcome.calls += int(usage.get("calls", 0))
            outcome.tokens += int(usage.get("tokens", 0))
            outcome.cost += float(usage.get("cost", 0.0))
            outcome.stop_reason = outcome.stop_reason or str(usage.get("stop_reason") or "")
        outcome.rejected += engine.rejected


def _input_gate(cfg: RepairConfig, ctx: BugContext) -> dict | None:
    """The input bouncer: the decision when the issue is too vague to act on, else None."""
    if not cfg.bounce or not ctx.issue:
        return None
    from patchwarden.bouncer.gate import input_gate

    decision = input_gate(ctx.issue, threshold=cfg.bounce_threshold)
    if decision is None:
        return None
    if ctx.run_dir is not None:
        write_json(ctx.run_dir / "bounce_input.json", decision.to_dict())
    return decision.to_dict() if decision.bounce else None


def _output_gate(cfg, ctx, best, patch, plausible, validations, cands) -> dict | None:
    """The output bouncer: judge the best patch from the run's evidence; None when off."""
    if not cfg.bounce:
        return None
    from patchwarden.bouncer.evidence import PatchEvidence
    from patchwarden.bouncer.gate import agreeing_counts, output_gate

    diffs = {}
    for cid in plausible:
        if cid in cands:
            try:
                diffs[cid] = unified_diff(ctx.repo, patched_files(ctx.repo, Candidate.from_dict(cands[cid])))
            except (OSError, UnicodeError, ValueError):
                continue
    diffs[best.id] = patch
    record = validations.get(best.id, {})
    full_suite = record.get("status") == "plausible" and record.get("stage") in ("suite", "command")
    evidence = PatchEvidence(
        patch=patch,
        trigger_tests=[r.nodeid for r in ctx.failing],
        test_sources=ctx.test_sources,
        trigger_passed=record.get("status") == "plausible" if record else None,
        regressions=len(record.get("newly_failing", [])) if full_suite else None,
        agreeing=agreeing_counts(diffs)[best.id],
        plausible=len(diffs),
        issue=ctx.issue,
    )
    decision = output_gate(evidence, threshold=cfg.bounce_threshold)
    result = {**decision.to_dict(), "evidence": {k: v for k, v in evidence.to_dict().items() if k != "test_sources"}}
    if ctx.run_dir is not None:
        write_json(ctx.run_dir / "bounce_output.json", result)
    return result


def localize_repo(repo: Path, test_cmd: str, sandbox: str = "auto", image: str | None = None, test_timeout: float = 600.0) -> tuple[TestRun, list[SuspiciousFunction]]:
    """Baseline + localization only (for `patchwarden localize`); writes nothing."""
    cfg = RepairConfig(repo=Path(repo), test_cmd=test_cmd, sandbox=sandbox, image=image, test_timeout=test_timeout)
    repo = check_inputs(cfg)
    try:
        spec = choose_sandbox(sandbox, image, test_cmd, repo, Limits()).spec
        with open_spec(spec, repo) as sbx:
            run = run_tests(sbx, full_suite_command(test_cmd)[0], timeout=test_timeout)
            workdir = sbx.workdir
        problem = environment_problem(run, repo, spec.backend)
        if problem:
            raise _environment(TestCommandProblem(problem))
    except (TestCommandProblem, SandboxError) as exc:
        raise RepairInputError(str(exc)) from exc
    lang = repo_language(repo, test_cmd, run, workdir)
    functions, problems = repo_functions(repo, lang=lang)
    if problems:
        listed = "; ".join(f"{p}: {why}" for p, why in list(problems.items())[:5])
        raise RepairInputError(f"source files do not parse ({listed}); fix the syntax first")
    if not run.failing:
        return run, []
    if lang != "python":
        return run, _localize_other(repo, lang, run, workdir, functions, None)
    return run, localize(run, functions, workdir, static=functions_used_by_tests(repo, [r.nodeid for r in run.failing], functions))
