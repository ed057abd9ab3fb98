"""Decoding of a token-classification head: entities with character offsets, from well-formed IOB2 word tags.

Torch-free: the PyTorch head and the ONNX runner both decode with :class:`TokenDecoder`, which also checks the
kind's config (IOB2 labels with ``O``, the CRF's saved scores).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from stmtl.decoding import log_softmax
from stmtl.decoding.text_batch import TextBatch
from stmtl.heads.token.bio import check_iob2_labels, decode_entities, iob2_transitions
from stmtl.heads.token.chain import best_path, tag_marginals
from stmtl.heads.validation import MAX_PARAMETERS, HeadConfigError, check_flag, check_labels, is_number

CRF_KEYS = ("transitions", "start", "end")


@functools.lru_cache(maxsize=64)
def transitions(labels: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """IOB2's rules as scores, computed once per label set (read-only): ``(labels, labels)`` transitions and
    ``(labels,)`` openings, 0 where allowed and ``-inf`` where not (:func:`~stmtl.heads.token.bio.iob2_transitions`).
    """
    allowed, start = iob2_transitions(labels)
    rules, opening = np.where(allowed, 0.0, -np.inf), np.where(start, 0.0, -np.inf)
    rules.flags.writeable = opening.flags.writeable = False
    return rules, opening


def check_crf(value: Any) -> None:
    """``crf``: true or false (a new CRF or none), or the saved scores ``{"transitions", "start", "end"}`` (lists of
    numbers; their sizes are checked against the labels by :meth:`TokenDecoder.check_config`)."""
    if isinstance(value, bool):
        return
    if not isinstance(value, dict) or sorted(value) != sorted(CRF_KEYS):
        raise HeadConfigError("crf", f"must be true, false or an object with keys {', '.join(CRF_KEYS)}"[:200])
    rows = value["transitions"]
    if not isinstance(rows, list):
        raise HeadConfigError("crf", "transitions must be a list of lists")
    for key, numbers in (("start", value["start"]), ("end", value["end"]), *(("transitions", row) for row in rows)):
        if not isinstance(numbers, list) or not all(is_number(x) and np.isfinite(x) for x in numbers):
            raise HeadConfigError("crf", f"{key} must hold lists of finite numbers")


@dataclass(frozen=True)
class TokenDecoder:
    """Per text, the best well-formed IOB2 word tags (Viterbi), grouped into entities.

    Args:
        labels: IOB2 tags, in logit order.
        crf: A linear-chain CRF's ``(transitions, start, end)`` scores, or ``None`` for a head without one.
    """

    config_checks: ClassVar[dict[str, Any]] = {
        "labels": check_labels,
        "sentence_context": check_flag("sentence_context"),
        "crf": check_crf,
    }
    """Checks of the kind's own config keys (see :func:`stmtl.heads.validation.check_head_config`); the decoder
    reads the labels and the CRF's scores."""
    required_keys: ClassVar[tuple[str, ...]] = ("labels",)

    labels: tuple[str, ...]
    crf: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, compare=False)

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> None:
        """The labels are IOB2 tags including ``O``; a CRF's scores have one row and column per label.

        Raises:
            ValueError: Naming the first bad tag or the CRF's wrong size.
        """
        labels = config["labels"]
        check_iob2_labels(labels)
        crf = config.get("crf", False)
        if crf is not False and len(labels) ** 2 > MAX_PARAMETERS:
            raise HeadConfigError("crf", f"{len(labels):,} labels make {len(labels) ** 2:,} transitions, too many")
        if isinstance(crf, dict):
            sizes = [len(crf["start"]), len(crf["end"]), len(crf["transitions"]), *map(len, crf["transitions"])]
            if any(size != len(labels) for size in sizes):
                raise HeadConfigError("crf", f"scores must have one value per label ({len(labels)}) in every row")

    @staticmethod
    def output_width(config: Mapping[str, Any]) -> int:
        """The logits' last dimension for this config: one per tag."""
        return len(config["labels"])

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TokenDecoder:
        """The decoder of a head with this saved config (``labels``, ``crf``)."""
        labels, crf = tuple(config["labels"]), config.get("crf", False)
        if crf is False:
            return cls(labels)
        if crf is True:
            crf = {"transitions": np.zeros((len(labels), len(labels))), "start": np.zeros(len(labels)),
                   "end": np.zeros(len(labels))}  # fmt: skip
        rules, opening = transitions(labels)
        scores = (np.asarray(crf["transitions"], np.float64) + rules, np.asarray(crf["start"], np.float64) + opening,
                  np.asarray(crf["end"], np.float64))  # fmt: skip
        return cls(labels, scores)

    def decode(self, logits: np.ndarray, batch: TextBatch) -> list[list[dict[str, Any]]]:
        """Entities with character offsets per text.

        Each word is read at its first piece; a Viterbi pass over the words picks the best sequence in which every
        ``I-X`` continues an ``X`` entity, instead of repairing a per-word argmax afterwards. Without a CRF it
        maximises the sum of the words' log-probabilities; with one, the CRF's score (the words' logits plus the
        learned transition, start and end scores). Words without a piece (cut by truncation) are tagged ``O``.

        Args:
            logits: ``(batch, seq, num_labels)``.
            batch: Where the words of each text are.

        Returns:
            Per text, a list of ``{"label", "start", "end", "text", "score"}``; a score is the probability of the
            word's chosen tag (with a CRF, its marginal over all tag sequences), averaged over the entity's words.
        """
        log_probs = log_softmax(logits) if self.crf is None else None  # (batch, seq, num_labels)
        rules, opening = transitions(self.labels)
        results = []
        for row, (text, spans, positions) in enumerate(zip(batch.texts, batch.word_spans, batch.first_pieces)):
            kept = [word for word, p in enumerate(positions) if p is not None]
            pieces = [positions[word] for word in kept]
            if self.crf is None:
                word_log_probs = log_probs[row, pieces]  # (kept words, num_labels)
                path = best_path(word_log_probs, rules, opening, np.zeros(len(self.labels)))
                chosen = np.exp(word_log_probs[np.arange(len(path)), path]) if path else []
            else:
                emissions = np.asarray(logits[row, pieces], dtype=np.float64)  # (kept words, num_labels)
                path = best_path(emissions, *self.crf)
                chosen = tag_marginals(emissions, *self.crf)[np.arange(len(path)), path] if path else []
            tags, tag_scores = ["O"] * len(positions), [1.0] * len(positions)
            for word, index, score in zip(kept, path, chosen):
                tags[word], tag_scores[word] = self.labels[index], float(score)
            results.append(decode_entities(text, spans, tags, tag_scores))
        return results
