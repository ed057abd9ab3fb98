"""Property tests: for any text and any tags, spans are exact slices, never overlap, and tags round-trip; words never
start or end in punctuation outside the documented exceptions."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from stmtl.alignment import align_labels, first_pieces, join_words, piece_word_ids, split_words
from stmtl.heads.token.bio import decode_entities
from tests.conftest import make_tokenizer

TOKENIZER = make_tokenizer()
WORD_CHARS = st.sampled_from(list("abcxyz0189éüñ.,!?'-()播放周🌧️\u0301") + ["ab", "São", "qq"])
SPACES = st.sampled_from([" ", "  ", "\t", "\n", " \u00a0 "])
TAGS = st.sampled_from(["O", "B-a", "I-a", "B-b", "I-b"])


@st.composite
def texts(draw) -> str:
    words = draw(st.lists(st.lists(WORD_CHARS, min_size=1, max_size=4).map("".join), max_size=12))
    gaps = draw(st.lists(SPACES, min_size=len(words) + 1, max_size=len(words) + 1))
    return "".join(gap + word for gap, word in zip(gaps, words)) + gaps[-1]


@settings(max_examples=150, deadline=None)
@given(texts(), st.data())
def test_decoded_entities_are_exact_disjoint_slices(text: str, data) -> None:
    spans = split_words(text)
    tags = data.draw(st.lists(TAGS, min_size=len(spans), max_size=len(spans)))
    entities = decode_entities(text, spans, tags, [1.0] * len(spans))
    previous_end = -1
    for entity in entities:
        assert text[entity["start"] : entity["end"]] == entity["text"]
        assert entity["start"] >= previous_end and entity["end"] > entity["start"]
        previous_end = entity["end"]
    # An entity opens at every B- tag and at every I- tag that does not continue the same type.
    opens = [
        tag != "O" and (tag.startswith("B-") or i == 0 or tags[i - 1] == "O" or tags[i - 1][2:] != tag[2:])
        for i, tag in enumerate(tags)
    ]
    assert len(entities) == sum(opens)


def _punctuation(char: str) -> bool:
    return unicodedata.category(char).startswith("P")


@settings(max_examples=300, deadline=None)
@given(texts())
def test_split_words_partitions_text_and_keeps_punctuation_off_word_edges(text: str) -> None:
    spans = split_words(text)
    assert "".join(text[start:end] for start, end in spans) == "".join(ch for ch in text if not ch.isspace())
    assert all(end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:]))
    for start, end in spans:
        word = text[start:end]
        assert word and not any(ch.isspace() for ch in word)
        if all(_punctuation(ch) for ch in word):
            assert len(set(word)) == 1, word  # a punctuation word is a run of one character
            continue
        # Edge punctuation only where the rule keeps it: "-5"/".5", and the period of "U.S."-like abbreviations.
        assert not _punctuation(word[0]) or (word[0] in "-." and word[1].isdigit()), word
        assert not _punctuation(word[-1]) or re.fullmatch(r"(?:[^\W\d_]\.)+", word), word


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(WORD_CHARS, min_size=1, max_size=4).map("".join).filter(str.strip), max_size=10), st.data())
def test_word_tags_round_trip_through_pieces(words: list[str], data) -> None:
    words = [w for w in words if not any(c.isspace() for c in w)]
    text, spans = join_words(words)
    labels = data.draw(st.lists(st.integers(0, 4), min_size=len(words), max_size=len(words)))
    offsets = TOKENIZER(text, return_offsets_mapping=True)["offset_mapping"]
    word_ids = piece_word_ids(offsets, spans)
    piece_labels = align_labels(word_ids, labels)
    positions = first_pieces(word_ids, len(words))
    recovered = [None if p is None else piece_labels[p] for p in positions]
    assert [r for r in recovered if r is not None] == [lab for lab, p in zip(labels, positions) if p is not None]
    # A word loses its piece only if the tokenizer dropped all its characters (e.g. a lone combining accent).
    for word, position in zip(words, positions):
        if position is None:
            assert TOKENIZER.backend_tokenizer.normalizer.normalize_str(word).strip() == ""


@settings(max_examples=60, deadline=None)
@given(st.lists(texts(), min_size=1, max_size=6), st.integers(min_value=3, max_value=40), st.data())
def test_batch_alignment_equals_the_per_text_functions(batch: list[str], max_length: int, data) -> None:
    import numpy as np

    from stmtl.alignment import align_batch

    spans = [split_words(text) for text in batch]
    encoded = TOKENIZER(batch, truncation=True, max_length=max_length, return_offsets_mapping=True)
    offsets = [list(map(tuple, row)) for row in encoded["offset_mapping"]]
    alignment = align_batch(
        np.array([o for row in offsets for o in row], dtype=np.int64).reshape(-1, 2),
        np.array([len(row) for row in offsets]),
        np.array([s for row in spans for s in row], dtype=np.int64).reshape(-1, 2),
        np.array([len(row) for row in spans]),
    )
    word_ids = [piece_word_ids(row, row_spans) for row, row_spans in zip(offsets, spans)]
    assert alignment.word_ids() == word_ids
    first = [[-1 if p is None else p for p in first_pieces(ids, len(s))] for ids, s in zip(word_ids, spans)]
    assert [part.tolist() for part in np.split(alignment.first_piece, alignment.word_offsets[1:-1])] == first
    labels = [data.draw(st.lists(st.integers(0, 4), min_size=len(s), max_size=len(s))) for s in spans]
    flat = alignment.piece_labels(np.array([label for row in labels for label in row], dtype=np.int64))
    expected = [align_labels(ids, row) for ids, row in zip(word_ids, labels)]
    assert [part.tolist() for part in np.split(flat, alignment.piece_offsets[1:-1])] == expected
