"""Micro/macro F1 and exact-set accuracy for texts that carry any number of labels."""

from __future__ import annotations

from typing import Any

from stmtl.metrics.base import StringMetric

_DESCRIPTION = """\
Multi-label classification scores: micro-averaged precision/recall/F1 over every (text, label) decision, macro-F1
over labels, per-label scores and exact-set accuracy (the predicted set equals the gold set). Labels are taken
from both sides, so a label only ever predicted still counts. All values are fractions in [0, 1].
"""

_INPUTS = """\
Args:
    predictions (list of list of str): the predicted labels of each example.
    references (list of list of str): the gold labels of each example.
Returns:
    micro_precision, micro_recall, micro_f1, macro_f1, exact_match (float), per_label (dict).
"""


class MultiLabelMetric(StringMetric):
    """Scores label sets given as strings.

    Example:
        >>> metric = MultiLabelMetric()
        >>> metric.compute(predictions=[["a"], ["a", "b"]], references=[["a"], ["b"]])["micro_f1"]
        0.8
    """

    metric_description = _DESCRIPTION
    metric_inputs = _INPUTS

    def _compute(self, predictions: list[list[str]], references: list[list[str]]) -> dict[str, Any]:
        """Computes the scores; all zeros and an empty ``per_label`` when there are no examples or labels."""
        labels = sorted({label for row in [*predictions, *references] for label in row})
        exact = sum(set(p) == set(r) for p, r in zip(predictions, references)) / max(1, len(references))
        if not references or not labels:
            empty = dict.fromkeys(("micro_precision", "micro_recall", "micro_f1", "macro_f1"), 0.0)
            return {**empty, "exact_match": exact, "per_label": {}}
        # Counted per label rather than with scikit-learn, which reads a one-label indicator matrix as binary data.
        counts = {label: [0, 0, 0] for label in labels}  # true positives, false positives, false negatives
        for predicted, gold in zip(predictions, references):
            predicted, gold = set(predicted), set(gold)
            for label in predicted & gold:
                counts[label][0] += 1
            for label in predicted - gold:
                counts[label][1] += 1
            for label in gold - predicted:
                counts[label][2] += 1
        per_label = {label: _scores(*counts[label]) for label in labels}
        micro = _scores(*(sum(c[i] for c in counts.values()) for i in range(3)))
        return {
            "micro_precision": micro["precision"],
            "micro_recall": micro["recall"],
            "micro_f1": micro["f1"],
            "macro_f1": sum(scores["f1"] for scores in per_label.values()) / len(labels),
            "exact_match": exact,
            "per_label": per_label,
        }


def _scores(true_positives: int, false_positives: int, false_negatives: int) -> dict[str, float | int]:
    """Precision, recall, F1 (0 for an undefined ratio) and support from decision counts."""
    precision = true_positives / (true_positives + false_positives) if true_positives + false_positives else 0.0
    recall = true_positives / (true_positives + false_negatives) if true_positives + false_negatives else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": true_positives + false_negatives}
