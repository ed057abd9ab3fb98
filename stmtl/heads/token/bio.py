"""IOB2 tags: validation and decoding of word tags into entity spans."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any

import numpy as np

from stmtl.heads.token.chain import best_path


def entity_type(tag: str) -> str | None:
    """The entity type of an IOB2 tag (``"B-city"`` → ``"city"``), ``None`` for ``"O"``.

    A valid tag is ``"O"`` or ``"B-<type>"`` / ``"I-<type>"`` with a non-empty type and no whitespace (the text
    formats, seq.out and CoNLL, separate tags by whitespace). This is the one IOB2 check of the package: the token
    head and the decoder call it. Data files may come in IOB1, BIOES or BILOU too: the readers check those tags
    with :func:`stmtl.data.tag_schemes.tag_parts` and convert them to IOB2 before any head sees them.

    Raises:
        ValueError: If the tag is not a string or not an IOB2 tag (naming it).
    """
    if not isinstance(tag, str):
        raise ValueError(f"tag must be a string, got {type(tag).__name__} {tag!r}")
    if tag == "O":
        return None
    if tag[:2] in ("B-", "I-") and len(tag) > 2 and not any(ch.isspace() for ch in tag):
        return tag[2:]
    raise ValueError(f"unknown tag {tag!r} (expected O, B-<type> or I-<type>: IOB2 scheme)")


def validate_tag(tag: str) -> None:
    """Check that ``tag`` is an IOB2 tag (see :func:`entity_type`).

    Raises:
        ValueError: If it is not.
    """
    entity_type(tag)


def check_iob2_labels(labels: Sequence[str]) -> None:
    """Check a token head's label set: IOB2 tags including ``O``.

    Raises:
        ValueError: Naming the first bad tag.
    """
    for tag in labels:
        entity_type(tag)
    if "O" not in labels:
        raise ValueError("token labels must include 'O'")


def iob2_transitions(labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Which IOB2 tag may follow which, and which may open a text.

    ``I-X`` may only follow ``B-X`` or ``I-X``; every other tag may follow anything.

    Args:
        labels: IOB2 tags, in logit order.

    Returns:
        ``allowed`` of shape ``(labels, labels)`` (``allowed[i, j]``: tag ``j`` may follow tag ``i``) and ``start``
        of shape ``(labels,)`` (tag may open a text), both boolean.
    """
    kinds = [entity_type(tag) for tag in labels]
    inside = np.array([tag.startswith("I-") for tag in labels])
    same_type = np.array([[a is not None and a == b for b in kinds] for a in kinds])  # (labels, labels)
    allowed = ~inside[None, :] | same_type
    return allowed, ~inside


def constrained_tags(log_probs: np.ndarray, allowed: np.ndarray, start: np.ndarray) -> list[int]:
    """The most probable tag sequence that is well-formed IOB2 (Viterbi over word log-probabilities).

    Args:
        log_probs: ``(words, labels)`` log-probabilities of each word's tag.
        allowed: ``(labels, labels)`` transitions (see :func:`iob2_transitions`).
        start: ``(labels,)`` tags that may open a text.

    Returns:
        One tag index per word; an empty list for no words.
    """
    rules, opening = np.where(allowed, 0.0, -np.inf), np.where(start, 0.0, -np.inf)
    return best_path(log_probs, rules, opening, np.zeros(len(start)))


def decode_entities(
    text: str,
    word_spans: Sequence[tuple[int, int]],
    word_tags: Sequence[str],
    word_scores: Sequence[float],
) -> list[dict[str, Any]]:
    """Group word tags into entities with character offsets.

    Repair rule for ill-formed sequences (the conlleval convention, also seqeval's default mode): an ``I-X``
    that does not continue an entity of type ``X`` opens a new one, so no predicted word is lost. An entity
    spans from its first word's start to its last word's end, so ``text[start:end] == entity["text"]``
    whatever lies between the words (several spaces, punctuation).

    Args:
        text: The original text.
        word_spans: ``(start, end)`` of every word.
        word_tags: One IOB2 tag per word.
        word_scores: Probability of each word's tag.

    Returns:
        Entities ``{"label", "start", "end", "text", "score"}``, score being the mean of their words' scores.
    """
    entities: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for (start, end), tag, score in zip(word_spans, word_tags, word_scores):
        kind = entity_type(tag)
        continues = current is not None and tag.startswith("I-") and kind == current["label"]
        if continues:
            current["end"] = end
            current["scores"].append(score)
            continue
        current = None
        if kind is not None:
            current = {"label": kind, "start": start, "end": end, "scores": [score]}
            entities.append(current)
    for entity in entities:
        scores = entity.pop("scores")
        entity["text"] = text[entity["start"] : entity["end"]]
        entity["score"] = float(sum(scores) / len(scores))
    return [{key: entity[key] for key in ("label", "start", "end", "text", "score")} for entity in entities]


def entities_to_tags(entities: Sequence[dict[str, Any]], word_spans: Sequence[tuple[int, int]]) -> list[str]:
    """The IOB2 word tags that entity spans stand for: the inverse of :func:`decode_entities` on well-formed tags.

    A word inside an entity's ``[start, end)`` gets ``B-type`` if it is the entity's first word and ``I-type``
    otherwise; every other word gets ``O``. Scoring these tags scores exactly the spans ``predict`` returns.

    Args:
        entities: Entities with ``label``, ``start`` and ``end``, in text order.
        word_spans: ``(start, end)`` of every word of the same text.

    Returns:
        One tag per word.
    """
    tags = ["O"] * len(word_spans)
    starts = [start for start, _ in word_spans]
    for entity in entities:
        first = bisect.bisect_left(starts, entity["start"])
        for word in range(first, len(word_spans)):
            if word_spans[word][0] >= entity["end"]:
                break
            tags[word] = ("B-" if word == first else "I-") + entity["label"]
    return tags
