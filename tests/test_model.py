from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch
from sentence_transformers import SentenceTransformer

import stmtl
from stmtl.backbone import encoder_modules
from tests.helpers import INTENTS, TAGS, TRICKY_TEXTS, two_task_model


@pytest.fixture(scope="module")
def model(tiny_backbone: str) -> stmtl.MultiTaskSentenceTransformer:
    return two_task_model(tiny_backbone, dim=32)


@pytest.fixture(scope="module")
def saved(model, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("saved") / "model"
    model.save(str(path))
    return str(path)


def test_model_encode_unchanged_by_heads(model, tiny_backbone: str) -> None:
    encoder = SentenceTransformer(modules=encoder_modules(tiny_backbone), device="cpu")
    assert np.array_equal(model.encode(TRICKY_TEXTS), encoder.encode(TRICKY_TEXTS))  # bit for bit
    assert model.get_embedding_dimension() == 32


def test_model_heads_by_task(model) -> None:
    assert list(model.heads) == ["intent", "ner"]
    logits = model.encode(["play a song"], output_value="intent_logits")
    assert logits[0].shape == (len(INTENTS),)


def test_model_predict_one_result_per_text_with_exact_spans(model) -> None:
    results = model.predict(TRICKY_TEXTS, batch_size=2)
    assert len(results) == len(TRICKY_TEXTS)
    for text, result in zip(TRICKY_TEXTS, results):
        assert list(result) == ["text", "intent", "ner"] and result["text"] == text  # as the CLI prints each line
        assert result["intent"]["label"] in INTENTS
        assert 0.0 < result["intent"]["score"] <= 1.0
        for entity in result["ner"]:
            assert text[entity["start"] : entity["end"]] == entity["text"]
            assert entity["label"] in {tag[2:] for tag in TAGS if tag != "O"}
    assert results[TRICKY_TEXTS.index("")]["ner"] == []


def _rounded(results: list[dict]) -> str:
    """Results with scores rounded: padding to another batch length moves float sums by ~1e-7."""
    return json.dumps(
        json.loads(json.dumps(results), parse_float=lambda value: round(float(value), 4)), sort_keys=True
    )


def test_model_predict_order_independent_of_batching(model) -> None:
    texts = [f"play song {i} " + "x" * (i % 7) for i in range(23)]
    assert _rounded(model.predict(texts, batch_size=4)) == _rounded(model.predict(iter(texts), batch_size=32))


def test_model_predict_empty_and_bad_input(model) -> None:
    assert model.predict([]) == []
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        model.predict(["ok", None])
    with pytest.raises(TypeError, match="single string"):
        model.predict("one string")


def test_model_predict_output_embedding_matches_encode(model) -> None:
    result = model.predict(["play a song"], output_embedding=True)[0]
    assert np.allclose(result["sentence_embedding"], model.encode(["play a song"])[0], atol=1e-6)


def test_model_save_load_identical(model, saved: str) -> None:
    loaded = stmtl.load(saved, device="cpu")
    assert isinstance(loaded, stmtl.MultiTaskSentenceTransformer)
    for name in ("intent_logits", "ner_logits", "sentence_embedding"):
        a = model.encode(TRICKY_TEXTS, output_value=name, convert_to_numpy=False)
        b = loaded.encode(TRICKY_TEXTS, output_value=name, convert_to_numpy=False)
        assert all(torch.equal(x, y) for x, y in zip(a, b)), name
    assert loaded.predict(TRICKY_TEXTS) == model.predict(TRICKY_TEXTS)


def test_model_saved_folder_layout_and_card(saved: str) -> None:
    from pathlib import Path

    folder = Path(saved)
    modules = json.loads((folder / "modules.json").read_text())
    assert [entry["type"].rsplit(".", 1)[-1] for entry in modules] == ["Transformer", "Pooling"]
    heads = json.loads((folder / "heads.json").read_text())
    assert heads[-1]["type"] == "stmtl.heads.token.head.TokenClassificationHead"
    assert (folder / "config_sentence_transformers.json").is_file()
    assert not list(folder.rglob("*.bin")) and not list(folder.rglob("*.pt"))
    card = (folder / "README.md").read_text()
    assert "`intent`" in card and "`GetWeather`" in card and "`B-loc`" in card
    assert not [p.name for p in folder.parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


def test_model_plain_sentence_transformer_loads(model, saved: str) -> None:
    plain = SentenceTransformer(saved, device="cpu")  # no trust_remote_code: tests/test_model_format.py for more
    assert np.array_equal(plain.encode(TRICKY_TEXTS), model.encode(TRICKY_TEXTS))


def test_load_refuses_foreign_module_type(saved: str, tmp_path) -> None:
    import shutil

    copy = tmp_path / "evil"
    shutil.copytree(saved, copy)
    modules = json.loads((copy / "modules.json").read_text())
    modules[-1]["type"] = "evil_package_xyz.Backdoor"  # heads.json: tests/test_model_format.py
    (copy / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(ValueError, match="evil_package_xyz.Backdoor"):
        stmtl.load(copy)
    assert "evil_package_xyz" not in sys.modules


def test_load_names_corrupt_head_weights(saved: str, tmp_path) -> None:
    import shutil

    copy = tmp_path / "corrupt"
    shutil.copytree(saved, copy)
    (weights,) = copy.glob("*_SentenceClassificationHead/model.safetensors")
    weights.write_bytes(weights.read_bytes()[:50])
    with pytest.raises(ValueError, match=weights.parent.name):
        stmtl.load(copy)


def test_load_missing_folder_named(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="nowhere"):
        stmtl.load(tmp_path / "nowhere")


def test_build_rejects_mismatched_head_size(tiny_backbone: str) -> None:
    from stmtl.heads import SentenceClassificationHead

    with pytest.raises(ValueError, match="in_features=16"):
        stmtl.build([SentenceClassificationHead("intent", INTENTS, 16)], backbone=tiny_backbone, device="cpu")


def test_build_rejects_duplicate_tasks(tiny_backbone: str) -> None:
    from stmtl.heads import SentenceClassificationHead

    heads = [SentenceClassificationHead("intent", INTENTS, 32), SentenceClassificationHead("intent", INTENTS, 32)]
    with pytest.raises(ValueError, match="distinct"):
        stmtl.build(heads, backbone=tiny_backbone, device="cpu")


def test_build_unknown_backbone_path_is_clear(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="missing: no such model folder"):
        stmtl.build([], backbone=str(tmp_path / "missing"), device="cpu")


@pytest.mark.parametrize("first", ["encode", "predict"])
def test_model_truncation_warnings_per_call_across_threads(model, first, caplog, monkeypatch) -> None:
    import logging
    import threading

    long_text = " ".join(["play"] * 200)
    calls = {
        "encode": lambda: model.encode([long_text] * 4, batch_size=2),
        "predict": lambda: model.predict([long_text] * 4, batch_size=2),
        "other": lambda: model.encode([long_text, "a", "b", "c"], batch_size=2),
    }
    barrier = threading.Barrier(2, timeout=60)
    preprocess = SentenceTransformer.preprocess

    def in_step(self, *args, **kwargs):  # both calls tokenize their batches in lockstep: fully interleaved
        barrier.wait()
        return preprocess(self, *args, **kwargs)

    monkeypatch.setattr(SentenceTransformer, "preprocess", in_step)
    errors = []

    def run(name: str) -> None:
        try:
            calls[name]()
        except Exception as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(name,), name=name) for name in (first, "other")]
    with caplog.at_level(logging.WARNING, logger="stmtl.model"):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert not errors
    warnings = sorted((record.threadName, record.getMessage()[:10]) for record in caplog.records)
    assert warnings == sorted([(first, "4 text(s) "), ("other", "1 text(s) ")])


def test_model_encode_iterator_one_truncation_warning_for_all_windows(model, caplog) -> None:
    import logging

    long_text = " ".join(["play"] * 200)
    with caplog.at_level(logging.WARNING, logger="stmtl.model"):
        model.encode(iter([long_text] * 20), batch_size=1)  # two windows of 16 and 4 texts
    assert [record.getMessage()[:11] for record in caplog.records] == ["20 text(s) "]
