"""Training on corpora larger than memory: ``IterableDataset`` sources read while the loop consumes them.

Each training source is read by its reader as an ``IterableDataset`` (rows checked as they come: a bad row stops
the run with one line naming the file and line, after the last checkpoint), split over processes with
``datasets.distributed.split_dataset_by_node``, shuffled through a buffer of ``shuffle_buffer`` rows, cut into
batches with ``IterableDataset.batch`` and mixed with ``interleave_datasets`` exactly as map-style streams are
(``stopping_strategy="all_exhausted"``, same probabilities). Each batch is tokenized when it is drawn, by the same
:class:`stmtl.features.BatchEncoder` that map-style data goes through.

An epoch has no known length here, so the run is a step budget (``max_steps``): when every source is exhausted,
the next data epoch starts (``set_epoch``, which reseeds the shuffle). There is no length grouping.

Resuming is exact: the order is a pure function of ``(seed, data epoch)``, so ``--resume`` rebuilds the pipeline
and reads past the batches already trained without tokenizing them; the run continues at the same step with the
same shuffle-buffer state. (``IterableDataset.state_dict`` would restart faster but drops the shuffle buffer's
content on resume, which changes the order.)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

import datasets
import pyarrow as pa
from datasets.distributed import split_dataset_by_node

from stmtl.config import ConfigError, TrainConfig
from stmtl.features import TRAIN_COLUMNS, BatchEncoder
from stmtl.training.sampling import mixing_probabilities


@dataclass
class StreamingStream:
    """A streamed training source, the tasks its batches train and the encoder of its batches."""

    tasks: list[str]
    source: datasets.IterableDataset
    encoder: BatchEncoder
    columns: list[str]

    def encode(self, rows: dict[str, list]) -> dict[str, list]:
        """Tokenize a batch of raw rows (column → values) into the columns a training step reads."""
        table = pa.Table.from_pydict({key: value for key, value in rows.items() if value is not None})
        return self.encoder(table).select(self.columns).to_pydict()

    def size(self) -> None:
        """Unknown without a reading pass: a streamed source has no random access (see :meth:`count`)."""
        return None

    def rows(self, indices: Any) -> dict[str, list]:
        """Not available: a streamed source has no random access.

        Raises:
            TypeError: Always.
        """
        raise TypeError("a streamed training source has no random access to its rows")

    def probe(self, size: int) -> dict[str, list]:
        """The first ``size`` rows of the source, encoded: a fixed batch for diagnostics."""
        rows = list(islice(iter(self.source), size))
        return self.encode({key: [row[key] for row in rows] for key in rows[0]})

    def count(self) -> int:
        """Rows in the source (one reading pass)."""
        return sum(table.num_rows for table in self.source.with_format("arrow").iter(batch_size=10_000))


class StreamingTrainData:
    """Streamed training sources and their batch order, with the interface of :class:`TrainData`.

    Args:
        streams: The streamed sources.
        config: The run's configuration (``max_steps``, batch size, seed, sampling, ``shuffle_buffer``).
        rank: This process's index.
        world: Number of processes; each reads every ``world``-th batch of the mix.
    """

    batches_per_epoch = None
    """Unknown: a streamed run's budget is its step budget, not epochs."""

    def __init__(self, streams: list[StreamingStream], config: TrainConfig, rank: int, world: int) -> None:
        self.streams, self.config = streams, config
        # One open-ended epoch: the step budget, in batches.
        self.epoch_lengths = [config.max_steps * config.gradient_accumulation_steps]
        sizes = [1] * len(streams)
        if len(streams) > 1 and config.sampling != "uniform":
            sizes = [stream.count() for stream in streams]
        parts = []
        for index, stream in enumerate(streams):
            source = split_dataset_by_node(stream.source, rank, world) if world > 1 else stream.source
            batched = source.shuffle(seed=config.seed, buffer_size=config.shuffle_buffer).batch(config.batch_size)
            parts.append(batched.map(_tagger(index)))
        self.mixed = datasets.interleave_datasets(
            parts,
            probabilities=mixing_probabilities(sizes, config.sampling, config.temperature),
            seed=config.seed,
            stopping_strategy="all_exhausted",
        )

    def plan_epochs(self, epochs: float) -> None:
        """Nothing to plan: the one open-ended epoch is the step budget."""

    def _cycle(self) -> Iterator[dict[str, Any]]:
        """The mix's batches, data epoch after data epoch."""
        epoch = 0
        while True:
            self.mixed.set_epoch(epoch)
            drawn = 0
            for batch in self.mixed:
                drawn += 1
                yield batch
            if not drawn:
                raise ConfigError("streaming: the training sources yielded no batch")
            epoch += 1

    def batches(self, epoch: int, start: int, rank: int) -> Iterator[tuple[int, int, dict[str, list]]]:
        """``(position, stream index, this process's rows)`` of every batch from ``start`` to the budget's end.

        The ``start`` batches already trained are read and dropped (not tokenized), which restores the shuffle
        state exactly.
        """
        drawn = self._cycle()
        for _ in range(start):
            next(drawn)
        for position in range(start, self.epoch_lengths[epoch]):
            batch = next(drawn)
            index = batch.pop("stream")
            yield position, index, self.streams[index].encode(batch)


def _tagger(index: int) -> Any:
    def tag(batch: dict[str, Any]) -> dict[str, Any]:
        return {**batch, "stream": index}

    return tag


def streaming_stream(
    tasks: list[str], source: datasets.IterableDataset, tokenizer: Any, max_length: int, heads: list[Any]
) -> StreamingStream:
    """A :class:`StreamingStream` whose batches train ``heads``."""
    columns = TRAIN_COLUMNS + [head.target_column for head in heads]
    return StreamingStream(tasks, source, BatchEncoder(tokenizer, max_length, heads), columns)
