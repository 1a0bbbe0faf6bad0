"""MINT's fit guards reworded copies of the locality probes, not only their exact prompts (issue #12).

On the generalization grid the fit kept 92-100% of the probes' answers while unseen phrasings of
the same intents kept only 77-86%: it had learned a change tuned to the probes' exact text.
"""
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from patchwarden.benchmarks.measure.repair_worlds import World, build_model, build_tokenizer  # noqa: E402
from patchwarden.neuron_patch import mint_fit  # noqa: E402
from patchwarden.neuron_patch.data import Case, encode_pair  # noqa: E402
from patchwarden.neuron_patch.mint import Mint, MintConfig  # noqa: E402
from patchwarden.neuron_patch.probe_variants import probe_variants  # noqa: E402

PROBES = [Case("list files:", " ls -l", "ls"), Case("show disk usage:", " df -h", "df"),
          Case("who am i:", " whoami", "who"), Case("uptime:", " uptime", "up")]


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    tok = build_tokenizer([c.prompt + c.target for c in PROBES] + ["make a folder: mkdir -p"])
    world = World("probe-variants", "gpt2", 2, 32, "bash", 0, 1)
    return build_model(world, len(tok), tok.pad_token_id, tok.eos_token_id).eval(), tok


def test_variants_reword_each_probe_and_keep_its_answer():
    got = probe_variants(PROBES, per_probe=3)
    assert got == probe_variants(PROBES, per_probe=3)            # deterministic
    for n, probe in enumerate(PROBES):
        mine = [v for i, v in got if i == n]
        assert 1 <= len(mine) <= 3
        assert all(v.prompt != probe.prompt and v.target == probe.target for v in mine)
        assert len({v.prompt for v in mine}) == len(mine)
    assert probe_variants([], 3) == []


def test_only_rewordings_the_model_answers_like_the_probe_guard_the_fit(tiny):
    model, tok = tiny
    m = Mint(model, tok, MintConfig())
    m._probes, m._before = PROBES, m.probe_answers(PROBES)
    kept = m._same_requests()
    source = {v.prompt: n for n, v in probe_variants(PROBES, 3)}
    assert {v.prompt for v in kept} <= set(source)
    assert all(m.probe_answers([v])[0] == m._before[source[v.prompt]] for v in kept)


def test_the_fit_receives_the_rewordings_as_guard(tiny, monkeypatch):
    """The old fit saw the probes' exact prompts only."""
    model, tok = tiny
    seen = {}

    def fake_fit(self, prompt_ids, target_ids, neurons, probes, scale=1.0, min_locality=0.9, guard=()):
        seen["probes"], seen["guard"] = probes, list(guard)
        return None

    monkeypatch.setattr(mint_fit.NeuronFit, "fit", fake_fit)
    m = Mint(model, tok, MintConfig(top_k=1, layers="all"))
    m._probes, m._before = PROBES, m.probe_answers(PROBES)
    expected = [encode_pair(tok, v.prompt, v.target) for v in m._same_requests()]
    m.repair_case(Case("make a folder:", " mkdir -p", "mk"), 0, PROBES)
    assert seen["probes"] == [encode_pair(tok, c.prompt, c.target) for c in PROBES]
    assert seen["guard"] == expected


def test_a_fit_that_moves_the_guards_answers_is_refused(tiny):
    """The guard is part of the acceptance: a rewording that must keep its answer but cannot (here
    the case's own prompt, whose answer the repair has to change) makes the fit give up, while the
    same fit without it succeeds."""
    from patchwarden.neuron_patch.arch import ModelParts, parse_layers
    from patchwarden.neuron_patch.mint_fit import NeuronFit
    from patchwarden.neuron_patch.scoring import teacher_forced

    model, tok = tiny
    p, t = encode_pair(tok, "make a folder:", " mkdir -p")
    assert not teacher_forced(model, p, t).correct
    parts = ModelParts(model)
    fitter = NeuronFit(model, parts, tok.pad_token_id)
    neurons = fitter.candidates(p, t, parse_layers("all", parts.num_layers), 8)
    assert fitter.fit(p, t, neurons, [], guard=[(p, t)]) is None
    assert not teacher_forced(model, p, t).correct              # refused: the model is untouched
    assert fitter.fit(p, t, neurons, []) is not None
    assert teacher_forced(model, p, t).correct
