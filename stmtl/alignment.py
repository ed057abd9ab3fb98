"""Words, word pieces and character offsets: the one place where text positions are computed.

A *word* is the unit that carries a tag. Training data brings its own words (``seq.in`` tokens, CoNLL
lines, JSONL ``tokens``); raw text at prediction time is split by :func:`split_words` the way tokenized
corpora such as CoNLL-2003 split it, so that an entity never takes in the punctuation around it
("next Tuesday." gives the words "next", "Tuesday", "."). Both paths then map word pieces to words by the
piece's character offset from the fast tokenizer (``return_offsets_mapping``), so training and inference
share the same tokenization as ``encode`` and the same alignment code, and a span is always a slice
``text[start:end]`` of the original string.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# CJK Unified Ideographs (+ extensions and compatibility blocks), the ranges BERT's tokenizer splits per character.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ceaf\U0002f800-\U0002fa1f"
_WORD = re.compile(rf"[{_CJK}]|[^\s{_CJK}]+")
# Letters each followed by a period: "U.S.", "e.g.", "a.m.", an initial "J.".
_ABBREVIATION = re.compile(r"(?:[^\W\d_]\.)+")

IGNORE_INDEX = -100
"""Label of word pieces that carry no tag: special tokens, padding and non-first pieces of a word."""


def split_words(text: str) -> list[tuple[int, int]]:
    """Split raw text into words, punctuation at a word's edges apart.

    The rule:

    1. Whitespace separates words, and every CJK ideograph is a word of its own (CJK text has no spaces, and
       BERT's tokenizer splits it per character too).
    2. Punctuation (Unicode categories ``P*``) at the start or end of a whitespace-separated word is split off,
       each character a word of its own except that a run of the same character stays one ("...", "!!", "--"):
       ``(Paris),`` gives ``(``, ``Paris``, ``)``, ``,``.
    3. Punctuation inside a word stays in it: "don't", "e-mail", "3.5", "12:30", "U.S.", "a@b.com",
       "https://x.org/a?b=c" are one word each (a URL still loses a final period or comma).
    4. Two exceptions keep an edge character: the final period of letters each followed by a period ("U.S.",
       "e.g.", "a.m.", the initial "J."), and a ``-`` or ``.`` directly before a digit ("-5", ".5").

    Symbols (``$``, ``€``, ``+``, emoji) are not punctuation and stay attached ("$5" is one word). Data tokenized
    this way (CoNLL, where punctuation is a token of its own) predicts as it was trained; data whose words carry
    their punctuation ("paris," as one training word) meets the split form at prediction time.

    Args:
        text: Any string.

    Returns:
        ``(start, end)`` character spans, in order, one per word; ``text[start:end]`` never holds whitespace.
    """
    spans: list[tuple[int, int]] = []
    for match in _WORD.finditer(text):
        start, end = match.span()
        if end - start == 1 or not (_is_punctuation(text[start]) or _is_punctuation(text[end - 1])):
            spans.append((start, end))
        else:
            spans.extend(_split_edges(text, start, end))
    return spans


def _is_punctuation(char: str) -> bool:
    return unicodedata.category(char).startswith("P")


def _split_edges(text: str, start: int, end: int) -> list[tuple[int, int]]:
    # The punctuation at both edges of text[start:end], split off as runs of one character, then the core.
    head: list[tuple[int, int]] = []
    while start < end and _is_punctuation(text[start]):
        if text[start] in "-." and start + 1 < end and text[start + 1].isdigit():
            break
        run = start + 1
        while run < end and text[run] == text[start]:
            run += 1
        head.append((start, run))
        start = run
    tail: list[tuple[int, int]] = []
    while end > start and _is_punctuation(text[end - 1]):
        if text[end - 1] == "." and _ABBREVIATION.fullmatch(text, start, end):
            break
        run = end - 1
        while run > start and text[run - 1] == text[end - 1]:
            run -= 1
        tail.append((run, end))
        end = run
    return head + ([(start, end)] if end > start else []) + tail[::-1]


def join_words(words: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """Join pre-split words with single spaces, keeping each word's span.

    Args:
        words: The words of one sentence (e.g. a ``seq.in`` line split on whitespace).

    Returns:
        The text and one ``(start, end)`` span per word.
    """
    spans, position = [], 0
    for word in words:
        spans.append((position, position + len(word)))
        position += len(word) + 1
    return " ".join(words), spans


def piece_word_ids(offsets: Sequence[Sequence[int]], word_spans: Sequence[tuple[int, int]]) -> list[int | None]:
    """Map each word piece to the word that contains its first character.

    Args:
        offsets: ``(start, end)`` per piece from the fast tokenizer; special tokens and padding have ``start == end``.
        word_spans: Word spans of the same text, sorted.

    Returns:
        One word index per piece, ``None`` for pieces outside every word (special tokens, padding).
    """
    starts = [start for start, _ in word_spans]
    word_ids: list[int | None] = []
    for start, end in offsets:
        start, end = int(start), int(end)
        index = bisect.bisect_right(starts, start) - 1
        inside = end > start and index >= 0 and start < word_spans[index][1]
        word_ids.append(index if inside else None)
    return word_ids


def first_pieces(word_ids: Sequence[int | None], num_words: int) -> list[int | None]:
    """Position of the first piece of every word.

    Args:
        word_ids: Output of :func:`piece_word_ids` for one text.
        num_words: Number of words in the text.

    Returns:
        One piece position per word; ``None`` for a word with no piece (cut by truncation, or made only of
        characters the tokenizer drops, such as a lone variation selector).
    """
    positions: list[int | None] = [None] * num_words
    for position, word in enumerate(word_ids):
        if word is not None and positions[word] is None:
            positions[word] = position
    return positions


def align_labels(word_ids: Sequence[int | None], word_label_ids: Sequence[int]) -> list[int]:
    """Per-piece training labels: the first piece of a word gets the word's label, every other piece ``-100``.

    Only the first piece is trained (and decoded) so that each word is counted once in the loss, whatever the
    number of pieces the tokenizer cuts it into, exactly as seqeval scores it (one tag per word).

    Args:
        word_ids: Output of :func:`piece_word_ids` for one text.
        word_label_ids: One label id per word.

    Returns:
        One label id per piece.
    """
    labels, seen = [], set()
    for word in word_ids:
        if word is None or word in seen:
            labels.append(IGNORE_INDEX)
        else:
            seen.add(word)
            labels.append(word_label_ids[word])
    return labels


@dataclass
class BatchAlignment:
    """Word pieces of a batch of texts mapped to words, as flat arrays: :func:`piece_word_ids`,
    :func:`first_pieces` and :func:`align_labels` for a whole batch at once, without a Python loop per piece.

    Attributes:
        piece_offsets: ``(rows + 1,)`` start of each row's pieces in the flat piece arrays.
        word_offsets: ``(rows + 1,)`` start of each row's words in the flat word arrays.
        piece_word: ``(pieces,)`` flat index of the word each piece starts in, ``-1`` outside every word.
        first_piece: ``(words,)`` position in its row of each word's first piece, ``-1`` when it has none.
    """

    piece_offsets: np.ndarray
    word_offsets: np.ndarray
    piece_word: np.ndarray
    first_piece: np.ndarray

    def word_ids(self) -> list[list[int | None]]:
        """Per row, what :func:`piece_word_ids` returns."""
        rows = len(self.piece_offsets) - 1
        local = self.piece_word - np.repeat(self.word_offsets[:-1], np.diff(self.piece_offsets))
        return [
            [None if flat < 0 else int(word) for flat, word in zip(self.piece_word[a:b], local[a:b])]
            for a, b in zip(self.piece_offsets[:rows], self.piece_offsets[1:])
        ]

    def piece_labels(self, word_label_ids: np.ndarray) -> np.ndarray:
        """Flat per-piece labels, as :func:`align_labels` gives per row: each word's label on its first piece,
        ``IGNORE_INDEX`` elsewhere.

        Args:
            word_label_ids: ``(words,)`` one label id per word.
        """
        labels = np.full(len(self.piece_word), IGNORE_INDEX, dtype=np.int64)
        has_piece = self.first_piece >= 0
        row_of_word = np.repeat(np.arange(len(self.word_offsets) - 1), np.diff(self.word_offsets))
        positions = self.piece_offsets[row_of_word[has_piece]] + self.first_piece[has_piece]
        labels[positions] = word_label_ids[has_piece]
        return labels


def align_batch(
    piece_spans: np.ndarray, piece_counts: np.ndarray, word_spans: np.ndarray, word_counts: np.ndarray
) -> BatchAlignment:
    """Map the pieces of a batch of texts to words by character offset (same rule as :func:`piece_word_ids`).

    Args:
        piece_spans: ``(pieces, 2)`` character ``(start, end)`` of every piece of every row, row after row.
        piece_counts: ``(rows,)`` pieces per row.
        word_spans: ``(words, 2)`` character spans of every word, row after row, sorted within a row.
        word_counts: ``(rows,)`` words per row.

    Returns:
        The alignment.
    """
    rows = len(piece_counts)
    piece_offsets = np.concatenate([[0], np.cumsum(piece_counts)]).astype(np.int64)
    word_offsets = np.concatenate([[0], np.cumsum(word_counts)]).astype(np.int64)
    piece_row = np.repeat(np.arange(rows), piece_counts)
    word_row = np.repeat(np.arange(rows), word_counts)
    # One sorted key space for the whole batch: row * stride + character position.
    stride = int(max(piece_spans[:, 1].max(initial=0), word_spans[:, 1].max(initial=0))) + 1
    word_keys = word_row * stride + word_spans[:, 0]
    piece_keys = piece_row * stride + piece_spans[:, 0]
    index = np.searchsorted(word_keys, piece_keys, side="right") - 1  # (pieces,)
    if len(word_keys):
        safe = np.maximum(index, 0)
        inside = (
            (index >= 0)
            & (word_row[safe] == piece_row)
            & (piece_spans[:, 1] > piece_spans[:, 0])
            & (piece_spans[:, 0] < word_spans[safe, 1])
        )
    else:  # no row of the batch has a word (blank texts)
        inside = np.zeros(len(piece_keys), dtype=bool)
    piece_word = np.where(inside, index, -1)
    first_piece = np.full(len(word_keys), -1, dtype=np.int64)
    words, first = np.unique(piece_word[inside], return_index=True)  # pieces are in order: first occurrence
    positions = np.flatnonzero(inside)[first]
    first_piece[words] = positions - piece_offsets[piece_row[positions]]
    return BatchAlignment(piece_offsets, word_offsets, piece_word, first_piece)
