from __future__ import annotations

import re

import pytest

from stmtl.demo_data import (
    INTENT_TEMPLATES,
    SLOT_VALUES,
    UNSEEN,
    Expected,
    answer_scores,
    assistant_rows,
    check_predictions,
    expected_answer,
    intent_rows,
    ner_rows,
)
from stmtl.heads.token.bio import validate_tag


def test_demo_data_rows_are_deterministic_and_consistent() -> None:
    rows = assistant_rows(40, seed=3)
    assert rows == assistant_rows(40, seed=3) != assistant_rows(40, seed=4)
    assert [row["label"] for row in rows[:4]] == sorted(INTENT_TEMPLATES)  # intents in turn: balanced
    for row in rows + ner_rows(20):
        assert len(row["tokens"]) == len(row["tags"]) and all(validate_tag(tag) is None for tag in row["tags"])
    assert all(row["text"] == " ".join(row["tokens"]) for row in rows)
    assert intent_rows(3, seed=3) == [{"text": row["text"], "label": row["label"]} for row in rows[:3]]


def test_demo_data_unseen_requests_are_never_generated_and_use_new_values() -> None:
    generated = {row["text"] for row in assistant_rows(2_000, seed=0)}
    known = {value for values in SLOT_VALUES.values() for value in values}
    for item in UNSEEN:
        assert item.text not in generated
        assert item.intent in INTENT_TEMPLATES and all(slot in SLOT_VALUES for slot, _ in item.slots)
        assert all(re.search(rf"\b{re.escape(text)}\b", item.text) for _, text in item.slots)
    new_values = [text for item in UNSEEN for _, text in item.slots if text not in known]
    assert len(new_values) >= len(UNSEEN)  # every request brings at least one slot value never trained on


def test_demo_data_expected_answer_and_check() -> None:
    tags = ["O", "O", "O", "B-time", "I-time"]
    row = {"text": "wake me at 7 am", "label": "SetAlarm", "tokens": "wake me at 7 am".split(), "tags": tags}
    want = expected_answer(row)
    assert want == Expected("wake me at 7 am", "SetAlarm", (("time", "7 am"),))
    right = {"intent": {"label": "SetAlarm"}, "slots": [{"label": "time", "text": "7 am"}]}
    wrong_span = {"intent": {"label": "SetAlarm"}, "slots": [{"label": "time", "text": "7"}]}
    wrong_intent = {"intent": {"label": "PlayMusic"}, "slots": [{"label": "time", "text": "7 am"}]}
    extra = {"intent": {"label": "SetAlarm"}, "slots": [*right["slots"], {"label": "date", "text": "me"}]}
    assert check_predictions([right, wrong_span, wrong_intent, extra], [want] * 4) == [True, False, False, False]


def test_demo_data_answer_scores_take_predict_scores_and_zero_for_a_miss() -> None:
    want = Expected("wake me at 7 am on friday", "SetAlarm", (("time", "7 am"), ("date", "on friday")))
    found = {"label": "time", "text": "7 am", "score": 0.8}
    right = {
        "intent": {"label": "SetAlarm", "score": 0.95},
        "slots": [found, {"label": "date", "text": "on friday", "score": 0.7}],
    }
    missed = {"intent": {"label": "SetAlarm", "score": 0.95}, "slots": [found]}
    wrong = {"intent": {"label": "PlayMusic", "score": 0.99}, "slots": right["slots"]}
    scores = answer_scores([right, missed, wrong], [want] * 3)
    assert scores[0] == {"intent": 0.95, "entities": {"7 am": 0.8, "on friday": 0.7}, "min": 0.7}
    assert scores[1]["entities"]["on friday"] == 0.0 and scores[1]["min"] == 0.0
    assert scores[2]["intent"] == 0.0


def test_demo_data_rows_are_distinct_and_keep_out_excluded_texts() -> None:
    train = assistant_rows(320, seed=0)
    assert len({row["text"] for row in train}) == 320
    dev = assistant_rows(80, seed=1, exclude={row["text"] for row in train})
    assert not {row["text"] for row in dev} & {row["text"] for row in train}
    with pytest.raises(ValueError, match="distinct requests"):
        assistant_rows(4_000)  # more than the alarm templates can give a quarter of
