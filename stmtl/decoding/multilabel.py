"""Decoding of a multi-label head: every label at or above the threshold, most probable first."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from stmtl.decoding.text_batch import TextBatch


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

    labels: tuple[str, ...]
    threshold: float = 0.5

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
