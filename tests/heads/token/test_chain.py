"""Viterbi and forward-backward on a linear chain, against enumerating every tag sequence."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from stmtl.heads.token.chain import best_path, tag_marginals
from stmtl.heads.token.decoding import transitions

LABELS = ("O", "B-x", "I-x", "B-y", "I-y")


def _sequences(emissions, transition_scores, start, end):
    """Every tag sequence with its score."""
    for path in itertools.product(range(len(LABELS)), repeat=len(emissions)):
        score = start[path[0]] + end[path[-1]] + sum(emissions[i, tag] for i, tag in enumerate(path))
        score += sum(transition_scores[a, b] for a, b in zip(path, path[1:]))
        yield path, score


@pytest.mark.parametrize("seed", range(5))
def test_best_path_and_marginals_match_enumeration(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rules, opening = transitions(LABELS)
    emissions = rng.normal(size=(4, len(LABELS)))
    scores = (rng.normal(size=(len(LABELS), len(LABELS))) + rules, rng.normal(size=len(LABELS)) + opening,
              rng.normal(size=len(LABELS)))  # fmt: skip
    paths, totals = zip(*_sequences(emissions, *scores))
    totals = np.array(totals)
    assert best_path(emissions, *scores) == list(paths[int(totals.argmax())])
    weights = np.exp(totals - totals.max())
    weights /= weights.sum()
    expected = np.zeros_like(emissions)
    for path, weight in zip(paths, weights):
        expected[np.arange(len(path)), path] += weight
    np.testing.assert_allclose(tag_marginals(emissions, *scores), expected, atol=1e-12)


def test_forbidden_tags_get_no_probability_and_one_word_works() -> None:
    rules, opening = transitions(LABELS)
    emissions = np.array([[0.0, 0.0, 9.0, 0.0, 0.0]])  # I-x scores best but may not open a text
    marginals = tag_marginals(emissions, rules, opening, np.zeros(len(LABELS)))
    assert marginals[0, 2] == 0.0 and marginals.sum() == pytest.approx(1.0)
    assert best_path(emissions, rules, opening, np.zeros(len(LABELS))) in ([0], [1], [3])
    assert best_path(np.zeros((0, len(LABELS))), rules, opening, np.zeros(len(LABELS))) == []
