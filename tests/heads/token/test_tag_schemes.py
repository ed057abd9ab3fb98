"""Tag schemes as files bring them: IOB1 (CoNLL-2003), BIOES, BILOU, recognised per file and converted to IOB2."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import datasets
import pytest

from stmtl.data import DataError, read_conll, read_joint_folder, read_jsonl, read_task_data
from stmtl.heads.token import tag_schemes
from stmtl.heads.token.tag_schemes import TagSchemeScan, convert_dataset, tag_parts

ErrorCheck = Callable[..., str]

# CoNLL-2003 as distributed: word POS chunk NER, IOB1 in both tag columns, -DOCSTART- lines.
CONLL_2003 = """-DOCSTART- -X- -X- O

EU NNP I-NP I-ORG
rejects VBZ I-VP O
German JJ I-NP I-MISC
call NN I-NP O
to TO I-VP O
boycott VB I-VP O
British JJ I-NP I-MISC
lamb NN I-NP O
. . O O

Peter NNP I-NP I-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- -X- O

Talks NNS I-NP O
in IN I-PP O
Germany NNP I-NP I-LOC
France NNP I-NP B-LOC
and CC O O
Spain NNP I-NP I-LOC
"""

CONLL_2003_IOB2 = [
    ["B-ORG", "O", "B-MISC", "O", "O", "O", "B-MISC", "O", "O"],
    ["B-PER", "I-PER"],
    ["O", "O", "B-LOC", "B-LOC", "O", "B-LOC"],
]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def conversions(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == tag_schemes.__name__]


@pytest.fixture(autouse=True)
def fresh_log_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    # Conversions are logged once per process and file version: each test starts with none logged.
    monkeypatch.setattr(tag_schemes, "_logged", set())


def test_read_conll_converts_conll_2003_iob1_to_iob2(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write(tmp_path / "train.txt", CONLL_2003)
    with caplog.at_level(logging.WARNING):
        data = read_conll(path)
    assert data["tags"] == CONLL_2003_IOB2
    assert data["tokens"][2] == ["Talks", "in", "Germany", "France", "and", "Spain"]
    assert conversions(caplog) == [f"{path}: tags converted from IOB1 to IOB2 (6 of 17 tags changed)"]


def test_read_conll_logs_the_conversion_again_from_the_cache(tmp_path: Path, caplog) -> None:
    path = write(tmp_path / "train.txt", CONLL_2003)
    read_conll(path)
    caplog.clear()
    tag_schemes._logged.clear()  # a new process: the rows now come from the cache, the note is logged from there
    with caplog.at_level(logging.WARNING):
        assert read_conll(path)["tags"] == CONLL_2003_IOB2
        read_conll(path)
    assert conversions(caplog) == [f"{path}: tags converted from IOB1 to IOB2 (6 of 17 tags changed)"]


def test_read_conll_streaming_converts_and_logs_after_a_complete_pass(tmp_path: Path, caplog) -> None:
    path = write(tmp_path / "train.txt", CONLL_2003)
    with caplog.at_level(logging.WARNING):
        rows = list(read_conll(path, streaming=True))
    assert [row["tags"] for row in rows] == CONLL_2003_IOB2
    assert len(conversions(caplog)) == 1


@pytest.mark.parametrize(
    ("scheme", "tags"),
    [
        ("BIOES", "S-PER O B-LOC I-LOC E-LOC S-LOC B-ORG E-ORG"),
        ("BILOU", "U-PER O B-LOC I-LOC L-LOC U-LOC B-ORG L-ORG"),
    ],
)
def test_read_conll_converts_bioes_and_bilou(tmp_path: Path, caplog, scheme: str, tags: str) -> None:
    words = "Ann in New York City Boston Acme Inc".split()
    path = write(tmp_path / "a.conll", "".join(f"{word} {tag}\n" for word, tag in zip(words, tags.split())))
    with caplog.at_level(logging.WARNING):
        data = read_conll(path)
    assert data["tags"] == [["B-PER", "O", "B-LOC", "I-LOC", "I-LOC", "B-LOC", "B-ORG", "I-ORG"]]
    assert conversions(caplog) == [f"{path}: tags converted from {scheme} to IOB2 (4 of 8 tags changed)"]


def test_read_conll_iob2_and_entity_free_files_are_left_alone(tmp_path: Path, caplog) -> None:
    iob2 = write(tmp_path / "iob2.conll", "New B-city\nYork I-city\nParis B-city\nRome B-city\n")
    plain = write(tmp_path / "plain.conll", "no O\nentities O\n")
    with caplog.at_level(logging.WARNING):
        assert read_conll(iob2)["tags"] == [["B-city", "I-city", "B-city", "B-city"]]
        assert read_conll(plain)["tags"] == [["O", "O"]]
    assert conversions(caplog) == []


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("a S-PER\nb O\n\nc I-LOC\n", 4, ["'I-LOC' opening an entity (IOB1)", "'S-PER' (BIOES) on line 1"]),
        ("a I-LOC\n\nb O\nc S-PER\n", 4, ["'S-PER' (BIOES)", "'I-LOC' opening an entity (IOB1) on line 1"]),
        ("a B-X\nb E-X\n\nc U-Y\n", 4, ["'U-Y' (BILOU)", "'E-X' (BIOES) on line 2"]),
        ("a B-X\nb L-X\nc S-Y\n", 3, ["'S-Y' (BIOES)", "'L-X' (BILOU) on line 2"]),
        ("a E-X\nb O\n", 1, ["'E-X' closes no 'X' entity"]),
        ("a B-X\nb E-X\nc E-X\n", 3, ["'E-X' closes no 'X' entity"]),
    ],
)
def test_read_conll_refuses_a_file_that_mixes_schemes(tmp_path: Path, check_error: ErrorCheck, text, line, words):
    path = write(tmp_path / "mixed.conll", text)
    with pytest.raises(DataError) as info:
        read_conll(path)
    message = check_error(info, "mixed.conll", line)
    assert all(word in message for word in words), message


def test_read_conll_unknown_tag_names_the_schemes(tmp_path: Path, check_error: ErrorCheck) -> None:
    path = write(tmp_path / "bad.conll", "EU B-ORG\nrejects O\nBonn X-LOC\n")
    with pytest.raises(DataError) as info:
        read_conll(path)
    assert "'X-LOC'" in check_error(info, "bad.conll", 3) and "IOB1, IOB2, BIOES or BILOU" in str(info.value)


def test_read_jsonl_converts_tags(tmp_path: Path, caplog) -> None:
    rows = [{"tokens": ["in", "new", "york"], "tags": ["O", "I-city", "I-city"]}, {"tokens": ["x"], "tags": ["I-a"]}]
    path = write(tmp_path / "d.jsonl", "".join(json.dumps(row) + "\n" for row in rows))
    with caplog.at_level(logging.WARNING):
        assert read_jsonl(path)["tags"] == [["O", "B-city", "I-city"], ["B-a"]]
    assert conversions(caplog) == [f"{path}: tags converted from IOB1 to IOB2 (2 of 4 tags changed)"]


def test_read_jsonl_mixed_schemes_name_the_line(tmp_path: Path, check_error: ErrorCheck) -> None:
    rows = [{"tokens": ["a"], "tags": ["S-x"]}, {"tokens": ["b"], "tags": ["O"]}, {"tokens": ["c"], "tags": ["I-x"]}]
    path = write(tmp_path / "d.jsonl", "".join(json.dumps(row) + "\n" for row in rows))
    with pytest.raises(DataError) as info:
        read_jsonl(path)
    assert "on line 1" in check_error(info, "d.jsonl", 3)


def test_read_joint_folder_converts_every_split(tmp_path: Path, caplog) -> None:
    for split in ("train", "dev"):
        (tmp_path / split).mkdir()
        write(tmp_path / split / "seq.in", "play jazz now\nbook nobu\n")
        write(tmp_path / split / "seq.out", "O S-genre O\nO S-restaurant\n")
        write(tmp_path / split / "label", "PlayMusic\nBook\n")
    with caplog.at_level(logging.WARNING):
        for split in ("train", "dev"):
            assert read_joint_folder(tmp_path, split)["tags"] == [["O", "B-genre", "O"], ["O", "B-restaurant"]]
    assert conversions(caplog) == [
        f"{tmp_path / split / 'seq.out'}: tags converted from BIOES to IOB2 (2 of 5 tags changed)"
        for split in ("train", "dev")
    ]


def test_convert_dataset_iob1_and_iob2(caplog) -> None:
    iob2 = datasets.Dataset.from_dict({"tokens": [["a", "b"]], "tags": [["B-x", "I-x"]]})
    assert convert_dataset(iob2) is iob2
    assert read_task_data(iob2) is iob2
    iob1 = datasets.Dataset.from_dict({"tokens": [["a", "b"], ["c", "d"]], "tags": [["I-x", "B-x"], ["O", "I-y"]]})
    with caplog.at_level(logging.WARNING):
        assert read_task_data(iob1)["tags"] == [["B-x", "B-x"], ["O", "B-y"]]
    assert conversions(caplog) == ["dataset: tags converted from IOB1 to IOB2 (2 of 4 tags changed)"]


def test_convert_dataset_refuses_mixed_rows() -> None:
    data = datasets.Dataset.from_dict({"tokens": [["a"], ["b"]], "tags": [["U-x"], ["S-x"]]})
    with pytest.raises(DataError, match="^row 2: 'S-x' \\(BIOES\\) after 'U-x' \\(BILOU\\) on row 1"):
        convert_dataset(data)


def test_tag_scan_continuation_needs_an_open_entity_of_the_same_type() -> None:
    scan = TagSchemeScan(None)
    # I-y after x, and I-x after O, open entities; B-x after x opens a new one (IOB1's only use of B-).
    assert scan.convert(["I-x", "I-y", "O", "I-x", "I-x", "B-x", "I-x"], 1) == [
        "B-x", "B-y", "O", "B-x", "I-x", "B-x", "I-x",
    ]  # fmt: skip
    assert scan.scheme == "IOB1" and (scan.changed, scan.total) == (3, 7)


@pytest.mark.parametrize("tag", ["B-PER", "I-x", "E-a", "S-a", "L-a", "U-a", "O"])
def test_tag_parts_accepts_every_scheme(tag: str) -> None:
    assert tag_parts(tag) == (("O", None) if tag == "O" else (tag[0], tag[2:]))


@pytest.mark.parametrize("tag", ["X-FOO", "B-", "S", "o", "", "B_PER", "E-a b"])
def test_tag_parts_rejects_other_tags(tag: str) -> None:
    with pytest.raises(ValueError, match="IOB1, IOB2, BIOES or BILOU"):
        tag_parts(tag)
