"""The checks of a kind's values in a data file: :class:`ColumnReader`, which the generic readers call per row.

A reader (:mod:`stmtl.data.jsonl`, :mod:`stmtl.data.delimited`, :mod:`stmtl.data.joint_folder`) knows file
formats, not kinds: it asks the registry which kind reads each key of a file, then hands every row's values to
that kind's column reader, which checks them and returns what the dataset holds. A kind with more to check (tags
of a tag scheme, labels separated by ``|`` in a cell) subclasses it. Errors name the file and the line.

Imports neither torch nor ``datasets``: the feature types are only read (``dtype``, ``feature``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

from stmtl.data.errors import DataError


def column_values(dataset: Any, column: str) -> list[Any]:
    """Every value of a ``datasets.Dataset`` column as Python objects, read through Arrow in one call.

    ``dataset[column]`` is a lazy column that formats row by row: 3 to 4 times slower on a list column (2.9 s against
    0.7 s for the tags of 200,000 rows), which made the data check before step 1 grow with the corpus.
    """
    return dataset.with_format("arrow")[column].to_pylist()


def json_type(value: Any) -> str:
    """A value's JSON type as a user wrote it (``a number``, ``an array``), rather than its Python class."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def feature_kind(feature: Any) -> str:
    """``"string"``, ``"strings"`` (a list of strings) or ``"number"``: the value types the readers check."""
    inner = getattr(feature, "feature", None)
    if inner is not None:
        return "strings"
    return "string" if getattr(feature, "dtype", "string") == "string" else "number"


class ColumnReader:
    """Checks one kind's values in one data source, row by row, and turns them into what the dataset holds.

    By feature type: a string must be a non-blank string; a list of strings a list of strings, none blank; a number
    a finite number (not a boolean). From a text cell (CSV/TSV, a joint folder's line), a string is the cell
    stripped, a list its whitespace-separated words, a number the cell read as a float.

    Args:
        source: The file the rows come from (named in errors), or ``None`` for in-memory data; or, for a format that
            keeps columns in files of their own (a joint folder), the file of each column.
        features: The kind's columns in this source, with their ``datasets`` feature types.
    """

    def __init__(
        self, source: str | os.PathLike | Mapping[str, str | os.PathLike] | None, features: Mapping[str, Any]
    ) -> None:
        self.source = source
        self.features = dict(features)

    def source_of(self, column: str | None) -> str | os.PathLike | None:
        """The file ``column`` comes from."""
        if isinstance(self.source, Mapping):
            return self.source.get(column) if column is not None else next(iter(self.source.values()), None)
        return self.source

    def error(self, message: str, line: int | None, column: str | None = None) -> DataError:
        """An error naming the file (of ``column``) and the line."""
        return DataError(message, self.source_of(column), line)

    @staticmethod
    def announce(source: str | os.PathLike) -> None:
        """Log what an earlier complete read of ``source`` recorded (e.g. a tag conversion); nothing by default.
        Readers call it when they map cached rows instead of reading the file."""

    @staticmethod
    def note(source: str | os.PathLike) -> dict[str, Any] | None:
        """What an earlier complete read of ``source`` recorded, for the data check; ``None`` by default."""
        return None

    @staticmethod
    def prepare_dataset(dataset: Any) -> Any:
        """An in-memory ``datasets.Dataset`` of this kind's columns as the readers would give it (unchanged by
        default)."""
        return dataset

    def parse_cells(self, cells: Mapping[str, str], line: int) -> dict[str, Any]:
        """The values of one record's text cells (column → cell), to be checked by :meth:`read`.

        Raises:
            DataError: If a number column's cell is not a number.
        """
        values: dict[str, Any] = {}
        for column, cell in cells.items():
            kind = feature_kind(self.features[column])
            if kind == "strings":
                values[column] = cell.split()
            elif kind == "number":
                try:
                    values[column] = float(cell)
                except ValueError:
                    raise self.error(f"{column!r} must be a number, got {cell.strip()!r}", line, column) from None
            else:
                values[column] = cell.strip()
        return values

    def read(self, values: Mapping[str, Any], line: int) -> dict[str, Any]:
        """The checked values of the kind's columns in one row.

        Raises:
            DataError: Naming the line and the key, if a value has the wrong type or is blank.
        """
        return {column: self.check(column, values[column], line) for column in self.features}

    def check(self, column: str, value: Any, line: int) -> Any:
        """One value, checked against its column's type."""
        kind = feature_kind(self.features[column])
        if kind == "string":
            if not isinstance(value, str):
                raise self.error(f"{column!r} must be a string, got {json_type(value)}", line, column)
            if not value.strip():
                raise self.error(f"{column!r} is empty", line, column)
            return value
        if kind == "strings":
            if not isinstance(value, list):
                raise self.error(f"{column!r} must be a list of strings, got {json_type(value)}", line, column)
            for index, item in enumerate(value):
                if not isinstance(item, str):
                    message = f"{column!r} must be a list of strings, item {index} is {json_type(item)}"
                    raise self.error(message, line, column)
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            shown = json_type(value) if not isinstance(value, float) else repr(value)
            raise self.error(f"{column!r} must be a finite number, got {shown}", line, column)
        return float(value)

    def text(self, row: Mapping[str, Any]) -> str | None:
        """The text of a row that has no ``text`` (built from the kind's words column); ``None`` by default."""
        return None

    def finish(self) -> None:
        """Called after the last row of a complete pass (e.g. to report a tag conversion)."""
