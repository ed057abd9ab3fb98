from __future__ import annotations

import pytest

from stmtl.alignment import IGNORE_INDEX, align_labels, first_pieces, join_words, piece_word_ids, split_words
from stmtl.heads.token.bio import decode_entities


def test_split_words_whitespace_punctuation_and_cjk() -> None:
    text = "  what's   São 🌧️ 播放x"
    spans = split_words(text)
    assert [text[s:e] for s, e in spans] == ["what's", "São", "🌧️", "播", "放", "x"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("next Tuesday.", [("next", 0, 4), ("Tuesday", 5, 12), (".", 12, 13)]),
        ("(Paris)", [("(", 0, 1), ("Paris", 1, 6), (")", 6, 7)]),
        ("U.S.", [("U.S.", 0, 4)]),
        ("the U.S., e.g. Ohio", [("the", 0, 3), ("U.S.", 4, 8), (",", 8, 9), ("e.g.", 10, 14), ("Ohio", 15, 19)]),
        ("São Paulo, tomorrow?", [("São", 0, 3), ("Paulo", 4, 9), (",", 9, 10), ("tomorrow", 11, 19), ("?", 19, 20)]),
        ('"Hi!" -- wait...?!', [('"', 0, 1), ("Hi", 1, 3), ("!", 3, 4), ('"', 4, 5), ("--", 6, 8), ("wait", 9, 13),
                                ("...", 13, 16), ("?", 16, 17), ("!", 17, 18)]),
        ("don't e-mail 3.5 at 12:30", [("don't", 0, 5), ("e-mail", 6, 12), ("3.5", 13, 16), ("at", 17, 19),
                                       ("12:30", 20, 25)]),
        ("mail a@b.com or https://x.org/a?b=c.", [("mail", 0, 4), ("a@b.com", 5, 12), ("or", 13, 15),
                                                  ("https://x.org/a?b=c", 16, 35), (".", 35, 36)]),
        ("-5 or .5, $5 J. Doe", [("-5", 0, 2), ("or", 3, 5), (".5", 6, 8), (",", 8, 9), ("$5", 10, 12),
                                 ("J.", 13, 15), ("Doe", 16, 19)]),
        ("播放周杰伦。", [("播", 0, 1), ("放", 1, 2), ("周", 2, 3), ("杰", 3, 4), ("伦", 4, 5), ("。", 5, 6)]),
    ],
)  # fmt: skip
def test_split_words_splits_edge_punctuation(text: str, words: list[tuple[str, int, int]]) -> None:
    assert [(text[start:end], start, end) for start, end in split_words(text)] == words


def test_split_words_entity_spans_leave_out_trailing_punctuation() -> None:
    # The period is a word of its own: tagged O, it stays out of the span ("Tuesday." was one word before).
    text = "next Tuesday."
    entities = decode_entities(text, split_words(text), ["B-date", "I-date", "O"], [1.0, 1.0, 1.0])
    assert [(e["text"], e["start"], e["end"]) for e in entities] == [("next Tuesday", 0, 12)]


def test_split_words_empty_and_blank() -> None:
    assert split_words("") == []
    assert split_words(" \t\n ") == []


def test_join_words_spans_slice_back() -> None:
    text, spans = join_words(["add", "São", "to", "it"])
    assert text == "add São to it"
    assert [text[s:e] for s, e in spans] == ["add", "São", "to", "it"]


def test_piece_word_ids_special_tokens_and_multi_piece_words() -> None:
    # [CLS] "sa" "##o" "pa" [SEP] [PAD] over "sao pa"
    offsets = [(0, 0), (0, 2), (2, 3), (4, 6), (0, 0), (0, 0)]
    word_ids = piece_word_ids(offsets, [(0, 3), (4, 6)])
    assert word_ids == [None, 0, 0, 1, None, None]
    assert first_pieces(word_ids, 3) == [1, 3, None]


def test_align_labels_first_piece_only() -> None:
    assert align_labels([None, 0, 0, 1, None], [5, 7]) == [IGNORE_INDEX, 5, IGNORE_INDEX, 7, IGNORE_INDEX]
