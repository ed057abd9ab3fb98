from __future__ import annotations

from collections.abc import Callable

import pytest

from stmtl.data import DataError

ErrorCheck = Callable[..., str]


def _check_error(info: pytest.ExceptionInfo[DataError], name: str, line: int | None) -> str:
    # A reader error must be one line, name the file, and carry the expected 1-based line (shown as ":LINE: ").
    text = str(info.value)
    assert "\n" not in text and "\r" not in text
    assert name in text
    assert info.value.line == line
    if line is not None:
        assert f"{name}:{line}: " in text
    return text


@pytest.fixture
def check_error() -> ErrorCheck:
    """Returns a checker for raised DataErrors: ``check_error(info, file_name, line) -> str(error)``."""
    return _check_error
