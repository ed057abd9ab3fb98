"""Readers write memory-mapped Arrow files cached by file stamp; tokenization is cached by fingerprint."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import stmtl.data.joint_folder as joint_folder
from stmtl.data import read_joint_folder, read_jsonl
from stmtl.features import encode_dataset
from stmtl.heads import SentenceClassificationHead, TokenClassificationHead
from tests.conftest import make_tokenizer
from tests.helpers import INTENTS, TAGS, write_joint_folder


def _counting_rows(monkeypatch) -> list[int]:
    calls: list[int] = []
    original = joint_folder._rows

    def rows(folder: str, kinds: str):  # noqa: ANN202
        calls.append(1)
        yield from original(folder, kinds)

    rows.__qualname__ = rows.__name__ = "_rows"
    monkeypatch.setattr(joint_folder, "_rows", rows)
    return calls


def test_reader_output_is_memory_mapped_and_read_once(tmp_path: Path, monkeypatch) -> None:
    folder = write_joint_folder(tmp_path / "data")
    calls = _counting_rows(monkeypatch)
    first = read_joint_folder(folder)
    second = read_joint_folder(folder)
    assert calls == [1]  # the second read maps the cached Arrow file
    assert first.cache_files and first.cache_files == second.cache_files
    assert second.to_list() == first.to_list() and len(first) == 16


def test_reader_reads_an_edited_file_again(tmp_path: Path, monkeypatch) -> None:
    folder = Path(write_joint_folder(tmp_path / "data"))
    calls = _counting_rows(monkeypatch)
    assert read_joint_folder(folder)["label"][0] == "PlayMusic"
    labels = folder / "train" / "label"
    labels.write_text(labels.read_text().replace("PlayMusic", "PlaySong", 1))
    stat = labels.stat()
    os.utime(labels, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert read_joint_folder(folder)["label"][0] == "PlaySong" and calls == [1, 1]


def test_streaming_reader_yields_the_same_rows(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "a b", "label": "x"}\n\n{"text": "c", "label": "y"}\n')
    assert list(read_jsonl(path, streaming=True)) == read_jsonl(path).to_list()


@pytest.fixture
def heads() -> list:
    return [SentenceClassificationHead("intent", INTENTS + ["SetAlarm"], 8), TokenClassificationHead("slots", TAGS, 8)]


def test_tokenization_is_cached_by_fingerprint(tmp_path: Path, heads) -> None:
    data = read_joint_folder(write_joint_folder(tmp_path / "data"))
    tokenizer = make_tokenizer()
    first = encode_dataset(data, tokenizer, 64, heads, "train")
    again = encode_dataset(data, tokenizer, 64, heads, "train")
    assert again.cache_files == first.cache_files and again["input_ids"] == first["input_ids"]
    shorter = encode_dataset(data, tokenizer, 5, heads, "train")
    assert shorter.cache_files != first.cache_files and max(shorter["length"]) == 5 and any(shorter["truncated"])
    other_labels = [SentenceClassificationHead("intent", ["PlayMusic"], 8), heads[1]]
    relabelled = encode_dataset(data, tokenizer, 64, other_labels, "train")
    assert relabelled.cache_files != first.cache_files
    assert relabelled["labels.intent"] != first["labels.intent"]


def test_tokenization_ids_equal_the_tokenizer_call(tmp_path: Path, heads) -> None:
    data = read_joint_folder(write_joint_folder(tmp_path / "data"))
    tokenizer = make_tokenizer()
    encoded = encode_dataset(data, tokenizer, 64, heads, "train")
    assert encoded["input_ids"] == tokenizer(list(data["text"]), truncation=True, max_length=64)["input_ids"]
