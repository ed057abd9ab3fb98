from __future__ import annotations

import pytest

from stmtl.metrics import MultiLabelMetric


def test_multilabel_metric_micro_macro_and_exact() -> None:
    result = MultiLabelMetric().compute(predictions=[["a"], ["a", "b"], []], references=[["a"], ["b"], ["c"]])
    # Decisions: tp = a(0), b(1); fp = a(1); fn = c(2). Micro P = 2/3, R = 2/3.
    assert result["micro_precision"] == pytest.approx(2 / 3)
    assert result["micro_recall"] == pytest.approx(2 / 3)
    assert result["micro_f1"] == pytest.approx(2 / 3)
    # Per label F1: a = 2/3 (P 1/2, R 1), b = 1, c = 0.
    assert result["macro_f1"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert result["exact_match"] == pytest.approx(1 / 3)
    assert result["per_label"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}


def test_multilabel_metric_empty_sets_match() -> None:
    result = MultiLabelMetric().compute(predictions=[[], []], references=[[], []])
    assert result["exact_match"] == 1.0 and result["micro_f1"] == 0.0 and result["per_label"] == {}


def test_multilabel_metric_single_label_is_not_read_as_binary() -> None:
    # One label in the data: a plain indicator matrix would be scored as binary targets, counting true negatives.
    result = MultiLabelMetric().compute(predictions=[[], [], [], []], references=[["a"], [], [], []])
    assert result["micro_f1"] == 0.0 and result["macro_f1"] == 0.0
    assert result["per_label"] == {"a": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}}
    assert result["exact_match"] == 0.75
