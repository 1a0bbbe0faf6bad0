"""`neuron export` writes a merged model plain transformers loads (and a PEFT adapter for block
fine-tunes), reproducing the patched model exactly; `neuron` reads EasyEdit edit records."""
import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from typer.testing import CliRunner  # noqa: E402

from patchwarden.cli.main import app  # noqa: E402
from patchwarden.cli.schemas import validate  # noqa: E402
from patchwarden.neuron_patch import delta as deltas  # noqa: E402
from patchwarden.neuron_patch import toy  # noqa: E402
from patchwarden.neuron_patch.data import load_model, read_cases, read_error_data  # noqa: E402

runner = CliRunner()
LS, DF = toy.GROUPS["ls"], toy.GROUPS["df"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield toy.make_toy("gpt2", tmp_path_factory.mktemp("toy") / "gpt2", seed=0)
    torch.set_num_threads(old)


def easyedit(path, paraphrases):
    """EasyEdit records (as its ZsRE/CounterFact loaders give them) for the injected `ls` bug."""
    rows = [{"prompt": f"{p} {toy.SEP}", "target_new": LS[0], "ground_truth": toy.WRONG_COMMAND,
             "rephrase_prompt": f"{LS[1][-1]} {toy.SEP}", "locality_prompt": f"{DF[1][0]} {toy.SEP}",
             "locality_ground_truth": DF[0], "subject": "ls"} for p in paraphrases]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_easyedit_records_map_onto_cases(tmp_path):
    path = easyedit(tmp_path / "ee.jsonl", LS[1][:2])
    edits = read_cases(path)
    assert [(c.target, c.group, c.error) for c in edits] == [(LS[0], "ls", toy.WRONG_COMMAND)] * 2
    full = read_cases(path, evaluation=True)
    assert {c.group for c in full} == {"ls", "ls-locality"} and len(full) == 6
    assert [c.error for c in read_error_data(path)] == [toy.WRONG_COMMAND] * 2


def _logits(model, tok):
    x = torch.tensor([tok(f"{p} {toy.SEP} ls -l")["input_ids"] for p in LS[1][:1]], device=model.device)
    with torch.no_grad():
        return model(input_ids=x).logits


def _patched(world, run):
    model, tok = load_model(f"hf:{world['model']}")
    deltas.apply(model, deltas.load(run / "delta.safetensors"))
    return _logits(model, tok)


def _export(run, out):
    res = runner.invoke(app, ["neuron", "export", str(run), "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    written = json.loads(res.stdout)
    validate(written)
    return written


def _plain_load(out):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(out).eval(), AutoTokenizer.from_pretrained(out)


def test_mint_from_easyedit_records_exports_a_model_transformers_loads(world, tmp_path):
    cases = easyedit(tmp_path / "ee.jsonl", LS[1][:2])
    run = tmp_path / "mint"
    res = runner.invoke(app, ["neuron", "mint", "--model", f"hf:{world['model']}", "--cases", str(cases), "--out", str(run),
                              "--mode", "sequential", "--scale", "300", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["summary"]["repaired"] == 2
    written = _export(run, tmp_path / "merged")
    assert written["adapter"] is None and "model.safetensors" in written["files"]
    model, tok = _plain_load(tmp_path / "merged")
    assert torch.equal(_logits(model, tok), _patched(world, run))
    res = runner.invoke(app, ["neuron", "eval", "--model", str(run), "--cases", str(cases), "--json"])
    assert res.exit_code == 0, res.output
    validate(json.loads(res.stdout))
    # An export never half-writes: a non-empty --out is refused before any work.
    res = runner.invoke(app, ["neuron", "export", str(run), "--out", str(tmp_path / "merged")])
    assert res.exit_code == 2 and "not empty" in res.output


def test_irepair_exports_a_merged_model_and_an_exact_peft_adapter(world, tmp_path):
    peft = pytest.importorskip("peft")
    errors = easyedit(tmp_path / "ee.jsonl", LS[1][:-1])
    run = tmp_path / "irepair"
    res = runner.invoke(app, ["neuron", "irepair", "--model", f"hf:{world['model']}", "--error-data", str(errors),
                              "--utility-data", str(world["utility"]), "--out", str(run), "--lr", "1e-3", "--steps", "60", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["result"]["error_rate_after"] == 0.0
    written = _export(run, tmp_path / "merged")
    patched = _patched(world, run)
    model, tok = _plain_load(tmp_path / "merged")
    assert torch.equal(_logits(model, tok), patched)
    base, tok = load_model(f"hf:{world['model']}")
    adapted = peft.PeftModel.from_pretrained(base, written["adapter"]).eval()
    assert torch.equal(_logits(adapted, tok), patched)
