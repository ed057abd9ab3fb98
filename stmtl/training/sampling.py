"""Which examples go into which batch, in which order: per-stream batches mixed with ``interleave_datasets``.

A *stream* is one training dataset with the tasks it feeds: in ``interleave`` mode every task is its own stream
(one task per batch); in ``joint`` mode tasks that share a training source form one stream and each batch trains
all of them. Each stream is cut into batches (length-grouped to cut padding), and the streams' batch tables are
mixed with ``datasets.interleave_datasets(probabilities=..., stopping_strategy="all_exhausted")``; a single
stream (every ``joint`` run on one source) goes through the same call, the degenerate case of the mix.

What an epoch means: the mix stops once every stream has yielded all its batches at least once. With
``proportional`` sampling (p ∝ size) streams run out together, so an epoch is about one pass over every dataset;
with ``temperature`` (p ∝ size^T) or ``uniform`` sampling, smaller streams are drawn more often and restart
(oversampled) until the largest one is done. The schedule is a pure function of ``(seed, epoch)``, which is what
makes resuming exact: the sampler state is just ``(epoch, batches already done)``.

Nothing here touches the rows: a stream is its lengths column (a NumPy array), an epoch's order is a table of
``(stream, batch)`` numbers, and only the current epoch's batches are held, as index arrays. The mix depends on
the batch counts alone, so the length of every epoch is known before any is shuffled.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import datasets
import numpy as np

GROUP_WINDOW = 64
"""Length grouping sorts windows of this many batches worth of examples, then shuffles the batches."""


@dataclass
class Stream:
    """One training dataset and the tasks its batches train.

    Attributes:
        tasks: Task names trained on every batch of this stream.
        lengths: ``(rows,)`` length in pieces of every example (for grouping).
    """

    tasks: list[str]
    lengths: np.ndarray


def stream_batches(
    lengths: np.ndarray, batch_size: int, rng: random.Random, group_by_length: bool
) -> list[np.ndarray]:
    """Cut one stream into batches of example indices.

    With ``group_by_length``, indices are shuffled, then sorted by length inside windows of
    ``GROUP_WINDOW * batch_size`` examples, cut into batches, and the batches shuffled: batches hold similar
    lengths (less padding) while their order stays random.
    """
    lengths = np.asarray(lengths)
    indices = list(range(len(lengths)))
    rng.shuffle(indices)
    order = np.array(indices, dtype=np.int64)
    del indices
    if group_by_length:
        window = GROUP_WINDOW * batch_size
        for start in range(0, len(order), window):
            part = order[start : start + window]
            order[start : start + window] = part[np.argsort(lengths[part], kind="stable")]
    batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


def usable_batches(size: int, batch_size: int, world: int) -> int:
    """Batches of a stream of ``size`` examples, less a last partial batch too small to split over ``world``."""
    full, rest = divmod(size, batch_size)
    return full + (1 if rest and rest >= world else 0)


def mixing_probabilities(sizes: Sequence[int], sampling: str, temperature: float) -> list[float]:
    """Stream probabilities: ``proportional`` p ∝ n, ``temperature`` p ∝ n^T, ``uniform`` p = 1/k."""
    if sampling == "proportional":
        weights = [float(n) for n in sizes]
    elif sampling == "temperature":
        weights = [float(n) ** temperature for n in sizes]
    elif sampling == "uniform":
        weights = [1.0 for _ in sizes]
    else:
        raise ValueError(f"unknown sampling {sampling!r} (proportional, temperature or uniform)")
    total = sum(weights)
    return [w / total for w in weights]


def epoch_mix(
    streams: Sequence[Stream],
    batch_size: int,
    seed: int,
    epoch: int,
    sampling: str,
    temperature: float,
    world: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """The order of one epoch's batches, from ``interleave_datasets`` over the streams' batch tables.

    Returns:
        ``(batches,)`` stream index and ``(batches,)`` batch number of each batch; the number counts a stream's
        usable batches in their shuffled order (see :func:`epoch_schedule`).
    """
    counts = [usable_batches(len(stream.lengths), batch_size, world) for stream in streams]
    live = [k for k, count in enumerate(counts) if count]
    parts = [
        datasets.Dataset.from_dict(
            {"stream": np.full(counts[k], k, dtype=np.int32), "batch": np.arange(counts[k], dtype=np.int32)}
        )
        for k in live
    ]
    mix_seed = int(np.random.SeedSequence([seed, epoch, 1]).generate_state(1)[0] % 2**31)
    mixed = datasets.interleave_datasets(
        parts,
        probabilities=mixing_probabilities([len(streams[k].lengths) for k in live], sampling, temperature),
        seed=mix_seed,
        stopping_strategy="all_exhausted",
    ).with_format("numpy")
    return mixed["stream"][:], mixed["batch"][:]


@dataclass
class EpochPlan:
    """The batches of one epoch, in order.

    Attributes:
        streams: ``(batches,)`` stream index of each batch.
        batch_numbers: ``(batches,)`` which of its stream's usable batches it is.
        batches: Per stream, its usable batches (example index arrays) in shuffled order.
    """

    streams: np.ndarray
    batch_numbers: np.ndarray
    batches: list[list[np.ndarray]]

    def __len__(self) -> int:
        return len(self.streams)

    def __getitem__(self, position: int) -> tuple[int, np.ndarray]:
        """``(stream index, example indices)`` of the batch at ``position``."""
        stream = int(self.streams[position])
        return stream, self.batches[stream][int(self.batch_numbers[position])]

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        return (self[position] for position in range(len(self)))


def epoch_schedule(
    streams: Sequence[Stream],
    batch_size: int,
    seed: int,
    epoch: int,
    sampling: str = "proportional",
    temperature: float = 0.5,
    group_by_length: bool = True,
    world: int = 1,
    mix: tuple[np.ndarray, np.ndarray] | None = None,
) -> EpochPlan:
    """The batches of one epoch, in order.

    Args:
        streams: The training streams.
        batch_size: Examples per batch (the global batch: all processes together).
        seed: Run seed.
        epoch: Epoch number; with ``seed`` it fixes the whole order.
        sampling: ``proportional``, ``temperature`` or ``uniform``.
        temperature: T for ``temperature`` sampling.
        group_by_length: Group similar lengths in a batch.
        world: Processes sharing each batch; a last partial batch with fewer examples is dropped.
        mix: This epoch's :func:`epoch_mix`, when already computed.

    Returns:
        The epoch's plan.
    """
    rng = random.Random(seed * 1_000_003 + epoch)
    batches = []
    for stream in streams:
        cut = stream_batches(stream.lengths, batch_size, rng, group_by_length)
        batches.append([batch for batch in cut if len(batch) >= world])
    mix = mix if mix is not None else epoch_mix(streams, batch_size, seed, epoch, sampling, temperature, world)
    return EpochPlan(mix[0], mix[1], batches)
