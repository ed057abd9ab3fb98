"""Accuracy, macro-F1 and per-class scores for one label per sentence (intent, topic, sentiment)."""

from __future__ import annotations

from typing import Any

from sklearn.metrics import precision_recall_fscore_support

from stmtl.metrics.base import LABELS, SCIKIT_LEARN_CITATION, StringMetric

_DESCRIPTION = """\
Sentence classification scores: accuracy, macro-F1 and per-class precision/recall/F1/support.
Macro-F1 averages over every label seen in the references or the predictions (scikit-learn's convention),
with 0 for an undefined ratio. All values are fractions in [0, 1].
"""

_INPUTS = """\
Args:
    predictions (list of str): the predicted label of each example.
    references (list of str): the gold label of each example.
Returns:
    accuracy (float), macro_f1 (float), per_class (dict label -> {precision, recall, f1, support}).
"""


class SentenceClassificationMetric(StringMetric):
    """Scores sentence-level labels given as strings, so that labels unknown to the model simply count as wrong.

    Example:
        >>> metric = SentenceClassificationMetric()
        >>> metric.compute(predictions=["a", "b"], references=["a", "a"])["accuracy"]
        0.5
    """

    metric_description = _DESCRIPTION
    metric_inputs = _INPUTS
    metric_citation = SCIKIT_LEARN_CITATION
    metric_features = LABELS

    def _compute(self, predictions: list[str], references: list[str]) -> dict[str, Any]:
        """Computes the scores.

        Args:
            predictions: Predicted label of each example.
            references: Gold label of each example, aligned with ``predictions``.

        Returns:
            ``{"accuracy", "macro_f1", "per_class": {label: {"precision", "recall", "f1", "support"}}}``;
            all zeros and an empty ``per_class`` when there are no examples.
        """
        if not references:
            return {"accuracy": 0.0, "macro_f1": 0.0, "per_class": {}}
        correct = sum(pred == ref for pred, ref in zip(predictions, references))
        # Sorted union of both sides: a label only ever predicted still lowers macro-F1, as in scikit-learn.
        labels = sorted(set(references) | set(predictions))
        precision, recall, f1, support = precision_recall_fscore_support(
            references, predictions, labels=labels, average=None, zero_division=0
        )
        per_class = {
            label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for label, p, r, f, s in zip(labels, precision, recall, f1, support)
        }
        return {
            "accuracy": correct / len(references),
            "macro_f1": float(sum(f1) / len(labels)),
            "per_class": per_class,
        }
