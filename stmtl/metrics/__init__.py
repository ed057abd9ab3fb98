"""Evaluation metrics for stmtl tasks, as offline ``evaluate.Metric`` subclasses plus an unknown-label check.

Names are imported lazily: loading a model for ``predict`` does not import ``evaluate`` or scikit-learn.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "ExactMatchMetric": "stmtl.metrics.exact_match",
    "MultiLabelMetric": "stmtl.metrics.multilabel",
    "SentenceClassificationMetric": "stmtl.metrics.sentence_classification",
    "TokenClassificationMetric": "stmtl.metrics.token_classification",
    "count_unknown_labels": "stmtl.metrics.unknown_labels",
    "warn_unknown_labels": "stmtl.metrics.unknown_labels",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'stmtl.metrics' has no attribute {name!r}")
