from __future__ import annotations

from stmtl.alignment import IGNORE_INDEX, align_labels, first_pieces, join_words, piece_word_ids, split_words


def test_split_words_whitespace_punctuation_and_cjk() -> None:
    text = "  what's   São 🌧️ 播放x"
    spans = split_words(text)
    assert [text[s:e] for s, e in spans] == ["what's", "São", "🌧️", "播", "放", "x"]


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
