"""Micro/macro F1 and exact-set accuracy for texts that carry any number of labels."""

from __future__ import annotations

from typing import Any

from sklearn.metrics import precision_recall_fscore_support
from sklearn.preprocessing import MultiLabelBinarizer

from stmtl.metrics.base import SCIKIT_LEARN_CITATION, StringMetric

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
    metric_citation = SCIKIT_LEARN_CITATION

    def _compute(self, predictions: list[list[str]], references: list[list[str]]) -> dict[str, Any]:
        """Computes the scores; all zeros and an empty ``per_label`` when there are no examples or labels."""
        labels = sorted({label for row in [*predictions, *references] for label in row})
        exact = sum(set(p) == set(r) for p, r in zip(predictions, references)) / max(1, len(references))
        if not references or not labels:
            empty = dict.fromkeys(("micro_precision", "micro_recall", "micro_f1", "macro_f1"), 0.0)
            return {**empty, "exact_match": exact, "per_label": {}}
        binarizer = MultiLabelBinarizer(classes=labels)
        y_true, y_pred = binarizer.fit_transform(references), binarizer.transform(predictions)
        micro = precision_recall_fscore_support(y_true, y_pred, average="micro", zero_division=0)
        precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, average=None, zero_division=0)
        per_label = {
            label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for label, p, r, f, s in zip(labels, precision, recall, f1, support)
        }
        return {
            "micro_precision": float(micro[0]),
            "micro_recall": float(micro[1]),
            "micro_f1": float(micro[2]),
            "macro_f1": float(f1.mean()),
            "exact_match": exact,
            "per_label": per_label,
        }
