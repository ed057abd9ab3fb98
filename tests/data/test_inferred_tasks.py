from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from stmtl.data import DataError
from stmtl.data.inferred_tasks import infer_tasks


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_infer_tasks_one_task_per_head_type_with_columns(tmp_path: Path) -> None:
    both = _jsonl(tmp_path / "both.jsonl", [{"text": "a b", "label": "x", "tokens": ["a", "b"], "tags": ["O", "B-t"]}])
    row = {"text": "a", "label": "x", "labels": ["y"], "tokens": ["a"], "tags": ["O"]}
    tagged = _jsonl(tmp_path / "all.jsonl", [row])
    assert [(t["name"], t["kind"]) for t in infer_tasks(both)] == [("intent", "sentence"), ("slots", "token")]
    assert [t["kind"] for t in infer_tasks(tagged)] == ["sentence", "token", "multilabel"]
    assert infer_tasks(both, dev=both) == [
        {"name": "intent", "kind": "sentence", "train": str(both), "dev": str(both), "test": None},
        {"name": "slots", "kind": "token", "train": str(both), "dev": str(both), "test": None},
    ]


def test_infer_tasks_reads_only_the_first_row(tmp_path: Path) -> None:
    # Bad rows further down are the run's to report (with their line), not a reason to read a large file twice.
    path = _jsonl(tmp_path / "big.jsonl", [{"text": "a", "label": "x"}, {"text": "", "label": "x"}])
    assert [t["kind"] for t in infer_tasks(path)] == ["sentence"]


def test_infer_tasks_dev_without_a_tasks_labels_leaves_that_task_without_dev(tmp_path: Path, caplog) -> None:
    both = _jsonl(tmp_path / "both.jsonl", [{"text": "a b", "label": "x", "tokens": ["a", "b"], "tags": ["O", "O"]}])
    conll = tmp_path / "dev.conll"
    conll.write_text("a O\nb B-t\n")
    with caplog.at_level(logging.WARNING):
        tasks = infer_tasks(both, dev=conll, test=both)
    found = [(t["name"], t["dev"], t["test"]) for t in tasks]
    assert found == [("intent", None, str(both)), ("slots", str(conll), str(both))]
    assert any("'intent'" in record.getMessage() and "dev.conll" in record.getMessage() for record in caplog.records)


def test_infer_tasks_dev_with_none_of_the_labels_is_refused(tmp_path: Path, check_error) -> None:
    intents = _jsonl(tmp_path / "intents.jsonl", [{"text": "a", "label": "x"}])
    conll = tmp_path / "dev.conll"
    conll.write_text("a O\n")
    with pytest.raises(DataError) as info:
        infer_tasks(intents, dev=conll)
    assert "'intent'" in check_error(info, "dev.conll", None)
