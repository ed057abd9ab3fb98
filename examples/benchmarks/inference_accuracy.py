"""Accuracy of any model with ``predict`` and ``encode`` (PyTorch or ONNX backend), scored on what ``predict`` returns.

SNIPS-style splits (``DATA/{split}/seq.in|seq.out|label``): each line's words are joined by single spaces and the
text goes through ``predict``; its entities become word tags again on the line's own words
(:func:`stmtl.bio.entities_to_tags`), scored with seqeval in strict IOB2 mode (as ``stmtl evaluate``); exact match
needs the intent and every tag right. STS: Spearman (x100) of cosine similarity of ``encode`` embeddings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stmtl.alignment import join_words
from stmtl.bio import entities_to_tags
from stmtl.sts import evaluate_sts


def snips_split(data: str, split: str) -> tuple[list[str], list[list[tuple[int, int]]], list[list[str]], list[str]]:
    """Texts, word spans, gold tags and gold intents of one split of a joint folder."""
    folder = Path(data) / split
    words = [line.split() for line in (folder / "seq.in").read_text(encoding="utf-8").splitlines()]
    tags = [line.split() for line in (folder / "seq.out").read_text(encoding="utf-8").splitlines()]
    intents = [line.strip() for line in (folder / "label").read_text(encoding="utf-8").splitlines()]
    joined = [join_words(line) for line in words]
    return [text for text, _ in joined], [spans for _, spans in joined], tags, intents


def snips_scores(model: Any, data: str, split: str, batch_size: int = 32) -> dict[str, float]:
    """``{"intent_accuracy", "slot_f1", "exact_match"}`` (x100) of ``model.predict`` on one split.

    The model's tasks must be ``intent`` (sentence) and ``slots`` (token), as ``stmtl train --data SNIPS`` names them.
    """
    from seqeval.metrics import f1_score
    from seqeval.scheme import IOB2

    texts, spans, gold_tags, gold_intents = snips_split(data, split)
    predictions = model.predict(texts, batch_size=batch_size, show_progress_bar=False)
    tags = [entities_to_tags(result["slots"], word_spans) for result, word_spans in zip(predictions, spans)]
    intents = [result["intent"]["label"] for result in predictions]
    right = [a == b for a, b in zip(intents, gold_intents)]
    exact = [ok and a == b for ok, a, b in zip(right, tags, gold_tags)]
    return {
        "intent_accuracy": round(100 * sum(right) / len(right), 2),
        "slot_f1": round(100 * float(f1_score(gold_tags, tags, mode="strict", scheme=IOB2)), 2),
        "exact_match": round(100 * sum(exact) / len(exact), 2),
    }


def sts_spearman(model: Any, path: str) -> float:
    """STS Spearman (x100) of ``model.encode`` embeddings."""
    return round(evaluate_sts(model, path, batch_size=64)["spearman"], 2)
