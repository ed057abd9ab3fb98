"""Texts and labels → word pieces and targets, batches → features: the data path of training and evaluation.

Tokenization runs once per dataset as ``Dataset.map(batched=True)`` over Arrow batches and is cached by the
datasets fingerprint (input data, tokenizer, ``max_length``, the heads' label sets), so an identical second run
reads the result from disk. Pieces map to words by character offset with the rule ``predict`` uses
(:mod:`stmtl.alignment`), vectorised over the batch; every task-specific step (which columns, which targets, how
they pad) is a verb of the task's head.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from itertools import chain
from typing import Any

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from datasets.fingerprint import Hasher
from tokenizers import Tokenizer

from stmtl.alignment import align_batch, split_words
from stmtl.heads import TaskHead, TextBatch
from stmtl.heads.registry import head_types

logger = logging.getLogger(__name__)

MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
TRAIN_COLUMNS = ["length", "input_ids"]
"""Encoded columns a training batch reads, besides the heads' targets."""
ENCODING_VERSION = 2
"""Part of the tokenization cache key: bump it when the encoded columns change."""

MAP_BATCH = 1000
PARALLEL_ROWS = 50_000
"""Datasets at least this large are tokenized with one process per core."""


def encode_dataset(
    dataset: datasets.Dataset, tokenizer: Any, max_length: int, heads: Sequence[TaskHead], description: str
) -> datasets.Dataset:
    """Tokenize a dataset once (cached) and add the training targets of every head it feeds.

    Rows with a kind's words column (a token task's ``tokens``) are joined with single spaces and their words are
    those; rows with only ``text`` are split with :func:`stmtl.alignment.split_words`. Pieces map to words by
    character offset, so truncation at ``max_length`` only drops the labels of words past the limit (counted and
    reported once), never shifts them.

    Args:
        dataset: Rows with ``text`` and/or a words column, plus the columns of every head's task.
        tokenizer: A fast tokenizer (offsets needed).
        max_length: Truncation length in pieces.
        heads: Heads this dataset feeds.
        description: Name used in the progress bar and the truncation warning.

    Returns:
        The dataset with ``text`` (as tokenized), ``word_spans``, ``input_ids``, ``length``, ``first_pieces``
        (piece position of each word, -1 when cut), ``truncated`` and one ``head.target_column`` per head.
    """
    encoder = BatchEncoder(tokenizer, max_length, heads)
    fingerprint = Hasher.hash(
        [
            ENCODING_VERSION,
            dataset._fingerprint,
            type(tokenizer).__name__,
            encoder.tokenizer_json,
            tokenizer.truncation_side,
            max_length,
            [head.cache_key for head in heads],
        ]
    )
    parallel = len(dataset) >= PARALLEL_ROWS and (os.cpu_count() or 1) > 1
    encoded = dataset.with_format("arrow").map(
        encoder,
        batched=True,
        batch_size=MAP_BATCH,
        new_fingerprint=fingerprint,
        num_proc=os.cpu_count() if parallel else None,
        desc=f"Tokenizing {description}",
    )
    encoded = encoded.with_format(None)
    cut = pc.sum(encoded.data.column("truncated")).as_py() if len(encoded) else 0
    if cut:
        logger.warning(
            f"{description}: {cut} of {len(encoded)} texts exceed max_seq_length={max_length} pieces; "
            "words past the limit carry no label"
        )
    return encoded


class BatchEncoder:
    """The map function of :func:`encode_dataset`: one Arrow batch of rows in, the batch with its encoded columns
    out (also called batch by batch on streamed data)."""

    def __init__(self, tokenizer: Any, max_length: int, heads: Sequence[TaskHead]) -> None:
        self.tokenizer_json = tokenizer.backend_tokenizer.to_str()
        self.side, self.max_length, self.heads = tokenizer.truncation_side, max_length, heads
        self.backend: Tokenizer | None = None

    def _tokenizer(self) -> Tokenizer:
        # The fast tokenizer's Rust backend with the truncation ``tokenizer(..., truncation=True)`` sets, built
        # lazily so that worker processes build their own.
        if self.backend is None:
            self.backend = Tokenizer.from_str(self.tokenizer_json)
            self.backend.enable_truncation(self.max_length, direction=self.side)
            self.backend.no_padding()
        return self.backend

    def __call__(self, batch: pa.Table) -> pa.Table:
        names = batch.column_names
        words = next((cls.words_column for cls in head_types().values() if cls.words_column in names), None)
        if words is not None:
            tokens = batch.column(words).combine_chunks()
            texts = pc.binary_join(tokens, " ").to_pylist()
            word_counts = pc.list_value_length(tokens).to_numpy(zero_copy_only=False).astype(np.int64)
            lengths = pc.utf8_length(tokens.flatten()).to_numpy(zero_copy_only=False).astype(np.int64)
            # Words joined by single spaces: each word starts one character after the previous one ends.
            starts = np.concatenate([[0], np.cumsum(lengths + 1)])  # (words + 1,) in the concatenation of all rows
            word_offsets = np.concatenate([[0], np.cumsum(word_counts)])
            row_of_word = np.repeat(np.arange(len(word_counts)), word_counts)
            local = starts[:-1] - starts[word_offsets[:-1]][row_of_word]
            word_spans = np.stack([local, local + lengths], axis=1)
        else:
            texts = batch.column("text").to_pylist()
            spans = [split_words(text) for text in texts]
            word_counts = np.array([len(row) for row in spans], dtype=np.int64)
            word_spans = np.array(list(chain.from_iterable(spans)), dtype=np.int64).reshape(-1, 2)
        encodings = self._tokenizer().encode_batch(texts)
        piece_counts = np.array([len(encoding.ids) for encoding in encodings], dtype=np.int64)
        ids = np.fromiter(chain.from_iterable(encoding.ids for encoding in encodings), np.int64, piece_counts.sum())
        offsets = np.array(list(chain.from_iterable(e.offsets for e in encodings)), dtype=np.int64).reshape(-1, 2)
        alignment = align_batch(offsets, piece_counts, word_spans, word_counts)
        # A text is cut when its last word has no piece left.
        truncated = np.zeros(len(texts), dtype=bool)
        has_words = word_counts > 0
        truncated[has_words] = alignment.first_piece[alignment.word_offsets[1:][has_words] - 1] < 0
        out = {
            "text": pa.array(texts, pa.string()),
            "word_spans": _lists(alignment.word_offsets, pa.FixedSizeListArray.from_arrays(word_spans.ravel(), 2)),
            "input_ids": _lists(alignment.piece_offsets, pa.array(ids, pa.int32())),
            "length": pa.array(piece_counts, pa.int32()),
            "first_pieces": _lists(alignment.word_offsets, pa.array(alignment.first_piece, pa.int32())),
            "truncated": pa.array(truncated, pa.bool_()),
        }
        for head in self.heads:
            out[head.target_column] = head.encode_targets(batch, alignment)
        # An Arrow table returned from ``map`` replaces the batch: keep the input columns not rewritten here.
        kept = batch.drop_columns([name for name in out if name in batch.column_names])
        for name, column in out.items():
            kept = kept.append_column(name, column)
        return kept


def piece_lengths(dataset: datasets.Dataset) -> np.ndarray:
    """``(rows,)`` piece count of every row of an :func:`encode_dataset` output, read from its ``length`` column."""
    return dataset.with_format("arrow")["length"].to_numpy()


def _lists(offsets: np.ndarray, values: pa.Array) -> pa.Array:
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values)


def collate(columns: dict[str, list], tokenizer: Any, heads: Sequence[TaskHead] = ()) -> dict[str, torch.Tensor]:
    """Pad a batch of encoded rows (``dataset[indices]``: column → values) into tensors.

    Returns:
        ``input_ids``, ``attention_mask`` (and ``token_type_ids``, all zero, when the tokenizer's model takes them)
        ``(batch, seq)``, and each head's targets under ``head.target_column``.
    """
    rows = columns["input_ids"]
    seq_len = max(len(row) for row in rows)
    input_ids = torch.full((len(rows), seq_len), tokenizer.pad_token_id or 0, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), seq_len), dtype=torch.long)
    for i, row in enumerate(rows):  # padded on the right, like every head's targets
        input_ids[i, : len(row)] = torch.as_tensor(row)
        attention_mask[i, : len(row)] = 1
    batch = {"input_ids": input_ids, "attention_mask": attention_mask}
    if "token_type_ids" in tokenizer.model_input_names:
        batch["token_type_ids"] = torch.zeros_like(input_ids)
    for head in heads:
        batch[head.target_column] = head.collate_targets(columns[head.target_column], seq_len)
    return batch


def text_batch(columns: dict[str, list]) -> TextBatch:
    """Where the words of a batch of encoded rows are, for :meth:`TaskHead.decode`."""
    return TextBatch(
        texts=columns["text"],
        word_spans=[[tuple(span) for span in row] for row in columns["word_spans"]],
        first_pieces=[[None if p < 0 else p for p in row] for row in columns["first_pieces"]],
    )


def forward(model: Any, batch: dict[str, torch.Tensor], device: torch.device | str) -> dict[str, Any]:
    """One pass of the shared encoder and every head over a collated batch, inputs moved to ``device``."""
    return model({key: batch[key].to(device) for key in MODEL_INPUTS if key in batch})


def task_losses(
    model: Any,
    heads: Sequence[TaskHead],
    columns: dict[str, list],
    device: torch.device | str,
    label_smoothing: float = 0.0,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Collate a batch of encoded rows, run the model once and compute the loss of every head in ``heads``.

    Args:
        model: The unwrapped model.
        heads: The heads whose losses to compute (the tasks the rows are labelled for).
        columns: Encoded rows, column → values.
        device: Where the model is.
        label_smoothing: Passed to each head's loss.

    Returns:
        ``({task: loss}, features)``.
    """
    batch = collate(columns, model.tokenizer, heads)
    features = forward(model, batch, device)
    return {head.task: head.loss(features, batch, label_smoothing) for head in heads}, features
