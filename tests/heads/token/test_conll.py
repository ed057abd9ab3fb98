from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from stmtl.data import DataError, read_conll

CONLL = """-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- -X- O

Paris\tB-LOC
"""

EXPECTED = {
    "tokens": [["EU", "rejects", "German"], ["Peter", "Blackburn"], ["Paris"]],
    "tags": [["B-ORG", "O", "B-MISC"], ["B-PER", "I-PER"], ["B-LOC"]],
    "text": ["EU rejects German", "Peter Blackburn", "Paris"],
}

ErrorCheck = Callable[..., str]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_read_conll_columns_and_docstart(tmp_path: Path) -> None:
    data = read_conll(write(tmp_path / "a.conll", CONLL))
    assert data.column_names == ["tokens", "tags", "text"]
    assert data.to_dict() == EXPECTED


def test_read_conll_last_sentence_without_blank_line(tmp_path: Path) -> None:
    data = read_conll(write(tmp_path / "a.conll", CONLL.rstrip("\n")))
    assert data.to_dict() == EXPECTED


def test_read_conll_extra_blank_lines_and_docstart_mid_sentence(tmp_path: Path) -> None:
    text = "\n\nEU B-ORG\n-DOCSTART- O\n\n\n\nParis B-LOC\n\n\n"
    data = read_conll(write(tmp_path / "a.bio", text))
    assert data["tokens"] == [["EU"], ["Paris"]]


def test_read_conll_bom_crlf_same_rows(tmp_path: Path) -> None:
    crlf = tmp_path / "crlf.conll"
    crlf.write_bytes(b"\xef\xbb\xbf" + CONLL.replace("\n", "\r\n").encode("utf-8"))
    assert read_conll(crlf).to_dict() == read_conll(write(tmp_path / "clean.conll", CONLL)).to_dict()


def test_read_conll_single_column(tmp_path: Path, check_error: ErrorCheck) -> None:
    path = write(tmp_path / "bad.conll", "EU B-ORG\nrejects\n")
    with pytest.raises(DataError) as info:
        read_conll(path)
    assert "'rejects'" in check_error(info, "bad.conll", 2)


def test_read_conll_invalid_tag(tmp_path: Path, check_error: ErrorCheck) -> None:
    path = write(tmp_path / "bad.conll", "EU B-ORG\n\nPeter NNP X-PER\n")
    with pytest.raises(DataError) as info:
        read_conll(path)
    assert "'X-PER'" in check_error(info, "bad.conll", 3)


def test_read_conll_missing_file(tmp_path: Path, check_error: ErrorCheck) -> None:
    with pytest.raises(DataError) as info:
        read_conll(tmp_path / "missing.conll")
    check_error(info, "missing.conll", None)


def test_read_conll_empty_dataset(tmp_path: Path, check_error: ErrorCheck) -> None:
    path = write(tmp_path / "empty.conll", "-DOCSTART- -X- -X- O\n\n\n")
    with pytest.raises(DataError) as info:
        read_conll(path)
    assert "empty dataset" in check_error(info, "empty.conll", None)
