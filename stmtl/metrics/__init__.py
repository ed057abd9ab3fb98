"""What every task's metric shares (offline ``evaluate.Metric`` subclasses, the unknown-label check) and exact
match across tasks. Each kind's own metric lives in its folder (``stmtl/heads/<kind>/metric.py``); the names below
still find them.

Names are imported lazily: loading a model for ``predict`` does not import ``evaluate`` or scikit-learn.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "ExactMatchMetric": "stmtl.metrics.exact_match",
    "MultiLabelMetric": "stmtl.heads.multilabel.metric",
    "SentenceClassificationMetric": "stmtl.heads.sentence.metric",
    "TokenClassificationMetric": "stmtl.heads.token.metric",
    "count_unknown_labels": "stmtl.metrics.unknown_labels",
    "warn_unknown_labels": "stmtl.metrics.unknown_labels",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'stmtl.metrics' has no attribute {name!r}")
