"""A third task type through the normal paths: JSONL data, a config with ``kind: multilabel``, joint and interleave."""

from __future__ import annotations

import json

import pytest

import stmtl
from stmtl.cli import main
from stmtl.heads import MultiLabelClassificationHead
from stmtl.training.run import train
from tests.helpers import TOY, toy_config


def _topics(tags: str) -> list[str]:
    """Topics of a toy sentence: which kinds of slot it mentions."""
    kinds = {tag[2:] for tag in tags.split() if tag != "O"}
    return sorted({"place" if kind == "city" else "when" if kind in ("date", "time") else "other" for kind in kinds})


def _write_jsonl(path, rows) -> str:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def jsonl_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("multilabel-data")
    joint = [
        {"text": text, "label": label, "labels": _topics(tags), "tokens": text.split(), "tags": tags.split()}
        for text, label, tags in TOY
    ]
    topics = [{"text": text, "labels": _topics(tags)} for text, _, tags in TOY]
    slots = [{"tokens": text.split(), "tags": tags.split()} for text, _, tags in TOY]
    return {
        "joint": _write_jsonl(folder / "joint.jsonl", joint),
        "topics": _write_jsonl(folder / "topics.jsonl", topics),
        "slots": _write_jsonl(folder / "slots.jsonl", slots),
    }


def test_multilabel_task_joint_from_python_overfits_saves_reloads(tiny_backbone, tmp_path, jsonl_files) -> None:
    data = jsonl_files["joint"]
    tasks = [
        {"name": "intent", "kind": "sentence", "train": data, "dev": data},
        {"name": "topics", "kind": "multilabel", "train": data, "dev": data},
        {"name": "slots", "kind": "token", "train": data, "dev": data},
    ]
    model, results = train(toy_config(tmp_path, tiny_backbone, tasks=tasks))
    assert results["dev"]["topics"]["micro_f1"] == 1.0
    assert results["dev"]["exact_match"] == 1.0  # every task right on every sentence, topics included
    threshold = results["calibration"]["topics"]["threshold"]
    texts = [text for text, _, _ in TOY]
    predictions = model.predict(texts)
    assert [sorted(item["label"] for item in p["topics"]) for p in predictions] == [_topics(t) for _, _, t in TOY]
    reloaded = stmtl.load(tmp_path, device="cpu")
    assert isinstance(reloaded.heads["topics"], MultiLabelClassificationHead)
    assert reloaded.heads["topics"].threshold == threshold
    assert reloaded.predict(texts) == predictions


def test_multilabel_task_interleaved_from_cli_config(tiny_backbone, tmp_path, jsonl_files, capsys) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "mode: interleave\n"
        "tasks:\n"
        f"  - {{name: topics, kind: multilabel, train: {jsonl_files['topics']}, dev: {jsonl_files['topics']}}}\n"
        f"  - {{name: slots, kind: token, train: {jsonl_files['slots']}, dev: {jsonl_files['slots']}}}\n"
    )
    run = tmp_path / "run"
    flags = ["--epochs", "3", "--batch-size", "4", "--backbone", tiny_backbone, "--cpu"]
    assert main(["train", "--config", str(config), "--output", str(run), *flags]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed["dev"]) == {"topics", "slots"}
    assert set(printed["dev"]["topics"]) == {"micro_f1", "macro_f1"}
    assert main(["predict", "--model", str(run), "weather in new york tomorrow"]) == 0
    line = json.loads(capsys.readouterr().out)
    assert isinstance(line["topics"], list) and all(set(item) == {"label", "score"} for item in line["topics"])
    assert isinstance(line["slots"], list)
