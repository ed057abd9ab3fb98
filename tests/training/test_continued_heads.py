"""A saved stmtl model as the backbone: its heads go on training, checked against the tasks; frozen heads' losses."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stmtl.config import ConfigError
from stmtl.training.run import setup
from tests.helpers import toy_config, toy_dataset


def _state(model) -> dict[str, torch.Tensor]:
    return {f"{task}.{name}": p.detach().clone() for task, head in model.heads.items()
            for name, p in head.named_parameters()}  # fmt: skip


@pytest.fixture
def saved_model(tiny_backbone, tmp_path) -> tuple[str, dict[str, torch.Tensor]]:
    """A saved model with the toy tasks' heads (intent, slots), and their weights."""
    model = setup(toy_config(tmp_path / "source", tiny_backbone, seed=5)).unwrapped
    model.save(str(tmp_path / "saved"))
    return str(tmp_path / "saved"), _state(model)


def test_saved_heads_continue_with_their_weights_and_skip_the_probe(saved_model, tmp_path) -> None:
    folder, saved = saved_model
    trainer = setup(toy_config(tmp_path / "run", folder))
    assert trainer.fitted_heads == {"intent", "slots"}
    state = _state(trainer.unwrapped)
    assert all(torch.equal(saved[key], state[key]) for key in saved)
    trainer._probe_heads()
    assert all(torch.equal(saved[key], value) for key, value in _state(trainer.unwrapped).items())


def test_a_new_task_name_gets_a_new_head_beside_a_continued_one(saved_model, tmp_path) -> None:
    folder, saved = saved_model
    data = toy_dataset()
    config = toy_config(tmp_path / "run", folder, tasks=[
        {"name": "intent", "kind": "sentence", "train": data, "dev": data},
        {"name": "ner", "kind": "token", "train": data, "dev": data},
    ])  # fmt: skip
    trainer = setup(config)
    assert trainer.fitted_heads == {"intent"}
    assert set(trainer.unwrapped.heads) == {"intent", "ner"}
    state = _state(trainer.unwrapped)
    assert all(torch.equal(saved[key], state[key]) for key in saved if key.startswith("intent."))


def test_a_saved_head_of_another_kind_or_without_the_datas_labels_is_refused(saved_model, tmp_path) -> None:
    folder, _ = saved_model
    data = toy_dataset()
    swapped = toy_config(tmp_path / "a", folder, tasks=[{"name": "slots", "kind": "sentence", "train": data}])
    with pytest.raises(ConfigError, match="task 'slots' is of kind 'sentence'.*TokenClassificationHead"):
        setup(swapped)
    relabelled = data.map(lambda row: {"label": "brand_new_intent"})
    unknown = toy_config(tmp_path / "b", folder, tasks=[{"name": "intent", "kind": "sentence", "train": relabelled}])
    with pytest.raises(ConfigError, match=r"the backbone's head lacks label\(s\) \['brand_new_intent'\]"):
        setup(unknown)


def test_dropping_the_loss_of_every_head_a_stream_trains_is_refused(tiny_backbone, tmp_path) -> None:
    config = toy_config(tmp_path, tiny_backbone, freeze="head:intent,head:slots", frozen_head_loss="drop")
    with pytest.raises(ConfigError, match="frozen_head_loss 'drop'.*only frozen heads"):
        setup(config)


def test_a_frozen_heads_loss_is_kept_or_dropped(tiny_backbone, tmp_path) -> None:
    keep = setup(toy_config(tmp_path / "keep", tiny_backbone, freeze="head:intent"))
    drop = setup(toy_config(tmp_path / "drop", tiny_backbone, freeze="head:intent", frozen_head_loss="drop"))
    assert list(keep.loss_tasks.values()) == [["intent", "slots"]]
    assert list(drop.loss_tasks.values()) == [["slots"]]
    stream = drop.streams[0]
    losses, _ = drop.training_step(stream, stream.rows(np.arange(4)))
    assert set(losses) == {"slots"}
