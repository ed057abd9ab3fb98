"""Which examples go into which batch, in which order: per-stream batches mixed with ``interleave_datasets``.

A *stream* is one training dataset with the tasks it feeds: in ``interleave`` mode every task is its own stream
(one task per batch); in ``joint`` mode tasks that share a training source form one stream and each batch trains
all of them. Each stream is cut into batches (length-grouped to cut padding), and the streams' batches are mixed
with ``datasets.interleave_datasets(probabilities=..., stopping_strategy="all_exhausted")``.

What an epoch means: the mix stops once every stream has yielded all its batches at least once. With
``proportional`` sampling (p ∝ size) streams run out together, so an epoch is about one pass over every dataset;
with ``temperature`` (p ∝ size^T) or ``uniform`` sampling, smaller streams are drawn more often and restart
(oversampled) until the largest one is done. The schedule is a pure function of ``(seed, epoch)``, which is what
makes resuming exact: the sampler state is just ``(epoch, batches already done)``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import datasets

GROUP_WINDOW = 64
"""Length grouping sorts windows of this many batches worth of examples, then shuffles the batches."""


@dataclass
class Stream:
    """One training dataset and the tasks its batches train.

    Attributes:
        tasks: Task names trained on every batch of this stream.
        lengths: Length in pieces of every example (for grouping).
    """

    tasks: list[str]
    lengths: list[int]


def stream_batches(
    lengths: Sequence[int], batch_size: int, rng: random.Random, group_by_length: bool
) -> list[list[int]]:
    """Cut one stream into batches of example indices.

    With ``group_by_length``, indices are shuffled, then sorted by length inside windows of
    ``GROUP_WINDOW * batch_size`` examples, cut into batches, and the batches shuffled: batches hold similar
    lengths (less padding) while their order stays random.
    """
    indices = list(range(len(lengths)))
    rng.shuffle(indices)
    if group_by_length:
        window = GROUP_WINDOW * batch_size
        indices = [
            i
            for start in range(0, len(indices), window)
            for i in sorted(indices[start : start + window], key=lambda i: lengths[i])
        ]
    batches = [indices[start : start + batch_size] for start in range(0, len(indices), batch_size)]
    rng.shuffle(batches)
    return batches


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


def epoch_schedule(
    streams: Sequence[Stream],
    batch_size: int,
    seed: int,
    epoch: int,
    sampling: str = "proportional",
    temperature: float = 0.5,
    group_by_length: bool = True,
) -> list[tuple[int, list[int]]]:
    """The batches of one epoch, in order.

    Args:
        streams: The training streams.
        batch_size: Examples per batch (the global batch: all processes together).
        seed: Run seed.
        epoch: Epoch number; with ``seed`` it fixes the whole order.
        sampling: ``proportional``, ``temperature`` or ``uniform``.
        temperature: T for ``temperature`` sampling.
        group_by_length: Group similar lengths in a batch.

    Returns:
        ``(stream index, example indices)`` per batch.
    """
    rng = random.Random(seed * 1_000_003 + epoch)
    per_stream = [stream_batches(s.lengths, batch_size, rng, group_by_length) for s in streams]
    if len(streams) == 1:
        return [(0, batch) for batch in per_stream[0]]
    parts = [
        datasets.Dataset.from_dict({"stream": [k] * len(batches), "batch": list(range(len(batches)))})
        for k, batches in enumerate(per_stream)
    ]
    mixed = datasets.interleave_datasets(
        parts,
        probabilities=mixing_probabilities([len(s.lengths) for s in streams], sampling, temperature),
        seed=rng.randrange(2**31),
        stopping_strategy="all_exhausted",
    )
    return [(k, per_stream[k][b]) for k, b in zip(mixed["stream"], mixed["batch"])]
