"""Training data as the loop reads it: streams of encoded rows and the batch order over them.

:class:`TrainData` holds memory-mapped Arrow datasets (one per stream) and plans every epoch with
:mod:`stmtl.training.sampling`; :class:`stmtl.training.streaming.StreamingTrainData` offers the same interface over
``IterableDataset`` sources (the protocols of :mod:`stmtl.training.streams`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import datasets
import numpy as np

from stmtl.config import TrainConfig
from stmtl.features import piece_lengths
from stmtl.training.sampling import EpochPlan, Stream, epoch_mix, epoch_schedule

AUTO_EPOCHS = 3.0
"""Passes over the data when neither ``epochs`` nor ``max_steps`` is given and the data is large enough."""


def budget_epochs(batches_per_epoch: int, accumulation_steps: int, min_steps: int) -> float:
    """The default length of a run: :data:`AUTO_EPOCHS` passes, or as many as ``min_steps`` optimizer steps take.

    Counting epochs alone gives small data a few dozen steps, most of them warmup: 112 sentences at batch 32 make
    4 steps an epoch. A floor on the optimizer steps gives every run the same number of updates to learn from, and
    large data its usual few passes (SNIPS: 409 steps an epoch, so 3 epochs).

    Args:
        batches_per_epoch: Batches of one pass over the training data.
        accumulation_steps: Batches per optimizer step.
        min_steps: The floor on optimizer steps.

    Returns:
        Epochs, possibly fractional (the last epoch is then cut short).
    """
    steps_per_epoch = max(1, math.ceil(batches_per_epoch / accumulation_steps))
    return max(AUTO_EPOCHS, min_steps / steps_per_epoch)


@dataclass
class TrainStream:
    """Encoded training rows (a memory-mapped dataset) and the tasks every batch of them trains."""

    tasks: list[str]
    dataset: datasets.Dataset

    def lengths(self) -> np.ndarray:
        """``(rows,)`` piece count of every row, read from the ``length`` column."""
        return piece_lengths(self.dataset)

    def size(self) -> int:
        """Rows in the stream."""
        return len(self.dataset)

    def rows(self, indices: np.ndarray | slice) -> dict[str, list]:
        """The rows at ``indices``, column → values."""
        if isinstance(indices, slice):
            return self.dataset[indices]
        return self.dataset[indices.tolist()]

    def probe(self, size: int) -> dict[str, list]:
        """The first ``size`` rows: a fixed batch for diagnostics."""
        return self.rows(slice(0, size))


class TrainData:
    """Map-style training streams and their batch order.

    Each epoch's mix (stream and batch number of every batch: two small arrays per epoch) is computed up front, so
    every epoch's length is known; the examples of an epoch are only shuffled when it starts, and only the current
    epoch's batches are held. The first epoch's mix is computed at once (its length counts a default budget); the
    others when the epochs are planned (:meth:`plan_epochs`, by :func:`stmtl.training.resolve.resolve_config`).

    Args:
        streams: The training streams.
        config: The run's configuration (batch size, seed, epochs, sampling, length grouping).
        world: Number of processes; each global batch of ``batch_size * world`` rows is split over them.
    """

    def __init__(self, streams: list[TrainStream], config: TrainConfig, world: int) -> None:
        self.streams, self.config, self.world = streams, config, world
        self.sampler_streams = [Stream(stream.tasks, stream.lengths()) for stream in streams]
        self.mixes = [self._mix(0)]
        self.epochs: float | None = None
        self.epoch_lengths: list[int] = []
        self.plan: tuple[int, EpochPlan] | None = None

    @property
    def batches_per_epoch(self) -> int:
        """Batches of the first epoch: what a default budget is counted in
        (:func:`stmtl.training.resolve.resolve_config`)."""
        return len(self.mixes[0][0])

    def plan_epochs(self, epochs: float) -> None:
        """Plan ``epochs`` passes (a fractional last one is cut short): every epoch's mix and length."""
        self.epochs = epochs
        count = max(1, math.ceil(epochs))
        self.mixes = self.mixes[:1] + [self._mix(epoch) for epoch in range(1, count)]
        self.epoch_lengths = [len(streams) for streams, _ in self.mixes]
        if epochs < count:  # a fractional last epoch
            self.epoch_lengths[-1] = max(1, int(self.epoch_lengths[-1] * (epochs - (count - 1))))

    def _mix(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        config = self.config
        return epoch_mix(self.sampler_streams, config.batch_size * self.world, config.seed, epoch, config.sampling,
                         config.temperature, self.world)  # fmt: skip

    def epoch_plan(self, epoch: int) -> EpochPlan:
        """The batch order of ``epoch``."""
        if self.plan is None or self.plan[0] != epoch:
            config = self.config
            plan = epoch_schedule(
                self.sampler_streams, config.batch_size * self.world, config.seed, epoch, config.sampling,
                config.temperature, config.group_by_length, self.world, self.mixes[epoch],
            )  # fmt: skip
            self.plan = (epoch, plan)
        return self.plan[1]

    def batches(self, epoch: int, start: int, rank: int) -> Iterator[tuple[int, int, dict[str, list]]]:
        """``(position, stream index, this process's rows)`` of every batch of ``epoch`` from ``start`` on."""
        plan = self.epoch_plan(epoch)
        for position in range(start, self.epoch_lengths[epoch]):
            stream_index, indices = plan[position]
            yield position, stream_index, self.streams[stream_index].rows(indices[rank :: self.world])
