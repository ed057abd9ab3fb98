"""How far training moved ``encode()`` from the source model: measured at the end of every run.

Fine-tuning for intents and slots reshapes the embedding space that downstream users (search, clustering,
similarity) rely on: after three default SNIPS epochs, STS-B dev Spearman fell from 86.7 to 59.0. The measure
here is the mean cosine between the trained and the source model's embedding of the same text, over the run's dev
texts; with an STS file, both models' STS Spearman as well. A low cosine gets a warning that names
``--preserve-embeddings``.
"""

from __future__ import annotations

import logging
import os
from itertools import islice
from typing import Any

import numpy as np

from stmtl.sts import evaluate_sts, read_sts_tsv

logger = logging.getLogger(__name__)

MAX_TEXTS = 2_000
"""Texts encoded by each model: all of SNIPS dev (700), and a few seconds per model on a CPU."""

WARN_BELOW = 0.8
"""Mean cosine under which a run warns. Measured on SNIPS dev texts (695 distinct), all-MiniLM-L6-v2, CLI defaults:

=====================================================  ===========  =====================  ======================
run                                                    mean cosine  (on STS-B sentences)   STS-B dev (source 86.72)
=====================================================  ===========  =====================  ======================
300 steps, ``--preserve-embeddings 3`` (distillation)  0.896        0.918                  85.72
300 steps, plain fine-tuning                           0.297        0.382                  56.76
2 epochs, plain                                        0.235        0.313                  48.86
8 epochs, plain                                        0.186        0.286                  44.32
=====================================================  ===========  =====================  ======================

The middle column is the same measure on 2,000 STS-B dev sentences, text unlike the training data: it moves a
little less. A run that keeps the source space stays near 0.9 at one STS point lost; every plain fine-tune measured
fell under 0.3 on dev texts and lost 30-42 STS points. 0.8 sits between the two groups, closer to the preserved
one: a preserved run keeps 0.1 of room for longer training, and a run a good way towards a plain fine-tune's space
is told so."""


def drift_texts(datasets_with_text: list[Any], limit: int = MAX_TEXTS) -> list[str]:
    """The first ``limit`` distinct non-empty texts of ``datasets_with_text`` (datasets or iterables of rows)."""
    texts: dict[str, None] = {}
    for data in datasets_with_text:
        rows = data.select_columns(["text"]) if hasattr(data, "select_columns") else data
        for row in islice(iter(rows), limit):
            text = row["text"]
            if text and text.strip():
                texts.setdefault(text, None)
            if len(texts) >= limit:
                return list(texts)
    return list(texts)


def check_sts_file(path: str | os.PathLike | None) -> None:
    """Read the STS file once before training, so that a bad path or row fails at once, not after the run.

    Raises:
        DataError: Naming the file (and line).
    """
    if path is not None:
        read_sts_tsv(path)


def embedding_drift(
    model: Any, source: Any, texts: list[str], sts: str | os.PathLike | None = None, batch_size: int = 64
) -> dict[str, Any]:
    """Mean cosine between ``model``'s and ``source``'s embeddings of ``texts``, and both STS Spearmans.

    Args:
        model: The trained model (anything with sentence-transformers' ``encode``).
        source: The model training started from.
        texts: The texts to embed (see :func:`drift_texts`).
        sts: An STS TSV (header ``sentence1``, ``sentence2``, ``score``) or ``None``.
        batch_size: Texts per forward pass.

    Returns:
        ``{"mean_cosine", "identical", "unchanged_by_construction", "texts", "sts_spearman",
        "source_sts_spearman", "warning"}``; ``mean_cosine`` and ``identical`` (every embedding equal to the
        source's, bit for bit) are ``None`` when there are no texts, ``unchanged_by_construction`` is true for a
        model with a task adapter, the Spearmans are ``None`` without ``sts``, and ``warning`` is ``None`` unless the
        mean cosine is under :data:`WARN_BELOW`.
    """
    mean_cosine = identical = None
    if texts:
        trained = model.encode(texts, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True)
        original = source.encode(texts, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True)
        mean_cosine = round(float(np.mean(np.sum(trained * original, axis=1))), 4)  # (texts,) → mean
        identical = bool(np.array_equal(trained, original))
    sts_spearman = source_sts_spearman = None
    if sts is not None:
        sts_spearman = round(evaluate_sts(model, sts, batch_size)["spearman"], 2)
        source_sts_spearman = round(evaluate_sts(source, sts, batch_size)["spearman"], 2)
    warning = None
    if mean_cosine is not None and mean_cosine < WARN_BELOW:
        warning = (
            f"encode() embeddings moved far from the source model's (mean cosine {mean_cosine:.2f} < {WARN_BELOW} "
            "on the same texts): similarity search with this model differs from the source model's; train with "
            "--preserve-embeddings 1 (the default from 2,000 training rows) to keep them"
        )
    return {
        "mean_cosine": mean_cosine,
        "identical": identical,
        "unchanged_by_construction": getattr(model, "task_adapter", None) is not None,
        "texts": len(texts),
        "sts_spearman": sts_spearman,
        "source_sts_spearman": source_sts_spearman,
        "warning": warning,
    }


def describe(drift: dict[str, Any], split: str) -> str:
    """One line for the end of a run, e.g. ``embedding drift: mean cosine 0.62 to the source model on 700 dev
    texts; STS Spearman 59.0 (source 86.7)``; a run with a task adapter says the embeddings are unchanged by
    construction, and whether the measurement agrees."""
    if drift.get("unchanged_by_construction"):
        agrees = "identical" if drift.get("identical") else "NOT identical (a bug: please report it)"
        line = f"embedding drift: none by construction (task adapter: encode() runs the source encoder); {agrees} "
        line += f"to the source model on {drift['texts']} {split} texts"
    elif drift["mean_cosine"] is None:
        line = "embedding drift: no texts to compare"
    else:
        line = f"embedding drift: mean cosine {drift['mean_cosine']:.3f} to the source model on {drift['texts']} "
        line += f"{split} texts"
    if drift["sts_spearman"] is not None:
        line += f"; STS Spearman {drift['sts_spearman']:.1f} (source {drift['source_sts_spearman']:.1f})"
    return line


def measure_run_drift(config: Any, model: Any, dev_sets: list[Any], test_sets: list[Any]) -> tuple[dict, str]:
    """:func:`embedding_drift` at the end of a run, against a fresh copy of the backbone the run started from.

    The texts are the dev texts of every task; a run without dev data uses its test texts, and one without either
    the first training texts.

    Args:
        config: The run's ``TrainConfig`` (its ``backbone``, ``max_seq_length``, ``sts`` and ``eval_batch_size``).
        model: The trained model.
        dev_sets: The run's encoded dev sets (:class:`stmtl.evaluation.EvalSet`).
        test_sets: The run's encoded test sets.

    Returns:
        The drift values and the split the texts came from (``"dev"``, ``"test"`` or ``"train"``).
    """
    from stmtl.builder import build
    from stmtl.data import read_task_data

    for split, sets in (("dev", dev_sets), ("test", test_sets)):
        if sets:
            texts = drift_texts([eval_set.dataset for eval_set in sets])
            break
    else:
        split, texts = "train", drift_texts([read_task_data(config.tasks[0].train, "train", streaming=True)])
    source = build([], backbone=config.backbone, device=str(model.device), trust_remote_code=config.trust_remote_code)
    source.max_seq_length = model.max_seq_length  # the same truncation for the same texts
    return embedding_drift(model, source, texts, config.sts, config.eval_batch_size), split
