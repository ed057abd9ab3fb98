"""Decoding of a token-classification head: entities with character offsets, from well-formed IOB2 word tags."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from stmtl.bio import constrained_tags, decode_entities, iob2_transitions
from stmtl.decoding.text_batch import TextBatch


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-softmax over the last axis, in float64."""
    shifted = np.asarray(logits, dtype=np.float64)
    shifted = shifted - shifted.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


@functools.lru_cache(maxsize=64)
def transitions(labels: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`stmtl.bio.iob2_transitions` of a label set, computed once per label set (read-only arrays)."""
    allowed, start = iob2_transitions(labels)
    allowed.flags.writeable = start.flags.writeable = False
    return allowed, start


@dataclass(frozen=True)
class TokenDecoder:
    """Per text, the most probable well-formed IOB2 word tags (Viterbi), grouped into entities.

    Args:
        labels: IOB2 tags, in logit order.
    """

    labels: tuple[str, ...]

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TokenDecoder:
        """The decoder of a head with this saved config (``labels``)."""
        return cls(tuple(config["labels"]))

    def decode(self, logits: np.ndarray, batch: TextBatch) -> list[list[dict[str, Any]]]:
        """Entities with character offsets per text.

        Each word is read at its first piece; a Viterbi pass over the words' log-probabilities picks the best
        sequence in which every ``I-X`` continues an ``X`` entity (:func:`stmtl.bio.constrained_tags`), instead of
        repairing a per-word argmax afterwards. Words without a piece (cut by truncation) are tagged ``O``.

        Args:
            logits: ``(batch, seq, num_labels)``.
            batch: Where the words of each text are.

        Returns:
            Per text, a list of ``{"label", "start", "end", "text", "score"}``; a score is the probability of the
            word's chosen tag, averaged over the entity's words.
        """
        log_probs = log_softmax(logits)  # (batch, seq, num_labels)
        allowed, start = transitions(self.labels)
        results = []
        for row, (text, spans, positions) in enumerate(zip(batch.texts, batch.word_spans, batch.first_pieces)):
            kept = [word for word, p in enumerate(positions) if p is not None]
            word_log_probs = log_probs[row, [positions[word] for word in kept]]  # (kept words, num_labels)
            path = constrained_tags(word_log_probs, allowed, start)
            tags, tag_scores = ["O"] * len(positions), [1.0] * len(positions)
            for word, index, scores in zip(kept, path, word_log_probs):
                tags[word], tag_scores[word] = self.labels[index], float(np.exp(scores[index]))
            results.append(decode_entities(text, spans, tags, tag_scores))
        return results
