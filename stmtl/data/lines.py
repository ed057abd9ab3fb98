"""Reading a text file line by line, the way every reader in this package needs it."""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from stmtl.data.errors import DataError

_CHUNK = 1 << 20


def _check_file(file: Path) -> None:
    if not file.exists():
        raise DataError("file not found", file)
    if not file.is_file():
        raise DataError("not a regular file", file)


def iter_lines(path: str | os.PathLike) -> Iterator[str]:
    """Yields the lines of a UTF-8 text file without their line endings, holding one line in memory at a time.

    A leading byte-order mark is dropped, ``\\r\\n`` and lone ``\\r`` endings count as ``\\n``, and one final line
    ending does not produce an extra empty line (``"a\\nb\\n"`` gives ``"a", "b"``; an empty file gives nothing).
    Lines are split on ``\\n`` (and ``\\r``) only, not on the other characters ``str.splitlines`` treats as breaks,
    so that line numbers match what editors and ``wc -l`` show.

    Args:
        path: The file to read.

    Yields:
        The lines, in order.

    Raises:
        DataError: If the file is missing, is not a regular file, or is not valid UTF-8 (naming the line).
    """
    file = Path(path)
    _check_file(file)
    with open(file, "rb") as handle:
        yield from iter_stream_lines(handle, file)


def iter_stream_lines(handle: BinaryIO, name: str | os.PathLike) -> Iterator[str]:
    """Yields the lines of an open binary stream (e.g. ``sys.stdin.buffer``) exactly as :func:`iter_lines` does.

    Args:
        handle: The stream, read one line at a time.
        name: Where the stream comes from, named in errors (e.g. ``"<stdin>"``).

    Raises:
        DataError: If a line is not valid UTF-8, naming ``name`` and the line.
    """
    line_no, offset = 0, 0
    for raw in handle:  # binary iteration splits on b"\n" only
        start = offset
        offset += len(raw)
        if start == 0 and raw.startswith(codecs.BOM_UTF8):
            raw, start = raw[len(codecs.BOM_UTF8) :], len(codecs.BOM_UTF8)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            # A lone "\r" before the bad byte ends a line of its own.
            line = line_no + 1 + raw[: err.start].count(b"\r")
            raise DataError(f"not valid UTF-8 (byte {start + err.start}: {err.reason})", name, line) from err
        if text.endswith("\n"):
            text = text[:-1]
        if text.endswith("\r"):
            text = text[:-1]
        for part in text.split("\r") if "\r" in text else (text,):
            line_no += 1
            yield part


def read_lines(path: str | os.PathLike) -> list[str]:
    """All lines of a UTF-8 text file, as :func:`iter_lines` yields them; for files that fit in memory."""
    return list(iter_lines(path))


def count_lines(path: str | os.PathLike) -> int:
    """The number of lines :func:`iter_lines` yields, counted on raw bytes without decoding when possible.

    Raises:
        DataError: If the file is missing or is not a regular file.
    """
    file = Path(path)
    _check_file(file)
    count, has_cr, last = 0, False, b""
    with open(file, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            count += chunk.count(b"\n")
            has_cr = has_cr or b"\r" in chunk
            last = chunk[-1:]
    if has_cr:  # lone "\r" endings: count the way iter_lines splits
        return sum(1 for _ in iter_lines(file))
    return count + (1 if last not in (b"", b"\n") else 0)
