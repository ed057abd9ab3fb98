"""STS evaluation: how well cosine similarity of ``encode()`` embeddings ranks sentence pairs like humans do."""

from __future__ import annotations

import csv
import os
from typing import Any

import numpy as np
from scipy.stats import pearsonr, spearmanr

from stmtl.data.errors import DataError


def read_sts_tsv(path: str | os.PathLike) -> tuple[list[str], list[str], list[float]]:
    """Read a tab-separated file with header ``sentence1  sentence2  score`` and no quoting.

    Quotes are read literally (``csv.QUOTE_NONE``): STS-B sentences contain ``"`` characters.

    Raises:
        DataError: Naming the file (and line) for a missing file, a missing column or a non-numeric score.
    """
    if not os.path.isfile(path):
        raise DataError("no such file", path)
    first, second, scores = [], [], []
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = {"sentence1", "sentence2", "score"} - set(reader.fieldnames or [])
        if missing:
            raise DataError(f"header lacks column(s) {sorted(missing)}", path, 1)
        for line, row in enumerate(reader, start=2):
            try:
                scores.append(float(row["score"]))
            except (TypeError, ValueError):
                raise DataError(f"score {row['score']!r} is not a number", path, line) from None
            first.append(row["sentence1"] or "")
            second.append(row["sentence2"] or "")
    if not scores:
        raise DataError("empty dataset", path)
    return first, second, scores


def sts_scores(first: np.ndarray, second: np.ndarray, gold: list[float]) -> dict[str, Any]:
    """Spearman and Pearson correlation (×100) between pairwise cosine similarity and gold scores.

    Args:
        first: Embeddings ``(pairs, dim)`` of the first sentences.
        second: Embeddings ``(pairs, dim)`` of the second sentences.
        gold: Human similarity scores.

    Returns:
        ``{"spearman", "pearson", "pairs"}``.
    """
    first = first / np.linalg.norm(first, axis=1, keepdims=True).clip(min=1e-12)
    second = second / np.linalg.norm(second, axis=1, keepdims=True).clip(min=1e-12)
    cosine = (first * second).sum(axis=1)  # (pairs,)
    return {
        "spearman": float(spearmanr(cosine, gold).statistic * 100),
        "pearson": float(pearsonr(cosine, gold).statistic * 100),
        "pairs": len(gold),
    }


def evaluate_sts(model: Any, path: str | os.PathLike, batch_size: int = 64) -> dict[str, Any]:
    """Encode both sides of every pair with ``model.encode`` and score them; see :func:`sts_scores`."""
    first, second, gold = read_sts_tsv(path)
    embeddings = model.encode(first + second, batch_size=batch_size, convert_to_numpy=True)
    return sts_scores(embeddings[: len(first)], embeddings[len(first) :], gold)
