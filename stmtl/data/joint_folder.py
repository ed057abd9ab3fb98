"""Reader for the SNIPS/ATIS joint layout: ``DIR/{train,dev,test}/{seq.in,seq.out,label}``.

Line ``i`` of the three files of a split describes one example: ``seq.in`` holds its whitespace-separated tokens,
``seq.out`` one tag per token and ``label`` its sentence label (the intent). Which kind reads which file, and as
which column, the kinds declare (``joint_files`` of their head class): the token kind reads ``seq.in`` and
``seq.out``, the sentence kind ``label``. Each line is a text cell its kind's column reader parses and checks.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import datasets

from stmtl.data.cached import cached_dataset
from stmtl.data.errors import DataError
from stmtl.data.layout import TEXT, FileLayout, kinds_fingerprint, read_row
from stmtl.data.lines import count_lines, iter_lines
from stmtl.heads.registry import head_types

SEQ_IN = "seq.in"
SEQ_OUT = "seq.out"
LABEL = "label"
_FILES = (SEQ_IN, SEQ_OUT, LABEL)
"""The files of a split, in the order their columns appear in the dataset."""


def joint_layout() -> tuple[FileLayout, dict[str, str]]:
    """The dataset layout of a joint folder's split, from the kinds' ``joint_files``, and each file's column.

    Raises:
        ValueError: If the kinds do not declare exactly the joint layout's files.
    """
    kinds, columns = [], {}
    for cls in head_types().values():
        if cls.joint_files:
            kinds.append((cls, list(cls.joint_files.values())))
            columns.update(cls.joint_files)
    if sorted(columns) != sorted(_FILES):
        raise ValueError(f"the head kinds read the joint files {sorted(columns)}, expected {sorted(_FILES)}")
    kinds.sort(key=lambda item: min(_FILES.index(name) for name in item[0].joint_files))  # seq.in's first
    features = {TEXT: datasets.Value("string")}
    by_column = {column: cls.columns[column] for cls, names in kinds for column in names}
    features.update({columns[name]: by_column[columns[name]] for name in _FILES})
    return FileLayout(kinds, datasets.Features(features)), columns


def is_joint_folder(path: str | os.PathLike) -> bool:
    """Tells whether ``path`` is a folder in the joint layout.

    Args:
        path: The folder to test.

    Returns:
        ``True`` if ``path/train`` holds ``seq.in``, ``seq.out`` and ``label`` files, else ``False``.
    """
    train = Path(path) / "train"
    return all((train / name).is_file() for name in _FILES)


def read_joint_folder(
    path: str | os.PathLike, split: str = "train", streaming: bool = False
) -> datasets.Dataset | datasets.IterableDataset:
    """Reads one split of a joint-layout folder into a memory-mapped dataset (cached; see :mod:`stmtl.data.cached`).

    Tokens and tags are split on whitespace, so trailing spaces (common in SNIPS/ATIS) are ignored; labels are
    stripped. The tags of ``seq.out`` may be in IOB1, IOB2, BIOES or BILOU, one scheme per file; they are converted
    to IOB2 (:mod:`stmtl.data.tag_schemes`), which is what the token head learns and what seqeval then scores, for
    every split.

    Args:
        path: The dataset folder, holding one sub-folder per split.
        split: The split to read, e.g. ``"train"``, ``"dev"`` or ``"test"``.
        streaming: Return an ``IterableDataset`` that reads and checks rows as it is iterated.

    Returns:
        A dataset with columns ``text`` (the tokens joined by single spaces), then the columns of ``seq.in``,
        ``seq.out`` and ``label`` (``tokens``, ``tags``, ``label``), one row per line.

    Raises:
        DataError: If the folder, the split folder or one of its files is missing; if the files' line counts
            differ; naming the file and line, if a line has no tokens, a token count different from its tag count,
            an invalid tag, a tag of another scheme than the tags before it or an empty label; or if the split has
            no rows.
    """
    root = Path(path)
    if not root.is_dir():
        raise DataError("dataset folder not found", root)
    split_dir = root / split
    if not split_dir.is_dir():
        raise DataError(f"split folder {split!r} not found (expected {'/'.join(_FILES)} files in it)", split_dir)
    missing = [name for name in _FILES if not (split_dir / name).is_file()]
    if missing:
        also = f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else ""
        raise DataError(f"file not found{also}", split_dir / missing[0])

    files = [split_dir / name for name in _FILES]
    # Counts are compared before any row is read: after a missing line every later row would be misaligned.
    counts = [count_lines(file) for file in files]
    for name, count in zip(_FILES[1:], counts[1:]):
        if count != counts[0]:
            raise DataError(f"line counts differ: {SEQ_IN} has {counts[0]} lines but {name} has {count}", split_dir)
    if not counts[0]:
        raise DataError(f"empty dataset: split {split!r} has no rows", split_dir)
    layout, columns = joint_layout()
    data = cached_dataset(_rows, layout.features, files, streaming, folder=str(split_dir), kinds=kinds_fingerprint())
    for cls, names in layout.kinds:
        for name in (file for file, column in columns.items() if column in names):
            cls.column_reader_class.announce(split_dir / name)
    return data


def _rows(folder: str, kinds: str) -> Iterator[dict[str, Any]]:
    # One checked row per line of the three files, each line a cell of its file's column.
    layout, columns = joint_layout()
    paths = {columns[name]: Path(folder) / name for name in _FILES}
    readers = layout.readers(paths)
    lines = zip(*(iter_lines(Path(folder) / name) for name in _FILES))
    for line_no, cells in enumerate(lines, start=1):
        by_column = {columns[name]: cell for name, cell in zip(_FILES, cells)}
        values: dict[str, Any] = {}
        for reader, (_, names) in zip(readers, layout.kinds):
            values.update(reader.parse_cells({column: by_column[column] for column in names}, line_no))
        yield read_row(values, layout, readers, folder, line_no)
    for reader in readers:
        reader.finish()
