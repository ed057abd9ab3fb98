"""Share of examples whose whole label sequence is right, e.g. intent and every slot tag at once."""

from __future__ import annotations

from typing import Any

from stmtl.metrics.base import StringMetric

_DESCRIPTION = """\
Exact match over label sequences: an example counts as right only when its whole prediction sequence equals
its reference sequence. Passing ``[intent] + slot_tags`` per example gives the "every task right" rate
(sentence-level semantic frame accuracy). The value is a fraction in [0, 1].
"""

_INPUTS = """\
Args:
    predictions (list of list of str): the predicted labels of each example.
    references (list of list of str): the gold labels of each example.
Returns:
    exact_match (float).
"""

_CITATION = """\
@inproceedings{goo2018slot, title={Slot-Gated Modeling for Joint Slot Filling and Intent Prediction},
author={Goo, Chih-Wen and others}, booktitle={NAACL-HLT}, year={2018}}
"""


class ExactMatchMetric(StringMetric):
    """Counts an example as right only when every one of its labels is right.

    Example:
        >>> metric = ExactMatchMetric()
        >>> metric.compute(predictions=[["a", "O"], ["b", "O"]], references=[["a", "O"], ["a", "O"]])
        {'exact_match': 0.5}
    """

    metric_description = _DESCRIPTION
    metric_inputs = _INPUTS
    metric_citation = _CITATION

    def _compute(self, predictions: list[list[str]], references: list[list[str]]) -> dict[str, Any]:
        """Computes the exact-match rate.

        Args:
            predictions: Predicted label sequence of each example.
            references: Gold label sequence of each example, aligned with ``predictions``.

        Returns:
            ``{"exact_match": float}``; 0.0 when there are no examples.
        """
        if not references:
            return {"exact_match": 0.0}
        # Sequences of different lengths compare unequal, so a length mismatch counts as wrong.
        correct = sum(list(pred) == list(ref) for pred, ref in zip(predictions, references))
        return {"exact_match": correct / len(references)}
