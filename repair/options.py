"""Every repair option, declared once: its RepairConfig field, flags, type, help and default.

`patchwarden repair` and `patchwarden bench run` both build their flags from OPTIONS
(cli/option_table.py turns an Option into a Typer parameter), and `config_from` builds the
RepairConfig from the values, so an option added here reaches both commands and the repair.
Defaults come from RepairConfig itself, so they are never written twice.
"""
from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Optional

from .config import RepairConfig


@dataclass(frozen=True)
class Option:
    name: str  # the RepairConfig field it sets
    flags: tuple[str, ...]  # the first is the long flag; "--a/--b" for an on/off pair
    help: str
    type: Any  # what the command line gives (Optional[...] when the default is None)
    per_run: bool = False  # names one repository's run (its test command, output, branch): `bench run` sets it per bug
    invert: bool = False  # a "--no-x" flag that sets field x to False
    to_config: Callable[[Any], Any] | None = None  # command-line value -> field value
    limits: dict = field(default_factory=dict)  # min/max, checked by the command-line parser

    @property
    def flag(self) -> str:
        return self.flags[0].split("/")[0]

    @property
    def default(self) -> Any:
        """The command line's default: the field's default (negated for a --no-x flag)."""
        if self.to_config is not None:
            return None  # a list given as one comma-separated string
        value = field_default(self.name)
        return (not value) if self.invert else value


_FIELDS = {f.name: f for f in fields(RepairConfig)}


def field_default(name: str) -> Any:
    """RepairConfig's default for a field; None for a required one (the command checks it)."""
    f = _FIELDS[name]
    if f.default is not MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not MISSING else None


def _split_functions(value: str | None) -> list[str]:
    return [f.strip() for f in value.split(",") if f.strip()] if value else []


# In the order `patchwarden repair --help` lists them.
OPTIONS: list[Option] = [
    Option("test_cmd", ("--test-cmd", "-t"), 'The command that runs the tests, e.g. "python -m pytest -q". pytest gets per-test results, coverage and the warm runner; Maven, Gradle, node --test, Jest, Vitest and Mocha get per-test results from their JUnit reports (docs/languages.md); other commands are judged by exit code.', Optional[str], per_run=True),
    # --issue names a file; `repair` reads it into the field (the issue text).
    Option("issue", ("--issue",), "A file holding the issue text (used by model engines and the input bouncer).", Optional[Path], per_run=True),
    Option("engine", ("--engine", "-e"), "template (no model), srepair (two models), policy (a Repair-R1 model) or all (template first, models only if nothing plausible).", str),
    Option("sandbox", ("--sandbox",), "Where tests run: local (process group with limits), docker (container without network; an interpreter run by path, e.g. a venv's, is mounted read-only) or auto (docker when a dry start shows the test command can run there, else local with a note saying why).", str),
    Option("image", ("--image",), "Docker image (default patchwarden/sandbox:py3, from `patchwarden sandbox build-image --offline`; a project's own from `patchwarden sandbox build-env REPO`).", Optional[str]),
    Option("workers", ("--workers", "-w"), "Candidates validated in parallel, each worker with its own warm sandbox.", int),
    Option("max_candidates", ("--max-candidates",), "Stop after validating this many candidates.", int),
    Option("max_plausible", ("--max-plausible",), "Stop after this many plausible patches (more gives the output bouncer agreement evidence).", int),
    Option("time_budget", ("--time-budget",), "Seconds for generating and validating candidates.", float),
    Option("test_timeout", ("--test-timeout",), "Seconds allowed for the baseline run of the whole test suite.", float),
    Option("per_test_timeout", ("--per-test-timeout",), "A single test stuck longer than this fails (pytest), so infinite loops are localized instead of hanging the run.", float),
    Option("memory_mb", ("--memory",), "Memory limit per sandboxed test run, in MB.", int),
    Option("out", ("--out", "-o"), "Run directory for the artifacts (default: a new folder under ~/.cache/patchwarden/runs).", Optional[Path], per_run=True),
    Option("resume", ("--resume",), "Continue a killed run in --out without redoing finished validations.", bool, per_run=True),
    Option("apply", ("--apply",), "Write the patch into the working tree (refused when the tree has uncommitted changes).", bool, per_run=True),
    Option("branch", ("--branch",), "Commit the patch on a new git branch, leaving the working tree and current branch untouched.", Optional[str], per_run=True),
    Option("functions", ("--functions",), "Pin localization to these functions: a.py:f,b.py:Class.g (repaired together by model engines).", Optional[str], per_run=True, to_config=_split_functions),
    Option("instance_id", ("--instance-id",), "SWE-bench instance id for the prediction row (with --predictions).", Optional[str], per_run=True),
    Option("predictions", ("--predictions",), "Append a SWE-bench prediction row (instance_id, model_name_or_path, model_patch) to this JSONL file.", Optional[Path], per_run=True),
    Option("model_name", ("--model-name",), "model_name_or_path written in prediction rows.", str, per_run=True),
    Option("model", ("--model", "-m"), "Model for model engines: openai:NAME, hf:PATH_OR_ID or vllm:PATH_OR_ID (both SRepair roles).", Optional[str]),
    Option("suggest_model", ("--suggest-model",), "SRepair suggestion model (overrides --model for that role).", Optional[str]),
    Option("patch_model", ("--patch-model",), "SRepair patch model (overrides --model for that role).", Optional[str]),
    Option("api_base", ("--api-base",), "Base URL of an OpenAI-compatible server (else OPENAI_BASE_URL).", Optional[str]),
    Option("replay", ("--replay",), "Answer model calls from this earlier run directory's call log, without any model.", Optional[Path], per_run=True),
    Option("max_calls", ("--max-calls",), "Hard cap on model calls.", Optional[int]),
    Option("max_tokens", ("--max-tokens",), "Hard cap on model tokens (prompt + completion).", Optional[int]),
    Option("max_cost", ("--max-cost",), "Hard cap on model cost in USD; prices from litellm's cost map (a model with no known price is refused: pass --price-in/--price-out).", Optional[float]),
    Option("price_in", ("--price-in",), "Price of prompt tokens, USD per 1M (overrides the price registry for every remote model).", Optional[float], limits={"min": 0.0}),
    Option("price_out", ("--price-out",), "Price of completion tokens, USD per 1M (overrides the price registry).", Optional[float], limits={"min": 0.0}),
    Option("suggestions", ("--suggestions",), "SRepair: suggestions asked for per function (or per group of functions repaired together).", int),
    Option("patches_per_suggestion", ("--patches-per-suggestion",), "SRepair: patches per suggestion.", int),
    Option("bounce", ("--no-bounce",), "Never abstain: skip the input and output bouncers.", bool, invert=True),
    Option("bounce_threshold", ("--bounce-threshold",), "Abstain when the best patch's confidence is below this (0-1).", float),
]
BY_NAME = {o.name: o for o in OPTIONS}


def option(name: str) -> Option:
    return BY_NAME[name]


def shared_options() -> list[Option]:
    """The options that mean the same for every repair of a batch (what `bench run` offers)."""
    return [o for o in OPTIONS if not o.per_run]


def config_from(values: dict[str, Any], **fixed: Any) -> RepairConfig:
    """The RepairConfig of option values (keyed by field name, already field values) and `fixed` fields."""
    unknown = set(values) - set(BY_NAME)
    if unknown:
        raise ValueError(f"not repair options: {', '.join(sorted(unknown))}")
    return RepairConfig(**{**values, **fixed})
