"""Reading a text file as a list of lines, the way every reader in this package needs it."""

from __future__ import annotations

import codecs
import os
from pathlib import Path

from stmtl.data.errors import DataError


def read_lines(path: str | os.PathLike) -> list[str]:
    """Reads a UTF-8 text file into lines without their line endings.

    A leading byte-order mark is dropped, ``\\r\\n`` and lone ``\\r`` endings count as ``\\n``, and one final line
    ending does not produce an extra empty line (``"a\\nb\\n"`` gives ``["a", "b"]``; an empty file gives ``[]``).
    The lines are split on ``\\n`` only, not on the other characters ``str.splitlines`` treats as breaks, so that
    line numbers match what editors and ``wc -l`` show.

    Args:
        path: The file to read.

    Returns:
        The lines, in order; line ``i`` of the file is element ``i - 1``.

    Raises:
        DataError: If the file is missing, is not a regular file, or is not valid UTF-8 (naming the line).
    """
    file = Path(path)
    if not file.exists():
        raise DataError("file not found", file)
    if not file.is_file():
        raise DataError("not a regular file", file)
    raw = file.read_bytes()
    # The BOM is cut off by hand rather than via "utf-8-sig" so that decode error offsets index ``raw`` itself.
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataError(f"not valid UTF-8 (byte {err.start}: {err.reason})", file, line) from err
    if not text:
        return []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines
