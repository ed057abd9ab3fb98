"""Decoding of a regression head: its output back in the target's unit, one score per text; its config checks.

Torch-free: the PyTorch head and the ONNX runner both decode with :class:`RegressionDecoder`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from stmtl.decoding.text_batch import TextBatch
from stmtl.heads.validation import HeadConfigError, is_number

LOSSES = ("mse", "huber")
"""The training losses of a regression head."""


def check_loss(value: Any) -> None:
    """The training loss: ``"mse"`` or ``"huber"``."""
    if value not in LOSSES:
        raise HeadConfigError("loss", f"must be one of {', '.join(LOSSES)}, got {value!r}")


def check_target_mean(value: Any) -> None:
    """The training targets' mean: ``null`` (not known yet) or a finite number."""
    if value is not None and (not is_number(value) or not math.isfinite(value)):
        raise HeadConfigError("target_mean", f"must be null or a finite number, got {value!r}")


def check_target_std(value: Any) -> None:
    """The training targets' standard deviation: ``null`` (not known yet) or a positive finite number."""
    if value is not None and (not is_number(value) or not math.isfinite(value) or value <= 0):
        raise HeadConfigError("target_std", f"must be null or a positive finite number, got {value!r}")


@dataclass(frozen=True)
class RegressionDecoder:
    """``{"score": output * target_std + target_mean}`` per text: the head learns the standardized target.

    Args:
        target_mean: The training targets' mean (0 when unknown).
        target_std: Their standard deviation (1 when unknown).
    """

    config_checks: ClassVar[dict[str, Any]] = {
        "loss": check_loss,
        "target_mean": check_target_mean,
        "target_std": check_target_std,
    }
    """Checks of the kind's own config keys (see :func:`stmtl.heads.validation.check_head_config`)."""
    required_keys: ClassVar[tuple[str, ...]] = ()

    target_mean: float = 0.0
    target_std: float = 1.0

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> None:
        """Nothing beyond the key checks."""

    @staticmethod
    def output_width(config: Mapping[str, Any]) -> int:
        """The output's last dimension: one score."""
        return 1

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RegressionDecoder:
        """The decoder of a head with this saved config (``target_mean``, ``target_std``)."""
        mean, std = config.get("target_mean"), config.get("target_std")
        return cls(0.0 if mean is None else float(mean), 1.0 if std is None else float(std))

    def scores(self, logits: np.ndarray) -> np.ndarray:
        """``(batch,)`` scores in the target's unit, in float64, from ``(batch, 1)`` outputs."""
        return np.asarray(logits, dtype=np.float64).reshape(len(logits), -1)[:, 0] * self.target_std + self.target_mean

    def decode(self, logits: np.ndarray, batch: TextBatch | None = None) -> list[dict[str, float]]:
        """``[{"score": float}, ...]``, one per row of ``logits`` (``(batch, 1)``)."""
        return [{"score": float(score)} for score in self.scores(logits)]
