from __future__ import annotations

import json
import logging

from stmtl.training.health import run_warnings
from stmtl.training.run import train
from tests.helpers import toy_config


class FakeHead:
    """A sentence head as run_warnings reads it: its selection metric and chance level."""

    selection_key = "accuracy"
    greater_is_better = True

    def chance_level(self) -> float:
        return 0.25


class FakeModel:
    heads = {"intent": FakeHead()}


def test_run_that_learned_nothing_warns_naming_task_cause_and_flag(tiny_backbone, tmp_path, caplog) -> None:
    config = toy_config(tmp_path, tiny_backbone, lr_backbone=0.0, lr_heads=0.0, max_steps=8, eval_every=8, log_every=2)
    with caplog.at_level(logging.WARNING):
        _, results = train(config)
    intent = next(line for line in results["warnings"] if line.startswith("task 'intent'"))
    assert "near chance" in intent and "hardly moved" in intent and "--min-steps" in intent
    assert intent in caplog.text
    assert json.loads((tmp_path / "results.json").read_text())["warnings"] == results["warnings"]
    assert intent in (tmp_path / "README.md").read_text()  # the model card says it too


def test_run_that_learned_has_no_warnings(tiny_backbone, tmp_path) -> None:
    _, results = train(toy_config(tmp_path, tiny_backbone))
    assert results["dev"]["intent"]["accuracy"] == 1.0 and results["warnings"] == []


def test_run_warnings_use_the_probe_loss_as_the_start(tmp_path) -> None:
    records = [
        {"type": "probe", "loss": {"intent": {"loss_start": 1.39, "loss_end": 1.0}}},
        {"type": "train", "step": 20, "loss": {"intent": 1.36}},
        {"type": "train", "step": 40, "loss": {"intent": 1.35}},
    ]
    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text("".join(json.dumps(record) + "\n" for record in records))
    (warning,) = run_warnings(FakeModel(), {"intent": {"accuracy": 0.34}}, metrics)
    assert "0.340 is near chance (0.250)" in warning and "1.390 -> 1.350 in 40 steps" in warning
    assert run_warnings(FakeModel(), {"intent": {"accuracy": 0.9}}, metrics) == [
        warning.replace("dev accuracy 0.340 is near chance (0.250) and ", "")
    ]


def test_run_warnings_skip_a_line_cut_short_by_a_killed_run(tmp_path) -> None:
    metrics = tmp_path / "metrics.jsonl"
    lines = ['{"type": "train", "step": 20, "loss": {"intent": 1.38}}', '{"type": "train", "st',
             '{"type": "train", "step": 40, "loss": {"intent": 1.37}}']  # fmt: skip
    metrics.write_text("\n".join(lines) + "\n")
    (warning,) = run_warnings(FakeModel(), {"intent": {"accuracy": 0.9}}, metrics)
    assert "1.380 -> 1.370 in 40 steps" in warning
