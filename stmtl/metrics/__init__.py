"""Evaluation metrics for stmtl tasks, as offline ``evaluate.Metric`` subclasses plus an unknown-label check."""

from __future__ import annotations

from stmtl.metrics.exact_match import ExactMatchMetric
from stmtl.metrics.sentence_classification import SentenceClassificationMetric
from stmtl.metrics.token_classification import TokenClassificationMetric
from stmtl.metrics.unknown_labels import count_unknown_labels, warn_unknown_labels

__all__ = [
    "ExactMatchMetric",
    "SentenceClassificationMetric",
    "TokenClassificationMetric",
    "count_unknown_labels",
    "warn_unknown_labels",
]
