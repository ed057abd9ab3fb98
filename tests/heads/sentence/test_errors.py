"""Confusion matrix against counts worked out by hand."""

from __future__ import annotations

import pytest

from stmtl.heads.sentence.errors import confusion_matrix, most_confused


def test_confusion_matrix_rows_gold_columns_predicted() -> None:
    confusion = confusion_matrix(["a", "a", "b", "c", "c"], ["a", "b", "b", "a", "d"])
    assert confusion == {
        "labels": ["a", "b", "c", "d"],
        "matrix": [[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 0, 1], [0, 0, 0, 0]],
    }
    assert most_confused(confusion) == [
        {"gold": "a", "predicted": "b", "count": 1},
        {"gold": "c", "predicted": "a", "count": 1},
        {"gold": "c", "predicted": "d", "count": 1},
    ]
    assert most_confused(confusion_matrix(["x", "x", "y"], ["y", "y", "x"]), top=1) == [
        {"gold": "x", "predicted": "y", "count": 2}
    ]
    with pytest.raises(ValueError):
        confusion_matrix(["a"], [])
