from __future__ import annotations

import json
import logging

import numpy as np
import pytest

import stmtl
import stmtl.training.drift as drift_module
from stmtl.data import DataError
from stmtl.sts import evaluate_sts
from stmtl.training.drift import drift_texts, embedding_drift
from stmtl.training.run import train
from tests.helpers import TOY, toy_config

TEXTS = [text for text, _, _ in TOY]


@pytest.fixture(scope="module")
def sts_file(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("sts") / "sts.tsv"
    gold = {(i, j): 5.0 if TOY[i][1] == TOY[j][1] else 1.0 + (i + j) % 3 for i in range(8) for j in (i + 1, i + 4)}
    pairs = [(TOY[i][0], TOY[j][0], score) for (i, j), score in gold.items()]
    path.write_text("sentence1\tsentence2\tscore\n" + "".join(f"{a}\t{b}\t{s}\n" for a, b, s in pairs))
    return str(path)


def test_drift_texts_distinct_non_empty_and_capped() -> None:
    rows = [{"text": t} for t in ["a", "b", "a", " ", "c", "d"]]
    assert drift_texts([rows]) == ["a", "b", "c", "d"]
    assert drift_texts([rows[:2], rows[4:]], limit=3) == ["a", "b", "c"]


def test_embedding_drift_of_a_model_against_itself_is_one(tiny_backbone, sts_file) -> None:
    model = stmtl.build([], backbone=tiny_backbone, device="cpu")
    drift = embedding_drift(model, model, TEXTS, sts_file)
    assert drift["mean_cosine"] == pytest.approx(1.0, abs=1e-4) and drift["texts"] == len(TEXTS)
    assert drift["sts_spearman"] == drift["source_sts_spearman"] == round(evaluate_sts(model, sts_file)["spearman"], 2)
    assert drift["warning"] is None


def test_embedding_drift_warns_when_the_embeddings_moved(tiny_backbone) -> None:
    import torch

    source = stmtl.build([], backbone=tiny_backbone, device="cpu")
    moved = stmtl.build([], backbone=tiny_backbone, device="cpu")
    torch.manual_seed(1)
    with torch.no_grad():
        for parameter in moved.parameters():
            parameter.add_(torch.randn_like(parameter) * parameter.std().nan_to_num(0.02))
    trained = moved.encode(TEXTS, normalize_embeddings=True)
    original = source.encode(TEXTS, normalize_embeddings=True)
    drift = embedding_drift(moved, source, TEXTS)
    assert drift["mean_cosine"] == pytest.approx(float(np.mean(np.sum(trained * original, axis=1))), abs=1e-4)
    assert drift["mean_cosine"] < drift_module.WARN_BELOW
    assert "--preserve-embeddings" in drift["warning"] and drift["sts_spearman"] is None


def test_run_records_drift_in_results_card_and_log(tiny_backbone, tmp_path, sts_file, caplog, capsys) -> None:
    config = toy_config(tmp_path, tiny_backbone, max_steps=4, sts=sts_file)
    with caplog.at_level(logging.WARNING):
        model, results = train(config)
    drift = results["embedding_drift"]
    keys = {"mean_cosine", "identical", "unchanged_by_construction", "texts", "sts_spearman", "source_sts_spearman"}
    assert set(drift) == keys | {"warning"}
    assert drift["identical"] is False and drift["unchanged_by_construction"] is False
    assert drift["texts"] == len(TEXTS) and -1.0 <= drift["mean_cosine"] < 1.0
    source = stmtl.build([], backbone=tiny_backbone, device="cpu")
    assert drift["source_sts_spearman"] == round(evaluate_sts(source, sts_file)["spearman"], 2)
    assert drift["sts_spearman"] == round(evaluate_sts(model, sts_file)["spearman"], 2)
    assert json.loads((tmp_path / "results.json").read_text())["embedding_drift"] == drift
    assert model.card_info["embedding_drift"] == drift
    last = json.loads((tmp_path / "metrics.jsonl").read_text().splitlines()[-1])
    assert last == {"type": "embedding_drift", "split": "dev", **drift, "elapsed_s": last["elapsed_s"]}
    assert f"embedding drift: mean cosine {drift['mean_cosine']:.3f}" in capsys.readouterr().err
    warned = [record.getMessage() for record in caplog.records if "--preserve-embeddings" in record.getMessage()]
    assert bool(warned) == (drift["mean_cosine"] < drift_module.WARN_BELOW) == (drift["warning"] is not None)


def test_run_with_a_frozen_backbone_has_no_drift(tiny_backbone, tmp_path, monkeypatch, caplog) -> None:
    monkeypatch.setattr(drift_module, "WARN_BELOW", 0.9999)
    with caplog.at_level(logging.WARNING):
        _, results = train(toy_config(tmp_path, tiny_backbone, max_steps=2, freeze="backbone"))
    assert results["embedding_drift"]["mean_cosine"] == pytest.approx(1.0, abs=1e-4)
    assert results["embedding_drift"]["warning"] is None
    assert not [record for record in caplog.records if "--preserve-embeddings" in record.getMessage()]


def test_run_without_dev_data_measures_drift_on_the_training_texts(tiny_backbone, tmp_path) -> None:
    data = toy_config(tmp_path, tiny_backbone).tasks[0].train
    tasks = [{"name": "intent", "kind": "sentence", "train": data}]
    _, results = train(toy_config(tmp_path, tiny_backbone, tasks=tasks, max_steps=2))
    assert results["embedding_drift"]["texts"] == len(TEXTS)
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["split"] == "train"


def test_run_refuses_a_bad_sts_file_before_training(tiny_backbone, tmp_path) -> None:
    with pytest.raises(DataError, match="no-such.tsv"):
        train(toy_config(tmp_path / "run", tiny_backbone, sts=str(tmp_path / "no-such.tsv")))
    assert not (tmp_path / "run" / "checkpoints").exists()
