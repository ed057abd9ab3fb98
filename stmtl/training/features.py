"""Texts and labels → word pieces and label ids, with the same alignment code ``predict`` uses."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import datasets
import torch

from stmtl.alignment import IGNORE_INDEX, align_labels, first_pieces, join_words, piece_word_ids, split_words

logger = logging.getLogger(__name__)

MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


@dataclass
class TaskSpec:
    """A task as the data pipeline sees it.

    Attributes:
        name: Task name.
        kind: ``"sentence"`` or ``"token"``.
        labels: The head's labels, in logit order.
    """

    name: str
    kind: str
    labels: list[str]
    label2id: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.label2id = {label: index for index, label in enumerate(self.labels)}

    @property
    def column(self) -> str:
        """Column of label ids in encoded data."""
        return f"labels.{self.name}"


def collect_labels(dataset: datasets.Dataset, kind: str) -> list[str]:
    """The label set found in training data: sorted, with ``O`` first for tags."""
    if kind == "sentence":
        return sorted(set(dataset["label"]))
    tags = {tag for row in dataset["tags"] for tag in row}
    return ["O", *sorted(tags - {"O"})]


def encode_dataset(
    dataset: datasets.Dataset, tokenizer: Any, max_length: int, specs: list[TaskSpec], description: str
) -> datasets.Dataset:
    """Tokenize a dataset once and add label ids for every task it feeds.

    Rows with ``tokens`` are joined with single spaces and their words are those tokens; rows with only ``text``
    are split with :func:`stmtl.alignment.split_words`. Pieces map to words by character offset, so truncation at
    ``max_length`` only drops the labels of words past the limit (counted and reported once), never shifts them.

    Args:
        dataset: Rows with ``text`` and/or ``tokens``, plus ``label`` / ``tags`` for the tasks in ``specs``.
        tokenizer: A fast tokenizer (offsets needed).
        max_length: Truncation length in pieces.
        specs: Tasks this dataset feeds.
        description: Name used in the truncation warning.

    Returns:
        The dataset with ``input_ids``, ``attention_mask`` (+ ``token_type_ids``), ``length``, ``first_pieces``
        (piece position of each word, -1 when cut) and one ``labels.<task>`` column per task. Unknown labels
        get id -100 (no loss); evaluation compares the original strings, so they count as wrong there.
    """

    def encode(batch: dict[str, list]) -> dict[str, list]:
        if "tokens" in batch:
            texts, spans = zip(*(join_words(tokens) for tokens in batch["tokens"])) if batch["tokens"] else ((), ())
        else:
            texts = batch["text"]
            spans = [split_words(text) for text in texts]
        encoded = tokenizer(list(texts), truncation=True, max_length=max_length, return_offsets_mapping=True)
        out: dict[str, list] = {key: encoded[key] for key in MODEL_INPUTS if key in encoded}
        out["length"] = [len(ids) for ids in encoded["input_ids"]]
        word_ids = [piece_word_ids(offsets, row) for offsets, row in zip(encoded["offset_mapping"], spans)]
        out["first_pieces"] = [
            [-1 if p is None else p for p in first_pieces(ids, len(row))] for ids, row in zip(word_ids, spans)
        ]
        for spec in specs:
            if spec.kind == "sentence":
                out[spec.column] = [spec.label2id.get(label, IGNORE_INDEX) for label in batch["label"]]
            else:
                out[spec.column] = [
                    align_labels(ids, [spec.label2id.get(tag, IGNORE_INDEX) for tag in tags])
                    for ids, tags in zip(word_ids, batch["tags"])
                ]
        return out

    encoded = dataset.map(encode, batched=True, desc=f"Tokenizing {description}", load_from_cache_file=False)
    cut = sum(1 for positions in encoded["first_pieces"] if positions and positions[-1] == -1)
    if cut:
        logger.warning(
            f"{description}: {cut} of {len(encoded)} texts exceed max_seq_length={max_length} pieces; "
            "words past the limit carry no label"
        )
    return encoded


def collate(rows: list[dict[str, Any]], tokenizer: Any, specs: list[TaskSpec]) -> dict[str, torch.Tensor]:
    """Pad a list of encoded rows into a batch.

    Returns:
        Model inputs ``(batch, seq)`` and, per task, ``labels.<task>``: ``(batch,)`` for sentence tasks,
        ``(batch, seq)`` padded with -100 for token tasks.
    """
    inputs = [{key: row[key] for key in MODEL_INPUTS if key in row} for row in rows]
    batch = dict(tokenizer.pad(inputs, padding=True, return_tensors="pt"))
    seq_len = batch["input_ids"].shape[1]
    for spec in specs:
        if spec.kind == "sentence":
            batch[spec.column] = torch.tensor([row[spec.column] for row in rows], dtype=torch.long)
        else:
            padded = [row[spec.column] + [IGNORE_INDEX] * (seq_len - len(row[spec.column])) for row in rows]
            batch[spec.column] = torch.tensor(padded, dtype=torch.long)
    return batch
