"""Dispatch from a data source (a dataset, a folder or a file) to the reader for its format."""

from __future__ import annotations

import os
from pathlib import Path

import datasets

from stmtl.data.conll import read_conll
from stmtl.data.delimited import read_delimited
from stmtl.data.errors import DataError
from stmtl.data.joint_folder import read_joint_folder
from stmtl.data.jsonl import read_jsonl
from stmtl.data.tag_schemes import convert_dataset

JSONL_SUFFIXES = (".jsonl", ".json")
DELIMITED_SUFFIXES = (".csv", ".tsv")
CONLL_SUFFIXES = (".conll", ".bio", ".iob", ".txt")


def read_task_data(
    source: str | os.PathLike | datasets.Dataset | datasets.DatasetDict, split: str = "train", streaming: bool = False
) -> datasets.Dataset | datasets.IterableDataset:
    """Loads task data from a dataset, a joint-layout folder or a file.

    - A ``datasets.Dataset`` is returned unchanged once it is known to carry labels, unless its ``tags`` are in
      another scheme than IOB2: they are then converted (:func:`stmtl.data.tag_schemes.convert_dataset`).
    - A ``datasets.DatasetDict`` gives its ``split``, checked the same way.
    - A folder is read with :func:`read_joint_folder` for ``split``.
    - A ``.jsonl`` or ``.json`` file is read with :func:`read_jsonl`.
    - A ``.csv`` or ``.tsv`` file with a header row is read with :func:`stmtl.data.delimited.read_delimited`.
    - A ``.conll``, ``.bio``, ``.iob`` or ``.txt`` file is read with :func:`read_conll`.

    Token tags come out in IOB2 whatever the scheme of the source (IOB1, IOB2, BIOES or BILOU).

    Suffixes are matched case-insensitively. Files hold a single split, so ``split`` only applies to folders and
    dataset dicts.

    Args:
        source: The data, or the path to it.
        split: The split to read from a folder or a dataset dict.
        streaming: Return an ``IterableDataset`` that reads (and checks) rows as it is iterated.

    Returns:
        A dataset with the label columns of at least one head type (``label``, ``labels``, ``tokens``/``tags``).

    Raises:
        DataError: If a dataset has the label columns of no head type, a dataset dict
            lacks ``split``, the path does not exist, a file's suffix is not one of the accepted ones, or the
            reader for the format rejects the data.
    """
    if isinstance(source, datasets.DatasetDict):
        if split not in source:
            raise DataError(f"DatasetDict has no split {split!r} (splits: {sorted(source)})")
        source = source[split]
    if isinstance(source, datasets.Dataset):
        _check_columns(source)
        if "tags" in source.column_names:
            source = convert_dataset(source)
        return source.to_iterable_dataset() if streaming else source

    path = Path(source).expanduser()
    if not path.exists():
        raise DataError("no such file or directory", path)
    if path.is_dir():
        return read_joint_folder(path, split, streaming)
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return read_jsonl(path, streaming)
    if suffix in DELIMITED_SUFFIXES:
        return read_delimited(path, streaming)
    if suffix in CONLL_SUFFIXES:
        return read_conll(path, streaming)
    accepted = ", ".join(JSONL_SUFFIXES + DELIMITED_SUFFIXES + CONLL_SUFFIXES)
    found = repr(suffix) if suffix else "(no suffix)"
    raise DataError(
        f"unsupported file type {found}; expected a joint-layout folder "
        f"(train/seq.in, train/seq.out, train/label) or a file ending in {accepted}",
        path,
    )


def _check_columns(dataset: datasets.Dataset) -> None:
    # A dataset qualifies if it carries the label columns of at least one head type.
    from stmtl.heads import HEAD_TYPES

    missing = {kind: cls.missing_columns(dataset) for kind, cls in HEAD_TYPES.items()}
    if not all(missing.values()):
        return
    described = " or ".join(f"{', '.join(map(repr, columns))} ({kind} task)" for kind, columns in missing.items())
    raise DataError(f"dataset is missing column(s) {described}; it has columns {sorted(dataset.column_names)}")
