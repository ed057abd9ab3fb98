from __future__ import annotations

import copy
from pathlib import Path

from stmtl.data import DataError


def test_data_error_formats_path_and_line() -> None:
    err = DataError("bad tag", Path("data/train.conll"), 7)
    assert str(err) == "data/train.conll:7: bad tag"
    assert (err.message, err.path, err.line) == ("bad tag", Path("data/train.conll"), 7)
    assert isinstance(err, ValueError)


def test_data_error_formats_path_without_line() -> None:
    assert str(DataError("empty dataset", "x.jsonl")) == "x.jsonl: empty dataset"


def test_data_error_formats_message_alone() -> None:
    err = DataError("missing column")
    assert str(err) == "missing column"
    assert err.path is None and err.line is None


def test_data_error_is_one_line() -> None:
    assert str(DataError("first\nsecond", "f.txt", 2)) == "f.txt:2: first second"


def test_data_error_copies_with_fields() -> None:
    # deepcopy goes through __reduce__, the same path multiprocessing uses to send the error between processes.
    err = copy.deepcopy(DataError("bad", "f.txt", 3))
    assert (str(err), err.message, err.path, err.line) == ("f.txt:3: bad", "bad", "f.txt", 3)
