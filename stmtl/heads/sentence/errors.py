"""Which labels a sentence task mixes up: its confusion matrix and most confused pairs.

The scores of :mod:`stmtl.heads.sentence.metric` say how well each label does; these say what goes wrong instead,
so that a user knows which labels to look at (merge, relabel, add examples of). Plain Python over string labels:
nothing here imports ``evaluate``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def confusion_matrix(references: Sequence[str], predictions: Sequence[str]) -> dict[str, Any]:
    """Counts of every (gold, predicted) label pair.

    Args:
        references: Gold label of each example.
        predictions: Predicted label of each example, aligned with ``references``.

    Returns:
        ``{"labels": sorted union of both sides, "matrix": rows (gold) of columns (predicted) of counts}``.
    """
    labels = sorted(set(references) | set(predictions))
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for gold, predicted in zip(references, predictions, strict=True):
        matrix[index[gold]][index[predicted]] += 1
    return {"labels": labels, "matrix": matrix}


def most_confused(confusion: dict[str, Any], top: int | None = None) -> list[dict[str, Any]]:
    """The off-diagonal cells of a :func:`confusion_matrix`, most frequent first (ties by gold, then predicted).

    Returns:
        ``[{"gold", "predicted", "count"}, ...]``, at most ``top`` of them.
    """
    labels, matrix = confusion["labels"], confusion["matrix"]
    cells = [
        {"gold": labels[row], "predicted": labels[column], "count": count}
        for row, counts in enumerate(matrix)
        for column, count in enumerate(counts)
        if row != column and count
    ]
    cells.sort(key=lambda cell: (-cell["count"], cell["gold"], cell["predicted"]))
    return cells[:top] if top is not None else cells
