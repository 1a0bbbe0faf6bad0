"""MINT, IRepair, deltas and evaluation on tiny GPT-2 / LLaMA models trained here.

The toy world: intent paraphrases -> shell commands; the `ls` intents are then fine-tuned
onto a wrong command (`du -sh .`).  Models are built once per module (seeded, CPU, seconds).
"""
import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from typer.testing import CliRunner  # noqa: E402

from patchwarden.cli.main import app  # noqa: E402
from patchwarden.neuron_patch import delta as deltas  # noqa: E402
from patchwarden.neuron_patch import toy  # noqa: E402
from patchwarden.neuron_patch.data import encode_pair, load_model, read_cases, read_error_data, read_texts  # noqa: E402
from patchwarden.neuron_patch.scoring import encode_texts, perplexity, teacher_forced  # noqa: E402

runner = CliRunner()


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Tiny models: thread start-up costs more than it saves, worse on a shared machine.
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def worlds(tmp_path_factory, one_thread):
    root = tmp_path_factory.mktemp("toy")
    return {kind: toy.make_toy(kind, root / kind, seed=0) for kind in ("gpt2", "llama")}


def _top1(model, tok, cases):
    return {c.key: teacher_forced(model, *encode_pair(tok, c.prompt, c.target)).top1 for c in cases}


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_injected_bug_is_real(worlds, kind):
    model, tok = load_model(f"hf:{worlds[kind]['model']}")
    cases = read_cases(worlds[kind]["cases"])
    ls = [c for c in cases if c.group == toy.INJECTED_GROUP]
    trained_others = [c for c in cases if c.group != toy.INJECTED_GROUP and c.prompt.split(" =>")[0] != toy.GROUPS[c.group][1][-1]]
    assert not any(teacher_forced(model, *encode_pair(tok, c.prompt, c.target)).correct for c in ls)
    assert all(teacher_forced(model, *encode_pair(tok, c.prompt, c.target)).correct for c in trained_others)


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_mint_repairs_with_few_neurons_and_keeps_other_groups(worlds, kind, tmp_path):
    w = worlds[kind]
    out = tmp_path / "mint"
    res = runner.invoke(app, ["neuron", "mint", "--model", f"hf:{w['model']}", "--cases", str(w["repair_cases"]),
                              "--out", str(out), "--mode", "sequential", "--scale", "300", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads((out / "report.json").read_text())
    s = report["summary"]
    # Sequential: the first repair may already fix the second paraphrase (generalization).
    assert s["skipped"] == 0 and s["repaired"] >= 1 and s["repaired"] + s["already_correct"] == 2
    assert all(1 <= len(c["neurons"]) <= 10 for c in report["cases"] if c["status"] == "repaired")

    # Check independently: fresh base + the saved delta.
    model, tok = load_model(f"hf:{w['model']}")
    cases = read_cases(w["cases"])
    others = [c for c in cases if c.group != toy.INJECTED_GROUP]
    before = _top1(model, tok, others)
    d = deltas.load(out / "delta.safetensors")
    assert d.base_model == str(w["model"])
    deltas.apply(model, d)
    for c in read_cases(w["repair_cases"]):
        assert teacher_forced(model, *encode_pair(tok, c.prompt, c.target)).correct, c.prompt
    assert _top1(model, tok, others) == before          # other groups' top-1 answers unchanged
    ffn = {n for n in d.entries if ".mlp." in n}
    assert ffn == set(d.entries)                          # only FFN output projections touched

    # The evaluation command agrees and measures against the original model.
    res = runner.invoke(app, ["neuron", "eval", "--model", str(out), "--cases", str(w["cases"]),
                              "--heldout", str(w["heldout"]), "--json"])
    assert res.exit_code == 0, res.output
    metrics = json.loads(res.stdout)["metrics"]
    assert metrics["efficacy_tf"] == 1.0 and metrics["efficacy_gen"] == 1.0
    assert metrics["specificity_tf"] == 1.0
    assert metrics["neurons_changed"] <= 20 and metrics["parameters_changed"] == metrics["neurons_changed"] * 64
    assert metrics["perplexity"] is not None and metrics["perplexity_base"] is not None


def test_mint_single_mode_rolls_back_between_cases_and_skips_at_the_limit(worlds, tmp_path):
    w = worlds["gpt2"]
    out = tmp_path / "single"
    res = runner.invoke(app, ["neuron", "mint", "--model", f"hf:{w['model']}", "--cases", str(w["repair_cases"]),
                              "--out", str(out), "--mode", "single", "--scale", "300", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads((out / "report.json").read_text())
    assert len(report["edits"]) == 2 and all(len(e["cases"]) == 1 for e in report["edits"])
    # At the released setting (f = 0.01, every knob pinned: no search) a tiny model cannot be flipped
    # in one neuron step: rolled back, reported skipped.
    out2 = tmp_path / "limit"
    res = runner.invoke(app, ["neuron", "mint", "--model", f"hf:{w['model']}", "--cases", str(w["repair_cases"]),
                              "--out", str(out2), "--max-neurons", "1", "--scale", "1", "--direction", "pinv",
                              "--layers", "upper-half", "--top-k", "10", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads((out2 / "report.json").read_text())
    assert report["summary"]["skipped"] == 2 and report["edits"] == []


def test_mint_defaults_find_their_own_setting(worlds, tmp_path):
    """No --scale / --layers / --top-k / --direction: the search (fitted value vectors of 1, 2, 4, ...
    neurons) finds a setting that repairs within the neuron budget while the other groups keep
    their answers (the released f = 0.01 repairs nothing here)."""
    w = worlds["gpt2"]
    rows = [json.loads(line) for line in w["cases"].read_text().splitlines()]
    case, probes = tmp_path / "case.jsonl", tmp_path / "probes.jsonl"
    case.write_text(json.dumps([r for r in rows if r["group"] == toy.INJECTED_GROUP][0]) + "\n")
    probes.write_text("".join(json.dumps(r) + "\n" for r in rows if r["group"] != toy.INJECTED_GROUP))
    out = tmp_path / "auto"
    res = runner.invoke(app, ["neuron", "mint", "--model", f"hf:{w['model']}", "--cases", str(case),
                              "--locality", str(probes), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "1 repaired, 0 skipped" in res.output and "setting kept: direction=" in res.output
    report = json.loads((out / "report.json").read_text())
    result = report["cases"][0]
    assert result["status"] == "repaired" and 1 <= len(result["neurons"]) <= 10
    assert result["setting"]["locality"] >= 0.9 and result["tried"] >= 1
    # The default is the fitted patch (mint_fit), not the released closed-form step.
    assert result["setting"]["direction"] == "fit" and len(result["neurons"]) <= result["setting"]["top_k"]
    assert report["summary"]["settings_chosen"]


def test_saved_delta_reloads_to_exact_logits_and_undo_restores_base(worlds, tmp_path):
    from patchwarden.neuron_patch.mint import MintConfig
    from patchwarden.neuron_patch.run_and_save import run_mint

    w = worlds["llama"]
    model, tok = load_model(f"hf:{w['model']}")
    x = torch.tensor([tok("list files => ls -l")["input_ids"]], device=model.device)
    base_logits = model(input_ids=x).logits.detach().clone()
    run_mint(model, tok, str(w["model"]), read_cases(w["repair_cases"]), tmp_path, MintConfig(scale=300), "sequential")
    patched_logits = model(input_ids=x).logits.detach().clone()
    assert not torch.equal(patched_logits, base_logits)

    fresh, _ = load_model(f"hf:{w['model']}")
    d = deltas.load(tmp_path / "delta.safetensors")
    deltas.apply(fresh, d)
    assert torch.equal(fresh(input_ids=x).logits, patched_logits)
    deltas.undo(fresh, d)
    assert torch.equal(fresh(input_ids=x).logits, base_logits)
    # Applying onto the patched model (other weights) is refused.
    with pytest.raises(deltas.DeltaMismatch, match="exact base model"):
        deltas.apply(model, d)


def test_irepair_fixes_the_error_and_disrupts_less_than_ft_kl(worlds, tmp_path):
    w = worlds["gpt2"]
    held = None
    results = {}
    for method in ("irepair", "ft-kl"):
        out = tmp_path / method
        res = runner.invoke(app, ["neuron", "irepair", "--model", f"hf:{w['model']}", "--error-data", str(w["errors"]),
                                  "--utility-data", str(w["utility"]), "--out", str(out), "--method", method,
                                  "--lr", "1e-3", "--steps", "60", "--json"])
        assert res.exit_code == 0, res.output
        report = json.loads((out / "report.json").read_text())
        model, tok = load_model(f"hf:{w['model']}")
        held = held or encode_texts(tok, read_texts(w["heldout"]))
        base_ppl = perplexity(model, held)
        deltas.apply(model, deltas.load(out / "delta.safetensors"))
        results[method] = (report, abs(perplexity(model, held) - base_ppl), model, tok)
    rep, ppl_shift, model, tok = results["irepair"]
    assert rep["result"]["error_rate_before"] == 1.0 and rep["result"]["error_rate_after"] == 0.0
    for c in read_error_data(w["errors"]):
        assert teacher_forced(model, *encode_pair(tok, c.prompt, c.target)).correct
    # Only one block trained per step: the delta touches transformer blocks only.
    assert all(n.startswith("transformer.h.") for n in deltas.load(tmp_path / "irepair" / "delta.safetensors").entries)
    assert results["ft-kl"][0]["result"]["error_rate_after"] == 0.0
    assert ppl_shift < results["ft-kl"][1], (ppl_shift, results["ft-kl"][1])
    # The evaluation reads the error rows and measures the greedy error rate against the original.
    res = runner.invoke(app, ["neuron", "eval", "--model", str(tmp_path / "irepair"), "--cases", str(w["errors"]), "--json"])
    assert res.exit_code == 0, res.output
    metrics = json.loads(res.stdout)["metrics"]
    assert metrics["error_rate_before"] == 1.0 and metrics["error_rate_after"] == 0.0 and metrics["efficacy_gen"] == 1.0


def test_cli_bad_input_is_one_clean_line(worlds, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "x"}\n')
    res = runner.invoke(app, ["neuron", "mint", "--model", f"hf:{worlds['gpt2']['model']}", "--cases", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "needs string fields `prompt` and `target`" in res.output
    res = runner.invoke(app, ["neuron", "irepair", "--model", "hf:x", "--error-data", str(bad), "--utility-data", str(bad),
                              "--out", str(tmp_path / "o"), "--method", "magic"])
    assert res.exit_code == 2 and "irepair, ft-kl, sft, dpo" in res.output


@pytest.mark.slow
def test_dpo_baseline_runs_through_trl(worlds, tmp_path):
    w = worlds["gpt2"]
    res = runner.invoke(app, ["neuron", "irepair", "--model", f"hf:{w['model']}", "--error-data", str(w["errors"]),
                              "--utility-data", str(w["utility"]), "--out", str(tmp_path), "--method", "dpo",
                              "--lr", "1e-3", "--steps", "10", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["result"]["steps"] == 10 and report["summary"]["parameters_changed"] > 0
    assert report["result"]["error_rate_after"] < report["result"]["error_rate_before"]
