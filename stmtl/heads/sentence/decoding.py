"""Decoding of a sentence-classification head: one label and its probability per text; its config checks.

Torch-free: the PyTorch head and the ONNX runner both decode with :class:`SentenceDecoder`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from stmtl.decoding.text_batch import TextBatch
from stmtl.heads.validation import HeadConfigError, check_labels, is_number


def check_prior(value: Any) -> None:
    """A label prior: ``null`` or a list of positive numbers summing to 1 (one per label)."""
    if value is None:
        return
    if not isinstance(value, (list, tuple)) or not value or not all(is_number(v) and v > 0 for v in value):
        raise HeadConfigError("prior", f"must be null or a list of positive numbers, got {value!r}"[:200])
    if abs(sum(value) - 1.0) > 1e-4:
        raise HeadConfigError("prior", f"must sum to 1, got {sum(value):.6f}")


def check_prior_weight(value: Any) -> None:
    """τ, the weight of the log prior in a sentence head's decisions: a number in [0, 1]."""
    if not is_number(value) or not 0.0 <= value <= 1.0:
        raise HeadConfigError("prior_weight", f"must be a number in [0, 1], got {value!r}")


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, in float64."""
    shifted = np.asarray(logits, dtype=np.float64)
    shifted = shifted - shifted.max(axis=-1, keepdims=True)
    exponentials = np.exp(shifted)
    return exponentials / exponentials.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class SentenceDecoder:
    """Label and softmax probability from ``logits + τ * log(prior)`` (the head's decision rule).

    Args:
        labels: Class names, in logit order.
        prior: Training frequency of each label, or ``None`` (no prior: the logits decide alone).
        prior_weight: τ, the weight of ``log(prior)``.
    """

    config_checks: ClassVar[dict[str, Any]] = {
        "labels": check_labels,
        "prior": check_prior,
        "prior_weight": check_prior_weight,
    }
    """Checks of the kind's own config keys (see :func:`stmtl.heads.validation.check_head_config`)."""
    required_keys: ClassVar[tuple[str, ...]] = ("labels",)

    labels: tuple[str, ...]
    prior: tuple[float, ...] | None = None
    prior_weight: float = 0.0

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> None:
        """What the key checks cannot see: one prior value per label.

        Raises:
            HeadConfigError: Naming the key.
        """
        prior, labels = config.get("prior"), config["labels"]
        if prior is not None and len(prior) != len(labels):
            raise HeadConfigError("prior", f"must have one value per label ({len(labels)}), got {len(prior)}")

    @staticmethod
    def output_width(config: Mapping[str, Any]) -> int:
        """The logits' last dimension for this config: one per label."""
        return len(config["labels"])

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SentenceDecoder:
        """The decoder of a head with this saved config (``labels``, ``prior``, ``prior_weight``)."""
        prior = config.get("prior")
        return cls(tuple(config["labels"]), None if prior is None else tuple(float(p) for p in prior),
                   float(config.get("prior_weight", 0.0)))  # fmt: skip

    def decision_logits(self, logits: np.ndarray, prior_weight: float | None = None) -> np.ndarray:
        """``logits + τ * log(prior)`` in float64, the scores labels are ranked by (the logits for τ = 0).

        Args:
            logits: ``(batch, num_labels)``.
            prior_weight: τ; the decoder's own by default.
        """
        weight = self.prior_weight if prior_weight is None else prior_weight
        logits = np.asarray(logits, dtype=np.float64)  # (batch, num_labels)
        if self.prior is None or weight == 0:
            return logits
        return logits + weight * np.log(np.asarray(self.prior, dtype=np.float64))

    def decode(self, logits: np.ndarray, batch: TextBatch | None = None) -> list[dict[str, Any]]:
        """``[{"label": str, "score": float}, ...]``, one per row of ``logits`` (``(batch, num_labels)``)."""
        probabilities = softmax(self.decision_logits(logits))  # (batch, num_labels)
        indices = probabilities.argmax(axis=-1)
        scores = probabilities[np.arange(len(indices)), indices]
        return [{"label": self.labels[index], "score": float(score)} for score, index in zip(scores, indices.tolist())]
