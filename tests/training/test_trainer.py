from __future__ import annotations

import json
import shutil

import pytest
import torch

import stmtl
from stmtl.config import ConfigError
from stmtl.training.checkpoint import list_checkpoints
from stmtl.training.run import train
from tests.helpers import TOY, toy_config


@pytest.fixture(scope="module")
def overfit(tiny_backbone, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("overfit")
    model, results = train(toy_config(run_dir, tiny_backbone))
    return run_dir, model, results


def test_trainer_overfits_then_round_trips(overfit) -> None:
    run_dir, model, results = overfit
    assert results["dev"]["intent"]["accuracy"] == 1.0
    assert results["dev"]["slots"]["f1"] == 1.0
    assert results["dev"]["exact_match"] == 1.0
    texts = [text for text, _, _ in TOY]
    predictions = model.predict(texts)
    assert [p["intent"]["label"] for p in predictions] == [label for _, label, _ in TOY]
    reloaded = stmtl.load(run_dir, device="cpu")
    assert reloaded.predict(texts) == predictions
    entity = predictions[TOY.index(next(row for row in TOY if "new york" in row[0]))]["slots"]
    assert {"label": "city", "text": "new york"}.items() <= next(e for e in entity if e["label"] == "city").items()


def test_trainer_run_folder_artifacts(overfit) -> None:
    run_dir, _, results = overfit
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert {"train", "eval"} <= {record["type"] for record in records}
    assert (run_dir / "training_config.json").is_file() and (run_dir / "results.json").is_file()
    for name in ("loss.png", "eval_metrics.png", "confusion_intent.png"):
        assert (run_dir / "plots" / name).read_bytes().startswith(b"\x89PNG")
    card = (run_dir / "README.md").read_text()
    assert "Training config" in card and "Metrics" in card and "lr_backbone" in card
    assert len(list_checkpoints(run_dir)) <= 2  # the newest plus the best
    assert results["best_checkpoint"] and (run_dir / "checkpoints").is_dir()


@pytest.mark.parametrize(
    "preservation",
    [
        {},
        {"preserve_embeddings": 1.0},
        {"preserve_embeddings": 1.0, "preserve_method": "l2sp"},
        {"encoder": "adapter"},
    ],
    ids=["plain", "distill", "l2sp", "adapter"],
)
def test_trainer_resume_equals_uninterrupted(tiny_backbone, tmp_path, preservation) -> None:
    # With preservation, the resumed run must anchor to the *source* model again, not to the checkpoint it loads.
    full = tmp_path / "full"
    config = dict(epochs=4, eval_every=6, save_total_limit=10, **preservation)
    train(toy_config(full, tiny_backbone, **config, max_steps=12))
    middle, last = list_checkpoints(full)[0], list_checkpoints(full)[-1]
    assert middle.name == "step-0000006" and last.name == "step-0000012"

    resumed = tmp_path / "resumed"
    (resumed / "checkpoints").mkdir(parents=True)
    shutil.copytree(middle, resumed / "checkpoints" / middle.name)
    train(toy_config(resumed, tiny_backbone, **config, max_steps=12), resume=True)
    a = stmtl.load(last, device="cpu").state_dict()
    b = stmtl.load(resumed / "checkpoints" / last.name, device="cpu").state_dict()
    for name in a:
        assert torch.allclose(a[name], b[name], atol=1e-6), name


def test_trainer_refuses_fully_frozen(tiny_backbone, tmp_path) -> None:
    with pytest.raises(ValueError, match="nothing to train"):
        train(toy_config(tmp_path, tiny_backbone, freeze="all"))


def test_trainer_resume_without_checkpoint_is_clear(tiny_backbone, tmp_path) -> None:
    with pytest.raises(ConfigError, match="no complete checkpoint"):
        train(toy_config(tmp_path, tiny_backbone), resume=True)


def test_trainer_frozen_backbone_bit_identical(tiny_backbone, tmp_path) -> None:
    from stmtl.backbone import encoder_modules

    model, _ = train(toy_config(tmp_path / "trained", tiny_backbone, freeze="backbone", epochs=2))
    original = encoder_modules(tiny_backbone)[0].state_dict()
    trained = model[0].state_dict()
    assert all(torch.equal(original[name], trained[name]) for name in original)
    # The same run with a zero head learning rate keeps the heads at their (seeded) initial values.
    untrained, _ = train(toy_config(tmp_path / "untrained", tiny_backbone, freeze="backbone", epochs=2, lr_heads=0.0))
    for task in ("intent", "slots"):
        initial = untrained.heads[task].classifier[-1].weight
        assert initial.shape == model.heads[task].classifier[-1].weight.shape
        assert not torch.equal(model.heads[task].classifier[-1].weight, initial), task


def test_trainer_skips_non_finite_steps_then_stops(tiny_backbone, tmp_path, monkeypatch) -> None:
    from stmtl.heads import TokenClassificationHead
    from stmtl.training.trainer import TrainingError

    monkeypatch.setattr(
        TokenClassificationHead,
        "loss",
        lambda self, features, batch, label_smoothing=0.0: features[self.logits_key].sum() * float("nan"),
    )
    with pytest.raises(TrainingError, match="3 consecutive"):
        train(toy_config(tmp_path, tiny_backbone, nan_patience=3))
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert sum(record["type"] == "skipped_step" for record in records) == 3


def test_trainer_early_stopping_when_dev_stalls(tiny_backbone, tmp_path) -> None:
    config = toy_config(
        tmp_path, tiny_backbone, lr_backbone=0.0, lr_heads=0.0, eval_every=2, early_stopping_patience=2
    )
    _, results = train(config)
    assert results["steps"] == 6  # evals at 2 (best), 4 and 6 without gain: stop


def test_trainer_interleaves_two_corpora_with_uncertainty_weighting(tiny_backbone, tmp_path) -> None:
    from tests.helpers import toy_dataset

    data = toy_dataset()
    intents = data.select(range(0, 16, 2)).remove_columns(["tokens", "tags"])
    entities = data.select(range(1, 16, 2)).remove_columns(["label", "text"])
    config = toy_config(
        tmp_path, tiny_backbone, mode="interleave", loss_weighting="uncertainty", epochs=3,
        tasks=[
            {"name": "intent", "kind": "sentence", "train": intents, "dev": intents},
            {"name": "slots", "kind": "token", "train": entities, "dev": entities},
        ],
    )  # fmt: skip
    _, results = train(config)
    assert set(results["dev"]) == {"intent", "slots"}  # separate corpora: no exact match
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    weights = [record["task_weights"] for record in records if record["type"] == "train"]
    assert weights and weights[-1] != {"intent": 1.0, "slots": 1.0}


def test_trainer_bf16_gradient_accumulation_runs(tiny_backbone, tmp_path) -> None:
    config = toy_config(tmp_path, tiny_backbone, mixed_precision="bf16", gradient_accumulation_steps=2, epochs=4)
    _, results = train(config)
    assert results["steps"] == 8 and results["skipped_steps"] == 0  # 4 epochs x 4 batches / 2 accumulated


def test_trainer_ddp_unused_parameter_search_only_when_batches_skip_heads(tiny_backbone, tmp_path) -> None:
    from stmtl.training.run import setup
    from tests.helpers import toy_dataset

    trainer = setup(toy_config(tmp_path / "joint", tiny_backbone))
    pooler = [p for name, p in trainer.unwrapped.named_parameters() if ".pooler." in name]
    assert pooler and not any(p.requires_grad for p in pooler)  # reached by no loss: not trained
    assert all(p.requires_grad for name, p in trainer.unwrapped.named_parameters() if ".pooler." not in name)
    assert trainer.find_unused_parameters is False  # joint batches reach every trained parameter

    data = toy_dataset()
    tasks = [
        {"name": "intent", "kind": "sentence", "train": data, "dev": data},
        {"name": "slots", "kind": "token", "train": data, "dev": data},
    ]
    trainer = setup(toy_config(tmp_path / "interleave", tiny_backbone, mode="interleave", tasks=tasks))
    assert trainer.find_unused_parameters is True  # each batch trains one head only


def test_trainer_refuses_interleaved_task_with_nothing_to_train(tiny_backbone, tmp_path) -> None:
    from tests.helpers import toy_dataset

    data = toy_dataset()
    tasks = [
        {"name": "intent", "kind": "sentence", "train": data, "dev": data},
        {"name": "slots", "kind": "token", "train": data, "dev": data},
    ]
    config = toy_config(
        tmp_path, tiny_backbone, mode="interleave", freeze="backbone,head:intent", epochs=1, tasks=tasks
    )
    with pytest.raises(ValueError, match="batches of task 'intent' nothing to train"):
        train(config)
    _, results = train(toy_config(tmp_path / "joint", tiny_backbone, freeze="backbone,head:intent", epochs=1))
    assert results["steps"] > 0  # in joint mode the slots loss reaches the slots head on every batch


@pytest.mark.parametrize(("max_steps", "logged"), [(3, [3]), (7, [5, 7])])
def test_trainer_logs_the_last_partial_window_so_short_runs_get_a_loss_curve(
    tiny_backbone, tmp_path, max_steps, logged
) -> None:
    train(toy_config(tmp_path, tiny_backbone, max_steps=max_steps, log_every=5, eval_every=None))
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [record["step"] for record in records if record["type"] == "train"] == logged
    assert (tmp_path / "plots" / "loss.png").read_bytes().startswith(b"\x89PNG")
