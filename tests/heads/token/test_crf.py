"""The linear-chain CRF of a token head: its likelihood, its loss over word pieces, its decoding and its config."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from stmtl.alignment import IGNORE_INDEX
from stmtl.heads import TextBatch, TokenClassificationHead
from stmtl.heads.token.crf import LinearChainCRF

TAGS = ["O", "B-x", "I-x", "B-y", "I-y"]


def _random_crf(seed: int) -> LinearChainCRF:
    torch.manual_seed(seed)
    crf = LinearChainCRF(TAGS)
    with torch.no_grad():
        for parameter in crf.parameters():
            parameter.normal_()
    return crf


def _brute_nll(crf: LinearChainCRF, emissions: torch.Tensor, tags: list[int]) -> float:
    """-log p(tags) by enumerating every sequence of the same length (forbidden transitions included, scored low)."""
    transitions = crf.transitions + crf.forbidden
    start = crf.start_transitions + crf.forbidden_start

    def score(path):
        total = start[path[0]] + crf.end_transitions[path[-1]] + sum(emissions[i, t] for i, t in enumerate(path))
        return total + sum(transitions[a, b] for a, b in zip(path, path[1:]))

    every = torch.stack([score(path) for path in itertools.product(range(len(TAGS)), repeat=len(tags))])
    return float((torch.logsumexp(every, 0) - score(tags)).detach())


def test_nll_matches_enumeration_with_texts_of_different_lengths() -> None:
    crf = _random_crf(0)
    emissions = torch.randn(2, 3, len(TAGS))
    tags = torch.tensor([[1, 2, 0], [3, 4, 99]])  # the second text has two words; its third tag is padding
    mask = torch.tensor([[True, True, True], [True, True, False]])
    expected = _brute_nll(crf, emissions[0], [1, 2, 0]) + _brute_nll(crf, emissions[1, :2], [3, 4])
    assert float(crf.nll(emissions, tags, mask).detach()) == pytest.approx(expected, rel=1e-5)


def test_head_loss_is_the_crf_nll_per_word_over_first_pieces() -> None:
    head = TokenClassificationHead("slots", TAGS, in_features=4, crf=True)
    head.chain.load_state_dict(_random_crf(1).state_dict())
    logits = torch.randn(2, 5, len(TAGS))
    ignore = IGNORE_INDEX
    targets = torch.tensor([[ignore, 1, ignore, 2, 0], [ignore, 3, ignore, ignore, ignore]])  # words at 1, 3, 4 / 1
    loss = head.loss({"slots_logits": logits}, {"labels.slots": targets})
    expected = _brute_nll(head.chain, logits[0, [1, 3, 4]], [1, 2, 0]) + _brute_nll(head.chain, logits[1, [1]], [3])
    assert float(loss.detach()) == pytest.approx(expected / 4, rel=1e-5)
    loss.backward()
    assert head.chain.transitions.grad is not None and head.chain.transitions.grad.abs().sum() > 0


def test_probe_items_get_cross_entropy() -> None:
    head = TokenClassificationHead("slots", TAGS, in_features=4, crf=True)
    logits, targets = torch.randn(6, len(TAGS)), torch.tensor([0, 1, 2, 0, 3, 4])
    loss = head.loss({"slots_logits": logits}, {"labels.slots": targets})
    assert torch.allclose(loss, torch.nn.functional.cross_entropy(logits, targets))


def _batch(words: int) -> TextBatch:
    text = " ".join(["w"] * words)
    return TextBatch([text], [[(2 * i, 2 * i + 1) for i in range(words)]], [list(range(words))])


def test_decoding_follows_the_learned_transitions_and_survives_save_and_load(tmp_path) -> None:
    # The second word leans to O on its own; a strong learned B-x -> I-x score makes the CRF keep "w w" one entity.
    logits = np.zeros((1, 2, len(TAGS)), dtype=np.float32)
    logits[0, 0, 1], logits[0, 1, 0], logits[0, 1, 2] = 5.0, 1.0, 0.5
    plain = TokenClassificationHead("slots", TAGS, in_features=4)
    [[entity]] = plain.decoder.decode(logits, _batch(2))
    assert (entity["start"], entity["end"]) == (0, 1)
    head = TokenClassificationHead("slots", TAGS, in_features=4, crf=True)
    with torch.no_grad():
        head.chain.transitions[1, 2] = 3.0
    [[entity]] = head.decoder.decode(logits, _batch(2))
    assert (entity["start"], entity["end"], entity["label"]) == (0, 3, "x") and 0.0 < entity["score"] <= 1.0
    head.save(str(tmp_path))
    loaded = TokenClassificationHead.load(str(tmp_path))
    assert loaded.crf == head.crf and loaded.crf["transitions"][1][2] == 3.0
    assert torch.equal(loaded.chain.transitions, head.chain.transitions)
    assert loaded.decoder.decode(logits, _batch(2)) == head.decoder.decode(logits, _batch(2))


def test_a_head_without_crf_decodes_as_before() -> None:
    head = TokenClassificationHead("slots", TAGS, in_features=4)
    assert head.chain is None and head.get_config_dict()["crf"] is False
    zero = TokenClassificationHead("slots", TAGS, in_features=4, crf=True)
    assert all(score == 0.0 for row in zero.crf["transitions"] for score in row)


@pytest.mark.parametrize(
    ("crf", "message"),
    [
        ("yes", "true, false or an object"),
        ({"transitions": [], "start": []}, "true, false or an object"),
        ({"transitions": [[0.0] * 5] * 5, "start": [0.0] * 5, "end": [0.0] * 4}, "one value per label \\(5\\)"),
        ({"transitions": [[0.0] * 5] * 5, "start": [0.0] * 5, "end": ["a"] * 5}, "end must hold lists of finite"),
        ({"transitions": [[float("nan")] * 5] * 5, "start": [0.0] * 5, "end": [0.0] * 5}, "finite numbers"),
        ({"transitions": 0.0, "start": [0.0] * 5, "end": [0.0] * 5}, "transitions must be a list of lists"),
    ],
)
def test_crf_config_checked(crf, message: str) -> None:
    with pytest.raises(ValueError, match=f"'crf'.*{message}"):
        TokenClassificationHead("slots", TAGS, in_features=4, crf=crf)
