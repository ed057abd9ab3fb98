"""Reader for CSV and TSV files with a header row: the columns of the JSON Lines format, one example per record.

The header names the columns; those the package knows are read and the others ignored, as JSONL keys are:

- ``text``: the sentence, as written.
- ``label``: its sentence label (surrounding spaces dropped).
- ``labels``: its labels for a multi-label task, separated by ``|`` (``billing | refund``); spaces around each label
  are dropped and an empty cell is an empty list.
- ``tokens`` and ``tags``: the words and one tag per word, each separated by spaces (``next tuesday`` /
  ``B-date I-date``); ``text`` defaults to the tokens joined by single spaces.

A ``.csv`` file is comma-separated with the usual quoting (RFC 4180): a cell holding a comma, a quote or a line
break is put in double quotes, a quote inside it doubled (``""``). A ``.tsv`` file is tab-separated with no
quoting at all (quotes are text), so a cell cannot hold a tab or a line break. Blank lines, and records whose cells
are all blank (the empty rows a spreadsheet exports), are skipped. Files are UTF-8 (a byte-order mark is fine).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import datasets

from stmtl.data.cached import cached_dataset
from stmtl.data.errors import DataError
from stmtl.data.lines import iter_lines
from stmtl.data.tag_schemes import TagSchemeScan, announce

DELIMITERS = {".csv": ",", ".tsv": "\t"}
"""The separator of each suffix."""

LABEL_SEPARATOR = "|"
"""What separates the labels in a ``labels`` cell."""

_STRING = datasets.Value("string")
_STRINGS = datasets.List(datasets.Value("string"))


def read_delimited(path: str | os.PathLike, streaming: bool = False) -> datasets.Dataset | datasets.IterableDataset:
    """Reads a CSV or TSV file of labelled examples into a memory-mapped dataset (cached; see
    :mod:`stmtl.data.cached`).

    Tags may be in IOB1, IOB2, BIOES or BILOU, one scheme per file; they are converted to IOB2
    (:mod:`stmtl.data.tag_schemes`), which is what the token head learns and what seqeval then scores.

    Args:
        path: The ``.csv`` or ``.tsv`` file (the suffix picks the separator, case-insensitively).
        streaming: Return an ``IterableDataset`` that reads and checks rows as it is iterated.

    Returns:
        A dataset with column ``text``, plus ``label``, ``labels``, and ``tokens`` and ``tags``, as the header has
        them.

    Raises:
        DataError: If the file is missing, has no header or no rows, or its header names none of the label columns,
            repeats a column, has ``tokens`` without ``tags`` (or the reverse) or labels without ``text``; or,
            naming the line, if a record has another number of cells than the header, bad quoting, an empty text,
            label, label in a list or token list, tokens and tags of different counts, an invalid tag or a tag of
            another scheme than the tags before it.
    """
    file = Path(path)
    delimiter = DELIMITERS.get(file.suffix.lower(), ",")
    records = _records(str(file), delimiter)
    header = next(records, None)
    if header is None:
        raise DataError("empty file: expected a header row naming the columns", file)
    header_line, names = header
    columns = _columns(names, file, header_line)
    if next(records, None) is None:
        raise DataError("empty dataset: no rows after the header", file)
    features = {"text": _STRING}
    if "label" in columns:
        features["label"] = _STRING
    if "labels" in columns:
        features["labels"] = _STRINGS
    if "tokens" in columns:
        features["tokens"] = _STRINGS
        features["tags"] = _STRINGS
    data = cached_dataset(_rows, datasets.Features(features), [file], streaming, file=str(file), delimiter=delimiter)
    announce(file)
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


def _columns(names: list[str], file: str | Path, line: int) -> dict[str, int]:
    # The position of every known column; refuses a header no task can be read from.
    columns: dict[str, int] = {}
    seen: set[str] = set()
    for index, name in enumerate(name.strip() for name in names):
        if name in seen:
            raise DataError(f"column {name!r} appears twice in the header", file, line)
        seen.add(name)
        if name in ("text", "label", "labels", "tokens", "tags"):
            columns[name] = index
    if ("tokens" in columns) != ("tags" in columns):
        present, absent = ("tokens", "tags") if "tokens" in columns else ("tags", "tokens")
        raise DataError(f"header has a {present!r} column but no {absent!r} column", file, line)
    if not {"label", "labels", "tokens"} & columns.keys():
        raise DataError(
            "header names none of 'label' (sentence task), 'labels' (multi-label task), 'tokens' and 'tags' (token "
            f"task); columns: {[name.strip() for name in names]}",
            file,
            line,
        )
    if "text" not in columns and "tokens" not in columns:
        raise DataError("header has label columns but no 'text' column", file, line)
    return columns


def _rows(file: str, delimiter: str) -> Iterator[dict[str, Any]]:
    # One checked row per record after the header.
    records = _records(file, delimiter)
    header_line, names = next(records)
    columns = _columns(names, file, header_line)
    scan = TagSchemeScan(file)
    for line, cells in records:
        if len(cells) != len(names):
            raise DataError(
                f"{len(cells)} cells but the header (line {header_line}) has {len(names)} columns", file, line
            )
        yield _row({name: cells[index] for name, index in columns.items()}, scan, file, line)
    scan.finish()


def _row(cells: dict[str, str], scan: TagSchemeScan, file: str, line: int) -> dict[str, Any]:
    # Checks one record's cells and returns the dataset row.
    row: dict[str, Any] = {}
    if "tokens" in cells:
        tokens, tags = cells["tokens"].split(), cells["tags"].split()
        if not tokens:
            raise DataError("'tokens' is empty", file, line)
        if len(tokens) != len(tags):
            raise DataError(f"{len(tags)} tags but {len(tokens)} tokens", file, line)
        row["tokens"], row["tags"] = tokens, scan.convert(tags, line)
    text = cells["text"] if "text" in cells else " ".join(row["tokens"])
    if not text.strip():
        raise DataError("'text' is empty", file, line)
    row["text"] = text
    if "label" in cells:
        row["label"] = cells["label"].strip()
        if not row["label"]:
            raise DataError("'label' is empty", file, line)
    if "labels" in cells:
        cell = cells["labels"].strip()
        row["labels"] = [label.strip() for label in cell.split(LABEL_SEPARATOR)] if cell else []
        if any(not label for label in row["labels"]):
            raise DataError(f"'labels' holds an empty label (labels are separated by {LABEL_SEPARATOR!r})", file, line)
    return row
