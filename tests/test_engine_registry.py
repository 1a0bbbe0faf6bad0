"""Engines are found by name in repair/engines/ (one module each, `ENGINE = EngineEntry(...)`), and
the pipeline reads what they report (usage, rejections) only through the `Engine` protocol."""
from collections import Counter

import pytest

from helpers import make_repo

CALC = {"calc.py": "def add(a, b):\n    return a - b\n",
        "test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"}


def test_the_engines_are_registered_cheapest_first_and_each_follows_the_protocol():
    from patchwarden.repair.engines import registry
    from patchwarden.repair.engines.policy import PolicyEngine
    from patchwarden.repair.engines.srepair import SRepairEngine
    from patchwarden.repair.engines.template import TemplateEngine

    assert registry.choices() == ("template", "srepair", "policy", "all")
    template = TemplateEngine()
    assert template.usage() is None and template.rejected == 0 and template.reject_reasons == Counter()
    for engine in (SRepairEngine(None, None), PolicyEngine(None)):  # model engines: rejections by reason, metered usage
        assert engine.rejected == 0 and engine.reject_reasons == Counter() and callable(engine.usage)


def test_a_registered_engine_is_run_by_name_and_its_usage_and_rejections_reach_the_outcome(tmp_path, monkeypatch):
    """What adding an engine file amounts to: an EngineEntry under a new name, nothing else."""
    from patchwarden.repair.config import RepairConfig
    from patchwarden.repair.candidate import Candidate, FunctionEdit
    from patchwarden.repair.engines import registry
    from patchwarden.repair.engines.base import EngineEntry
    from patchwarden.repair.pipeline import RepairInputError, run_repair

    class Scripted:
        name = "scripted"

        def __init__(self):
            self.rejected, self.reject_reasons = 2, Counter({"no python block": 2})

        def generate(self, ctx):
            f = ctx.suspicious[0].function
            yield Candidate(self.name, [FunctionEdit(f.path, f.qualname, f.start_byte, f.end_byte, "def add(a, b):\n    return a + b\n")], "the fix")

        def usage(self):
            return {"calls": 3, "tokens": 40, "cost": 0.25, "stop_reason": ""}

    found = dict(registry.registered())
    found["scripted"] = EngineEntry("scripted", lambda cfg, run_dir: Scripted(), rank=9)
    monkeypatch.setattr(registry, "registered", lambda: found)
    repo = make_repo(tmp_path / "calc", CALC)
    outcome = run_repair(RepairConfig(repo=repo, test_cmd="python3 -m pytest -q", engine="scripted", sandbox="local",
                                      out=tmp_path / "run", bounce=False, progress=False))
    assert outcome.status == "plausible" and "+    return a + b" in outcome.patch
    assert (outcome.calls, outcome.tokens, outcome.cost, outcome.rejected) == (3, 40, 0.25, 2)
    with pytest.raises(RepairInputError, match="choose one of template, srepair, policy, scripted, all"):
        run_repair(RepairConfig(repo=repo, test_cmd="python3 -m pytest -q", engine="nope", sandbox="local", out=tmp_path / "r2", progress=False))
