"""Texts and labels → word pieces and targets, batches → features: the data path of training and evaluation.

Tokenization and word alignment use the same code as ``predict`` (:mod:`stmtl.alignment`); every task-specific
step (which columns, which targets, how they pad) is a verb of the task's head.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import datasets
import torch

from stmtl.alignment import first_pieces, join_words, piece_word_ids, split_words
from stmtl.heads import TaskHead, TextBatch

logger = logging.getLogger(__name__)

MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def encode_dataset(
    dataset: datasets.Dataset, tokenizer: Any, max_length: int, heads: Sequence[TaskHead], description: str
) -> datasets.Dataset:
    """Tokenize a dataset once and add the training targets of every head it feeds.

    Rows with ``tokens`` are joined with single spaces and their words are those tokens; rows with only ``text``
    are split with :func:`stmtl.alignment.split_words`. Pieces map to words by character offset, so truncation at
    ``max_length`` only drops the labels of words past the limit (counted and reported once), never shifts them.

    Args:
        dataset: Rows with ``text`` and/or ``tokens``, plus every head's ``label_columns``.
        tokenizer: A fast tokenizer (offsets needed).
        max_length: Truncation length in pieces.
        heads: Heads this dataset feeds.
        description: Name used in the truncation warning.

    Returns:
        The dataset with ``text`` (as tokenized), ``word_spans``, ``input_ids``, ``attention_mask``
        (+ ``token_type_ids``), ``length``, ``first_pieces`` (piece position of each word, -1 when cut) and one
        ``head.target_column`` per head.
    """

    def encode(batch: dict[str, list]) -> dict[str, list]:
        if "tokens" in batch:
            texts, spans = zip(*(join_words(tokens) for tokens in batch["tokens"])) if batch["tokens"] else ((), ())
        else:
            texts = batch["text"]
            spans = [split_words(text) for text in texts]
        encoded = tokenizer(list(texts), truncation=True, max_length=max_length, return_offsets_mapping=True)
        out: dict[str, list] = {key: encoded[key] for key in MODEL_INPUTS if key in encoded}
        out["text"], out["word_spans"] = list(texts), [list(map(list, row)) for row in spans]
        out["length"] = [len(ids) for ids in encoded["input_ids"]]
        word_ids = [piece_word_ids(offsets, row) for offsets, row in zip(encoded["offset_mapping"], spans)]
        out["first_pieces"] = [
            [-1 if p is None else p for p in first_pieces(ids, len(row))] for ids, row in zip(word_ids, spans)
        ]
        for head in heads:
            out[head.target_column] = head.encode_targets(batch, word_ids)
        return out

    encoded = dataset.map(encode, batched=True, desc=f"Tokenizing {description}", load_from_cache_file=False)
    cut = sum(1 for positions in encoded["first_pieces"] if positions and positions[-1] == -1)
    if cut:
        logger.warning(
            f"{description}: {cut} of {len(encoded)} texts exceed max_seq_length={max_length} pieces; "
            "words past the limit carry no label"
        )
    return encoded


def collate(rows: list[dict[str, Any]], tokenizer: Any, heads: Sequence[TaskHead] = ()) -> dict[str, torch.Tensor]:
    """Pad a list of encoded rows into a batch.

    Returns:
        Model inputs ``(batch, seq)`` and each head's targets under ``head.target_column``.
    """
    inputs = [{key: row[key] for key in MODEL_INPUTS if key in row} for row in rows]
    batch = dict(tokenizer.pad(inputs, padding=True, return_tensors="pt"))
    seq_len = batch["input_ids"].shape[1]
    for head in heads:
        batch[head.target_column] = head.collate_targets([row[head.target_column] for row in rows], seq_len)
    return batch


def text_batch(rows: list[dict[str, Any]]) -> TextBatch:
    """Where the words of encoded rows are, for :meth:`TaskHead.decode`."""
    return TextBatch(
        texts=[row["text"] for row in rows],
        word_spans=[[tuple(span) for span in row["word_spans"]] for row in rows],
        first_pieces=[[None if p < 0 else p for p in row["first_pieces"]] for row in rows],
    )


def forward(model: Any, batch: dict[str, torch.Tensor], device: torch.device | str) -> dict[str, Any]:
    """One pass of the shared encoder and every head over a collated batch, inputs moved to ``device``."""
    return model({key: batch[key].to(device) for key in MODEL_INPUTS if key in batch})


def task_losses(
    model: Any,
    heads: Sequence[TaskHead],
    rows: list[dict[str, Any]],
    device: torch.device | str,
    label_smoothing: float = 0.0,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Collate ``rows``, run the model once and compute the loss of every head in ``heads``.

    Args:
        model: The unwrapped model.
        heads: The heads whose losses to compute (the tasks the rows are labelled for).
        rows: Encoded rows.
        device: Where the model is.
        label_smoothing: Passed to each head's loss.

    Returns:
        ``({task: loss}, features)``.
    """
    batch = collate(rows, model.tokenizer, heads)
    features = forward(model, batch, device)
    return {head.task: head.loss(features, batch, label_smoothing) for head in heads}, features
