"""`run_repair --engine srepair` end to end: real tests in a sandbox, a real HTTP model server."""
import json
import re
import sys
import textwrap

import pytest

from patchwarden.repair.config import RepairConfig
from patchwarden.repair.models.scripted_server import ScriptedChatServer
from patchwarden.repair.pipeline import run_repair

SRC = textwrap.dedent('''\
    def median(xs):
        """The middle value of a sorted copy of xs."""
        s = sorted(xs)
        mid = len(s) // 2
        if len(s) % 2:
            return s[mid + 1]
        return (s[mid - 1] + s[mid]) / 2
    ''')
TESTS = textwrap.dedent('''\
    from stats import median

    def test_odd():
        assert median([3, 1, 2]) == 2

    def test_even():
        assert median([4, 1, 2, 3]) == 2.5
    ''')
FIX = "def median(xs):\n    s = sorted(xs)\n    mid = len(s) // 2\n    if len(s) % 2:\n        return s[mid]\n    return (s[mid - 1] + s[mid]) / 2\n"


@pytest.fixture()
def repo(tmp_path):
    r = tmp_path / "repo"
    (r / "tests").mkdir(parents=True)
    (r / "stats.py").write_text(SRC)
    (r / "tests" / "test_stats.py").write_text(TESTS)
    return r


def answer(req):
    prompt = req["messages"][-1]["content"]
    if "## Answer format" in prompt:
        return ["Root Cause: off by one in the odd case.\nSuggestion 1: Use the middle index\nReturn s[mid]."]
    # First sample garbage, second the fix: one rejection, one plausible patch.
    return ["I think it is fine."] + [f"Fixed:\n```python\n{FIX}```"] * (req["n"] - 1)


def config(repo, tmp_path, name, **kw):
    return RepairConfig(repo=repo, test_cmd=f"{sys.executable} -m pytest -q", engine="srepair", sandbox="local",
                        out=tmp_path / name, suggestions=1, patches_per_suggestion=2, progress=False, bounce=False, **kw)


@pytest.mark.slow  # two full repair runs (about 20 s unloaded); the engine-level tests cover replay by default
def test_srepair_finds_the_fix_and_replays_it(repo, tmp_path):
    before = (repo / "stats.py").read_text()
    with ScriptedChatServer(answer) as srv:
        out = run_repair(config(repo, tmp_path, "run1", model="openai:m", api_base=srv.base_url))
    assert out.status == "plausible", out.message
    assert "return s[mid]\n" in out.patch.replace("+        return s[mid]", "return s[mid]\n")
    assert out.calls == 2 and out.tokens > 0 and out.rejected == 1
    report = json.loads((tmp_path / "run1" / "srepair.json").read_text())
    assert report["reasons"] == {"no function named 'median' in the answer": 1}
    assert (repo / "stats.py").read_text() == before  # the user's tree is untouched
    # Replay: no server, same candidates, same patch.
    again = run_repair(config(repo, tmp_path, "run2", replay=tmp_path / "run1"))
    assert again.status == "plausible" and again.patch == out.patch and again.calls == 2
    ids = lambda d: [json.loads(l)["id"] for l in (d / "candidates.jsonl").read_text().splitlines()]
    assert ids(tmp_path / "run2") == ids(tmp_path / "run1")


def test_call_cap_ends_the_run_cleanly(repo, tmp_path):
    with ScriptedChatServer(lambda req: ["Root Cause: unknown."] * req["n"]) as srv:
        out = run_repair(config(repo, tmp_path, "run", model="openai:m", api_base=srv.base_url, max_calls=1))
        assert len(srv.requests) == 1
    assert out.status == "none" and out.calls == 1
