"""Linear probing before fine-tuning (LP-FT): the heads start fitted to the frozen source encoder.

A head built from random weights sends random gradients into the shared encoder for its first hundreds of steps,
and on small data those are most of the run: fine-tuning then distorts the pretrained features before the heads
know what to ask of them (Kumar et al., "Fine-Tuning can Distort Pretrained Features and Underperform
Out-of-Distribution", ICLR 2022). So before the first step, every trainable head is fitted on features of the
source encoder (a linear probe, as a logistic regression on frozen embeddings is), then everything is fine-tuned.

Token heads are the exception when the encoder trains: a sentence encoder's word-piece states do not separate
entity types, the encoder has to move for them, and a probed token head holds it back (see
:attr:`stmtl.heads.base.TaskHead.probe_with_trainable_encoder`). They start from random weights, as in BERT's
fine-tuning; with a frozen encoder they are probed like the others.

It is cheap: up to :data:`MAX_ROWS` training rows per stream (a seeded sample; a streamed source's first rows)
go once through the encoder in eval mode (no dropout, no gradient). Each head keeps the feature it reads and its
targets, the items it says it learns from (:meth:`stmtl.heads.base.TaskHead.probe_items`: e.g. token features only
at words with a known tag), and trains alone on them for :data:`STEPS` AdamW
steps of :data:`BATCH_ROWS` items. On SNIPS that is one encoder pass over 4,096 sentences (about 10 s on a 2-core
CPU); the head steps take about a second.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

import numpy as np
import torch

from stmtl.features import collate, forward
from stmtl.heads import TaskHead

logger = logging.getLogger(__name__)

MAX_ROWS = 4096
"""Training rows per stream the probe reads (sampled with the run's seed)."""
STEPS = 300
"""AdamW steps of each head on the cached features."""
BATCH_ROWS = 256
"""Items (texts, or words for a token head) per probe step."""
LR = 1e-2
"""Learning rate of the probe: heads read unit-length or LayerNorm-scaled features, so weights of norm ~10 are
reached within a few hundred steps."""


def fit_heads(
    model: Any, streams: list[Any], seed: int, batch_size: int = 128, skip: Collection[str] = ()
) -> dict[str, dict[str, float]]:
    """Fit every head whose parameters train (``requires_grad``) on features of the current, frozen encoder.

    A head whose class sets ``probe_with_trainable_encoder = False`` (the token head) is left as initialised when
    the encoder trains in the run that follows; with a frozen encoder it is fitted too.

    The global random state is left as it was, so the run that follows draws the same batches and dropout masks
    whether or not the heads were probed.

    Args:
        model: The multi-task model (heads attached, on its device).
        streams: Training streams (``tasks`` and ``rows(indices)``, with encoded rows and the heads' targets).
        seed: Seed of the row sample and of the probe's shuffling and dropout.
        batch_size: Texts per encoder pass.
        skip: Tasks whose heads are fitted already (continued from a saved model): left as they are.

    Returns:
        Per fitted task, the probe's loss on its cached items before and after fitting (``{"loss_start",
        "loss_end"}``).
    """
    report: dict[str, dict[str, float]] = {}
    encoder_trains = _encoder_trains(model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for stream in streams:
            heads = [model.heads[task] for task in stream.tasks]
            heads = [h for h in heads if h.task not in skip and any(p.requires_grad for p in h.parameters())]
            heads = [h for h in heads if h.probe_with_trainable_encoder or not encoder_trains]
            if not heads:
                continue
            inputs = _head_inputs(model, stream, heads, seed, batch_size)
            for head in heads:
                report[head.task] = _fit(head, *inputs[head.task])
    for task, losses in report.items():
        logger.info("probe of %s: loss %.3f -> %.3f", task, losses["loss_start"], losses["loss_end"])
    return report


def _encoder_trains(model: Any) -> bool:
    """Whether any parameter of the shared modules (everything but the heads) trains (``requires_grad``)."""
    return any(parameter.requires_grad for module in model.shared_modules for parameter in module.parameters())


@torch.no_grad()
def _head_inputs(
    model: Any, stream: Any, heads: list[TaskHead], seed: int, batch_size: int
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Per head, the feature it reads and its targets over a sample of the stream's rows, on the CPU."""
    sample = _sample(stream, seed)
    parts: dict[str, tuple[list[torch.Tensor], list[torch.Tensor]]] = {head.task: ([], []) for head in heads}
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(sample["input_ids"]), batch_size):
            columns = {key: values[start : start + batch_size] for key, values in sample.items()}
            batch = collate(columns, model.tokenizer, heads)
            features = forward(model, batch, model.device)
            for head in heads:
                inputs = head.classifier_inputs(features).float().cpu()  # (batch, dim) or (batch, seq, dim)
                targets = batch[head.target_column]  # (batch,), (batch, labels) or (batch, seq)
                inputs, targets = head.probe_items(inputs, targets)  # (items, dim), (items, ...)
                parts[head.task][0].append(inputs)
                parts[head.task][1].append(targets)
    finally:
        model.train(was_training)
    return {task: (torch.cat(inputs), torch.cat(targets)) for task, (inputs, targets) in parts.items()}


def _sample(stream: Any, seed: int) -> dict[str, list]:
    """Up to :data:`MAX_ROWS` encoded rows of a stream: a seeded sample, or the first rows of a streamed source."""
    size = stream.size()
    if size is None:  # streamed: no random access
        return stream.probe(MAX_ROWS)
    indices = np.random.default_rng(seed).permutation(size)[:MAX_ROWS]
    indices.sort()  # reading in file order is faster on a memory-mapped table
    return stream.rows(indices)


def _fit(head: TaskHead, inputs: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
    """Train ``head`` alone on cached ``inputs`` (items, dim) and ``targets`` (items, ...); returns its losses."""
    device = next(head.parameters()).device
    inputs, targets = inputs.to(device), targets.to(device)
    if len(inputs) == 0:
        return {"loss_start": float("nan"), "loss_end": float("nan")}

    def loss_of(items: torch.Tensor) -> torch.Tensor:
        logits = head.classifier(inputs[items])
        return head.loss({head.logits_key: logits}, {head.target_column: targets[items]})

    everything = torch.arange(len(inputs), device=device)
    was_training = head.training
    head.eval()
    with torch.no_grad():
        start = float(loss_of(everything))
    head.train()
    optimizer = torch.optim.AdamW([p for p in head.parameters() if p.requires_grad], lr=LR)
    for _ in range(STEPS):
        items = torch.randint(len(inputs), (min(BATCH_ROWS, len(inputs)),), device=device)
        loss = loss_of(items)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    head.eval()
    with torch.no_grad():
        end = float(loss_of(everything))
    head.train(was_training)
    return {"loss_start": start, "loss_end": end}
