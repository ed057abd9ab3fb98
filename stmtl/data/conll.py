"""Reader for CoNLL-style token files: one token per line, blank lines between sentences."""

from __future__ import annotations

import os
from pathlib import Path

import datasets

from stmtl.bio import validate_tag
from stmtl.data.errors import DataError
from stmtl.data.lines import read_lines

DOCSTART = "-DOCSTART-"

FEATURES = datasets.Features(
    {
        "tokens": datasets.List(datasets.Value("string")),
        "tags": datasets.List(datasets.Value("string")),
        "text": datasets.Value("string"),
    }
)


def read_conll(path: str | os.PathLike) -> datasets.Dataset:
    """Reads a CoNLL-style file of IOB2-tagged sentences.

    Each non-blank line is split on whitespace: the first column is the token and the last the tag, and any
    columns between (POS, chunk tags as in CoNLL-2003) are ignored. Blank lines end sentences, so several blank
    lines in a row and a missing final blank line are both fine. Lines starting with ``-DOCSTART-`` are document
    markers, not tokens: they are skipped and also end any sentence in progress.

    Args:
        path: The CoNLL file.

    Returns:
        A dataset with columns ``tokens``, ``tags`` and ``text`` (the tokens joined by single spaces), one row per
        sentence.

    Raises:
        DataError: If the file is missing or holds no sentence; or, naming the line, if a line has a single
            column or an invalid tag.
    """
    file = Path(path)
    rows: dict[str, list] = {"tokens": [], "tags": [], "text": []}
    tokens: list[str] = []
    tags: list[str] = []

    def end_sentence() -> None:
        if tokens:
            rows["tokens"].append(list(tokens))
            rows["tags"].append(list(tags))
            rows["text"].append(" ".join(tokens))
            tokens.clear()
            tags.clear()

    for line_no, line in enumerate(read_lines(file), start=1):
        columns = line.split()
        if not columns or columns[0].startswith(DOCSTART):
            end_sentence()
            continue
        if len(columns) < 2:
            raise DataError(
                f"expected a token and a tag separated by whitespace, got one column {columns[0]!r}", file, line_no
            )
        tag = columns[-1]
        try:
            validate_tag(tag)
        except ValueError as err:
            raise DataError(str(err), file, line_no) from err
        tokens.append(columns[0])
        tags.append(tag)
    end_sentence()

    if not rows["tokens"]:
        raise DataError("empty dataset: no sentences", file)
    return datasets.Dataset.from_dict(rows, features=FEATURES)
