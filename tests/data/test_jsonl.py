from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from stmtl.data import DataError, read_jsonl

BOTH = [
    {
        "text": "play some jazz",
        "label": "PlayMusic",
        "tokens": ["play", "some", "jazz"],
        "tags": ["O", "O", "B-genre"],
    },
    {"label": "Greet", "tokens": ["hi"], "tags": ["O"]},
]

ErrorCheck = Callable[..., str]


def write_jsonl(path: Path, rows: list[object], *, blank_lines: bool = False) -> Path:
    lines = [json.dumps(row) if not isinstance(row, str) else row for row in rows]
    path.write_text(("\n\n" if blank_lines else "\n").join(lines) + "\n", encoding="utf-8")
    return path


def test_read_jsonl_sentence_rows(tmp_path: Path) -> None:
    rows = [{"text": "hello", "label": "greet"}, {"text": "bye", "label": "x"}]
    path = write_jsonl(tmp_path / "s.jsonl", rows)
    data = read_jsonl(path)
    assert data.to_dict() == {"text": ["hello", "bye"], "label": ["greet", "x"]}


@pytest.mark.parametrize("line", [1, 2])
def test_read_jsonl_a_key_no_kind_reads_is_an_error_naming_line_and_key(
    tmp_path: Path, check_error: ErrorCheck, line: int
) -> None:
    rows = [{"text": "hello", "label": "greet"}, {"text": "bye", "label": "x"}]
    rows[line - 1]["note"] = "x"
    with pytest.raises(DataError) as info:
        read_jsonl(write_jsonl(tmp_path / "s.jsonl", rows))
    assert "key 'note' is read by no head kind" in check_error(info, "s.jsonl", line)


def test_read_jsonl_token_rows_join_text(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", [{"tokens": ["New", "York"], "tags": ["B-LOC", "I-LOC"]}])
    data = read_jsonl(path)
    assert data.to_dict() == {"text": ["New York"], "tokens": [["New", "York"]], "tags": [["B-LOC", "I-LOC"]]}


def test_read_jsonl_both_tasks(tmp_path: Path) -> None:
    data = read_jsonl(write_jsonl(tmp_path / "b.jsonl", BOTH, blank_lines=True))
    assert data.column_names == ["text", "label", "tokens", "tags"]
    assert data.to_dict() == {
        "text": ["play some jazz", "hi"],
        "label": ["PlayMusic", "Greet"],
        "tokens": [["play", "some", "jazz"], ["hi"]],
        "tags": [["O", "O", "B-genre"], ["O"]],
    }


def test_read_jsonl_bom_crlf_same_rows(tmp_path: Path) -> None:
    clean = write_jsonl(tmp_path / "clean.jsonl", BOTH)
    crlf = tmp_path / "crlf.jsonl"
    crlf.write_bytes(b"\xef\xbb\xbf" + clean.read_bytes().replace(b"\n", b"\r\n"))
    assert read_jsonl(crlf).to_dict() == read_jsonl(clean).to_dict()


def test_read_jsonl_missing_file(tmp_path: Path, check_error: ErrorCheck) -> None:
    with pytest.raises(DataError) as info:
        read_jsonl(tmp_path / "missing.jsonl")
    check_error(info, "missing.jsonl", None)


def test_read_jsonl_empty_dataset(tmp_path: Path, check_error: ErrorCheck) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_jsonl(path)
    assert "empty dataset" in check_error(info, "empty.jsonl", None)


SENT = {"text": "ok", "label": "x"}


@pytest.mark.parametrize(
    ("good_row", "bad_row", "fragment"),
    [
        (SENT, '{"text": "a", "label": ', "invalid JSON"),
        (SENT, "[1, 2]", "JSON object"),
        (SENT, {"text": "a"}, "none of 'label'"),
        (SENT, {"label": "x"}, "no 'text'"),
        (SENT, {"text": 3, "label": "x"}, "'text' must be a string"),
        (SENT, {"text": "a", "label": 1}, "'label' must be a string"),
        (SENT, {"text": "a", "label": "  "}, "'label' is empty"),
        (SENT, {"text": "", "label": "x"}, "'text' is empty"),
        (SENT, {"tokens": ["a"], "tags": ["O"]}, "same kinds of labels"),
        (BOTH[0], {"text": "a", "label": "x"}, "same kinds of labels"),
        (BOTH[0], {"text": "a", "label": "x", "tokens": ["a"]}, "no 'tags'"),
        (BOTH[0], {"text": "a", "label": "x", "tokens": "a", "tags": ["O"]}, "'tokens' must be a list"),
        (BOTH[0], {"text": "a", "label": "x", "tokens": ["a"], "tags": [None]}, "'tags' must be a list of strings"),
        (BOTH[0], {"text": "a", "label": "x", "tokens": ["a", "b"], "tags": ["O"]}, "1 tags but 2 tokens"),
        (BOTH[0], {"text": "a", "label": "x", "tokens": [], "tags": []}, "'tokens' is empty"),
        (BOTH[0], {"text": "a", "label": "x", "tokens": ["a", ""], "tags": ["O", "O"]}, "empty string"),
        (BOTH[0], {"text": "a", "label": "x", "tokens": ["a"], "tags": ["X-FOO"]}, "unknown tag 'X-FOO'"),
    ],
)
def test_read_jsonl_bad_row_names_line(
    tmp_path: Path, check_error: ErrorCheck, good_row: dict, bad_row: object, fragment: str
) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", [good_row, "", bad_row, good_row])
    with pytest.raises(DataError) as info:
        read_jsonl(path)
    assert fragment in check_error(info, "bad.jsonl", 3)


def test_read_jsonl_kind_mismatch_names_first_line(tmp_path: Path, check_error: ErrorCheck) -> None:
    path = write_jsonl(tmp_path / "mix.jsonl", [{"text": "a", "label": "x"}, {"tokens": ["a"], "tags": ["O"]}])
    with pytest.raises(DataError) as info:
        read_jsonl(path)
    assert "line 1" in check_error(info, "mix.jsonl", 2)


def test_read_jsonl_array_file_hint(tmp_path: Path, check_error: ErrorCheck) -> None:
    path = tmp_path / "array.json"
    path.write_text('[\n  {"text": "a", "label": "x"}\n]\n', encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_jsonl(path)
    assert "JSON Lines" in check_error(info, "array.json", 1)


def test_read_jsonl_multilabel_rows(tmp_path: Path) -> None:
    rows = [{"text": "jazz in paris", "labels": ["music", "travel"]}, {"text": "hello", "labels": []}]
    data = read_jsonl(write_jsonl(tmp_path / "m.jsonl", rows))
    assert data.to_dict() == {"text": ["jazz in paris", "hello"], "labels": [["music", "travel"], []]}


@pytest.mark.parametrize(
    ("bad_row", "fragment"),
    [
        ({"text": "a", "labels": "music"}, "'labels' must be a list of strings"),
        ({"text": "a", "labels": ["music", " "]}, "empty label"),
        ({"labels": ["music"]}, "no 'text'"),
        ({"text": "a", "label": "x"}, "line 1 carries 'labels'"),
    ],
)
def test_read_jsonl_bad_multilabel_row_names_line(tmp_path: Path, bad_row: dict, fragment: str) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", [{"text": "a", "labels": ["music"]}, bad_row])
    with pytest.raises(DataError, match=f"bad.jsonl:2: .*{fragment}"):
        read_jsonl(path)
