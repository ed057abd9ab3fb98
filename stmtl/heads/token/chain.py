"""Inference on a linear chain of word tags, in NumPy: the best tag sequence (Viterbi) and each word's tag marginals
(forward-backward).

A sequence's score is ``start[t0] + Σ emissions[i, ti] + Σ transitions[ti-1, ti] + end[tn]``; ``-inf`` forbids a
tag or a transition. Without a CRF the token decoder calls these with the words' log-probabilities and IOB2's
0 / ``-inf`` rules; with one, with the head's logits and the CRF's learned scores (:mod:`stmtl.heads.token.crf`).
"""

from __future__ import annotations

import numpy as np


def best_path(emissions: np.ndarray, transitions: np.ndarray, start: np.ndarray, end: np.ndarray) -> list[int]:
    """The tag sequence of highest score (Viterbi).

    Args:
        emissions: ``(words, labels)`` scores of each word's tags.
        transitions: ``(labels, labels)``: ``transitions[i, j]`` scores tag ``j`` right after tag ``i``.
        start: ``(labels,)`` scores of the first word's tag.
        end: ``(labels,)`` scores of the last word's tag.

    Returns:
        One tag index per word; an empty list for no words.
    """
    if len(emissions) == 0:
        return []
    best = start + emissions[0]  # (labels,)
    back = []
    for word in emissions[1:]:
        candidates = best[:, None] + transitions  # (previous, current)
        back.append(candidates.argmax(axis=0))
        best = candidates.max(axis=0) + word
    path = [int((best + end).argmax())]
    for pointers in reversed(back):
        path.append(int(pointers[path[-1]]))
    return path[::-1]


def _logsumexp(values: np.ndarray, axis: int) -> np.ndarray:
    """``log(sum(exp(values)))`` along ``axis``, ``-inf`` where every value is ``-inf``."""
    peak = values.max(axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    with np.errstate(divide="ignore"):
        return np.squeeze(np.log(np.exp(values - peak).sum(axis=axis, keepdims=True)) + peak, axis=axis)


def tag_marginals(emissions: np.ndarray, transitions: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Each word's probability of each tag over all sequences (forward-backward); arguments as :func:`best_path`.

    Returns:
        ``(words, labels)`` probabilities, each row summing to 1.
    """
    words = len(emissions)
    forward = np.empty_like(emissions, dtype=np.float64)  # (words, labels): log-sum of paths ending in a tag
    backward = np.empty_like(emissions, dtype=np.float64)  # (words, labels): log-sum of paths from a tag onwards
    forward[0] = start + emissions[0]
    for word in range(1, words):
        forward[word] = _logsumexp(forward[word - 1][:, None] + transitions, axis=0) + emissions[word]
    backward[-1] = end
    for word in range(words - 2, -1, -1):
        backward[word] = _logsumexp(transitions + (emissions[word + 1] + backward[word + 1])[None, :], axis=1)
    partition = _logsumexp(forward[-1] + end, axis=0)
    return np.exp(forward + backward - partition)
