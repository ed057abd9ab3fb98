"""Regression scores against SciPy's and worked-out values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr

from stmtl.heads.regression.metric import RegressionMetric


def test_regression_metric_matches_scipy() -> None:
    rng = np.random.default_rng(0)
    gold = rng.normal(size=50)
    predicted = gold + rng.normal(scale=0.5, size=50)
    scores = RegressionMetric(keep_in_memory=True).compute(predictions=predicted.tolist(), references=gold.tolist())
    assert scores["pearson"] == pytest.approx(pearsonr(predicted, gold).statistic)
    assert scores["spearman"] == pytest.approx(spearmanr(predicted, gold).statistic)
    assert scores["mae"] == pytest.approx(np.abs(predicted - gold).mean())
    assert scores["rmse"] == pytest.approx(np.sqrt(((predicted - gold) ** 2).mean())) and scores["count"] == 50


def test_regression_metric_constant_predictions_correlate_zero() -> None:
    scores = RegressionMetric(keep_in_memory=True).compute(predictions=[1.0, 1.0, 1.0], references=[0.0, 1.0, 2.0])
    assert scores["pearson"] == scores["spearman"] == 0.0 and scores["mae"] == pytest.approx(2 / 3)
