"""The one place where a run's defaults that depend on its data are resolved: :func:`resolve_config`.

A :class:`~stmtl.config.TrainConfig` as given leaves some values to the data and the other settings (``null``): the
encoder mode (:func:`encoder_mode`, when the model is built), the embedding-preservation
weight (and the encoder dropout that distillation implies), the number of epochs, the evaluation interval. They are
resolved once, after the training data is read and planned, into a new config: the one the trainer runs with and
``training_config.json`` records. The config as given is left as it is (``run.json`` keeps it: it is what
``--resume`` compares), and :meth:`TrainConfig.validate` only checks.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import Any

from stmtl.config import DEFAULT_PRESERVATION, PRESERVE_FROM_ROWS, TrainConfig
from stmtl.training.accumulation import steps_in_epochs
from stmtl.training.train_data import budget_epochs

logger = logging.getLogger(__name__)

EVALUATIONS = 10
"""Dev evaluations of a run without ``eval_every``, evenly spaced (the last at the final step)."""


def encoder_mode(config: TrainConfig, backbone_has_adapter: bool) -> tuple[str, str]:
    """The encoder mode a run trains in, and why: ``config.encoder`` when given, else ``adapter`` unless a setting
    works on the encoder's own weights.

    The task adapter is the default at every data size: it matched or beat full fine-tuning on SNIPS subsets of 112
    and 1,000 rows and on all of SNIPS (docs/results.md, "Encoder modes") while ``encode()`` stays the source model's.
    Full fine-tuning is chosen when the run freezes or unfreezes parts of the encoder (``freeze`` other than
    ``head:<task>``, ``unfreeze_every``), gives a preservation weight or a layer-wise learning-rate decay: each only
    means something when the encoder's weights train.
    """
    if config.encoder is not None:
        return config.encoder, "as given"
    if backbone_has_adapter:
        return "adapter", "the backbone carries a task adapter"
    parts = {part.strip() for part in config.freeze.split(",")} - {"none"}
    encoder_parts = sorted(part for part in parts if not part.startswith("head:"))
    if encoder_parts:
        return "full", f"freeze {','.join(encoder_parts)!r} works on the encoder's weights"
    if config.unfreeze_every:
        return "full", "unfreeze_every works on the encoder's weights"
    if config.preserve_embeddings:
        return "full", "a preserve_embeddings weight works on the encoder's weights"
    if config.layer_lr_decay != 1.0:
        return "full", "layer_lr_decay works on the encoder's weights"
    return "adapter", "the default"


def resolve_config(config: TrainConfig, train_rows: int, data: Any) -> TrainConfig:
    """The config with every data-dependent default resolved; plans ``data``'s epochs on the way.

    * ``preserve_embeddings``: :data:`~stmtl.config.DEFAULT_PRESERVATION` from
      :data:`~stmtl.config.PRESERVE_FROM_ROWS` training rows, else 0; also 0 where the encoder cannot move (frozen
      backbone, task adapter) and where distillation cannot run (streaming: no cached source embeddings; a warning
      says so);
    * ``encoder_dropout``: 0 under distillation (the cached teacher embeddings are dropout-free; see
      :mod:`stmtl.training.preservation`), else the backbone's own (``None``);
    * ``epochs``: :func:`~stmtl.training.train_data.budget_epochs` of the first epoch's batches (a streamed run
      keeps its step budget, ``max_steps``);
    * ``eval_every``: :data:`EVALUATIONS` evaluations over the planned steps.

    Args:
        config: The config as given (checked).
        train_rows: Rows of training data over all sources (0 when streamed).
        data: The training data (:class:`~stmtl.training.streams.TrainingData`); its epochs are planned here.

    Returns:
        A new config; ``config`` is not changed.
    """
    preserve = config.preserve_embeddings
    if preserve is None:
        frozen = config.encoder_frozen()
        if config.streaming and config.preserve_method == "distill" and not frozen:
            logger.warning(
                "embedding preservation is off: streaming cannot cache the source embeddings that distillation "
                "compares with; pass preserve_method 'l2sp' with a preserve_embeddings weight to keep them"
            )
        useful = not frozen and not config.streaming and train_rows >= PRESERVE_FROM_ROWS
        preserve = DEFAULT_PRESERVATION if useful else 0.0
    dropout = config.encoder_dropout
    if dropout is None and preserve > 0 and config.preserve_method == "distill":
        dropout = 0.0
    epochs = config.epochs
    if data.batches_per_epoch is not None:  # map-style data: a budget in epochs
        epochs = epochs or budget_epochs(data.batches_per_epoch, config.gradient_accumulation_steps, config.min_steps)
        data.plan_epochs(epochs)
    total = planned_steps(data.epoch_lengths, config)
    eval_every = config.eval_every or max(1, math.ceil(total / EVALUATIONS))
    return dataclasses.replace(
        config, preserve_embeddings=preserve, encoder_dropout=dropout, epochs=epochs, eval_every=eval_every
    )


def planned_steps(epoch_lengths: list[int], config: TrainConfig) -> int:
    """Optimizer steps of a run: every epoch's batches (each epoch ending with a step), at most ``max_steps``."""
    steps = steps_in_epochs(epoch_lengths, config.gradient_accumulation_steps)
    if config.max_steps:
        steps = min(steps, config.max_steps) if steps else config.max_steps
    return max(1, steps)
