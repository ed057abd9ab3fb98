"""resolve_config: every data-dependent default resolved once, into a new config; the given one left as it is."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from stmtl.config import TrainConfig
from stmtl.training.resolve import encoder_mode, resolve_config

TASKS = [{"name": "intent", "kind": "sentence", "train": "a.jsonl"}]


class PlannedData(SimpleNamespace):
    """Map-style training data whose epochs get planned: 4 batches an epoch."""

    batches_per_epoch = 4

    def plan_epochs(self, epochs: float) -> None:
        self.planned = epochs
        self.epoch_lengths = [4] * int(epochs) + ([2] if epochs % 1 else [])


@pytest.mark.parametrize(
    ("rows", "overrides", "weight", "dropout"),
    [
        (13_084, {"encoder": "full"}, 1.0, 0.0),  # enough data to move the encoder far: distillation, no dropout
        (1_000, {"encoder": "full"}, 0.0, None),  # small data: the encoder hardly drifts; preservation costs tasks
        (13_084, {"freeze": "backbone"}, 0.0, None),
        (13_084, {"encoder": "adapter"}, 0.0, None),
        (13_084, {"preserve_embeddings": 0.0}, 0.0, None),
        (500, {"preserve_embeddings": 3.0}, 3.0, 0.0),  # an explicit weight is kept whatever the data size
        (500, {"preserve_embeddings": 3.0, "preserve_method": "l2sp"}, 3.0, None),
    ],
)
def test_resolve_config_preservation_depends_on_training_rows(rows, overrides, weight, dropout) -> None:
    config = TrainConfig.from_dict({"output_dir": "out", "tasks": TASKS, **overrides})
    given = config.to_dict()
    resolved = resolve_config(config, rows, PlannedData())
    assert resolved.preserve_embeddings == weight and resolved.encoder_dropout == dropout
    assert config.to_dict() == given  # the config as given is left alone


def test_resolve_config_plans_the_default_budget_and_the_evaluations() -> None:
    data = PlannedData()
    config = TrainConfig.from_dict({"output_dir": "out", "tasks": TASKS, "min_steps": 10})
    resolved = resolve_config(config, 100, data)
    assert data.planned == resolved.epochs == 3.0  # 4 batches an epoch: 3 epochs give 12 >= 10 steps
    assert resolved.eval_every == 2  # 12 steps, 10 evaluations
    given = TrainConfig.from_dict({"output_dir": "out", "tasks": TASKS, "epochs": 1.5, "eval_every": 5})
    resolved = resolve_config(given, 100, data)
    assert data.planned == resolved.epochs == 1.5 and resolved.eval_every == 5


def test_resolve_config_streamed_run_keeps_its_step_budget(caplog) -> None:
    data = SimpleNamespace(batches_per_epoch=None, epoch_lengths=[30])
    config = TrainConfig.from_dict({"output_dir": "out", "tasks": TASKS, "streaming": True, "max_steps": 30})
    resolved = resolve_config(config, 0, data)
    assert resolved.epochs is None and resolved.eval_every == 3 and resolved.preserve_embeddings == 0.0
    assert "embedding preservation is off" in caplog.text


@pytest.mark.parametrize(
    ("overrides", "has_adapter", "mode"),
    [
        ({}, False, "adapter"),  # the default at every data size
        ({"freeze": "head:intent"}, False, "adapter"),  # a frozen head leaves the encoder's training as it is
        ({"freeze": "backbone"}, False, "full"),  # the encoder's own weights: frozen, so encode() cannot move
        ({"freeze": "layers:0-2"}, False, "full"),
        ({"unfreeze_every": 10}, False, "full"),
        ({"preserve_embeddings": 1.0}, False, "full"),
        ({"preserve_embeddings": 0.0}, False, "adapter"),  # no weight: nothing asks for full fine-tuning
        ({"layer_lr_decay": 0.9}, False, "full"),
        ({"freeze": "backbone"}, True, "adapter"),  # a saved adapter is continued (its heads were trained on it)
        ({"encoder": "full"}, True, "full"),  # as given (setup refuses it with a saved adapter)
        ({"encoder": "adapter", "freeze": "backbone"}, False, "adapter"),
    ],
)
def test_encoder_mode_is_the_adapter_unless_a_setting_trains_the_encoder_itself(overrides, has_adapter, mode) -> None:
    config = TrainConfig.from_dict({"output_dir": "out", "tasks": TASKS, **overrides})
    chosen, reason = encoder_mode(config, has_adapter)
    assert chosen == mode and reason
    assert config.encoder == overrides.get("encoder")  # the given config is left as it is
