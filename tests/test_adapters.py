"""Task adapters: LoRA that only the heads see; the source encoder stays bit-identical."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Transformer
from sentence_transformers.sentence_transformer.modules import Pooling

from stmtl.adapters import ADAPTER_NAME, AdapterConfig, TaskAdapter, read_adapter_config

TEXTS = ["play music by adele", "book a table for two in rome", "weather tomorrow in london"]


@pytest.fixture
def encoder(tiny_backbone) -> SentenceTransformer:
    return SentenceTransformer(modules=[Transformer(tiny_backbone), Pooling(32)], device="cpu")


def _perturb(adapter: TaskAdapter) -> None:
    """Give the adapter non-zero weights (LoRA starts with B = 0, an exact no-op)."""
    torch.manual_seed(1)
    with torch.no_grad():
        for parameter in adapter.parameters():
            parameter.normal_(std=0.2)


def test_adapter_disabled_encodes_bit_identically_and_enabled_does_not(encoder) -> None:
    source = encoder.encode(TEXTS)
    adapter = TaskAdapter(encoder[0].auto_model, AdapterConfig(rank=4))
    _perturb(adapter)
    adapted = encoder.encode(TEXTS)
    with adapter.disabled():
        disabled = encoder.encode(TEXTS)
    assert np.array_equal(disabled, source)
    assert not np.allclose(adapted, source)
    assert np.array_equal(encoder.encode(TEXTS), adapted)  # switched back on after the block


def test_adapter_freezes_the_encoder_and_trains_only_lora(encoder) -> None:
    adapter = TaskAdapter(encoder[0].auto_model, AdapterConfig(rank=4, targets=["query", "value"]))
    trainable = [name for name, p in encoder.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in name for name in trainable)
    # 2 layers x 2 targets x (A: 4 x 32 + B: 32 x 4)
    assert adapter.num_parameters() == 2 * 2 * (4 * 32 + 32 * 4)
    assert len(adapter.layers) == 4


def test_adapter_removed_gives_the_source_state_dict(encoder) -> None:
    before = {name: tensor.clone() for name, tensor in encoder[0].auto_model.state_dict().items()}
    adapter = TaskAdapter(encoder[0].auto_model, AdapterConfig(rank=4))
    with adapter.removed():
        during = encoder[0].auto_model.state_dict()
        assert sorted(during) == sorted(before)
        assert all(torch.equal(during[name], before[name]) for name in before)
    assert any("lora_" in name for name in encoder[0].auto_model.state_dict())


def test_adapter_save_and_load_round_trip(encoder, tiny_backbone, tmp_path) -> None:
    adapter = TaskAdapter(encoder[0].auto_model, AdapterConfig(rank=4, alpha=4.0, dropout=0.0))
    _perturb(adapter)
    adapter.save(tmp_path / "adapter")
    expected = encoder.encode(TEXTS)

    fresh = SentenceTransformer(modules=[Transformer(tiny_backbone), Pooling(32)], device="cpu")
    config = read_adapter_config(tmp_path / "adapter")
    assert config == AdapterConfig(rank=4, alpha=4.0, dropout=0.0)
    loaded = TaskAdapter(fresh[0].auto_model, config)
    loaded.load_weights(tmp_path / "adapter" / "adapter_model.safetensors")
    assert np.array_equal(fresh.encode(TEXTS), expected)


def test_adapter_load_refuses_mismatched_weights(encoder, tiny_backbone, tmp_path) -> None:
    TaskAdapter(encoder[0].auto_model, AdapterConfig(rank=4, targets=["query"])).save(tmp_path / "adapter")
    fresh = SentenceTransformer(modules=[Transformer(tiny_backbone), Pooling(32)], device="cpu")
    other = TaskAdapter(fresh[0].auto_model, AdapterConfig(rank=4, targets=["query", "value"]))
    with pytest.raises(ValueError, match=r"adapter_model\.safetensors: adapter weight .*value.* is missing"):
        other.load_weights(tmp_path / "adapter" / "adapter_model.safetensors")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"rank": 0}, "rank must be an integer"),
        ({"rank": "8"}, "rank must be an integer"),
        ({"dropout": 1.5}, "dropout must be a number"),
        ({"targets": []}, "targets must be a non-empty list"),
        ({"rank": 8, "bias": "all"}, "unknown key 'bias'"),
    ],
)
def test_adapter_config_refuses_bad_values_naming_the_file(tmp_path, values, message) -> None:
    folder = tmp_path / "adapter"
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps(values))
    (folder / "adapter_model.safetensors").write_bytes(b"")
    with pytest.raises(ValueError, match=message) as raised:
        read_adapter_config(folder)
    assert "adapter_config.json" in str(raised.value)


def test_adapter_with_unknown_targets_is_refused(encoder) -> None:
    with pytest.raises(ValueError, match="task adapter"):
        TaskAdapter(encoder[0].auto_model, AdapterConfig(targets=["no_such_projection"]))


def test_adapter_name_is_the_one_peft_layers_hold(encoder) -> None:
    adapter = TaskAdapter(encoder[0].auto_model, AdapterConfig(rank=2))
    assert all(layer.active_adapters == [ADAPTER_NAME] for _, _, layer in adapter.layers)


# The model with a task adapter ------------------------------------------------------------------------------------


def _adapter_model(tiny_backbone):
    from tests.helpers import two_task_model

    model = two_task_model(tiny_backbone, dim=32)
    source = model.encode(TEXTS)
    adapter = model.add_task_adapter(AdapterConfig(rank=4))
    _perturb(adapter)
    return model, source


def test_model_with_adapter_encodes_the_source_and_predicts_adapted(tiny_backbone) -> None:
    model, source = _adapter_model(tiny_backbone)
    assert np.array_equal(model.encode(TEXTS), source)
    adapted_logits = model.encode(TEXTS, output_value="intent_logits")
    with model.task_adapter.disabled():
        source_logits = model.forward(model.tokenize(TEXTS))["intent_logits"]
    assert not torch.allclose(torch.stack(adapted_logits), source_logits)
    predicted = model.predict(TEXTS, output_embedding=True)
    assert all(np.array_equal(row["sentence_embedding"], emb) for row, emb in zip(predicted, source))
    expected = [torch.softmax(row.float(), -1).max().item() for row in adapted_logits]
    assert [row["intent"]["score"] for row in predicted] == pytest.approx(expected)
    everything = model.encode(TEXTS, output_value=None)
    assert all(np.array_equal(row["sentence_embedding"].numpy(), emb) for row, emb in zip(everything, source))
    assert all(torch.equal(row["intent_logits"], logits) for row, logits in zip(everything, adapted_logits))


def test_model_with_adapter_saves_the_source_encoder_and_reloads_the_adapter(tiny_backbone, tmp_path) -> None:
    import stmtl

    model, source = _adapter_model(tiny_backbone)
    model.save(str(tmp_path / "model"))
    assert (tmp_path / "model" / "task_adapter" / "adapter_model.safetensors").is_file()
    assert not (tmp_path / "model" / "adapter_config.json").exists()  # not where sentence-transformers looks
    plain = SentenceTransformer(str(tmp_path / "model"), device="cpu")
    assert np.array_equal(plain.encode(TEXTS), source)
    loaded = stmtl.load(tmp_path / "model", device="cpu")
    assert loaded.task_adapter is not None and loaded.task_adapter.config == model.task_adapter.config
    assert np.array_equal(loaded.encode(TEXTS), source)
    assert loaded.predict(TEXTS) == model.predict(TEXTS)


def test_model_adapter_folder_is_checked_at_load(tiny_backbone, tmp_path) -> None:
    from safetensors.torch import load_file, save_file

    import stmtl

    model, _ = _adapter_model(tiny_backbone)
    model.save(str(tmp_path / "model"))
    weights = tmp_path / "model" / "task_adapter" / "adapter_model.safetensors"
    tensors = load_file(weights)
    tensors[next(iter(tensors))][0, 0] = float("nan")
    save_file(tensors, weights)
    with pytest.raises(ValueError, match=r"task_adapter/adapter_model\.safetensors: tensor .* NaN"):
        stmtl.load(tmp_path / "model", device="cpu")


def test_model_adapter_record_outside_the_folder_is_refused(tiny_backbone, tmp_path) -> None:
    import stmtl

    model, _ = _adapter_model(tiny_backbone)
    model.save(str(tmp_path / "model"))
    config_path = tmp_path / "model" / "config_sentence_transformers.json"
    config = json.loads(config_path.read_text())
    config["stmtl"]["task_adapter"] = "../elsewhere"
    config_path.write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"config_sentence_transformers\.json: key 'stmtl.task_adapter'"):
        stmtl.load(tmp_path / "model", device="cpu")


def test_adapter_merged_encoder_computes_the_adapted_features(encoder) -> None:
    adapter = TaskAdapter(encoder[0].auto_model, AdapterConfig(rank=4))
    _perturb(adapter)
    encoder.eval()
    features = encoder.tokenize(TEXTS)
    adapted = encoder[0](dict(features))["token_embeddings"]
    merged_module = adapter.merged(encoder[0])
    merged = merged_module(dict(features))["token_embeddings"]
    assert torch.allclose(merged, adapted, atol=1e-5)
    assert not any(isinstance(child, type(adapter.layers[0][2])) for child in merged_module.modules())
    shared = {id(p) for p in encoder[0].parameters()}
    embeddings = merged_module.auto_model.embeddings.word_embeddings.weight
    assert id(embeddings) in shared  # untouched weights are shared, not copied
    assert adapter.merged(encoder[0]) is merged_module  # cached while the weights stay
    with torch.no_grad():
        adapter.parameters()[0].add_(1.0)
    assert adapter.merged(encoder[0]) is not merged_module  # rebuilt after a weight changed
    with adapter.disabled():
        assert np.array_equal(encoder.encode(TEXTS), encoder.encode(TEXTS))


def test_adapter_input_dropout_is_uniform_dropout_at_the_configured_rate(encoder) -> None:
    from stmtl.uniform_dropout import UniformDropout

    adapter = TaskAdapter(encoder[0].auto_model, AdapterConfig(rank=2, dropout=0.2))
    dropouts = [layer.lora_dropout[ADAPTER_NAME] for _, _, layer in adapter.layers]
    assert dropouts and all(isinstance(d, UniformDropout) and d.p == 0.2 for d in dropouts)
