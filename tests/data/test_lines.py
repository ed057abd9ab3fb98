from __future__ import annotations

import io

import pytest

from stmtl.data import DataError
from stmtl.data.lines import iter_lines, iter_stream_lines


def test_iter_stream_lines_splits_as_iter_lines(tmp_path) -> None:
    raw = "\ufeffplay a\u2028song\r\nbook\x85a table\rset\x0calarm\n\nlast".encode()
    path = tmp_path / "texts.txt"
    path.write_bytes(raw)
    assert list(iter_stream_lines(io.BytesIO(raw), "<stdin>")) == list(iter_lines(path))
    lines = list(iter_stream_lines(io.BytesIO(raw), "<stdin>"))
    assert lines[:3] == ["play a\u2028song", "book\x85a table", "set\x0calarm"]


def test_iter_stream_lines_bad_utf8_names_the_stream_and_line(check_error) -> None:
    with pytest.raises(DataError) as info:
        list(iter_stream_lines(io.BytesIO(b"ok\ncaf\xe9\n"), "<stdin>"))
    assert "UTF-8" in check_error(info, "<stdin>", 2)
