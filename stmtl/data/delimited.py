"""Reader for CSV and TSV files with a header row: the columns of the JSON Lines format, one example per record.

The header names the columns, and the registered head kinds say which a file may have (:mod:`stmtl.data.layout`),
as for JSON Lines keys; a column no kind reads is an error naming it. Each kind reads its cells (its column reader,
:meth:`stmtl.heads.columns.ColumnReader.parse_cells`): e.g. ``text`` is the sentence as written; ``label`` its
sentence label, surrounding spaces dropped; ``labels`` its labels for a multi-label task, separated by ``|``
(``billing | refund``), an empty cell an empty list; ``tokens`` and ``tags`` the words and one tag per word, each
separated by spaces, ``text`` then defaulting to the tokens joined by single spaces; a column of numbers a
regression target named after it.

A ``.csv`` file is comma-separated with the usual quoting (RFC 4180): a cell holding a comma, a quote or a line
break is put in double quotes, a quote inside it doubled (``""``). A ``.tsv`` file is tab-separated with no
quoting at all (quotes are text), so a cell cannot hold a tab or a line break. Blank lines, and records whose cells
are all blank (the empty rows a spreadsheet exports), are skipped. Files are UTF-8 (a byte-order mark is fine).
"""

from __future__ import annotations

import csv
import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import datasets

from stmtl.data.cached import cached_dataset
from stmtl.data.errors import DataError
from stmtl.data.layout import TEXT, FileLayout, file_layout, kinds_fingerprint, read_row
from stmtl.data.lines import iter_lines

DELIMITERS = {".csv": ",", ".tsv": "\t"}
"""The separator of each suffix."""


def read_delimited(path: str | os.PathLike, streaming: bool = False) -> datasets.Dataset | datasets.IterableDataset:
    """Reads a CSV or TSV file of labelled examples into a memory-mapped dataset (cached; see
    :mod:`stmtl.data.cached`).

    Each kind's cells are checked by its column reader (e.g. tags in IOB1, IOB2, BIOES or BILOU, one scheme per
    file, converted to IOB2, which is what the token head learns and what seqeval then scores).

    Args:
        path: The ``.csv`` or ``.tsv`` file (the suffix picks the separator, case-insensitively).
        streaming: Return an ``IterableDataset`` that reads and checks rows as it is iterated.

    Returns:
        A dataset with column ``text`` and the columns of every kind the header names.

    Raises:
        DataError: If the file is missing, has no header or no rows, or its header names a column no kind reads,
            none any kind reads, repeats a column, has ``tokens`` without ``tags`` (or the reverse) or labels without
            ``text``; or, naming the line, if a record has another number of cells than the header, bad quoting,
            or a cell its kind refuses (an empty text or label, tokens and tags of different counts, an invalid
            tag, a number column's cell that is not a number...).
    """
    file = Path(path)
    delimiter = DELIMITERS.get(file.suffix.lower(), ",")
    records = _records(str(file), delimiter)
    header = next(records, None)
    if header is None:
        raise DataError("empty file: expected a header row naming the columns", file)
    first = next(records, None)
    if first is None:
        raise DataError("empty dataset: no rows after the header", file)
    layout = _layout(header, first, str(file))
    data = cached_dataset(
        _rows, layout.features, [file], streaming, file=str(file), delimiter=delimiter, kinds=kinds_fingerprint()
    )
    for cls, _ in layout.kinds:
        cls.column_reader_class.announce(file)
    return data


def _records(file: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    # (first line, cells) of every non-blank record, the header included.
    lines = (line + "\n" for line in iter_lines(file))
    if delimiter == "\t":
        reader = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE, strict=True)
    else:
        reader = csv.reader(lines, delimiter=delimiter, strict=True)
    end = 0
    while True:
        start = end + 1
        try:
            record = next(reader, None)
        except csv.Error as err:
            raise DataError(f"bad CSV record: {err}", file, start) from err
        if record is None:
            return
        end = reader.line_num
        if any(cell.strip() for cell in record):
            yield start, record


def _layout(header: tuple[int, list[str]], first: tuple[int, list[str]], file: str) -> FileLayout:
    # The columns of the header, read by the kinds from the header's names and the first record's cells.
    line, names = header
    names = [name.strip() for name in names]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise DataError(f"column {name!r} appears twice in the header", file, line)
        seen.add(name)
    cells = first[1]
    return file_layout({name: cells[i] if i < len(cells) else "" for i, name in enumerate(names)}, file, line, True)


def _rows(file: str, delimiter: str, kinds: str) -> Iterator[dict[str, Any]]:
    # One checked row per record after the header.
    records = _records(file, delimiter)
    header = next(records)
    first = next(records)
    layout = _layout(header, first, file)
    readers = layout.readers(file)
    header_line, names = header
    index = {name.strip(): position for position, name in enumerate(names)}
    for line, cells in itertools.chain([first], records):
        if len(cells) != len(names):
            raise DataError(
                f"{len(cells)} cells but the header (line {header_line}) has {len(names)} columns", file, line
            )
        values: dict[str, Any] = {}
        for reader, (_, columns) in zip(readers, layout.kinds):
            values.update(reader.parse_cells({column: cells[index[column]] for column in columns}, line))
        if TEXT in index:
            values[TEXT] = cells[index[TEXT]]
        yield read_row(values, layout, readers, file, line)
    for reader in readers:
        reader.finish()
