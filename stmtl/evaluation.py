"""Scoring a model on labelled data with each head's own decoder and metric, plus exact match across tasks.

Evaluation decodes through ``head.decode``, the function ``predict`` uses, so the scores are the scores of what
``predict`` returns. Nothing here imports ``stmtl.training``: a saved model is scored with ``stmtl evaluate`` or
:func:`evaluate_model` alone.
"""

from __future__ import annotations

import json
import logging
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import datasets
import numpy as np
import torch

from stmtl.features import collate, encode_dataset, forward, piece_lengths, text_batch

logger = logging.getLogger(__name__)


@dataclass
class EvalSet:
    """Encoded evaluation data and the tasks it is labelled for.

    Attributes:
        dataset: Output of :func:`stmtl.features.encode_dataset`, still holding the heads' label columns; read one
            batch at a time, so a large dev set stays on disk.
        tasks: Tasks scored on it; with more than one, exact match (every task right) is reported too.
    """

    dataset: datasets.Dataset
    tasks: list[str]


DECODE_COLUMNS = ["text", "word_spans", "first_pieces", "input_ids"]
"""Encoded columns a prediction batch reads."""


@torch.inference_mode()
def predict_encoded(
    model: Any, eval_set: EvalSet, batch_size: int, rank: int = 0, world_size: int = 1, autocast: Any = None
) -> dict[int, dict[str, Any]]:
    """Predict every task on this process's share of an encoded dataset, in each head's scored form.

    Rows are read and decoded one batch at a time, longest first (as ``encode`` orders them: a batch of similar
    lengths carries little padding); only the scored forms (labels, tags) are kept.

    Returns:
        Row index → ``{task: head.scored_form(decoded result)}``.
    """
    model.eval()
    heads = [model.heads[task] for task in eval_set.tasks]
    data = eval_set.dataset.select_columns(DECODE_COLUMNS)
    lengths = piece_lengths(eval_set.dataset)  # (rows,)
    share = np.arange(rank, len(data), world_size)  # (rows of this process,)
    indices = share[np.argsort(-lengths[share], kind="stable")].tolist()
    results: dict[int, dict[str, Any]] = {}
    for start in range(0, len(indices), batch_size):
        batch_indices = indices[start : start + batch_size]
        columns = data[batch_indices]
        with autocast() if autocast is not None else nullcontext():
            features = forward(model, collate(columns, model.tokenizer), model.device)
        words = text_batch(columns)
        for head in heads:
            decoded = head.decode(features, words)
            for position, index in enumerate(batch_indices):
                scored = head.scored_form(decoded[position], words.word_spans[position])
                results.setdefault(index, {})[head.task] = scored
    return results


def references(model: Any, eval_set: EvalSet, task: str, order: list[int]) -> list[Any]:
    """The gold values of ``task`` for the rows at ``order``, in the form its head scores, read in batches."""
    head = model.heads[task]
    data = eval_set.dataset.select_columns(list(head.task_features(task)))
    gold = []
    for start in range(0, len(order), 1024):
        columns = data[order[start : start + 1024]]
        gold.extend(head.reference(dict(zip(columns, row))) for row in zip(*columns.values()))
    return gold


def score(model: Any, eval_set: EvalSet, predictions: dict[int, dict[str, Any]]) -> tuple[dict, dict]:
    """Metrics of one evaluation set.

    Exact match counts the tasks whose heads can be exactly right (``in_exact_match``: not a regression score),
    when there are two or more.

    Returns:
        ``({task: head.score(...), "exact_match": ...}, {task: (references, predictions)})``. Values are fractions,
        but for a head's ``raw_metric_keys``.
    """
    order = sorted(predictions)
    metrics: dict[str, Any] = {}
    pairs: dict[str, Any] = {}
    for task in eval_set.tasks:
        gold = references(model, eval_set, task, order)
        predicted = [predictions[i][task] for i in order]
        metrics[task] = model.heads[task].score(gold, predicted)
        pairs[task] = (gold, predicted)
    exact = [task for task in eval_set.tasks if model.heads[task].in_exact_match]
    if len(exact) > 1:
        from stmtl.metrics import ExactMatchMetric

        # One JSON string per task and example: an example is right when every task's value equals the gold one.
        joined = {side: [[json.dumps(pairs[t][side][row]) for t in exact] for row in range(len(order))]
                  for side in (0, 1)}  # fmt: skip
        metrics["exact_match"] = ExactMatchMetric(keep_in_memory=True).compute(
            predictions=joined[1], references=joined[0]
        )["exact_match"]
    return metrics, pairs


def headline(model: Any, metrics: dict[str, Any]) -> dict[str, Any]:
    """The compact view printed and logged: each head's ``metric_keys`` per task, and exact match."""
    view: dict[str, Any] = {
        task: {key: metrics[task][key] for key in head.metric_keys}
        for task, head in model.heads.items()
        if task in metrics
    }
    view.update({key: value for key, value in metrics.items() if key.startswith("exact_match")})
    return view


def selection_score(model: Any, metrics: dict[str, Any]) -> float:
    """Mean over tasks of each head's ``selection_key`` value, the dev figure that picks the best model: larger is
    better, so a value that is better when smaller (``greater_is_better`` false, e.g. an error) enters negated."""
    values = [
        metrics[task][head.selection_key] * (1.0 if head.greater_is_better else -1.0)
        for task, head in model.heads.items()
        if task in metrics
    ]
    return sum(values) / len(values) if values else 0.0


def labelled_tasks(model: Any, dataset: datasets.Dataset) -> list[str]:
    """The tasks of ``model`` whose columns ``dataset`` has."""
    return [task for task, head in model.heads.items() if not head.missing_columns(dataset, task)]


def evaluate_model(model: Any, dataset: datasets.Dataset, batch_size: int = 128) -> tuple[dict[str, Any], dict]:
    """Score every head of ``model`` that ``dataset`` has labels for.

    Returns:
        ``(headline metrics, full metrics)``; see :func:`headline` and :func:`score`.

    Raises:
        ValueError: If the data has the labels of none of the heads.
    """
    metrics, _ = _score_dataset(model, dataset, batch_size)
    return headline(model, metrics), metrics


def evaluation_report(model: Any, dataset: datasets.Dataset, batch_size: int = 128) -> dict[str, Any]:
    """Everything ``stmtl evaluate`` reports: the full metrics of every task and what each task gets wrong.

    Per task, its head's full metrics (e.g. sentence: accuracy, macro-F1 and ``per_class``; token: entity
    precision/recall/F1, token accuracy and ``per_entity``; multi-label: micro/macro-F1, exact-set accuracy and
    ``per_label``) plus what its head's :meth:`~stmtl.heads.base.TaskHead.error_analysis` finds (a sentence task's
    ``confusion_matrix`` and ``most_confused`` pairs, a token task's ``entity_errors``). Token scores are
    seqeval's strict IOB2 mode, which on the well-formed IOB2 scored here equals its default mode.

    Returns:
        ``{"rows", "headline", "tasks": {task: {"kind", **metrics, ...}}, "exact_match"}`` (``exact_match`` with
        several tasks only); values are fractions and counts.

    Raises:
        ValueError: If the data has the labels of none of the heads.
    """
    metrics, pairs = _score_dataset(model, dataset, batch_size)
    report: dict[str, Any] = {"rows": len(dataset), "headline": headline(model, metrics), "tasks": {}}
    for task, (gold, predicted) in pairs.items():
        head = model.heads[task]
        entry = {"kind": head.kind, **metrics[task], **head.error_analysis(gold, predicted)}
        if head.raw_metric_keys:  # shown as they are, not as percentages
            entry["raw_metric_keys"] = list(head.raw_metric_keys)
        report["tasks"][task] = entry
    report.update({key: value for key, value in metrics.items() if key.startswith("exact_match")})
    return report


def _score_dataset(model: Any, dataset: datasets.Dataset, batch_size: int) -> tuple[dict[str, Any], dict]:
    # The full metrics and the (references, predictions) of every task the data is labelled for.
    tasks = labelled_tasks(model, dataset)
    if not tasks:
        columns = dataset.column_names
        raise ValueError(f"the data has none of the labels this model's heads predict (columns: {columns})")
    encoded = encode_dataset(dataset, model.tokenizer, model.max_seq_length, [], "evaluation data")
    eval_set = EvalSet(encoded, tasks)
    return score(model, eval_set, predict_encoded(model, eval_set, batch_size))
