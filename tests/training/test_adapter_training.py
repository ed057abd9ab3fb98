"""Training in adapter mode: the heads learn through LoRA adapters while encode() stays the source model's."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sentence_transformers import SentenceTransformer

import stmtl
from stmtl.backbone import encoder_modules
from stmtl.config import ConfigError
from stmtl.training.run import setup, train
from tests.helpers import TOY, toy_config

TEXTS = [text for text, _, _ in TOY]


@pytest.fixture(scope="module")
def adapter_run(tiny_backbone, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("adapter")
    # encoder None: the default, which trains a task adapter (training_config.json records it below).
    settings = {"encoder": None, "adapter_rank": 8, "lr_adapter": 2e-2, "adapter_dropout": 0.0, "epochs": 40}
    config = toy_config(run_dir, tiny_backbone, **settings)
    model, results = train(config)
    return run_dir, model, results


def test_adapter_run_learns_the_tasks_and_keeps_encode_bit_identical(adapter_run, tiny_backbone) -> None:
    run_dir, model, results = adapter_run
    assert results["dev"]["intent"]["accuracy"] == 1.0
    assert results["dev"]["slots"]["f1"] == 1.0
    source = stmtl.build([], backbone=tiny_backbone, device="cpu")
    assert np.array_equal(model.encode(TEXTS), source.encode(TEXTS))
    drift = results["embedding_drift"]
    assert drift["unchanged_by_construction"] and drift["identical"] and drift["mean_cosine"] == pytest.approx(1.0)


def test_adapter_run_trains_only_the_adapter_and_the_heads(adapter_run, tiny_backbone) -> None:
    _, model, _ = adapter_run
    original = encoder_modules(tiny_backbone)[0].auto_model.state_dict()
    with model.task_adapter.removed():
        trained = model[0].auto_model.state_dict()
    assert sorted(trained) == sorted(original)
    assert all(torch.equal(original[name], trained[name]) for name in original)
    assert any(p.abs().sum() > 0 for name, p in model.task_adapter.state_dict().items() if "lora_B" in name)


def test_adapter_run_folder_loads_as_the_source_in_plain_sentence_transformers(adapter_run, tiny_backbone) -> None:
    run_dir, model, _ = adapter_run
    plain = SentenceTransformer(str(run_dir), device="cpu")
    source = stmtl.build([], backbone=tiny_backbone, device="cpu")
    assert np.array_equal(plain.encode(TEXTS), source.encode(TEXTS))
    reloaded = stmtl.load(run_dir, device="cpu")
    assert reloaded.predict(TEXTS) == model.predict(TEXTS)
    config = json.loads((run_dir / "training_config.json").read_text())
    assert config["encoder"] == "adapter" and config["preserve_embeddings"] == 0.0


def test_adapter_run_continues_a_saved_adapter_and_refuses_full_fine_tuning(adapter_run, tmp_path) -> None:
    run_dir, model, _ = adapter_run
    trainer = setup(toy_config(tmp_path / "more", str(run_dir), encoder=None))  # the default continues it
    continued = trainer.unwrapped.task_adapter
    assert continued.config == model.task_adapter.config
    saved = model.task_adapter.state_dict()
    assert all(torch.equal(saved[name], tensor) for name, tensor in continued.state_dict().items())
    with pytest.raises(ConfigError, match="carries a task adapter"):
        setup(toy_config(tmp_path / "full", str(run_dir), encoder="full"))


def test_adapter_targets_that_match_nothing_are_refused_naming_the_key(tiny_backbone, tmp_path) -> None:
    with pytest.raises(ConfigError, match="adapter_targets"):
        setup(toy_config(tmp_path, tiny_backbone, encoder="adapter", adapter_targets="no_such_layer"))


def test_adapter_run_with_a_frozen_head_keeps_encode_bit_identical_also_streamed(tiny_backbone, tmp_path) -> None:
    from stmtl.heads import SentenceClassificationHead, TokenClassificationHead

    rows = [{"text": text, "label": label, "tokens": text.split(), "tags": tags.split()} for text, label, tags in TOY]
    intents = sorted({row["label"] for row in rows})
    tags = ["O", *sorted({tag for row in rows for tag in row["tags"]} - {"O"})]
    train_file = tmp_path / "train.jsonl"
    train_file.write_text("".join(json.dumps(row) + "\n" for row in rows))
    heads = [SentenceClassificationHead("intent", intents, 32), TokenClassificationHead("slots", tags, 32)]
    start = stmtl.build(heads, backbone=tiny_backbone, device="cpu")
    start.save(str(tmp_path / "start"))
    kinds = {"intent": "sentence", "slots": "token"}
    tasks = [{"name": name, "kind": kind, "train": str(train_file)} for name, kind in kinds.items()]
    config = toy_config(tmp_path / "run", str(tmp_path / "start"), encoder=None, streaming=True, shuffle_buffer=8,
                        max_steps=6, eval_every=6, tasks=tasks, freeze="head:intent")  # fmt: skip
    model, _ = train(config)
    assert model.task_adapter is not None  # streaming and a frozen head leave the default adapter mode
    pairs = {task: zip(model.heads[task].parameters(), start.heads[task].parameters()) for task in kinds}
    assert all(torch.equal(a, b) for a, b in pairs["intent"])
    assert not all(torch.equal(a, b) for a, b in pairs["slots"])
    assert np.array_equal(model.encode(TEXTS), start.encode(TEXTS))
