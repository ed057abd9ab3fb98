"""Reader for JSON Lines files: one JSON object per line, carrying the columns of one or several tasks.

The registered head kinds say which keys a row may have (:mod:`stmtl.data.layout`): e.g. ``{"text", "label"}`` for
a sentence task, ``{"text", "labels": [...]}`` for a multi-label task, ``{"tokens", "tags"}`` for a token task,
``{"text", "score": 0.7}`` for a regression task named ``score``, or several of these for several tasks. A key no
kind reads is an error naming the line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import datasets

from stmtl.data.cached import cached_dataset
from stmtl.data.errors import DataError
from stmtl.data.layout import TEXT, describe, file_layout, kinds_fingerprint, read_row
from stmtl.data.lines import iter_lines
from stmtl.heads.columns import json_type


def read_jsonl(path: str | os.PathLike, streaming: bool = False) -> datasets.Dataset | datasets.IterableDataset:
    """Reads a JSON Lines file of labelled examples into a memory-mapped dataset (cached; see
    :mod:`stmtl.data.cached`).

    Blank lines are skipped. The first row decides which columns the dataset has; each kind's values are checked by
    its column reader (e.g. tags in IOB1, IOB2, BIOES or BILOU, one scheme per file, converted to IOB2), and a row
    with the words of a token task but no ``text`` gets them joined by single spaces.

    Args:
        path: The ``.jsonl`` file.
        streaming: Return an ``IterableDataset`` that reads and checks rows as it is iterated.

    Returns:
        A dataset with column ``text`` and the columns of every kind the rows carry.

    Raises:
        DataError: If the file is missing or has no rows; or, naming the line, if a line is not a JSON object,
            has a key no kind reads, carries other keys than the first row, or has a value a kind refuses (wrong
            type, empty text or label, tokens and tags of different lengths, an invalid tag...).
    """
    file = Path(path)
    first = next(((n, line) for n, line in enumerate(iter_lines(file), start=1) if line.strip()), None)
    if first is None:
        raise DataError("empty dataset: no JSON rows", file)
    layout = file_layout(_parse_object(first[1], file, first[0]), file, first[0])
    data = cached_dataset(
        _rows, layout.features, [file], streaming, file=str(file), first_line=first[0], kinds=kinds_fingerprint()
    )
    for cls, _ in layout.kinds:
        cls.column_reader_class.announce(file)
    return data


def _rows(file: str, first_line: int, kinds: str) -> Iterator[dict[str, Any]]:
    # One checked row per non-blank line; every row must carry the keys of the first.
    layout = expected = readers = None
    for line_no, line in enumerate(iter_lines(file), start=1):
        if not line.strip():
            continue
        obj = _parse_object(line, file, line_no)
        if layout is None:
            layout = file_layout(obj, file, line_no)
            expected, readers = set(layout.columns), layout.readers(file)
        keys = [key for key in obj if key != TEXT]
        if set(keys) != expected:
            file_layout(obj, file, line_no)  # a key no kind reads, or a kind's column without the others, named
            raise DataError(
                f"row carries {describe(keys)} but line {first_line} carries {describe(layout.columns)}; "
                "all rows must carry the same kinds of labels",
                file,
                line_no,
            )
        yield read_row(obj, layout, readers, file, line_no)
    for reader in readers or []:
        reader.finish()


def _parse_object(line: str, file: str | Path, line_no: int) -> dict[str, Any]:
    # A line opening with "[" most likely belongs to a JSON array file, which gets a hint about the format.
    hint = "; the file must hold one JSON object per line (JSON Lines), not a JSON array"
    hint = hint if line.lstrip().startswith("[") else ""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as err:
        raise DataError(f"invalid JSON: {err.msg} (column {err.colno}){hint}", file, line_no) from err
    if not isinstance(obj, dict):
        raise DataError(f"expected a JSON object, got {json_type(obj)}{hint}", file, line_no)
    return obj
