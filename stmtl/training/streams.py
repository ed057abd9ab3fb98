"""What the training loop reads: a stream of encoded rows and the training data that orders batches over streams.

Two implementations of each: map-style data held as memory-mapped Arrow tables
(:class:`stmtl.training.train_data.TrainStream`, :class:`stmtl.training.train_data.TrainData`) and streamed sources
read as the loop consumes them (:class:`stmtl.training.streaming.StreamingStream`,
:class:`stmtl.training.streaming.StreamingTrainData`). The trainer, the head probe, the gradient diagnostics and
embedding preservation use these protocols only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class TrainingStream(Protocol):
    """One training source and the tasks every batch of it trains."""

    tasks: list[str]

    def size(self) -> int | None:
        """Rows in the stream, or ``None`` when it is read as it comes (no random access)."""
        ...

    def rows(self, indices: Any) -> dict[str, list]:
        """The encoded rows at ``indices`` (column → values); only when :meth:`size` is known."""
        ...

    def probe(self, size: int) -> dict[str, list]:
        """The first ``size`` encoded rows: a fixed batch for diagnostics."""
        ...


@runtime_checkable
class TrainingData(Protocol):
    """The training streams and the order of their batches, epoch by epoch."""

    streams: list[Any]
    epoch_lengths: list[int]
    """Batches of every epoch (a streamed run has one open-ended epoch: its step budget in batches)."""
    batches_per_epoch: int | None
    """Batches of the first epoch, or ``None`` when a run is a step budget (streamed)."""

    def plan_epochs(self, epochs: float) -> None:
        """Plan ``epochs`` passes over the data (fractions allowed)."""
        ...

    def batches(self, epoch: int, start: int, rank: int) -> Iterator[tuple[int, int, dict[str, list]]]:
        """``(position, stream index, this process's rows)`` of every batch of ``epoch`` from ``start`` on."""
        ...
