"""Entity errors against counts worked out by hand."""

from __future__ import annotations

from stmtl.heads.token.errors import entity_errors
from stmtl.heads.token.metric import TokenClassificationMetric


def test_entity_errors_classes_every_gold_and_predicted_entity() -> None:
    references = [
        ["B-per", "I-per", "O", "B-loc", "O", "B-org"],  # per right; loc typed org; org missed
        ["B-loc", "I-loc", "I-loc", "O", "O", "O"],  # loc found shorter
    ]
    predictions = [
        ["B-per", "I-per", "O", "B-org", "O", "O"],
        ["B-loc", "I-loc", "O", "O", "B-per", "O"],  # and a spurious per
    ]
    errors = entity_errors(references, predictions)
    assert errors == {
        "correct": {"per": 1},
        "wrong_type": [{"gold": "loc", "predicted": "org", "count": 1}],
        "wrong_span": {"loc": 1},
        "missed": {"org": 1},
        "spurious": {"per": 1},
    }
    # Each gold entity is in exactly one class, and "correct" is seqeval's true positives.
    scores = TokenClassificationMetric(keep_in_memory=True).compute(predictions=predictions, references=references)
    for kind, values in scores["per_entity"].items():
        classed = sum(errors[key].get(kind, 0) for key in ("correct", "wrong_span", "missed"))
        classed += sum(pair["count"] for pair in errors["wrong_type"] if pair["gold"] == kind)
        assert classed == values["support"]
        assert errors["correct"].get(kind, 0) == round(values["recall"] * values["support"])


def test_entity_errors_of_perfect_and_empty_predictions() -> None:
    tags = [["B-a", "I-a", "O", "B-b"]]
    assert entity_errors(tags, tags)["correct"] == {"a": 1, "b": 1}
    none = entity_errors(tags, [["O"] * 4])
    assert none["missed"] == {"a": 1, "b": 1} and none["spurious"] == {} and none["wrong_type"] == []
