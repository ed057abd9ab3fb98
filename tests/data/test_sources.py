from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import datasets
import pytest

from stmtl.data import DataError, read_task_data

ErrorCheck = Callable[..., str]


def test_read_task_data_dataset_passthrough() -> None:
    data = datasets.Dataset.from_dict({"text": ["a"], "label": ["x"]})
    assert read_task_data(data) is data
    tokens = datasets.Dataset.from_dict({"tokens": [["a"]], "tags": [["O"]]})
    assert read_task_data(tokens) is tokens


def test_read_task_data_dataset_dict_split() -> None:
    dev = datasets.Dataset.from_dict({"text": ["b"], "label": ["y"]})
    data = datasets.DatasetDict({"train": datasets.Dataset.from_dict({"text": ["a"], "label": ["x"]}), "dev": dev})
    assert read_task_data(data, "dev") is dev
    with pytest.raises(DataError, match="'test'"):
        read_task_data(data, "test")


def test_read_task_data_dataset_missing_columns() -> None:
    data = datasets.Dataset.from_dict({"text": ["a"], "tokens": [["a"]]})
    with pytest.raises(DataError) as info:
        read_task_data(data)
    text = str(info.value)
    assert "none of 'label' (sentence task), 'tokens'/'tags' (token task)" in text
    assert "it has columns ['text', 'tokens']" in text
    assert "\n" not in text


def test_read_task_data_folder(tmp_path: Path) -> None:
    for split, label in (("train", "A"), ("dev", "B")):
        (tmp_path / split).mkdir()
        (tmp_path / split / "seq.in").write_text("hi\n", encoding="utf-8")
        (tmp_path / split / "seq.out").write_text("O\n", encoding="utf-8")
        (tmp_path / split / "label").write_text(f"{label}\n", encoding="utf-8")
    assert read_task_data(tmp_path)["label"] == ["A"]
    assert read_task_data(str(tmp_path), "dev")["label"] == ["B"]


@pytest.mark.parametrize("name", ["d.jsonl", "d.json", "D.JSONL"])
def test_read_task_data_jsonl_suffixes(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text('{"text": "a", "label": "x"}\n', encoding="utf-8")
    assert read_task_data(path).to_dict() == {"text": ["a"], "label": ["x"]}


@pytest.mark.parametrize("name", ["d.conll", "d.bio", "d.iob", "d.txt"])
def test_read_task_data_conll_suffixes(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("a O\n", encoding="utf-8")
    assert read_task_data(str(path)).to_dict() == {"tokens": [["a"]], "tags": [["O"]], "text": ["a"]}


def test_read_task_data_unknown_suffix(tmp_path: Path, check_error: ErrorCheck) -> None:
    path = tmp_path / "d.xlsx"
    path.write_text("a,b\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_task_data(path)
    text = check_error(info, "d.xlsx", None)
    assert "'.xlsx'" in text and ".jsonl" in text and ".csv" in text and ".tsv" in text and ".conll" in text


def test_read_task_data_missing_path(tmp_path: Path, check_error: ErrorCheck) -> None:
    with pytest.raises(DataError) as info:
        read_task_data(tmp_path / "nowhere.jsonl")
    check_error(info, "nowhere.jsonl", None)
