from __future__ import annotations

import logging

from stmtl.training.run import train
from tests.helpers import toy_config, toy_dataset


def test_run_warns_about_a_sentence_task_with_a_single_label(tiny_backbone, tmp_path, caplog) -> None:
    data = toy_dataset().map(lambda row: {"label": "PlayMusic"})
    tasks = [{"name": "intent", "kind": "sentence", "train": data, "dev": data}]
    with caplog.at_level(logging.WARNING):
        train(toy_config(tmp_path, tiny_backbone, tasks=tasks, max_steps=1, eval_every=1))
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert any("'intent'" in message and "single label" in message for message in warnings), warnings
