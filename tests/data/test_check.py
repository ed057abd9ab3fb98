"""stmtl.data.check: each finding on a purpose-built file, and errors only for what training cannot survive."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from stmtl.data.check import check_data, check_tasks, label_counts
from stmtl.data.check_report import render


def _jsonl(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return str(path)


def _row(text: str, label: str, tags: str | None = None, **extra: object) -> dict:
    row = {"text": text, "label": label, **extra}
    if tags is not None:
        row.update(tokens=text.split(), tags=tags.split())
    return row


TRAIN = [
    _row("book a table at nobu", "Book", "O O O O B-rest"),
    _row("book a table at noma tonight", "Book", "O O O O B-rest B-date"),
    _row("weather in paris", "Weather", "O O B-city"),
    _row("weather in paris", "Weather", "O O B-city"),  # a duplicate row
    _row("Weather in  Rome", "Weather", "O O B-city"),
    _row("weather in rome", "Book", "O O B-city"),  # the same text, labelled another way
]
DEV = [_row("weather in paris", "Weather", "O O B-city"), _row("play adele", "Play", "O B-artist")]


@pytest.fixture
def sample(tmp_path) -> tuple[str, str]:
    return _jsonl(tmp_path / "train.jsonl", TRAIN), _jsonl(tmp_path / "dev.jsonl", DEV)


def test_check_data_reports_tasks_counts_and_warnings(sample, tiny_backbone) -> None:
    train, dev = sample
    report = check_data(train, dev, backbone=tiny_backbone)
    assert report.exit_code == 0 and not report.errors
    assert [(task.name, task.kind) for task in report.tasks] == [("intent", "sentence"), ("slots", "token")]
    intent, slots = report.tasks
    assert intent.label_counts == {"train": {"Weather": 3, "Book": 3}, "dev": {"Play": 1, "Weather": 1}}
    assert slots.label_counts["train"] == {"city": 4, "rest": 2, "date": 1}  # entities per type
    assert intent.rare == ["Book", "Weather"] and slots.rare == ["city", "date", "rest"]
    assert intent.unseen == {"dev": {"Play": 1}} and slots.unseen == {"dev": {"artist": 1}}
    assert intent.overlap == {"dev": 1} and intent.overlap_examples == {"dev": ["weather in paris"]}
    train_source = report.sources[0]
    assert (train_source.split, train_source.rows, train_source.duplicate_rows) == ("train", 6, 1)
    assert train_source.conflicting_texts == ["Weather in  Rome"]  # as first written
    assert train_source.unknown_columns == {}
    warnings = "\n".join(report.warnings)
    assert "rare label(s) with fewer than 5 training examples: Book (3), Weather (3)" in warnings
    assert "Play (1)" in warnings and "artist (1)" in warnings
    assert warnings.count("also in the training data") == 1  # one finding for the two tasks sharing the files
    assert "1 duplicate row(s)" in warnings and "ignored" not in warnings


def test_check_data_text_and_json_reports(sample, tiny_backbone) -> None:
    report = check_data(*sample, backbone=tiny_backbone)
    text = render(report)
    assert "Labels of 'intent' (sentence: examples per label)" in text
    assert "not in train (dev)" in text and "rare" in text
    assert text.splitlines()[-1].startswith("no errors: the data can be trained on; 7 warning(s)")
    values = json.loads(json.dumps(report.to_dict()))
    assert values["exit_code"] == 0 and values["tasks"][0]["label_counts"]["dev"] == {"Play": 1, "Weather": 1}


def test_check_data_counts_texts_cut_at_max_seq_length(sample, tiny_backbone) -> None:
    report = check_data(*sample, backbone=tiny_backbone, max_seq_length=5)
    lengths = report.sources[0].lengths
    # Unknown words split into letters: "noma" is 4 pieces, the texts 5 to 16 pieces with [CLS] and [SEP].
    assert report.max_seq_length == 5 and lengths["max"] > 5 and lengths["truncated"] == 6
    assert any("6 of 6 texts are longer than max_seq_length=5" in warning for warning in report.warnings)
    assert check_data(*sample, backbone=tiny_backbone).sources[0].lengths["truncated"] == 0  # the tokenizer's 64


def test_check_data_reports_tag_conversion(tmp_path, tiny_backbone) -> None:
    rows = [_row("visit paris now", "Go", "O I-city O"), _row("visit new york", "Go", "O I-city I-city")]
    rows += [_row("stay home", "Stay", "O O")]
    report = check_data(_jsonl(tmp_path / "iob1.jsonl", rows), backbone=tiny_backbone)
    assert report.sources[0].tag_conversion == {"scheme": "IOB1", "changed": 2, "total": 8}
    assert "IOB1→IOB2 (2 changed)" in render(report)


def test_check_data_error_without_label_columns(tmp_path) -> None:
    report = check_data(_jsonl(tmp_path / "x.jsonl", [{"text": "hi", "lable": "x"}]))
    assert report.exit_code == 2 and "x.jsonl:1: key 'lable' is read by no head kind" in report.errors[0]
    csv = tmp_path / "x.csv"
    csv.write_text("text,intent\nhello,greet\n", encoding="utf-8")
    assert "x.csv:1: column 'intent' is read by no head kind" in check_data(str(csv)).errors[0]


def test_check_data_error_on_a_task_with_one_label(tmp_path, tiny_backbone) -> None:
    rows = [_row("hello there", "greet", "O O"), _row("hi", "greet", "O")]
    report = check_data(_jsonl(tmp_path / "one.jsonl", rows), backbone=tiny_backbone)
    assert report.exit_code == 2
    assert [error.split(":")[0] for error in report.errors] == ["task 'intent' (sentence)", "task 'slots' (token)"]
    assert "needs at least 2" in report.errors[0]


def test_check_data_error_on_mixed_tag_schemes(tmp_path) -> None:
    rows = [_row("a b", "x", "B-p I-p"), _row("c d", "y", "S-p O"), _row("e f", "y", "I-p O")]
    report = check_data(_jsonl(tmp_path / "mixed.jsonl", rows))
    assert report.exit_code == 2 and report.sources[0].error is not None
    assert "mixed.jsonl:3:" in report.errors[0] and "one tag scheme" in report.errors[0]
    assert "unreadable" in render(report)


def test_check_data_error_on_an_unreadable_dev_row(tmp_path, tiny_backbone) -> None:
    train = _jsonl(tmp_path / "train.jsonl", [_row("hello", "greet"), _row("bye", "leave")])
    dev = tmp_path / "dev.jsonl"
    dev.write_text('{"text": "hi", "label": "greet"}\n{"text": "yo", "label": 3}\n', encoding="utf-8")
    report = check_data(train, str(dev), backbone=tiny_backbone)
    assert report.exit_code == 2 and report.errors == [
        f"dev data cannot be read: {dev}:2: 'label' must be a string, got a number"
    ]
    assert report.sources[0].rows == 2  # the training file is still described


def test_check_data_joint_folder_brings_its_splits(tmp_path, tiny_backbone) -> None:
    for split, lines in (("train", ["play adele", "weather in rome"]), ("dev", ["weather in rome"])):
        folder = tmp_path / "joint" / split
        folder.mkdir(parents=True)
        (folder / "seq.in").write_text("\n".join(lines) + "\n")
        tags = ["O B-artist" if line.startswith("play") else "O O B-city" for line in lines]
        (folder / "seq.out").write_text("\n".join(tags) + "\n")
        (folder / "label").write_text("\n".join(line.split()[0] for line in lines) + "\n")
    report = check_data(str(tmp_path / "joint"), backbone=tiny_backbone)
    assert [source.split for source in report.sources] == ["train", "dev"]
    assert report.tasks[0].overlap == {"dev": 1}  # the splits share the folder's path, not their rows


def test_check_data_warns_when_dev_is_the_training_file(sample, tiny_backbone) -> None:
    train, _ = sample
    report = check_data(train, train, backbone=tiny_backbone)
    assert [warning for warning in report.warnings if "itself" in warning] == [
        f"the dev data is the training data itself ({train}): its scores overstate unseen text"
    ]


def test_check_data_reads_a_config(sample, tmp_path, tiny_backbone) -> None:
    train, dev = sample
    config = tmp_path / "run.yaml"
    tasks = [{"name": "intent", "kind": "sentence", "train": train, "dev": dev}]
    config.write_text(json.dumps({"tasks": tasks, "backbone": tiny_backbone, "max_seq_length": 6}))
    report = check_data(config=str(config))
    assert [task.name for task in report.tasks] == ["intent"] and report.max_seq_length == 6
    assert report.sources[0].unknown_columns == {"tokens": 6, "tags": 6}  # no task reads the tags
    assert any("['tags', 'tokens'] are ignored: no task of this run (intent)" in w for w in report.warnings)
    with pytest.raises(ValueError, match="one of the two"):
        check_data(train, config=str(config))


def test_check_tasks_takes_in_memory_datasets_without_lengths() -> None:
    from datasets import Dataset

    data = Dataset.from_list([{"text": "a", "labels": ["x", "y"]}, {"text": "b", "labels": []}])
    report = check_tasks([{"name": "topics", "kind": "multilabel", "train": data}], lengths=False)
    assert report.sources[0].source == "<dataset>" and report.sources[0].lengths is None
    assert report.tasks[0].label_counts == {"train": {"x": 1, "y": 1}}
    assert label_counts(data, "multilabel") == {"x": 1, "y": 1}


def test_check_data_a_key_no_kind_reads_is_an_error_naming_line_and_key(tmp_path, tiny_backbone) -> None:
    train = _jsonl(tmp_path / "train.jsonl", [_row("hi", "greet"), _row("bye", "leave", lang="en")])
    report = check_data(train, backbone=tiny_backbone)
    assert report.exit_code == 2
    assert any("train.jsonl:2:" in error and "'lang'" in error for error in report.errors), report.errors


def test_check_tasks_takes_a_runs_task_configs_as_train_would(sample) -> None:
    from datasets import Dataset

    from stmtl.config import TaskConfig

    train, dev = sample
    memory = Dataset.from_list([{"text": "a", "label": "x"}, {"text": "b", "label": "y"}])
    tasks = [TaskConfig("intent", "sentence", train, dev), TaskConfig("other", "sentence", memory)]
    report = check_tasks(tasks, lengths=False)
    assert [source.source for source in report.sources] == [train, "<dataset>", dev]
    assert report.tasks[1].label_counts == {"train": {"x": 1, "y": 1}} and tasks[1].train is memory
    assert report.exit_code == 0 and any("Play (1)" in warning for warning in report.warnings)


def test_train_logs_the_check_data_warnings_first(tiny_backbone, tmp_path, caplog) -> None:
    import logging

    from stmtl.training.run import train
    from tests.helpers import toy_config

    with caplog.at_level(logging.WARNING, logger="stmtl.data.check"):
        train(toy_config(tmp_path, tiny_backbone, max_steps=1, eval_every=1))
    warnings = [record.getMessage() for record in caplog.records if record.name == "stmtl.data.check"]
    assert "the dev data is the training data itself (<dataset>): its scores overstate unseen text" in warnings
    assert any("task 'intent': 4 rare label(s) with fewer than 5 training examples" in w for w in warnings)


def test_check_tasks_reads_token_only_datasets_and_names_missing_columns() -> None:
    from datasets import Dataset

    tokens_only = Dataset.from_list([{"tokens": ["in", "paris"], "tags": ["O", "B-city"]}])
    report = check_tasks([{"name": "slots", "kind": "token", "train": tokens_only, "dev": tokens_only}], lengths=False)
    assert report.tasks[0].label_counts == {"train": {"city": 1}, "dev": {"city": 1}} and not report.errors
    no_tags = Dataset.from_list([{"text": "in paris", "label": "x"}])
    report = check_tasks([{"name": "slots", "kind": "token", "train": no_tags}], lengths=False)
    assert report.errors == ["task 'slots' (token) needs column(s) ['tokens', 'tags'] in its train data <dataset>"]


def test_warn_data_findings_never_stops_a_run(monkeypatch, caplog) -> None:
    import stmtl.data.check as check

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in a check")

    monkeypatch.setattr(check, "check_tasks", broken)
    assert check.warn_data_findings([]).warnings == []


def test_check_tasks_reads_columns_through_arrow_not_row_by_row(monkeypatch) -> None:
    # datasets' lazy Column formats one row at a time: reading a 1M-row corpus that way made the check before step 1
    # grow by minutes. Every kind's columns (texts, labels, tags, label lists, numbers) are read in one Arrow call.
    from datasets import Dataset
    from datasets.arrow_dataset import Column

    from tests.helpers import toy_dataset

    def row_by_row(self):  # noqa: ANN001, ANN202
        raise AssertionError("a column was iterated row by row")

    monkeypatch.setattr(Column, "__iter__", row_by_row)
    toy = toy_dataset().shuffle(seed=0).select(range(12))  # an indices mapping: the rows of the view, not the table
    topics = Dataset.from_list([{"text": "a", "labels": ["x", "y"]}, {"text": "b", "labels": []}])
    ratings = Dataset.from_list([{"text": "a", "stars": 1.0}, {"text": "b", "stars": 4.0}])
    tasks = [
        {"name": "intent", "kind": "sentence", "train": toy, "dev": toy_dataset()},
        {"name": "slots", "kind": "token", "train": toy},
        {"name": "topics", "kind": "multilabel", "train": topics},
        {"name": "stars", "kind": "regression", "train": ratings},
    ]
    report = check_tasks(tasks, lengths=False)
    assert report.exit_code == 0, report.errors
    assert report.tasks[0].label_counts["train"] == dict(
        sorted(Counter(toy.to_dict()["label"]).items(), key=lambda item: (-item[1], item[0]))
    )
    assert report.tasks[0].overlap["dev"] == 12
