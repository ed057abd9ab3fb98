from __future__ import annotations

import json

from stmtl.training.run import train
from tests.helpers import toy_config


def test_accumulation_every_epoch_ends_with_a_step_and_an_evaluation(tiny_backbone, tmp_path) -> None:
    # 4 batches per epoch, 3 accumulated: each epoch takes a step after batch 3 and one after its last batch.
    _, results = train(toy_config(tmp_path, tiny_backbone, epochs=2, eval_every=2, gradient_accumulation_steps=3))
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    evals = [(record["epoch"], record["step"]) for record in records if record["type"] == "eval"]
    assert evals == [(0, 2), (1, 4)]
    assert results["steps"] == 4
