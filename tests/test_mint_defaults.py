"""MINT with its DEFAULTS on models the other tests were not written with (issue #12).

The issue's own failing case: a 4-layer GPT-2 (n_embd 96, 128 positions, a byte-level BPE
tokenizer) trained on 15 "intent -> bash command" pairs with one mapping injected wrong
("show disk usage" -> " du -sh" instead of " df -h").  `neuron mint --cases case.jsonl` with no
flags used to answer "0 repaired, 1 skipped"; only `--scale 300 --top-k 50 --layers all` worked.
A LLaMA layout of another depth and width must be repaired by the same defaults.
"""
import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from typer.testing import CliRunner  # noqa: E402

from patchwarden.benchmarks.measure.repair_worlds import CORPORA, World, build_model, build_tokenizer, fit_until_memorised, memorised  # noqa: E402
from patchwarden.cli.main import app  # noqa: E402
from patchwarden.neuron_patch import delta as deltas  # noqa: E402
from patchwarden.neuron_patch.data import encode_pair, load_model  # noqa: E402
from patchwarden.neuron_patch.scoring import teacher_forced  # noqa: E402

runner = CliRunner()
PAIRS = CORPORA["bash"]   # 15 intents; "show disk usage" -> " df -h", "folder size" -> " du -sh"
WRONG = {"show disk usage": " du -sh"}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _train(root, kind: str, layers: int, width: int, seed: int = 0):
    root.mkdir(parents=True, exist_ok=True)
    """Train on the 15 pairs (one wrong) until every line is memorised; save as a HF folder."""
    torch.manual_seed(seed)
    lines = [f"{intent}:{WRONG.get(intent, answer)}" for intent, answer in PAIRS]
    tok = build_tokenizer(lines + [f"{i}:{a}" for i, a in PAIRS])
    model = build_model(World("issue", kind, layers, width, "bash", seed, 1), len(tok), tok.pad_token_id, tok.eos_token_id)
    fit_until_memorised(model, tok, lines, lr=3e-3, max_steps=1000)
    assert memorised(model, tok, lines)
    model.save_pretrained(root / "model")
    tok.save_pretrained(root / "model")
    return root / "model"


def _answers(model, tok):
    return {i: teacher_forced(model, *encode_pair(tok, f"{i}:", a)).top1 for i, a in PAIRS if i not in WRONG}


@pytest.fixture(scope="module")
def issue_models(tmp_path_factory, one_thread):
    root = tmp_path_factory.mktemp("issue")
    return {"gpt2": _train(root / "gpt2", "gpt2", 4, 96), "llama": _train(root / "llama", "llama", 2, 160)}


CASE = {"prompt": "show disk usage:", "target": " df -h", "group": "df"}


def _run(tmp_path, path, extra=()):
    cases = tmp_path / "case.jsonl"
    cases.write_text(json.dumps(CASE) + "\n")
    out = tmp_path / "run"
    res = runner.invoke(app, ["neuron", "mint", "--model", f"hf:{path}", "--cases", str(cases), "--out", str(out), *extra])
    assert res.exit_code == 0, res.output
    return res, json.loads((out / "report.json").read_text()), out


def test_issue_case_is_repaired_by_the_defaults(issue_models, tmp_path):
    """Exactly the issue's command: one case, no flags (it used to say "0 repaired, 1 skipped")."""
    path = issue_models["gpt2"]
    model, tok = load_model(f"hf:{path}")
    assert not teacher_forced(model, *encode_pair(tok, CASE["prompt"], CASE["target"])).correct   # the error is real
    res, report, _ = _run(tmp_path, path)
    assert "1 repaired, 0 skipped" in res.output, res.output
    result = report["cases"][0]
    assert 1 <= len(result["neurons"]) <= 10
    assert result["setting"]["direction"] == "fit" and result["setting"]["top_k"] >= len(result["neurons"])
    assert result["setting"]["locality"] is None   # no probes were given: nothing to hold, and the CLI says so
    assert "warning: no locality probes" in res.output


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_defaults_repair_and_keep_the_other_answers_given_probes(issue_models, tmp_path, kind):
    """With the other 14 intents as locality probes the defaults repair the error within 10 neurons
    and >= 90% of the other answers are unchanged, checked on a fresh base + the saved delta;
    a LLaMA layout of another depth and width too."""
    path = issue_models[kind]
    model, tok = load_model(f"hf:{path}")
    before = _answers(model, tok)
    probes = tmp_path / "others.jsonl"
    probes.write_text("".join(json.dumps({"prompt": f"{i}:", "target": a, "group": i}) + "\n"
                              for i, a in PAIRS if i not in WRONG))
    res, report, out = _run(tmp_path, path, ["--locality", str(probes)])
    assert "1 repaired, 0 skipped" in res.output, res.output
    result = report["cases"][0]
    assert 1 <= len(result["neurons"]) <= 10 and result["setting"]["locality"] >= 0.9

    d = deltas.load(out / report["edits"][0]["delta"])
    deltas.apply(model, d)
    assert teacher_forced(model, *encode_pair(tok, CASE["prompt"], CASE["target"])).correct
    after = _answers(model, tok)
    assert sum(after[i] == before[i] for i in before) / len(before) >= 0.9
