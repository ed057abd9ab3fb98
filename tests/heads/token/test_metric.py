"""Tests for TokenClassificationMetric against entity counts worked out by hand."""

from __future__ import annotations

import pytest

from stmtl.metrics import TokenClassificationMetric

REFERENCES = [["B-per", "I-per", "O", "B-loc"], ["B-loc", "I-loc", "O", "B-per"]]
PREDICTIONS = [["B-per", "I-per", "O", "B-org"], ["B-loc", "O", "O", "B-per"]]


@pytest.mark.parametrize("mode", ["strict", "default"])
def test_token_classification_scores_by_hand(mode: str) -> None:
    result = TokenClassificationMetric().compute(predictions=PREDICTIONS, references=REFERENCES, mode=mode)
    # Gold entities: per[0:2], loc[3]; loc[0:2], per[3]       -> 4 (per 2, loc 2)
    # Predicted:     per[0:2] ok, org[3] wrong; loc[0:1] wrong span, per[3] ok -> 4, of which 2 right
    # P = 2/4, R = 2/4, F1 = 1/2 (all tags well formed, so both modes agree).
    assert result["precision"] == pytest.approx(0.5)
    assert result["recall"] == pytest.approx(0.5)
    assert result["f1"] == pytest.approx(0.5)
    # Tokens: example 0 wrong at 3 (B-org), example 1 wrong at 1 (O vs I-loc) -> 6/8.
    assert result["token_accuracy"] == pytest.approx(6 / 8)
    per_entity = result["per_entity"]
    assert per_entity["per"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2}
    assert per_entity["loc"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}
    # org is only predicted: 1 predicted, 0 right, no gold.
    assert per_entity["org"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}


def test_token_classification_strict_rejects_entity_opened_by_i_tag() -> None:
    predictions, references = [["I-loc", "I-loc", "O"]], [["B-loc", "I-loc", "O"]]
    metric = TokenClassificationMetric()
    strict = metric.compute(predictions=predictions, references=references)
    lenient = metric.compute(predictions=predictions, references=references, mode="default")
    # Strict IOB2: a chunk must open with B-, so 0 predicted entities -> 0 correct of 1 gold; P, R, F1 = 0.
    assert (strict["precision"], strict["recall"], strict["f1"]) == (0.0, 0.0, 0.0)
    assert strict["per_entity"]["loc"]["support"] == 1
    # conlleval rules: I-loc I-loc is the chunk loc[0:2], equal to the gold one -> 1/1 everywhere.
    assert (lenient["precision"], lenient["recall"], lenient["f1"]) == (1.0, 1.0, 1.0)
    # Token accuracy ignores the mode: position 0 wrong -> 2/3.
    assert strict["token_accuracy"] == lenient["token_accuracy"] == pytest.approx(2 / 3)


def test_token_classification_add_batch_matches_single_compute() -> None:
    metric = TokenClassificationMetric()
    metric.add_batch(predictions=PREDICTIONS[:1], references=REFERENCES[:1])
    metric.add_batch(predictions=PREDICTIONS[1:], references=REFERENCES[1:])
    assert metric.compute() == TokenClassificationMetric().compute(predictions=PREDICTIONS, references=REFERENCES)


def test_token_classification_length_mismatch_names_example() -> None:
    # In memory: a metric whose compute raised keeps its cache-file lock, which would stall the next test by 1 s.
    with pytest.raises(ValueError, match="example 1"):
        TokenClassificationMetric(keep_in_memory=True).compute(
            predictions=[["O"], ["O", "O"]], references=[["O"], ["O"]]
        )


def test_token_classification_unknown_mode_raises() -> None:
    with pytest.raises(ValueError, match="mode"):
        TokenClassificationMetric(keep_in_memory=True).compute(predictions=[["O"]], references=[["O"]], mode="partial")


def test_token_classification_empty_input_gives_zeros() -> None:
    result = TokenClassificationMetric().compute(predictions=[], references=[])
    assert result == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "token_accuracy": 0.0, "per_entity": {}}
