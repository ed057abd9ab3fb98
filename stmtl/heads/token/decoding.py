"""Decoding of a token-classification head: entities with character offsets, from well-formed IOB2 word tags.

Torch-free: the PyTorch head and the ONNX runner both decode with :class:`TokenDecoder`, which also checks the
kind's config (IOB2 labels with ``O``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from stmtl.decoding import log_softmax
from stmtl.decoding.text_batch import TextBatch
from stmtl.heads.token.bio import check_iob2_labels, constrained_tags, decode_entities, iob2_transitions
from stmtl.heads.validation import check_flag, check_labels


@functools.lru_cache(maxsize=64)
def transitions(labels: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~stmtl.heads.token.bio.iob2_transitions` of a label set, computed once per label set (read-only)."""
    allowed, start = iob2_transitions(labels)
    allowed.flags.writeable = start.flags.writeable = False
    return allowed, start


@dataclass(frozen=True)
class TokenDecoder:
    """Per text, the most probable well-formed IOB2 word tags (Viterbi), grouped into entities.

    Args:
        labels: IOB2 tags, in logit order.
    """

    config_checks: ClassVar[dict[str, Any]] = {
        "labels": check_labels,
        "sentence_context": check_flag("sentence_context"),
    }
    """Checks of the kind's own config keys (see :func:`stmtl.heads.validation.check_head_config`); the decoder
    reads only the labels."""
    required_keys: ClassVar[tuple[str, ...]] = ("labels",)

    labels: tuple[str, ...]

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> None:
        """The labels are IOB2 tags including ``O``.

        Raises:
            ValueError: Naming the first bad tag.
        """
        check_iob2_labels(config["labels"])

    @staticmethod
    def output_width(config: Mapping[str, Any]) -> int:
        """The logits' last dimension for this config: one per tag."""
        return len(config["labels"])

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TokenDecoder:
        """The decoder of a head with this saved config (``labels``)."""
        return cls(tuple(config["labels"]))

    def decode(self, logits: np.ndarray, batch: TextBatch) -> list[list[dict[str, Any]]]:
        """Entities with character offsets per text.

        Each word is read at its first piece; a Viterbi pass over the words' log-probabilities picks the best
        sequence in which every ``I-X`` continues an ``X`` entity (:func:`~stmtl.heads.token.bio.constrained_tags`),
        instead of repairing a per-word argmax afterwards. Words without a piece (cut by truncation) are tagged ``O``.

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
