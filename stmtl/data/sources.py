"""Dispatch from a data source (a dataset, a folder or a file) to the reader for its format."""

from __future__ import annotations

import os
from pathlib import Path

import datasets

from stmtl.data.delimited import read_delimited
from stmtl.data.errors import DataError
from stmtl.data.joint_folder import read_joint_folder
from stmtl.data.jsonl import read_jsonl
from stmtl.heads.registry import file_readers, head_types

JSONL_SUFFIXES = (".jsonl", ".json")
DELIMITED_SUFFIXES = (".csv", ".tsv")


def read_task_data(
    source: str | os.PathLike | datasets.Dataset | datasets.DatasetDict, split: str = "train", streaming: bool = False
) -> datasets.Dataset | datasets.IterableDataset:
    """Loads task data from a dataset, a joint-layout folder or a file.

    - A ``datasets.Dataset`` is returned once it is known to carry the columns of some kind, as each kind's
      column reader prepares it (unchanged, unless e.g. its ``tags`` are in another scheme than IOB2: they are then
      converted, :func:`stmtl.heads.token.tag_schemes.convert_dataset`).
    - A ``datasets.DatasetDict`` gives its ``split``, checked the same way.
    - A folder is read with :func:`read_joint_folder` for ``split``.
    - A ``.jsonl`` or ``.json`` file is read with :func:`read_jsonl`.
    - A ``.csv`` or ``.tsv`` file with a header row is read with :func:`stmtl.data.delimited.read_delimited`.
    - A file whose suffix a kind brings a reader for (:func:`stmtl.heads.registry.file_readers`: ``.conll``,
      ``.bio``, ``.iob`` and ``.txt`` CoNLL files for the token kind) is read with it.

    Token tags come out in IOB2 whatever the scheme of the source (IOB1, IOB2, BIOES or BILOU).

    Suffixes are matched case-insensitively. Files hold a single split, so ``split`` only applies to folders and
    dataset dicts.

    Args:
        source: The data, or the path to it.
        split: The split to read from a folder or a dataset dict.
        streaming: Return an ``IterableDataset`` that reads (and checks) rows as it is iterated.

    Returns:
        A dataset with the columns of at least one head kind.

    Raises:
        DataError: If a dataset has the columns of no head kind, a dataset dict
            lacks ``split``, the path does not exist, a file's suffix is not one of the accepted ones, or the
            reader for the format rejects the data.
    """
    if isinstance(source, datasets.DatasetDict):
        if split not in source:
            raise DataError(f"DatasetDict has no split {split!r} (splits: {sorted(source)})")
        source = source[split]
    if isinstance(source, datasets.Dataset):
        for cls in _reading_kinds(source):
            source = cls.column_reader_class.prepare_dataset(source)
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
    readers = file_readers()
    if suffix in readers:
        return readers[suffix](path, streaming)
    accepted = ", ".join((*JSONL_SUFFIXES, *DELIMITED_SUFFIXES, *readers))
    found = repr(suffix) if suffix else "(no suffix)"
    raise DataError(
        f"unsupported file type {found}; expected a joint-layout folder "
        f"(train/seq.in, train/seq.out, train/label) or a file ending in {accepted}",
        path,
    )


def _reading_kinds(dataset: datasets.Dataset) -> list[type]:
    # The kinds whose columns the dataset carries (fixed columns by name, or the tasks a kind finds in it); none is
    # an error naming what each kind reads.
    taken = {column for cls in head_types().values() for column in cls.columns if column in dataset.features}
    found = [cls for cls in head_types().values() if cls.tasks_in(dataset.features, taken)]
    if found:
        return found
    from stmtl.data.layout import known_columns

    raise DataError(f"dataset has none of {known_columns()}; it has columns {sorted(dataset.column_names)}")
