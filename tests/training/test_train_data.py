from __future__ import annotations

import json

import pytest

from stmtl.training.run import train
from stmtl.training.train_data import AUTO_EPOCHS, budget_epochs
from tests.helpers import toy_config


@pytest.mark.parametrize(
    ("batches", "accumulation", "min_steps", "epochs"),
    [(4, 1, 400, 100.0), (409, 1, 400, AUTO_EPOCHS), (4, 2, 400, 200.0), (3, 1, 10, 10 / 3)],
)
def test_budget_epochs_gives_small_data_min_steps_and_large_data_three_passes(
    batches, accumulation, min_steps, epochs
) -> None:
    assert budget_epochs(batches, accumulation, min_steps) == pytest.approx(epochs)


def test_run_without_epochs_takes_min_steps_and_records_the_resolved_budget(tiny_backbone, tmp_path) -> None:
    # The toy set is 16 rows: 4 batches of 4 an epoch, so 22 steps are 5.5 epochs.
    config = toy_config(tmp_path, tiny_backbone, epochs=None, eval_every=None, min_steps=22)
    _, results = train(config)
    assert results["steps"] == 22
    saved = json.loads((tmp_path / "training_config.json").read_text())
    assert saved["epochs"] == 5.5 and saved["eval_every"] == 3  # 10 evaluations: every ceil(22 / 10) steps
    assert json.loads((tmp_path / "run.json").read_text())["config"]["epochs"] is None  # what --resume compares
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if r["type"] == "eval"] == [3, 6, 9, 12, 15, 18, 21, 22]
    assert config.epochs is None and config.eval_every is None  # the caller's config is not changed
