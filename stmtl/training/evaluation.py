"""Scoring a model on labelled data: intent-style accuracy/macro-F1, seqeval strict entity F1, exact match."""

from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import datasets
import torch

from stmtl.metrics import (
    ExactMatchMetric,
    SentenceClassificationMetric,
    TokenClassificationMetric,
    warn_unknown_labels,
)
from stmtl.training.features import TaskSpec, collate

logger = logging.getLogger(__name__)


@dataclass
class EvalSet:
    """Encoded evaluation data and the tasks it is labelled for.

    Attributes:
        dataset: Output of :func:`stmtl.training.features.encode_dataset`, still holding ``label`` / ``tags``.
        specs: Tasks scored on it; with more than one, exact match (every task right) is reported too.
    """

    dataset: datasets.Dataset
    specs: list[TaskSpec]

    def __post_init__(self) -> None:
        # Python rows once: indexing an Arrow table row by row is slow.
        self.rows = self.dataset.to_list()


@torch.inference_mode()
def predict_encoded(
    model: Any, eval_set: EvalSet, batch_size: int, rank: int = 0, world_size: int = 1, autocast: Any = None
) -> dict[int, dict[str, Any]]:
    """Predict every task on this process's share of an encoded dataset.

    Returns:
        Row index → ``{task: label}`` for sentence tasks and ``{task: [tag per word]}`` for token tasks; words
        cut by truncation are tagged ``O``.
    """
    model.eval()
    tokenizer = model.tokenizer
    rows = list(range(rank, len(eval_set.dataset), world_size))
    results: dict[int, dict[str, Any]] = {}
    for start in range(0, len(rows), batch_size):
        indices = rows[start : start + batch_size]
        batch_rows = [eval_set.rows[i] for i in indices]
        batch = collate(batch_rows, tokenizer, [])
        with autocast() if autocast is not None else nullcontext():
            features = model({key: value.to(model.device) for key, value in batch.items()})
        for spec in eval_set.specs:
            ids = features[f"{spec.name}_logits"].float().argmax(dim=-1).tolist()  # (batch,) or (batch, seq)
            for row, index in enumerate(indices):
                if spec.kind == "sentence":
                    prediction = spec.labels[ids[row]]
                else:
                    prediction = ["O" if p < 0 else spec.labels[ids[row][p]] for p in batch_rows[row]["first_pieces"]]
                results.setdefault(index, {})[spec.name] = prediction
    return results


def score(eval_set: EvalSet, predictions: dict[int, dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Metrics of one evaluation set.

    Returns:
        ``({task: {accuracy, macro_f1, per_class} | {precision, recall, f1, per_entity}, "exact_match": ...},
        {task: (references, predictions)})``. Values are fractions; labels not in the model's label set count as
        wrong, with one warning giving their counts.
    """
    order = sorted(predictions)
    metrics: dict[str, Any] = {}
    pairs: dict[str, Any] = {}
    for spec in eval_set.specs:
        preds = [predictions[i][spec.name] for i in order]
        if spec.kind == "sentence":
            refs = [eval_set.rows[i]["label"] for i in order]
            warn_unknown_labels(spec.name, refs, spec.labels, logger)
            result = SentenceClassificationMetric(keep_in_memory=True).compute(predictions=preds, references=refs)
        else:
            refs = [eval_set.rows[i]["tags"] for i in order]
            warn_unknown_labels(spec.name, [tag for row in refs for tag in row], spec.labels, logger)
            result = TokenClassificationMetric(keep_in_memory=True).compute(predictions=preds, references=refs)
        metrics[spec.name] = result
        pairs[spec.name] = (refs, preds)
    if len(eval_set.specs) > 1:
        joined_preds, joined_refs = [], []
        for row in range(len(order)):
            joined_preds.append([item for spec in eval_set.specs for item in _as_list(pairs[spec.name][1][row])])
            joined_refs.append([item for spec in eval_set.specs for item in _as_list(pairs[spec.name][0][row])])
        metrics["exact_match"] = ExactMatchMetric(keep_in_memory=True).compute(
            predictions=joined_preds, references=joined_refs
        )["exact_match"]
    return metrics, pairs


def _as_list(value: Any) -> list[str]:
    return list(value) if isinstance(value, list) else [value]


def headline(metrics: dict[str, Any], specs: list[TaskSpec]) -> dict[str, Any]:
    """The compact view printed and logged: accuracy/macro-F1 or precision/recall/F1 per task, exact match."""
    view: dict[str, Any] = {}
    for spec in specs:
        if spec.name in metrics:
            keys = ("accuracy", "macro_f1") if spec.kind == "sentence" else ("precision", "recall", "f1")
            view[spec.name] = {key: metrics[spec.name][key] for key in keys}
    for key, value in metrics.items():
        if key.startswith("exact_match"):
            view[key] = value
    return view


def selection_score(metrics: dict[str, Any], specs: list[TaskSpec]) -> float:
    """Mean over tasks of accuracy (sentence) or entity F1 (token): the dev figure that picks the best model."""
    values = [metrics[s.name]["accuracy" if s.kind == "sentence" else "f1"] for s in specs if s.name in metrics]
    return sum(values) / len(values) if values else 0.0


def evaluate_model(model: Any, dataset: datasets.Dataset, batch_size: int = 128) -> tuple[dict[str, Any], dict]:
    """Score every head of ``model`` that ``dataset`` has labels for (``label`` → sentence heads, ``tags`` → token).

    Returns:
        ``(headline metrics, full metrics)``; see :func:`headline` and :func:`score`.
    """
    from stmtl.training.features import encode_dataset

    columns = set(dataset.column_names)
    specs = [
        TaskSpec(head.task, head.kind, head.labels)
        for head in model.heads.values()
        if ("label" in columns if head.kind == "sentence" else "tags" in columns)
    ]
    if not specs:
        raise ValueError(f"the data has none of the labels this model's heads predict (columns: {sorted(columns)})")
    encoded = encode_dataset(dataset, model.tokenizer, model.max_seq_length, specs, "evaluation data")
    eval_set = EvalSet(encoded, specs)
    metrics, _ = score(eval_set, predict_encoded(model, eval_set, batch_size))
    return headline(metrics, specs), metrics
