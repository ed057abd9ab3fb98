from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from stmtl.data import DataError, is_joint_folder, read_joint_folder

SNIPS = Path(__file__).resolve().parents[3] / "shared" / "data" / "snips"

SEQ_IN = "play some jazz \nbook a table at nobu\n"
SEQ_OUT = "O O B-genre \nO O O O B-restaurant\n"
LABEL = "PlayMusic\nBookRestaurant \n"

ErrorCheck = Callable[..., str]


def make_split(
    root: Path, split: str = "train", seq_in: str = SEQ_IN, seq_out: str = SEQ_OUT, label: str = LABEL
) -> Path:
    folder = root / split
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("seq.in", seq_in), ("seq.out", seq_out), ("label", label)):
        (folder / name).write_bytes(text.encode("utf-8"))
    return folder


def test_read_joint_folder_columns(tmp_path: Path) -> None:
    make_split(tmp_path)
    data = read_joint_folder(tmp_path)
    assert data.column_names == ["text", "tokens", "tags", "label"]
    assert data.to_dict() == {
        "text": ["play some jazz", "book a table at nobu"],
        "tokens": [["play", "some", "jazz"], ["book", "a", "table", "at", "nobu"]],
        "tags": [["O", "O", "B-genre"], ["O", "O", "O", "O", "B-restaurant"]],
        "label": ["PlayMusic", "BookRestaurant"],
    }


def test_read_joint_folder_reads_named_split(tmp_path: Path) -> None:
    make_split(tmp_path)
    make_split(tmp_path, "dev", "hi there\n", "O O\n", "Greet\n")
    expected = {"text": ["hi there"], "tokens": [["hi", "there"]], "tags": [["O", "O"]], "label": ["Greet"]}
    assert read_joint_folder(tmp_path, "dev").to_dict() == expected


def test_read_joint_folder_bom_crlf_same_rows(tmp_path: Path) -> None:
    make_split(tmp_path / "clean")
    texts = {"seq_in": SEQ_IN, "seq_out": SEQ_OUT, "label": LABEL}
    crlf = {key: "\ufeff" + text.replace("\n", "\r\n") for key, text in texts.items()}
    make_split(tmp_path / "crlf", **crlf)
    assert read_joint_folder(tmp_path / "crlf").to_dict() == read_joint_folder(tmp_path / "clean").to_dict()


def test_read_joint_folder_no_trailing_newline(tmp_path: Path) -> None:
    make_split(tmp_path, seq_in=SEQ_IN.rstrip("\n"), seq_out=SEQ_OUT.rstrip("\n"), label=LABEL.rstrip("\n"))
    assert len(read_joint_folder(tmp_path)) == 2


def test_is_joint_folder(tmp_path: Path) -> None:
    assert not is_joint_folder(tmp_path)
    assert not is_joint_folder(tmp_path / "missing")
    folder = make_split(tmp_path)
    assert is_joint_folder(tmp_path)
    (folder / "label").unlink()
    assert not is_joint_folder(tmp_path)


def test_read_joint_folder_missing_folder(tmp_path: Path, check_error: ErrorCheck) -> None:
    with pytest.raises(DataError) as info:
        read_joint_folder(tmp_path / "nope")
    check_error(info, "nope", None)


def test_read_joint_folder_missing_split(tmp_path: Path, check_error: ErrorCheck) -> None:
    make_split(tmp_path)
    with pytest.raises(DataError) as info:
        read_joint_folder(tmp_path, "test")
    assert "'test'" in check_error(info, str(tmp_path / "test"), None)


def test_read_joint_folder_missing_file(tmp_path: Path, check_error: ErrorCheck) -> None:
    folder = make_split(tmp_path)
    (folder / "seq.out").unlink()
    with pytest.raises(DataError) as info:
        read_joint_folder(tmp_path)
    assert "not found" in check_error(info, str(folder / "seq.out"), None)


def test_read_joint_folder_line_count_mismatch(tmp_path: Path, check_error: ErrorCheck) -> None:
    make_split(tmp_path, label="PlayMusic\n")
    with pytest.raises(DataError) as info:
        read_joint_folder(tmp_path)
    text = check_error(info, "train", None)
    assert "seq.in has 2 lines" in text and "label has 1" in text


def test_read_joint_folder_token_tag_count_mismatch(tmp_path: Path, check_error: ErrorCheck) -> None:
    make_split(tmp_path, seq_out="O O B-genre\nO O O B-restaurant\n")
    with pytest.raises(DataError) as info:
        read_joint_folder(tmp_path)
    text = check_error(info, "seq.out", 2)
    assert "4 tags" in text and "5 tokens" in text


def test_read_joint_folder_empty_label(tmp_path: Path, check_error: ErrorCheck) -> None:
    make_split(tmp_path, label="PlayMusic\n  \n")
    with pytest.raises(DataError) as info:
        read_joint_folder(tmp_path)
    assert "'label' is empty" in check_error(info, "label", 2)


def test_read_joint_folder_empty_seq_in_line(tmp_path: Path, check_error: ErrorCheck) -> None:
    make_split(tmp_path, seq_in=" \nbook a table at nobu\n", seq_out="\nO O O O B-restaurant\n")
    with pytest.raises(DataError) as info:
        read_joint_folder(tmp_path)
    check_error(info, "seq.in", 1)


def test_read_joint_folder_invalid_tag(tmp_path: Path, check_error: ErrorCheck) -> None:
    make_split(tmp_path, seq_out="O O B-genre\nO O X-FOO O B-restaurant\n")
    with pytest.raises(DataError) as info:
        read_joint_folder(tmp_path)
    assert "'X-FOO'" in check_error(info, "seq.out", 2)


def test_read_joint_folder_extra_blank_line_is_a_row(tmp_path: Path, check_error: ErrorCheck) -> None:
    make_split(tmp_path, seq_in=SEQ_IN + "\n", seq_out=SEQ_OUT + "\n", label=LABEL + "\n")
    with pytest.raises(DataError) as info:
        read_joint_folder(tmp_path)
    check_error(info, "seq.in", 3)


def test_read_joint_folder_empty_split(tmp_path: Path, check_error: ErrorCheck) -> None:
    make_split(tmp_path, seq_in="", seq_out="", label="")
    with pytest.raises(DataError) as info:
        read_joint_folder(tmp_path)
    assert "empty dataset" in check_error(info, "train", None)


def test_read_joint_folder_invalid_utf8(tmp_path: Path, check_error: ErrorCheck) -> None:
    folder = make_split(tmp_path)
    (folder / "seq.in").write_bytes(b"play some jazz\nbook a \xff table at nobu\n")
    with pytest.raises(DataError) as info:
        read_joint_folder(tmp_path)
    assert "UTF-8" in check_error(info, "seq.in", 2)


@pytest.mark.skipif(not SNIPS.is_dir(), reason="SNIPS data not present")
def test_read_joint_folder_real_snips() -> None:
    assert is_joint_folder(SNIPS)
    data = read_joint_folder(SNIPS, "train")
    assert len(data) == 13084
    assert len(set(data["label"])) == 7
    assert all(len(tokens) == len(tags) for tokens, tags in zip(data["tokens"], data["tags"]))
    assert data[1]["text"] == "add step to me to the 50 clásicos playlist"
