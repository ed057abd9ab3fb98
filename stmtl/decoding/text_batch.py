"""Where the words of a tokenized batch are: the one construction every backend's ``predict`` uses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stmtl.alignment import first_pieces, piece_word_ids, split_words


@dataclass
class TextBatch:
    """Where the words of a tokenized batch are, for decoders that work per word or return spans.

    Attributes:
        texts: The texts as tokenized.
        word_spans: Per text, ``(start, end)`` of every word.
        first_pieces: Per text, the piece position of every word's first piece (``None`` for a word cut by
            truncation).
    """

    texts: list[str]
    word_spans: list[list[tuple[int, int]]]
    first_pieces: list[list[int | None]]


def build_text_batch(
    texts: list[str],
    offsets: Sequence[Sequence[Sequence[int]]],
    lengths: Sequence[int],
    max_seq_length: int | None,
) -> tuple[TextBatch, int]:
    """Words of each text (:func:`~stmtl.alignment.split_words`), mapped to the pieces of its tokenization.

    Args:
        texts: The batch's texts.
        offsets: Per text, the fast tokenizer's ``(start, end)`` character offsets of every piece (padding and special
            tokens included, with ``start == end``).
        lengths: Per text, its number of pieces (the sum of its attention mask).
        max_seq_length: The truncation length, in pieces.

    Returns:
        The batch, and how many texts were truncated: they reached ``max_seq_length`` with words past their last
        piece.
    """
    word_spans = [split_words(text) for text in texts]
    word_ids = [piece_word_ids(piece_offsets, spans) for piece_offsets, spans in zip(offsets, word_spans)]
    truncated = sum(
        1
        for length, piece_offsets, spans in zip(lengths, offsets, word_spans)
        if spans and length >= (max_seq_length or 0) and spans[-1][1] > max(end for _, end in piece_offsets)
    )
    positions = [first_pieces(ids, len(spans)) for ids, spans in zip(word_ids, word_spans)]
    return TextBatch(texts=list(texts), word_spans=word_spans, first_pieces=positions), truncated
