"""The checks of a multi-label task's ``labels`` in a data file: a list of non-blank labels per row."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stmtl.heads.columns import ColumnReader

LABEL_SEPARATOR = "|"
"""What separates the labels in a CSV/TSV ``labels`` cell."""


class MultiLabelColumnReader(ColumnReader):
    """A list of labels per row (possibly empty), none of them blank; in a CSV/TSV cell they are separated by
    ``|`` (``billing | refund``), spaces around each dropped, and an empty cell is an empty list."""

    def parse_cells(self, cells: Mapping[str, str], line: int) -> dict[str, Any]:
        cell = cells["labels"].strip()
        labels = [label.strip() for label in cell.split(LABEL_SEPARATOR)] if cell else []
        if any(not label for label in labels):
            message = f"'labels' holds an empty label (labels are separated by {LABEL_SEPARATOR!r})"
            raise self.error(message, line, "labels")
        return {"labels": labels}

    def read(self, values: Mapping[str, Any], line: int) -> dict[str, Any]:
        labels = self.check("labels", values["labels"], line)
        if any(not label.strip() for label in labels):
            raise self.error("'labels' holds an empty label", line, "labels")
        return {"labels": labels}
