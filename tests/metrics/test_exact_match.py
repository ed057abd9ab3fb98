"""Tests for ExactMatchMetric."""

from __future__ import annotations

import pytest

from stmtl.metrics import ExactMatchMetric

# Each example is [intent] + slot tags.
REFERENCES = [["play", "O", "B-song"], ["play", "O", "B-song"], ["book", "B-city"]]
PREDICTIONS = [["play", "O", "B-song"], ["play", "O", "O"], ["book", "B-city"]]


def test_exact_match_counts_whole_sequences() -> None:
    # Example 1 has one wrong slot tag, the other two are right throughout -> 2/3.
    result = ExactMatchMetric().compute(predictions=PREDICTIONS, references=REFERENCES)
    assert result == {"exact_match": pytest.approx(2 / 3)}


def test_exact_match_wrong_intent_alone_fails_example() -> None:
    result = ExactMatchMetric().compute(predictions=[["book", "O"]], references=[["play", "O"]])
    assert result == {"exact_match": 0.0}


def test_exact_match_length_mismatch_counts_as_wrong() -> None:
    result = ExactMatchMetric().compute(predictions=[["play", "O"]], references=[["play", "O", "O"]])
    assert result == {"exact_match": 0.0}


def test_exact_match_add_batch_matches_single_compute() -> None:
    metric = ExactMatchMetric()
    metric.add_batch(predictions=PREDICTIONS[:2], references=REFERENCES[:2])
    metric.add_batch(predictions=PREDICTIONS[2:], references=REFERENCES[2:])
    assert metric.compute() == ExactMatchMetric().compute(predictions=PREDICTIONS, references=REFERENCES)


def test_exact_match_empty_input_gives_zero() -> None:
    assert ExactMatchMetric().compute(predictions=[], references=[]) == {"exact_match": 0.0}
