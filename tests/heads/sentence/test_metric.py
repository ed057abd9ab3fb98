"""Tests for SentenceClassificationMetric against scores worked out by hand."""

from __future__ import annotations

import pytest

from stmtl.metrics import SentenceClassificationMetric

REFERENCES = ["play", "play", "weather", "weather", "book"]
PREDICTIONS = ["play", "weather", "weather", "book", "book"]


def test_sentence_classification_accuracy_and_macro_f1_by_hand() -> None:
    result = SentenceClassificationMetric().compute(predictions=PREDICTIONS, references=REFERENCES)
    # Right at positions 0, 2, 4 -> accuracy 3/5.
    assert result["accuracy"] == pytest.approx(3 / 5)
    # play:    tp 1, predicted 1, gold 2 -> P 1,   R 1/2, F1 2*1*(1/2)/(3/2) = 2/3
    # weather: tp 1, predicted 2, gold 2 -> P 1/2, R 1/2, F1 1/2
    # book:    tp 1, predicted 2, gold 1 -> P 1/2, R 1,   F1 2*(1/2)*1/(3/2) = 2/3
    # macro-F1 = (2/3 + 1/2 + 2/3) / 3 = 11/18
    assert result["macro_f1"] == pytest.approx(11 / 18)
    per_class = result["per_class"]
    assert per_class["play"] == pytest.approx({"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2})
    assert per_class["weather"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert per_class["book"] == pytest.approx({"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1})


def test_sentence_classification_macro_f1_includes_predicted_only_labels() -> None:
    result = SentenceClassificationMetric().compute(predictions=["a", "z"], references=["a", "a"])
    # a: P 1/1, R 1/2, F1 2/3; z (never gold): P 0/1, R 0/0 -> 0, F1 0, support 0.
    # macro-F1 over the union {a, z} = (2/3 + 0) / 2 = 1/3.
    assert result["accuracy"] == pytest.approx(1 / 2)
    assert result["macro_f1"] == pytest.approx(1 / 3)
    assert result["per_class"]["z"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}


def test_sentence_classification_unpredictable_reference_label_counts_as_wrong() -> None:
    # "a#b" is not a label the model can output, so it is never predicted.
    result = SentenceClassificationMetric().compute(predictions=["play", "play"], references=["a#b", "play"])
    # Right only at position 1 -> accuracy 1/2; a#b: tp 0, gold 1 -> R 0, F1 0.
    assert result["accuracy"] == pytest.approx(1 / 2)
    assert result["per_class"]["a#b"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    # play: tp 1, predicted 2, gold 1 -> P 1/2, R 1, F1 2/3; macro-F1 = (0 + 2/3) / 2 = 1/3.
    assert result["macro_f1"] == pytest.approx(1 / 3)


def test_sentence_classification_add_batch_matches_single_compute() -> None:
    metric = SentenceClassificationMetric()
    metric.add_batch(predictions=PREDICTIONS[:2], references=REFERENCES[:2])
    metric.add_batch(predictions=PREDICTIONS[2:], references=REFERENCES[2:])
    batched = metric.compute()
    assert batched == SentenceClassificationMetric().compute(predictions=PREDICTIONS, references=REFERENCES)


def test_sentence_classification_empty_input_gives_zeros() -> None:
    result = SentenceClassificationMetric().compute(predictions=[], references=[])
    assert result == {"accuracy": 0.0, "macro_f1": 0.0, "per_class": {}}
