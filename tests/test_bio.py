from __future__ import annotations

import pytest

from stmtl.bio import check_iob2_labels, decode_entities, entity_type


def test_entity_type_rejects_unknown_scheme() -> None:
    assert entity_type("B-city") == "city"
    assert entity_type("O") is None
    with pytest.raises(ValueError, match="X-FOO"):
        entity_type("X-FOO")


def test_check_iob2_labels_requires_o() -> None:
    with pytest.raises(ValueError, match="'O'"):
        check_iob2_labels(["B-a", "I-a"])


def test_decode_entities_multi_word_span_keeps_inner_spacing() -> None:
    text = "fly to  São   Paulo now"
    spans = [(0, 3), (4, 6), (8, 11), (14, 19), (20, 23)]
    entities = decode_entities(text, spans, ["O", "O", "B-city", "I-city", "O"], [1, 1, 0.8, 0.6, 1])
    assert entities == [{"label": "city", "start": 8, "end": 19, "text": "São   Paulo", "score": pytest.approx(0.7)}]


def test_decode_entities_repairs_stray_inside_tags() -> None:
    text = "a b c d"
    spans = [(0, 1), (2, 3), (4, 5), (6, 7)]
    # I-x after O opens an entity; I-y after x opens a new one; B-x splits.
    entities = decode_entities(text, spans, ["I-x", "I-y", "B-x", "B-x"], [1.0] * 4)
    assert [(e["label"], e["text"]) for e in entities] == [("x", "a"), ("y", "b"), ("x", "c"), ("x", "d")]
