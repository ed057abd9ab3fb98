"""Entity-level precision/recall/F1 (seqeval) and token accuracy for BIO-tagged sequences (NER, slots)."""

from __future__ import annotations

from typing import Any

from seqeval.metrics import sequence_labeling, v1
from seqeval.scheme import IOB2

from stmtl.metrics.base import StringMetric

_DESCRIPTION = """\
Token classification scores computed with seqeval: micro-averaged entity precision/recall/F1, per-entity-type
scores and token accuracy. ``mode="strict"`` (the default) reads entities by the IOB2 scheme strictly (an entity
opens with B-); ``mode="default"`` applies seqeval's default, conlleval rules, where an I- tag that continues no
entity also opens one. The two differ only on such stray I- tags. Values are in [0, 1].
"""

_INPUTS = """\
Args:
    predictions (list of list of str): the predicted IOB2 tags of each example.
    references (list of list of str): the gold IOB2 tags of each example, same lengths.
    mode (str): "strict" (default) or "default".
Returns:
    precision, recall, f1, token_accuracy (float), per_entity (dict type -> {precision, recall, f1, support}).
"""

_CITATION = """\
@misc{seqeval, title={{seqeval}: A Python framework for sequence labeling evaluation},
url={https://github.com/chakki-works/seqeval}, author={Hiroki Nakayama}, year={2018}}
"""

_MODES = ("strict", "default")


class TokenClassificationMetric(StringMetric):
    """Scores IOB2 tag sequences at entity level and at token level.

    Strict mode is reported by default: an entity counts as found only when its B- tag, every one of its I- tags
    and its type are all right, and a chunk opened by a stray I- tag is no entity. stmtl scores well-formed IOB2 on
    both sides (predictions are the entities ``predict`` returns, turned into tags by
    :func:`stmtl.bio.entities_to_tags`; references are IOB2 once the readers have converted IOB1, BIOES or BILOU
    data), and on well-formed IOB2 strict and default modes give the same numbers. The slot F1 that JointBERT
    reports is seqeval's default mode (its ``f1_score`` without ``mode``), so stmtl's figures compare with it
    directly. On other input the modes differ: ``mode="default"`` gives the lenient conlleval count.

    Example:
        >>> metric = TokenClassificationMetric()
        >>> metric.compute(predictions=[["I-loc", "O"]], references=[["B-loc", "O"]])["f1"]
        0.0
        >>> metric.compute(predictions=[["I-loc", "O"]], references=[["B-loc", "O"]], mode="default")["f1"]
        1.0
    """

    metric_description = _DESCRIPTION
    metric_inputs = _INPUTS
    metric_citation = _CITATION

    def _compute(
        self, predictions: list[list[str]], references: list[list[str]], mode: str = "strict"
    ) -> dict[str, Any]:
        """Computes the scores.

        Args:
            predictions: Predicted tags of each example.
            references: Gold tags of each example, each the same length as its prediction.
            mode: ``"strict"`` for strict IOB2 matching or ``"default"`` for seqeval's conlleval rules.

        Returns:
            ``{"precision", "recall", "f1", "token_accuracy", "per_entity": {type: {"precision", "recall", "f1",
            "support"}}}``; ratios with a zero denominator are 0.0.

        Raises:
            ValueError: If ``mode`` is unknown or an example's prediction and reference differ in length.
        """
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
        y_pred = [list(tags) for tags in predictions]
        y_true = [list(tags) for tags in references]
        for index, (pred, ref) in enumerate(zip(y_pred, y_true)):
            if len(pred) != len(ref):
                raise ValueError(f"example {index}: prediction has {len(pred)} tags but reference has {len(ref)}")
        if not y_true:
            return {"precision": 0.0, "recall": 0.0, "f1": 0.0, "token_accuracy": 0.0, "per_entity": {}}
        precision, recall, f1, per_entity = _entity_scores(y_true, y_pred, mode)
        return {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "token_accuracy": _token_accuracy(y_true, y_pred),
            "per_entity": per_entity,
        }


def _entity_scores(
    y_true: list[list[str]], y_pred: list[list[str]], mode: str
) -> tuple[float, float, float, dict[str, dict[str, float | int]]]:
    """Micro-averaged precision, recall, F1 and per-type scores from seqeval, in the given mode."""
    if mode == "strict":
        # seqeval's v1 implementation is the one that honours an explicit scheme; it always matches strictly.
        score, labels = v1.precision_recall_fscore_support, v1.unique_labels(y_true, y_pred, IOB2, False)
        options: dict[str, Any] = {"scheme": IOB2, "zero_division": 0}
    else:
        score, options = sequence_labeling.precision_recall_fscore_support, {"zero_division": 0}
        # Same sorted order of types that seqeval uses for its per-type arrays.
        found = sequence_labeling.get_entities(y_true) + sequence_labeling.get_entities(y_pred)
        labels = sorted({entity_type for entity_type, _, _ in found})
    precision, recall, f1, _ = score(y_true, y_pred, average="micro", **options)
    per_entity: dict[str, dict[str, float | int]] = {}
    if labels:
        type_scores = zip(labels, *score(y_true, y_pred, average=None, **options))
        per_entity = {
            label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for label, p, r, f, s in type_scores
        }
    return float(precision), float(recall), float(f1), per_entity


def _token_accuracy(y_true: list[list[str]], y_pred: list[list[str]]) -> float:
    """Share of tokens, over all examples, whose predicted tag equals the gold tag; 0.0 with no tokens."""
    total = sum(len(tags) for tags in y_true)
    correct = sum(p == t for pred, ref in zip(y_pred, y_true) for p, t in zip(pred, ref))
    return correct / total if total else 0.0
