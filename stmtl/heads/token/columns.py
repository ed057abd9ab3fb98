"""The checks of a token task's ``tokens`` and ``tags`` in a data file, and the tag-scheme conversion to IOB2."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from stmtl.heads.columns import ColumnReader
from stmtl.heads.token.tag_schemes import TagSchemeScan, announce, convert_dataset, recorded_conversion

if TYPE_CHECKING:
    import datasets


class TokenColumnReader(ColumnReader):
    """Words and one tag per word; the tags checked and converted to IOB2 as the source is read
    (:class:`stmtl.heads.token.tag_schemes.TagSchemeScan`: one scheme per source, IOB1, IOB2, BIOES or BILOU).

    Args:
        source: The source, or per column the file it comes from (a joint folder's ``seq.in``/``seq.out``).
        features: ``tokens`` and ``tags``.
    """

    def __init__(self, source: str | os.PathLike | Mapping[str, Any] | None, features: Mapping[str, Any]) -> None:
        super().__init__(source, features)
        self.scan = TagSchemeScan(self.source_of("tags"))

    def read(self, values: Mapping[str, Any], line: int) -> dict[str, Any]:
        """Checked tokens (a non-empty list of non-empty strings) and as many tags, converted to IOB2.

        Raises:
            DataError: Naming the file and line.
        """
        tokens = self.check("tokens", values["tokens"], line)
        tags = self.check("tags", values["tags"], line)
        if not tokens:
            raise self.error("'tokens' is empty", line, "tokens")
        if any(not token for token in tokens):
            raise self.error("'tokens' holds an empty string", line, "tokens")
        if len(tokens) != len(tags):
            raise self.error(f"{len(tags)} tags but {len(tokens)} tokens", line, "tags")
        return {"tokens": tokens, "tags": self.scan.convert(tags, line)}

    def text(self, row: Mapping[str, Any]) -> str:
        """The tokens joined by single spaces."""
        return " ".join(row["tokens"])

    def finish(self) -> None:
        """Record (and log) the tag conversion once the whole source has been read."""
        self.scan.finish()

    @staticmethod
    def announce(source: str | os.PathLike) -> None:
        """Log the tag conversion an earlier complete pass over ``source`` recorded (a cached read)."""
        announce(source)

    @staticmethod
    def note(source: str | os.PathLike) -> dict[str, Any] | None:
        """The tag conversion recorded for ``source``: ``{"scheme", "changed", "total"}``, or ``None``."""
        return recorded_conversion(source)

    @staticmethod
    def prepare_dataset(dataset: datasets.Dataset) -> datasets.Dataset:
        """An in-memory dataset with its ``tags`` in IOB2 (converted when another scheme is found)."""
        return convert_dataset(dataset)
