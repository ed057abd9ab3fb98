"""Pearson and Spearman correlation, mean absolute and mean squared error of a score per text."""

from __future__ import annotations

import math
from typing import Any

import datasets
import evaluate
import numpy as np

_DESCRIPTION = """\
Regression scores: Pearson and Spearman correlation of predicted and gold scores (0 when either side is constant,
where a correlation is undefined), mean absolute error and root mean squared error (in the target's unit).
"""

_INPUTS = """\
Args:
    predictions (list of float): the predicted score of each example.
    references (list of float): the gold score of each example.
Returns:
    pearson, spearman (float in [-1, 1]), mae, rmse (float, the target's unit), count (int).
"""

_CITATION = """\
@article{scipy, title={{SciPy} 1.0: Fundamental Algorithms for Scientific Computing in Python},
author={Virtanen, Pauli and others}, journal={Nature Methods}, volume={17}, pages={261--272}, year={2020}}
"""


def correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation; 0 when either side is constant (or there are fewer than two values)."""
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return 0.0
    value = float(np.corrcoef(x, y)[0, 1])
    return value if math.isfinite(value) else 0.0


class RegressionMetric(evaluate.Metric):
    """Scores of predicted numbers against gold ones; works offline.

    Example:
        >>> RegressionMetric().compute(predictions=[1.0, 2.0, 4.0], references=[1.0, 2.0, 3.0])["mae"]
        0.3333333333333333
    """

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_INPUTS,
            features=datasets.Features(
                {"predictions": datasets.Value("float64"), "references": datasets.Value("float64")}
            ),
        )

    def _compute(self, predictions: list[float], references: list[float]) -> dict[str, Any]:
        """Computes the scores.

        Returns:
            ``{"pearson", "spearman", "mae", "rmse", "count"}``; zeros when there are no examples.
        """
        from scipy.stats import rankdata

        predicted = np.asarray(predictions, dtype=np.float64)  # (n,)
        gold = np.asarray(references, dtype=np.float64)  # (n,)
        if not len(gold):
            return {"pearson": 0.0, "spearman": 0.0, "mae": 0.0, "rmse": 0.0, "count": 0}
        error = predicted - gold
        return {
            "pearson": correlation(predicted, gold),
            "spearman": correlation(rankdata(predicted), rankdata(gold)),  # Pearson of the ranks, ties averaged
            "mae": float(np.abs(error).mean()),
            "rmse": float(np.sqrt((error**2).mean())),
            "count": len(gold),
        }
