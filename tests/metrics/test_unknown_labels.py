"""Tests for count_unknown_labels and warn_unknown_labels."""

from __future__ import annotations

import logging
from collections import Counter

import pytest

from stmtl.metrics import SentenceClassificationMetric, count_unknown_labels, warn_unknown_labels

KNOWN = ["play", "book"]
REFERENCES = ["a#b", "play", "Foo", "a#b", "book"]


def test_count_unknown_labels_counts_each_occurrence() -> None:
    assert count_unknown_labels(REFERENCES, KNOWN) == Counter({"a#b": 2, "Foo": 1})


def test_count_unknown_labels_token_tags_compare_whole_tag() -> None:
    # B-date is unknown even though I-date is known: the tag string itself is compared.
    tags = ["O", "B-loc", "B-date", "I-date"]
    assert count_unknown_labels(tags, ["O", "B-loc", "I-loc", "I-date"]) == Counter({"B-date": 1})


def test_warn_unknown_labels_logs_once_with_counts(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        unknown = warn_unknown_labels("intent", REFERENCES, KNOWN)
    assert unknown == Counter({"a#b": 2, "Foo": 1})
    assert len(caplog.records) == 1
    assert caplog.records[0].levelno == logging.WARNING
    assert caplog.records[0].getMessage() == (
        "task 'intent': 3 evaluation labels are not in the model's label set and count as wrong: {'a#b': 2, 'Foo': 1}"
    )


def test_warn_unknown_labels_silent_when_all_known(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert warn_unknown_labels("intent", ["play", "book"], KNOWN) == Counter()
    assert caplog.records == []


def test_warn_unknown_labels_uses_given_logger(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("stmtl.tests.custom")
    with caplog.at_level(logging.WARNING, logger="stmtl.tests.custom"):
        warn_unknown_labels("ner", ["B-x"], ["O"], logger=logger)
    assert [record.name for record in caplog.records] == ["stmtl.tests.custom"]


def test_warn_unknown_labels_reference_absent_from_predictions_scored_wrong(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The model predicts only known labels, so the two a#b and one Foo references can never be right.
    predictions = ["play", "play", "play", "book", "book"]
    with caplog.at_level(logging.WARNING):
        warn_unknown_labels("intent", REFERENCES, KNOWN)
    result = SentenceClassificationMetric().compute(predictions=predictions, references=REFERENCES)
    # Right at positions 1 (play) and 4 (book) only -> 2/5.
    assert result["accuracy"] == pytest.approx(2 / 5)
    assert result["per_class"]["a#b"]["recall"] == 0.0
    assert len(caplog.records) == 1
