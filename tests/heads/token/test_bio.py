from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stmtl.heads.token.bio import check_iob2_labels, constrained_tags, decode_entities, entity_type, iob2_transitions


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


LABELS = ["O", "B-city", "B-date", "I-city", "I-date"]


def _log_probs(rows: list[list[float]]) -> np.ndarray:
    return np.log(np.asarray(rows, dtype=np.float64))


def test_constrained_tags_never_opens_with_inside_tag() -> None:
    # Per-word argmax: I-city O. A text cannot open with I-city, so the best valid path is B-city O.
    log_probs = _log_probs([[0.1, 0.35, 0.05, 0.45, 0.05], [0.9, 0.025, 0.025, 0.025, 0.025]])
    path = constrained_tags(log_probs, *iob2_transitions(LABELS))
    assert [LABELS[i] for i in path] == ["B-city", "O"]


def test_constrained_tags_keeps_an_entity_whole_across_a_type_switch() -> None:
    # Argmax: B-city I-date. I-date cannot follow B-city; I-city (0.4) beats switching to O or B-date.
    log_probs = _log_probs([[0.05, 0.85, 0.05, 0.025, 0.025], [0.05, 0.05, 0.05, 0.4, 0.45]])
    path = constrained_tags(log_probs, *iob2_transitions(LABELS))
    assert [LABELS[i] for i in path] == ["B-city", "I-city"]


@given(st.lists(st.lists(st.floats(0.01, 1.0), min_size=5, max_size=5), max_size=12))
def test_constrained_tags_is_well_formed_and_optimal(rows: list[list[float]]) -> None:
    log_probs = _log_probs(rows).reshape(len(rows), 5)
    allowed, start = iob2_transitions(LABELS)
    path = constrained_tags(log_probs, allowed, start)
    tags = [LABELS[i] for i in path]
    for previous, tag in zip(["O", *tags], tags):
        if tag.startswith("I-"):
            assert previous[2:] == tag[2:], tags
    # Optimal among all well-formed sequences (brute force over 5^n for short texts).
    if len(rows) <= 4:
        import itertools

        def valid(seq: tuple[int, ...]) -> bool:
            names = ["O", *(LABELS[i] for i in seq)]
            return all(not b.startswith("I-") or a[2:] == b[2:] for a, b in zip(names, names[1:]))

        best = max(
            (seq for seq in itertools.product(range(5), repeat=len(rows)) if valid(seq)),
            key=lambda seq: sum(log_probs[w, t] for w, t in enumerate(seq)),
        )
        total = sum(log_probs[w, t] for w, t in enumerate(path))
        assert total == pytest.approx(sum(log_probs[w, t] for w, t in enumerate(best)))
