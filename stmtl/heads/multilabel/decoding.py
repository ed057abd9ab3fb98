"""Decoding of a multi-label head: every label at or above the threshold, most probable first; its config checks.

Torch-free: the PyTorch head and the ONNX runner both decode with :class:`MultiLabelDecoder`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from stmtl.decoding.text_batch import TextBatch
from stmtl.heads.validation import HeadConfigError, check_labels, is_number


def check_threshold(value: Any) -> None:
    """A multi-label decision threshold: a number in (0, 1)."""
    if not is_number(value) or not 0.0 < value < 1.0:
        raise HeadConfigError("threshold", f"must be a number in (0, 1), got {value!r}")


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """The logistic function, in float64, without overflow for large negative logits."""
    logits = np.asarray(logits, dtype=np.float64)
    exponentials = np.exp(-np.abs(logits))
    return np.where(logits >= 0, 1.0 / (1.0 + exponentials), exponentials / (1.0 + exponentials))


@dataclass(frozen=True)
class MultiLabelDecoder:
    """The labels whose sigmoid probability reaches the threshold.

    Args:
        labels: Label names, in logit order.
        threshold: Probability at or above which a label is predicted.
    """

    config_checks: ClassVar[dict[str, Any]] = {"labels": check_labels, "threshold": check_threshold}
    """Checks of the kind's own config keys (see :func:`stmtl.heads.validation.check_head_config`)."""
    required_keys: ClassVar[tuple[str, ...]] = ("labels",)

    labels: tuple[str, ...]
    threshold: float = 0.5

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> None:
        """Nothing beyond the key checks."""

    @staticmethod
    def output_width(config: Mapping[str, Any]) -> int:
        """The logits' last dimension for this config: one per label."""
        return len(config["labels"])

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MultiLabelDecoder:
        """The decoder of a head with this saved config (``labels``, ``threshold``)."""
        return cls(tuple(config["labels"]), float(config.get("threshold", 0.5)))

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """``(batch, num_labels)`` probability of each label."""
        return sigmoid(logits)

    def decode(self, logits: np.ndarray, batch: TextBatch | None = None) -> list[list[dict[str, Any]]]:
        """Per row of ``logits`` (``(batch, num_labels)``), ``[{"label", "score"}, ...]`` (possibly empty)."""
        results = []
        for row in self.probabilities(logits).tolist():
            chosen = [(p, i) for i, p in enumerate(row) if p >= self.threshold]
            results.append([{"label": self.labels[i], "score": p} for p, i in sorted(chosen, reverse=True)])
        return results
