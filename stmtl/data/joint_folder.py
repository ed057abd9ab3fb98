"""Reader for the SNIPS/ATIS joint layout: ``DIR/{train,dev,test}/{seq.in,seq.out,label}``.

Line ``i`` of the three files of a split describes one example: ``seq.in`` holds its whitespace-separated tokens,
``seq.out`` one tag per token and ``label`` its sentence label (the intent).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import datasets

from stmtl.data.cached import cached_dataset
from stmtl.data.errors import DataError
from stmtl.data.lines import count_lines, iter_lines
from stmtl.data.tag_schemes import TagSchemeScan, announce

SEQ_IN = "seq.in"
SEQ_OUT = "seq.out"
LABEL = "label"
_FILES = (SEQ_IN, SEQ_OUT, LABEL)

FEATURES = datasets.Features(
    {
        "text": datasets.Value("string"),
        "tokens": datasets.List(datasets.Value("string")),
        "tags": datasets.List(datasets.Value("string")),
        "label": datasets.Value("string"),
    }
)


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
        A dataset with columns ``text`` (the tokens joined by single spaces), ``tokens``, ``tags`` and ``label``,
        one row per line.

    Raises:
        DataError: If the folder, the split folder or one of its files is missing; if the files' line counts
            differ; if a line has no tokens, a token count different from its tag count, an invalid tag, a tag of
            another scheme than the tags before it or an empty label; or if the split has no rows.
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
    data = cached_dataset(_rows, FEATURES, files, streaming, folder=str(split_dir))
    announce(split_dir / SEQ_OUT)
    return data


def _rows(folder: str) -> Iterator[dict[str, Any]]:
    # One checked row per line of the three files.
    seq_in_path, seq_out_path, label_path = (Path(folder) / name for name in _FILES)
    scan = TagSchemeScan(seq_out_path)
    lines = zip(iter_lines(seq_in_path), iter_lines(seq_out_path), iter_lines(label_path))
    for line_no, (in_line, out_line, label_line) in enumerate(lines, start=1):
        tokens = in_line.split()
        if not tokens:
            raise DataError("empty line: every example needs at least one token", seq_in_path, line_no)
        tags = out_line.split()
        if len(tags) != len(tokens):
            raise DataError(
                f"{len(tags)} tags but {len(tokens)} tokens on line {line_no} of {SEQ_IN}", seq_out_path, line_no
            )
        tags = scan.convert(tags, line_no)
        label = label_line.strip()
        if not label:
            raise DataError("empty label", label_path, line_no)
        yield {"text": " ".join(tokens), "tokens": tokens, "tags": tags, "label": label}
    scan.finish()
