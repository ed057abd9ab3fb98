"""Which head kind reads which key of a data file: the readers ask the registry, never name a kind's columns.

A JSON Lines row or a CSV/TSV header is matched against the registered kinds (:mod:`stmtl.heads.registry`):

1. a kind reads its columns by name (``label``; ``tokens`` and ``tags``, which come together; ``labels``);
2. a key no kind reads by name may be read for its value (a number is a regression target named after its key);
3. ``text`` is the sentence; a row may lack it only when a kind's words column (``tokens``) gives it;
4. any other key is an error naming the file, the line and the key: a key no task reads is a typo or the column of
   a kind that is not registered, and dropping it without a word would train something else than the data says.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import datasets

from stmtl.data.errors import DataError
from stmtl.heads.registry import head_types

TEXT = "text"
"""The column holding a row's sentence."""


@dataclass
class FileLayout:
    """The columns of a data file and the kind that reads each.

    Attributes:
        kinds: Each kind present, in registry order, with its columns in the file.
        features: The dataset's columns: ``text``, then each kind's, with their types.
    """

    kinds: list[tuple[Any, list[str]]]
    features: datasets.Features

    def readers(self, source: str | os.PathLike | Mapping[str, str] | None) -> list[Any]:
        """A fresh column reader per kind, for one pass over ``source``."""
        return [cls.column_reader(source, columns) for cls, columns in self.kinds]

    @property
    def columns(self) -> list[str]:
        """Every column the kinds read, in order."""
        return [column for _, columns in self.kinds for column in columns]


def describe(keys: list[str]) -> str:
    """Keys as the messages name them, grouped by kind: ``'label' and 'tokens'/'tags'``."""
    groups: list[str] = []
    left = list(keys)
    for cls in head_types().values():
        present = [column for column in cls.columns if column in left]
        if present:
            groups.append("/".join(repr(column) for column in present))
            left = [key for key in left if key not in present]
    groups += [repr(key) for key in left]
    return " and ".join(groups)


def known_columns() -> str:
    """What the registered kinds read, for messages: ``'label' (sentence task), ...``."""
    parts = []
    for kind, cls in head_types().items():
        if cls.columns:
            parts.append(f"{'/'.join(repr(column) for column in cls.columns)} ({kind} task)")
        elif cls.value_description:
            parts.append(f"{cls.value_description} ({kind} task)")
    return ", ".join(parts)


def file_layout(
    first: Mapping[str, Any], file: str | os.PathLike, line: int | None, cells: bool = False
) -> FileLayout:
    """The layout of a file from its first row (a JSON object) or its header and first record (``cells``).

    Args:
        first: Key → value of the first row (for ``cells``, column → text of the first record's cell).
        file: The file, for errors.
        line: The line of the first row (of the header, for ``cells``), for errors.
        cells: Whether values are CSV/TSV cells (text) rather than JSON values.

    Raises:
        DataError: Naming the file, the line and the key: a key no kind reads, a kind's column without the others
            it needs, no column any kind reads, or no ``text`` where no kind gives one.
    """
    where = "header" if cells else "row"
    found: list[tuple[Any, list[str]]] = []
    taken: set[str] = set()
    types = head_types()
    for cls in types.values():
        present = [column for column in cls.columns if column in first]
        if present and len(present) < len(cls.columns):
            absent = next(column for column in cls.columns if column not in first)
            noun = " column" if cells else ""
            raise DataError(f"{where} has a {present[0]!r}{noun} but no {absent!r}{noun}", file, line)
        if present:
            found.append((cls, present))
            taken.update(present)
    features = {}
    for key, value in first.items():
        if key == TEXT or key in taken:
            continue
        for cls in types.values():
            feature = cls.column_for_value(key, value, cells)
            if feature is not None:
                entry = next((item for item in found if item[0] is cls), None)
                if entry is None:
                    found.append(entry := (cls, []))
                entry[1].append(key)
                features[key] = feature
                break
        else:
            noun = "column" if cells else "key"
            raise DataError(
                f"{noun} {key!r} is read by no head kind (they read {known_columns()}, and {TEXT!r}); remove it, or "
                "register the kind that reads it (stmtl.register_head)",
                file,
                line,
            )
    if not found:
        raise DataError(
            f"{where} has none of {known_columns()}; {'columns' if cells else 'keys'}: {sorted(first)}", file, line
        )
    found.sort(key=lambda item: list(types.values()).index(item[0]))
    if TEXT not in first and not any(cls.words_column in columns for cls, columns in found):
        shown = describe([column for _, columns in found for column in columns])
        raise DataError(f"{where} has {shown} but no {TEXT!r}{' column' if cells else ''}", file, line)
    all_features = {TEXT: datasets.Value("string")}
    for cls, columns in found:
        for column in columns:
            all_features[column] = features.get(column, cls.columns.get(column))
    return FileLayout(found, datasets.Features(all_features))


def read_row(
    values: Mapping[str, Any], layout: FileLayout, readers: list[Any], file: str | os.PathLike, line: int
) -> dict[str, Any]:
    """One checked dataset row from a row's values (already parsed from cells, for CSV/TSV).

    Raises:
        DataError: Naming the file and the line.
    """
    row: dict[str, Any] = {}
    for reader, (_, columns) in zip(readers, layout.kinds):
        row.update(reader.read({column: values[column] for column in columns}, line))
    if TEXT in values:
        text = values[TEXT]
        if not isinstance(text, str):
            from stmtl.heads.columns import json_type

            raise DataError(f"{TEXT!r} must be a string, got {json_type(text)}", file, line)
    else:
        text = next((found for reader in readers if (found := reader.text(row)) is not None), None)
        if text is None:
            raise DataError(f"row has {describe(layout.columns)} but no {TEXT!r}", file, line)
    if not text.strip():
        raise DataError(f"{TEXT!r} is empty", file, line)
    return {TEXT: text, **row}


def kinds_fingerprint() -> str:
    """The registered kinds and their classes, as part of a reader's cache key: registering a kind can change how
    a file reads."""
    return ",".join(f"{kind}={cls.__module__}.{cls.__qualname__}" for kind, cls in head_types().items())
