"""Architecture table and deltas on tiny random models (no training, fast)."""
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from patchwarden.neuron_patch import delta as deltas  # noqa: E402
from patchwarden.neuron_patch.arch import ModelParts, UnknownArchitecture, parse_layers  # noqa: E402


def _gpt2():
    return transformers.GPT2LMHeadModel(transformers.GPT2Config(vocab_size=40, n_positions=16, n_embd=16, n_layer=2, n_head=2, n_inner=32))


def _llama():
    return transformers.LlamaForCausalLM(transformers.LlamaConfig(vocab_size=40, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                                                  num_attention_heads=2, num_key_value_heads=2))


def _neox():
    return transformers.GPTNeoXForCausalLM(transformers.GPTNeoXConfig(vocab_size=40, hidden_size=16, intermediate_size=32,
                                                                      num_hidden_layers=2, num_attention_heads=2))


@pytest.mark.parametrize("build,axis,path", [(_gpt2, 0, "transformer.h.1.mlp.c_proj.weight"),
                                              (_llama, 1, "model.layers.1.mlp.down_proj.weight"),
                                              (_neox, 1, "gpt_neox.layers.1.mlp.dense_4h_to_h.weight")])
def test_neuron_is_a_value_vector_of_the_ffn_output(build, axis, path):
    torch.manual_seed(0)
    model = build()
    parts = ModelParts(model)
    assert parts.num_layers == 2 and parts.num_neurons(1) == 32
    assert parts.ffn_param_name(1) == path and path in dict(model.named_parameters())
    # A neuron's value vector is what its activation writes into the residual stream.
    layer, idx = 1, 5
    x = torch.zeros(1, 1, 32)
    x[0, 0, idx] = 1.0
    out = parts.ffn_out[layer](x)[0, 0]
    bias = getattr(parts.ffn_out[layer], "bias", None)
    if bias is not None:
        out = out - bias
    assert torch.allclose(out, parts.neuron_vector(layer, idx), atol=1e-6)
    parts.set_neuron(layer, idx, torch.ones(16))
    w = dict(model.named_parameters())[path]
    assert torch.equal(w[idx] if axis == 0 else w[:, idx], torch.ones(16))


def test_unknown_architecture_names_the_module_path():
    model = _gpt2()
    model.config.model_type = "mystery"
    with pytest.raises(UnknownArchitecture, match=r"mystery.*register.*ffn_out='mlp.down_proj'"):
        ModelParts(model)


def test_wrong_table_entry_names_the_missing_module():
    from patchwarden.neuron_patch import arch
    model = _llama()
    model.config.model_type = "llama-broken"
    arch.register("llama-broken", arch.ArchSpec("model.layers", "mlp.out_proj", 1))
    with pytest.raises(UnknownArchitecture, match=r"mlp.out_proj"):
        ModelParts(model)


def test_parse_layers():
    assert parse_layers("upper-half", 6) == [3, 4, 5]
    assert parse_layers("all", 3) == [0, 1, 2]
    assert parse_layers("5,0,3", 6) == [0, 3, 5]
    with pytest.raises(ValueError, match="layers 0..5"):
        parse_layers("7", 6)


def test_delta_roundtrip_stores_only_changed_slices(tmp_path):
    torch.manual_seed(0)
    model = _llama()
    base_hash = deltas.weights_hash(model)
    before = deltas.snapshot(model)
    x = torch.tensor([[1, 2, 3, 4]])
    base_logits = model(input_ids=x).logits.detach()
    parts = ModelParts(model)
    parts.set_neuron(1, 3, torch.randn(16))
    parts.set_neuron(1, 7, torch.randn(16))
    patched_logits = model(input_ids=x).logits.detach()
    d = deltas.diff(model, before, "tiny-llama", base_hash, {"method": "test"})
    entry = d.entries["model.layers.1.mlp.down_proj.weight"]
    assert list(d.entries) == ["model.layers.1.mlp.down_proj.weight"]
    assert entry["axis"] == 1 and entry["idx"].tolist() == [3, 7] and d.parameters_changed == 32
    deltas.save(d, tmp_path / "d.safetensors")
    deltas.undo(model, d)
    assert torch.equal(model(input_ids=x).logits, base_logits)
    loaded = deltas.load(tmp_path / "d.safetensors")
    assert loaded.base_model == "tiny-llama" and loaded.info == {"method": "test"}
    deltas.apply(model, loaded)
    assert torch.equal(model(input_ids=x).logits, patched_logits)
    deltas.undo(model, loaded)
    # A different base is refused with a message naming the expected base.
    with torch.no_grad():
        model.lm_head.weight[0, 0] += 1.0
    with pytest.raises(deltas.DeltaMismatch, match="tiny-llama"):
        deltas.apply(model, loaded)
