"""Accuracy, macro-F1 and per-class scores for one label per sentence (intent, topic, sentiment)."""

from __future__ import annotations

from typing import Any

import datasets
import evaluate
from sklearn.metrics import precision_recall_fscore_support

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

_CITATION = """\
@article{scikit-learn, title={Scikit-learn: Machine Learning in {P}ython}, author={Pedregosa, F. and others},
journal={Journal of Machine Learning Research}, volume={12}, pages={2825--2830}, year={2011}}
"""


class SentenceClassificationMetric(evaluate.Metric):
    """Scores sentence-level labels given as strings, so that labels unknown to the model simply count as wrong.

    Example:
        >>> metric = SentenceClassificationMetric()
        >>> metric.compute(predictions=["a", "b"], references=["a", "a"])["accuracy"]
        0.5
    """

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_INPUTS,
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
            ),
        )

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
