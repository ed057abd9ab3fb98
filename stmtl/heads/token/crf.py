"""A linear-chain CRF over a token head's word logits: learned tag-to-tag scores, trained with the forward algorithm.

The head's logits are the CRF's emission scores; the CRF adds a score for every pair of neighbouring tags and for
the first and last tag of a text. Training minimises the negative log-likelihood of the gold tag sequence
(:meth:`LinearChainCRF.nll`, the log-partition by the forward algorithm); decoding is the torch-free Viterbi pass of
:class:`stmtl.heads.token.decoding.TokenDecoder` over the same scores, which it reads from the head's config
(:meth:`LinearChainCRF.scores`), so the ONNX runner decodes exactly as the PyTorch head does.

IOB2's rule (``I-X`` only after ``B-X`` or ``I-X``, never first) holds in training too: a forbidden transition
scores :data:`FORBIDDEN`, so the partition function sums over the sequences the decoder can return.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from stmtl.heads.token.bio import iob2_transitions

FORBIDDEN = -10_000.0
"""Score added to a transition IOB2 forbids while training (finite, so that sums stay free of NaN)."""


class LinearChainCRF(nn.Module):
    """Tag-transition, start and end scores of a label set, zero until trained (or given, as saved).

    Args:
        labels: IOB2 tags, in logit order.
        scores: Saved ``{"transitions", "start", "end"}`` (see :meth:`scores`), or ``None`` for zeros.
    """

    def __init__(self, labels: Sequence[str], scores: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        count = len(labels)
        allowed, start = iob2_transitions(labels)
        self.transitions = nn.Parameter(torch.zeros(count, count))  # (previous tag, next tag)
        self.start_transitions = nn.Parameter(torch.zeros(count))
        self.end_transitions = nn.Parameter(torch.zeros(count))
        if scores is not None:
            with torch.no_grad():
                self.transitions.copy_(torch.tensor(scores["transitions"], dtype=torch.float32))
                self.start_transitions.copy_(torch.tensor(scores["start"], dtype=torch.float32))
                self.end_transitions.copy_(torch.tensor(scores["end"], dtype=torch.float32))
        self.register_buffer("forbidden", torch.tensor(~allowed) * FORBIDDEN, persistent=False)  # (tags, tags)
        self.register_buffer("forbidden_start", torch.tensor(~start) * FORBIDDEN, persistent=False)  # (tags,)

    def scores(self) -> dict[str, Any]:
        """The learned scores as JSON lists: ``transitions[i][j]`` (tag ``j`` after tag ``i``), ``start``, ``end``."""
        return {
            "transitions": self.transitions.detach().float().cpu().tolist(),
            "start": self.start_transitions.detach().float().cpu().tolist(),
            "end": self.end_transitions.detach().float().cpu().tolist(),
        }

    def nll(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Summed negative log-likelihood of the gold tag sequences.

        Args:
            emissions: ``(texts, words, tags)`` scores of each word's tags; every text has at least one word.
            tags: ``(texts, words)`` gold tag ids; any value where ``mask`` is false.
            mask: ``(texts, words)`` true for a text's words, which come first (a prefix of each row).
        """
        emissions = emissions.float()
        transitions = self.transitions + self.forbidden  # (tags, tags)
        start = self.start_transitions + self.forbidden_start  # (tags,)
        tags = tags.masked_fill(~mask, 0)
        rows = torch.arange(len(tags), device=tags.device)
        lengths = mask.sum(dim=1)  # (texts,)

        gold = start[tags[:, 0]] + emissions[rows, 0, tags[:, 0]]  # (texts,)
        alpha = start + emissions[:, 0]  # (texts, tags): log-sum of every path ending in each tag
        for word in range(1, emissions.shape[1]):
            step = mask[:, word]  # (texts,)
            pair = transitions[tags[:, word - 1], tags[:, word]] + emissions[rows, word, tags[:, word]]
            gold = gold + torch.where(step, pair, torch.zeros_like(pair))
            moved = torch.logsumexp(alpha.unsqueeze(2) + transitions + emissions[:, word].unsqueeze(1), dim=1)
            alpha = torch.where(step.unsqueeze(1), moved, alpha)
        gold = gold + self.end_transitions[tags[rows, lengths - 1]]
        partition = torch.logsumexp(alpha + self.end_transitions, dim=1)  # (texts,)
        return (partition - gold).sum()
