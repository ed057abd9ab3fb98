"""Parity of the exported graphs with the PyTorch model (tiny model: tests/conftest.py ``exported_model``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import stmtl
from tests.decoding.test_torch_parity import assert_same_predictions
from tests.helpers import TOY, TRICKY_TEXTS, two_task_model

TEXTS = [*TRICKY_TEXTS, *(text for text, _, _ in TOY), "x " * 80, "a", "rate this novel 5 stars"]


@pytest.fixture(scope="module")
def torch_model(exported_model):
    return stmtl.load(exported_model)


def test_export_writes_the_graphs_inside_the_model_folder(exported_model) -> None:
    folder = Path(exported_model) / "onnx"
    assert sorted(path.name for path in folder.iterdir()) == [
        "export.json", "model.onnx", "model_qint8.onnx", "tokenizer.json",
    ]  # fmt: skip
    manifest = json.loads((folder / "export.json").read_text())
    graph = manifest["graphs"]["model"]
    assert graph["outputs"] == ["sentence_embedding", "token_embeddings", "intent_logits", "ner_logits",
                                "topics_logits"]  # fmt: skip
    assert manifest["inputs"] == ["input_ids", "attention_mask", "token_type_ids"]
    assert max(graph["max_abs_diff"]["onnx"].values()) < 1e-4
    assert [head["kind"] for head in manifest["heads"]] == ["sentence", "token", "multilabel"]


def test_export_graph_axes_are_dynamic(exported_model) -> None:
    import onnxruntime as ort

    session = ort.InferenceSession(str(Path(exported_model) / "onnx" / "model.onnx"))
    for item in session.get_inputs():
        assert all(isinstance(size, str) for size in item.shape), item  # (batch, sequence), both symbolic
    assert {item.name: len(item.shape) for item in session.get_outputs()}["ner_logits"] == 3


def test_onnx_embeddings_within_1e4_of_pytorch(exported_model, torch_model) -> None:
    expected = torch_model.encode(TEXTS, batch_size=4)
    onnx_model = stmtl.load(exported_model, backend="onnx")
    actual = onnx_model.encode(TEXTS, batch_size=4)
    assert actual.shape == expected.shape and actual.dtype == np.float32
    assert np.abs(actual - expected).max() < 1e-4
    assert np.abs(onnx_model.encode("book a table") - torch_model.encode("book a table")).max() < 1e-4
    normalized = onnx_model.encode(TEXTS[:3], normalize_embeddings=True)
    assert np.allclose(np.linalg.norm(normalized, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("batch_size", [1, 5, 32])
def test_onnx_predictions_identical_to_pytorch(exported_model, torch_model, batch_size) -> None:
    expected = torch_model.predict(TEXTS, batch_size=batch_size, output_embedding=True)
    actual = stmtl.load(exported_model, backend="onnx").predict(TEXTS, batch_size=batch_size, output_embedding=True)
    for a, e in zip(actual, expected):
        assert np.abs(a.pop("sentence_embedding") - e.pop("sentence_embedding")).max() < 1e-4
    assert_same_predictions(actual, expected, score_tolerance=1e-4)
    assert any(result["ner"] for result in actual) and any(result["topics"] for result in actual)


def test_onnx_iter_predict_streams_as_predict(exported_model) -> None:
    model = stmtl.load(exported_model, backend="onnx")
    streamed = list(model.iter_predict(iter(TEXTS), batch_size=3))
    assert_same_predictions(streamed, model.predict(TEXTS, batch_size=3), score_tolerance=1e-6)
    assert model.predict([]) == [] and model.encode([]).shape == (0, 32)


def test_int8_runs_and_returns_the_same_structure(exported_model, torch_model) -> None:
    expected = torch_model.predict(TEXTS, output_embedding=True)
    actual = stmtl.load(exported_model, backend="onnx-int8").predict(TEXTS, output_embedding=True)
    assert len(actual) == len(expected)
    for text, a, e in zip(TEXTS, actual, expected):
        assert a.keys() == e.keys()
        assert set(a["intent"]) == {"label", "score"} and a["intent"]["label"] in torch_model.heads["intent"].labels
        assert a["sentence_embedding"].shape == e["sentence_embedding"].shape
        for entity in a["ner"]:
            assert set(entity) == {"label", "start", "end", "text", "score"}
            assert text[entity["start"] : entity["end"]] == entity["text"]
        assert all(item["score"] >= 0.45 for item in a["topics"])
    gap = np.abs(np.stack([a["sentence_embedding"] for a in actual]) - torch_model.encode(TEXTS)).max()
    assert gap < 0.1  # quantized, yet close


def test_onnx_model_refuses_what_predict_refuses(exported_model) -> None:
    model = stmtl.load(exported_model, backend="onnx")
    with pytest.raises(TypeError, match=r"texts\[1\] is int"):
        model.predict(["a", 3])
    with pytest.raises(TypeError, match="single string"):
        model.predict("a text")
    with pytest.raises(ValueError, match="lone surrogate"):
        model.encode(["\ud800"])


def test_load_onnx_backend_arguments_checked(exported_model, tmp_path) -> None:
    with pytest.raises(ValueError, match="unknown backend 'tensorrt'"):
        stmtl.load(exported_model, backend="tensorrt")
    with pytest.raises(ValueError, match="runs on the CPU"):
        stmtl.load(exported_model, backend="onnx", device="cuda")
    with pytest.raises(ValueError, match="takes no option 'model_kwargs'"):
        stmtl.load(exported_model, backend="onnx", model_kwargs={})
    with pytest.raises(FileNotFoundError, match="no ONNX export"):
        stmtl.load(str(tmp_path), backend="onnx")


def test_export_of_a_model_with_a_task_adapter(tiny_backbone, tmp_path) -> None:
    from stmtl.onnx.export import export_onnx

    model = two_task_model(tiny_backbone, 32, seed=2)
    adapter = model.add_task_adapter()
    torch.manual_seed(2)
    with torch.no_grad():
        for parameter in adapter.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.5)  # LoRA B starts at zero: make the adapter matter
    model.eval()
    folder = tmp_path / "adapted"
    model.save(str(folder))
    manifest = export_onnx(folder)
    assert manifest["graphs"]["encoder"]["outputs"] == ["sentence_embedding", "token_embeddings"]
    assert manifest["graphs"]["model"]["outputs"] == ["intent_logits", "ner_logits"]
    onnx_model = stmtl.load(folder, backend="onnx")
    source = model.encode(TEXTS)
    assert np.abs(onnx_model.encode(TEXTS) - source).max() < 1e-4  # the source encoder's embedding
    adapted = model.encode(TEXTS[:1], output_value="ner_logits")[0].numpy()  # (pieces, labels)
    encoded = onnx_model.tokenizer.encode(TEXTS[:1])
    logits = onnx_model._run("model", ["ner_logits"], encoded)["ner_logits"][0]
    assert np.abs(logits - adapted).max() < 1e-4
    with model.task_adapter.disabled():  # the adapter changes the heads' logits: the graph has it merged
        plain = model.encode(TEXTS[:1], output_value="ner_logits")[0].numpy()
    assert np.abs(plain - adapted).max() > 1e-2
    expected = model.predict(TEXTS, output_embedding=True)
    actual = onnx_model.predict(TEXTS, output_embedding=True)
    for a, e in zip(actual, expected):
        assert np.abs(a.pop("sentence_embedding") - e.pop("sentence_embedding")).max() < 1e-4
    assert_same_predictions(actual, expected, score_tolerance=1e-4)


def test_export_refuses_a_head_without_a_torch_free_decoder(exported_model, tmp_path, monkeypatch) -> None:
    import shutil

    from stmtl.heads import SentenceClassificationHead
    from stmtl.onnx.export import export_onnx

    folder = tmp_path / "model"
    shutil.copytree(exported_model, folder, ignore=shutil.ignore_patterns("onnx"))
    monkeypatch.setattr(SentenceClassificationHead, "decoder_class", None)
    with pytest.raises(ValueError, match="head 'intent' \\(sentence\\) has no torch-free decoder"):
        export_onnx(folder)
    assert not (folder / "onnx").exists()


def test_export_of_a_regression_head(tiny_backbone, tmp_path) -> None:
    from stmtl.heads.regression.head import SentenceRegressionHead

    model = two_task_model(tiny_backbone, 32, seed=4)
    model.append(SentenceRegressionHead("rating", 32, target_mean=3.0, target_std=1.5))
    model.save(str(tmp_path / "model"))
    stmtl.export_onnx(tmp_path / "model")
    expected = model.predict(TEXTS[:4])
    assert_same_predictions(stmtl.load(tmp_path / "model", backend="onnx").predict(TEXTS[:4]), expected, 1e-4)


def test_export_of_a_token_head_with_a_crf(tiny_backbone, tmp_path) -> None:
    from stmtl.heads import TokenClassificationHead

    model = two_task_model(tiny_backbone, 32, seed=6)
    head = TokenClassificationHead("chained", ["O", "B-x", "I-x"], 32, crf=True)
    with torch.no_grad():
        head.chain.transitions.normal_(std=3.0)
    model.append(head)
    model.save(str(tmp_path / "model"))
    stmtl.export_onnx(tmp_path / "model")
    expected = model.predict(TEXTS[:4])
    assert_same_predictions(stmtl.load(tmp_path / "model", backend="onnx").predict(TEXTS[:4]), expected, 1e-4)


def test_export_of_an_intent_aware_token_head(tiny_backbone, tmp_path) -> None:
    from stmtl.heads import TokenClassificationHead

    model = two_task_model(tiny_backbone, 32, seed=5)
    model.append(TokenClassificationHead("aware", ["O", "B-x", "I-x"], 32, sentence_context=True))
    model.save(str(tmp_path / "model"))
    stmtl.export_onnx(tmp_path / "model")
    expected = model.predict(TEXTS[:4])
    assert_same_predictions(stmtl.load(tmp_path / "model", backend="onnx").predict(TEXTS[:4]), expected, 1e-4)
