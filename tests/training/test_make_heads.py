"""make_heads: one head per task from its kind's class, with the task's options."""

from __future__ import annotations

import pytest

from stmtl.config import ConfigError, TrainConfig
from stmtl.training.run import make_heads
from tests.helpers import toy_dataset


def _config(options: dict | None) -> TrainConfig:
    data = toy_dataset()
    tasks = [{"name": "topics", "kind": "multilabel", "train": data, "options": options}]
    return TrainConfig.from_dict({"output_dir": "x", "tasks": tasks})


def test_make_heads_passes_a_tasks_options_to_its_head() -> None:
    data = toy_dataset().map(lambda row: {"labels": [row["label"]]})
    [head] = make_heads(_config({"threshold": 0.3}), {"topics": data}, 8)
    assert head.threshold == 0.3 and head.in_features == 8


def test_make_heads_refuses_an_option_the_kind_does_not_have() -> None:
    data = toy_dataset().map(lambda row: {"labels": [row["label"]]})
    with pytest.raises(ConfigError, match=r"task 'topics': option\(s\) \['prior'\] are not settings of a multilabel"):
        make_heads(_config({"prior": [1.0]}), {"topics": data}, 8)


def _train_and_reload(tiny_backbone, tmp_path, slot_options: dict):
    """Train intent + slots on the toy data with ``slot_options`` on the slot task; the model, its dev results, the
    model loaded back from its folder and the toy texts."""
    import stmtl
    from stmtl.training.run import train
    from tests.helpers import TOY, toy_config

    data = toy_dataset()
    tasks = [
        {"name": "intent", "kind": "sentence", "train": data, "dev": data},
        {"name": "slots", "kind": "token", "train": data, "dev": data, "options": slot_options},
    ]
    model, results = train(toy_config(tmp_path, tiny_backbone, tasks=tasks))
    return model, results, stmtl.load(tmp_path, device="cpu"), [text for text, _, _ in TOY]


def test_intent_aware_slot_head_trains_saves_and_reloads(tiny_backbone, tmp_path) -> None:
    model, results, reloaded, texts = _train_and_reload(tiny_backbone, tmp_path, {"sentence_context": True})
    assert model.heads["slots"].sentence_context
    assert results["dev"]["slots"]["f1"] == 1.0
    assert reloaded.heads["slots"].sentence_context and reloaded.predict(texts) == model.predict(texts)


def test_crf_slot_head_trains_saves_and_reloads(tiny_backbone, tmp_path) -> None:
    model, results, reloaded, texts = _train_and_reload(tiny_backbone, tmp_path, {"crf": True})
    learned = model.heads["slots"].crf
    assert results["dev"]["slots"]["f1"] == 1.0
    assert any(score != 0.0 for row in learned["transitions"] for score in row)  # the transitions were trained
    assert reloaded.heads["slots"].crf == learned and reloaded.predict(texts) == model.predict(texts)


def test_a_token_task_gets_a_crf_unless_its_options_turn_it_off() -> None:
    data = toy_dataset()

    def slot_head(options: dict | None):
        tasks = [{"name": "slots", "kind": "token", "train": data, "options": options}]
        [head] = make_heads(TrainConfig.from_dict({"output_dir": "x", "tasks": tasks}), {"slots": data}, 8)
        return head

    assert slot_head(None).chain is not None and isinstance(slot_head(None).get_config_dict()["crf"], dict)
    assert slot_head({"crf": False}).chain is None and slot_head({"crf": False}).get_config_dict()["crf"] is False
