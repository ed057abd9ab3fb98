"""Streamed training sources: training, exact resume, interleaving and a bad row met mid-run."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

import stmtl
from stmtl.config import ConfigError
from stmtl.data import DataError
from stmtl.training.checkpoint import list_checkpoints
from stmtl.training.run import train
from tests.helpers import INTENTS, TOY, toy_config, toy_dataset


def _write_jsonl(path, rows) -> str:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


def _toy_rows() -> list[dict]:
    return [{"text": text, "label": label, "tokens": text.split(), "tags": tags.split()} for text, label, tags in TOY]


def _streaming_config(output_dir, backbone, train_file, **overrides):
    tasks = [
        {"name": "intent", "kind": "sentence", "train": train_file, "dev": toy_dataset()},
        {"name": "slots", "kind": "token", "train": train_file, "dev": toy_dataset()},
    ]
    values = dict(streaming=True, shuffle_buffer=8, max_steps=100, tasks=tasks)
    return toy_config(output_dir, backbone, **{**values, **overrides})


def test_streaming_trains_to_the_toy_set(tiny_backbone, tmp_path) -> None:
    train_file = _write_jsonl(tmp_path / "train.jsonl", _toy_rows())
    model, results = train(_streaming_config(tmp_path / "run", tiny_backbone, train_file))
    assert results["steps"] == 100
    assert results["dev"]["intent"]["accuracy"] == 1.0 and results["dev"]["slots"]["f1"] >= 0.9
    assert [p["intent"]["label"] for p in model.predict([text for text, _, _ in TOY])] == [row[1] for row in TOY]


def test_streaming_resume_equals_uninterrupted(tiny_backbone, tmp_path) -> None:
    # 16 rows in batches of 4 with a buffer of 8: step 6 is inside the second data epoch, mid-buffer.
    train_file = _write_jsonl(tmp_path / "train.jsonl", _toy_rows())
    settings = dict(max_steps=12, eval_every=6, save_total_limit=10)
    full = tmp_path / "full"
    train(_streaming_config(full, tiny_backbone, train_file, **settings))
    middle, last = list_checkpoints(full)[0], list_checkpoints(full)[-1]
    assert middle.name == "step-0000006" and last.name == "step-0000012"

    resumed = tmp_path / "resumed"
    (resumed / "checkpoints").mkdir(parents=True)
    shutil.copytree(middle, resumed / "checkpoints" / middle.name)
    train(_streaming_config(resumed, tiny_backbone, train_file, **settings), resume=True)
    a = stmtl.load(last, device="cpu").state_dict()
    b = stmtl.load(resumed / "checkpoints" / last.name, device="cpu").state_dict()
    assert all(torch.equal(a[name], b[name]) for name in a)
    changed = stmtl.load(middle, device="cpu").state_dict()
    assert not all(torch.equal(a[name], changed[name]) for name in a)  # the resumed half did train


def test_streaming_interleaves_sources(tiny_backbone, tmp_path) -> None:
    intents = _write_jsonl(tmp_path / "intents.jsonl", [{"text": t, "label": label} for t, label, _ in TOY])
    slots = _write_jsonl(tmp_path / "slots.jsonl", [{"tokens": t.split(), "tags": tags.split()} for t, _, tags in TOY])
    tasks = [
        {"name": "intent", "kind": "sentence", "train": intents, "dev": toy_dataset()},
        {"name": "slots", "kind": "token", "train": slots, "dev": toy_dataset()},
    ]
    config = toy_config(tmp_path / "run", tiny_backbone, streaming=True, max_steps=120, mode="interleave", tasks=tasks)
    _, results = train(config)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    trained = {task for record in records if record["type"] == "train" for task in record["loss"]}
    assert trained == {"intent", "slots"}
    assert results["dev"]["intent"]["accuracy"] == 1.0


def test_streaming_bad_row_stops_the_run_naming_the_line_with_checkpoints_intact(tiny_backbone, tmp_path) -> None:
    rows = [json.dumps(row) for row in _toy_rows() * 4]
    rows.insert(40, '{"text": "broken", "label": "PlayMusic", "tokens": ["broken"], "tags": ["X-nope"]}')
    train_file = tmp_path / "train.jsonl"
    train_file.write_text("\n".join(rows) + "\n")
    tasks = [
        {"name": "intent", "kind": "sentence", "train": str(train_file), "dev": toy_dataset(),
         "labels": INTENTS + ["SetAlarm"]},
        {"name": "slots", "kind": "token", "train": str(train_file), "dev": toy_dataset(),
         "labels": ["O", "B-artist", "B-city", "I-city", "B-party", "B-date", "B-time", "I-time"]},
    ]  # fmt: skip
    run = tmp_path / "run"
    # The head probe would read row 41 before the first step; without it the row is met mid-run, after checkpoints.
    config = toy_config(
        run,
        tiny_backbone,
        streaming=True,
        shuffle_buffer=2,
        max_steps=40,
        eval_every=2,
        tasks=tasks,
        head_init="random",
    )
    with pytest.raises(DataError, match=r"train\.jsonl:41: .*X-nope"):
        train(config)
    checkpoints = list_checkpoints(run)
    assert checkpoints and stmtl.load(checkpoints[-1], device="cpu").heads["intent"].labels


def test_streaming_needs_a_step_budget(tiny_backbone, tmp_path) -> None:
    with pytest.raises(ConfigError, match="max_steps"):
        toy_config(tmp_path, tiny_backbone, streaming=True)
