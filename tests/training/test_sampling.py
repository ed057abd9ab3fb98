from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from stmtl.training.sampling import Stream, epoch_schedule, mixing_probabilities, stream_batches


def _streams(sizes: list[int]) -> list[Stream]:
    return [Stream([f"t{k}"], np.array([1 + (i * 7919) % 50 for i in range(n)])) for k, n in enumerate(sizes)]


def _listed(plan) -> list[tuple[int, list[int]]]:
    return [(k, batch.tolist()) for k, batch in plan]


def test_mixing_probabilities_modes() -> None:
    assert mixing_probabilities([300, 100], "proportional", 0.5) == pytest.approx([0.75, 0.25])
    assert mixing_probabilities([400, 100], "temperature", 0.5) == pytest.approx([2 / 3, 1 / 3])
    assert mixing_probabilities([400, 100], "uniform", 0.5) == pytest.approx([0.5, 0.5])
    with pytest.raises(ValueError, match="bogus"):
        mixing_probabilities([1], "bogus", 0.5)


def test_epoch_schedule_proportional_covers_every_stream_once_in_proportion() -> None:
    streams = _streams([2400, 800])
    schedule = _listed(epoch_schedule(streams, batch_size=8, seed=1, epoch=0))
    counts = Counter(k for k, _ in schedule)
    # all_exhausted: every batch of both streams at least once; proportional mixing keeps oversampling small.
    assert counts[0] >= 300 and counts[1] >= 100
    assert counts[0] / sum(counts.values()) == pytest.approx(0.75, abs=0.05)
    first_pass = {tuple(batch) for k, batch in schedule if k == 1}
    assert len(first_pass) == 100


def test_epoch_schedule_uniform_oversamples_small_stream() -> None:
    counts = Counter(k for k, _ in epoch_schedule(_streams([2400, 800]), 8, seed=1, epoch=0, sampling="uniform"))
    assert counts[1] / sum(counts.values()) == pytest.approx(0.5, abs=0.05)
    assert counts[1] > 100  # the small stream restarts until the large one is done


def test_epoch_schedule_deterministic_per_seed_and_epoch() -> None:
    streams = _streams([100, 60])
    assert _listed(epoch_schedule(streams, 8, seed=3, epoch=2)) == _listed(epoch_schedule(streams, 8, seed=3, epoch=2))
    assert _listed(epoch_schedule(streams, 8, seed=3, epoch=2)) != _listed(epoch_schedule(streams, 8, seed=3, epoch=3))


def test_stream_batches_grouping_cuts_padding() -> None:
    import random

    lengths = [random.Random(i).randint(5, 60) for i in range(2000)]

    def padded(batches: list[list[int]]) -> int:
        return sum(max(lengths[i] for i in b) * len(b) for b in batches)

    grouped = [b.tolist() for b in stream_batches(np.array(lengths), 32, random.Random(0), group_by_length=True)]
    plain = [b.tolist() for b in stream_batches(np.array(lengths), 32, random.Random(0), group_by_length=False)]
    assert sorted(i for b in grouped for i in b) == list(range(2000))
    assert padded(grouped) < 0.75 * padded(plain)
