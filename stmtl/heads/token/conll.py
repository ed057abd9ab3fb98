"""Reader for CoNLL-style token files: one token per line, blank lines between sentences (a token task's format).

The registry (:mod:`stmtl.heads.registry`) names it for the suffixes of :data:`SUFFIXES`, so
:func:`stmtl.data.read_task_data` reads such files with it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import datasets

from stmtl.data.cached import cached_dataset
from stmtl.data.errors import DataError
from stmtl.data.lines import iter_lines
from stmtl.heads.token.tag_schemes import TagSchemeScan, announce

DOCSTART = "-DOCSTART-"
SUFFIXES = (".conll", ".bio", ".iob", ".txt")
"""The suffixes of CoNLL files (matched case-insensitively)."""

FEATURES = datasets.Features(
    {
        "tokens": datasets.List(datasets.Value("string")),
        "tags": datasets.List(datasets.Value("string")),
        "text": datasets.Value("string"),
    }
)


def read_conll(path: str | os.PathLike, streaming: bool = False) -> datasets.Dataset | datasets.IterableDataset:
    """Reads a CoNLL-style file of tagged sentences into a memory-mapped dataset (cached; see
    :mod:`stmtl.data.cached`).

    Each non-blank line is split on whitespace: the first column is the token and the last the tag, and any
    columns between (POS, chunk tags as in CoNLL-2003) are ignored. Blank lines end sentences, so several blank
    lines in a row and a missing final blank line are both fine. Lines starting with ``-DOCSTART-`` are document
    markers, not tokens: they are skipped and also end any sentence in progress.

    Tags may be in IOB1 (CoNLL-2003 as distributed), IOB2, BIOES or BILOU, one scheme per file; they are converted
    to IOB2 (:mod:`stmtl.heads.token.tag_schemes`), which is what the token head learns and what seqeval then
    scores, for dev and test files as for training ones.

    Args:
        path: The CoNLL file.
        streaming: Return an ``IterableDataset`` that reads and checks sentences as it is iterated.

    Returns:
        A dataset with columns ``tokens``, ``tags`` and ``text`` (the tokens joined by single spaces), one row per
        sentence.

    Raises:
        DataError: If the file is missing or holds no sentence; or, naming the line, if a line has a single
            column, an invalid tag, or a tag of another scheme than the tags before it.
    """
    file = Path(path)
    if next(_rows(str(file)), None) is None:
        raise DataError("empty dataset: no sentences", file)
    data = cached_dataset(_rows, FEATURES, [file], streaming, file=str(file))
    announce(file)
    return data


def _rows(file: str) -> Iterator[dict[str, Any]]:
    # One checked row per sentence, its tags converted to IOB2.
    tokens: list[str] = []
    tags: list[str] = []
    tag_lines: list[int] = []
    scan = TagSchemeScan(file)
    for line_no, line in enumerate(iter_lines(file), start=1):
        columns = line.split()
        if not columns or columns[0].startswith(DOCSTART):
            if tokens:
                yield {"tokens": tokens, "tags": scan.convert(tags, tag_lines), "text": " ".join(tokens)}
                tokens, tags, tag_lines = [], [], []
            continue
        if len(columns) < 2:
            raise DataError(
                f"expected a token and a tag separated by whitespace, got one column {columns[0]!r}", file, line_no
            )
        scan.check(columns[-1], line_no)
        tokens.append(columns[0])
        tags.append(columns[-1])
        tag_lines.append(line_no)
    if tokens:
        yield {"tokens": tokens, "tags": scan.convert(tags, tag_lines), "text": " ".join(tokens)}
    scan.finish()
