"""What a repair run is asked to do, and what it reports. Shared by the CLI and the bench runner."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class RepairConfig:
    repo: Path
    test_cmd: str
    issue: str | None = None  # issue text (not a path)
    engine: str = "template"  # template | srepair | policy | all
    sandbox: str = "auto"  # auto | local | docker
    image: str | None = None
    workers: int = 1
    max_candidates: int = 300
    max_plausible: int = 1  # stop after this many plausible patches
    test_timeout: float = 600.0  # seconds for the baseline test run
    per_test_timeout: float = 60.0  # a single stuck test fails after this long (pytest)
    memory_mb: int = 2048  # sandbox memory limit
    time_budget: float = 300.0  # seconds for candidate validation
    out: Path | None = None  # run directory; default: a fresh one under ./runs/
    resume: bool = False
    apply: bool = False
    branch: str | None = None
    instance_id: str | None = None
    predictions: Path | None = None
    model_name: str = "patchwarden"
    functions: list[str] = field(default_factory=list)  # "a.py:f" pins localization
    # Model settings (used by model engines); the model helpers read what they need.
    model: str | None = None
    suggest_model: str | None = None
    patch_model: str | None = None
    api_base: str | None = None
    replay: Path | None = None
    max_calls: int | None = None
    max_tokens: int | None = None
    max_cost: float | None = None
    price_in: float | None = None   # USD per 1M prompt tokens, overrides the price registry
    price_out: float | None = None
    suggestions: int = 3
    patches_per_suggestion: int = 5
    bounce: bool = True
    bounce_threshold: float = 0.5
    progress: bool = True


@dataclass
class RepairOutcome:
    status: str  # plausible | none | nothing-to-repair | abstained | error
    run_dir: Path
    patch: str = ""  # unified diff of the best plausible patch
    candidate_id: str | None = None
    plausible_ids: list[str] = field(default_factory=list)
    candidates_generated: int = 0
    candidates_validated: int = 0
    rejected: int = 0  # garbage model outputs etc.
    trigger_tests: list[str] = field(default_factory=list)
    top_functions: list[str] = field(default_factory=list)
    wall_time: float = 0.0
    validate_time: float = 0.0
    calls: int = 0
    tokens: int = 0
    cost: float = 0.0
    message: str = ""
    stop_reason: str = ""  # why generation stopped early (a cap, the time budget), "" when it did not
    notes: list[str] = field(default_factory=list)  # fallbacks and skipped steps worth knowing
    bounce: dict | None = None
    confirmation: dict | None = None  # the user's exact command on the chosen patch (repair.confirm)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["run_dir"] = str(self.run_dir)
        return d

    @property
    def exit_code(self) -> int:
        return {"plausible": 0, "abstained": 3, "error": 2}.get(self.status, 1)
