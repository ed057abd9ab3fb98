from __future__ import annotations

from stmtl.decoding.text_batch import build_text_batch
from tests.conftest import make_tokenizer


def test_build_text_batch_words_first_pieces_and_truncation() -> None:
    tokenizer = make_tokenizer()
    texts = ["play music", "book a table for two at nobu", ""]
    encoded = tokenizer(texts, padding=True, truncation=True, max_length=6, return_offsets_mapping=True)
    lengths = [sum(mask) for mask in encoded["attention_mask"]]
    batch, truncated = build_text_batch(texts, encoded["offset_mapping"], lengths, max_seq_length=6)
    assert batch.word_spans[0] == [(0, 4), (5, 10)] and batch.first_pieces[0] == [1, 2]
    assert batch.first_pieces[1][:4] == [1, 2, 3, 4] and batch.first_pieces[1][4:] == [None, None, None]
    assert batch.word_spans[2] == [] and truncated == 1
