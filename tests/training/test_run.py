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


def test_run_prints_no_loader_bars_between_training_lines(tiny_backbone, tmp_path, capsys) -> None:
    from transformers.utils import logging as transformers_logging

    from stmtl.training.run import train
    from tests.helpers import toy_config

    transformers_logging.enable_progress_bar()  # an in-process CLI test before this one may have turned them off
    train(toy_config(tmp_path, tiny_backbone, max_steps=6, eval_every=2))
    err = capsys.readouterr().err
    assert "Training" in err and "Writing model shards" not in err and "Loading weights" not in err
    assert transformers_logging.is_progress_bar_enabled()  # restored afterwards
