from __future__ import annotations

import torch

from stmtl.training.head_init import fit_heads
from stmtl.training.run import setup
from tests.helpers import toy_config


def _heads_state(model) -> dict[str, torch.Tensor]:
    return {f"{task}.{name}": value.clone() for task, head in model.heads.items()
            for name, value in head.state_dict().items()}  # fmt: skip


def test_fit_heads_learns_the_training_rows_on_a_frozen_encoder(tiny_backbone, tmp_path) -> None:
    trainer = setup(toy_config(tmp_path, tiny_backbone, freeze="backbone"))
    model = trainer.unwrapped
    encoder = {name: value.clone() for name, value in model[0].state_dict().items()}
    rng = torch.get_rng_state()
    report = fit_heads(model, trainer.streams, seed=0)
    assert set(report) == {"intent", "slots"}
    for task, losses in report.items():
        assert losses["loss_end"] < 0.5 * losses["loss_start"], task
    assert all(torch.equal(value, model[0].state_dict()[name]) for name, value in encoder.items())
    assert torch.equal(torch.get_rng_state(), rng)  # the run that follows draws what it would have drawn


def test_fit_heads_leaves_frozen_heads_bit_identical(tiny_backbone, tmp_path) -> None:
    trainer = setup(toy_config(tmp_path, tiny_backbone, freeze="backbone,head:intent"))
    before = _heads_state(trainer.unwrapped)
    report = fit_heads(trainer.unwrapped, trainer.streams, seed=0)
    after = _heads_state(trainer.unwrapped)
    assert set(report) == {"slots"}
    assert all(torch.equal(before[key], after[key]) for key in before if key.startswith("intent."))
    assert any(not torch.equal(before[key], after[key]) for key in before if key.startswith("slots."))


def test_fit_heads_is_deterministic(tiny_backbone, tmp_path) -> None:
    first = setup(toy_config(tmp_path / "a", tiny_backbone, freeze="backbone"))
    fit_heads(first.unwrapped, first.streams, seed=3)
    second = setup(toy_config(tmp_path / "b", tiny_backbone, freeze="backbone"))
    fit_heads(second.unwrapped, second.streams, seed=3)
    a, b = _heads_state(first.unwrapped), _heads_state(second.unwrapped)
    assert all(torch.equal(a[key], b[key]) for key in a)


def test_fit_heads_leaves_skipped_heads_as_they_are(tiny_backbone, tmp_path) -> None:
    trainer = setup(toy_config(tmp_path, tiny_backbone))
    before = _heads_state(trainer.unwrapped)
    report = fit_heads(trainer.unwrapped, trainer.streams, seed=0, skip={"slots"})
    after = _heads_state(trainer.unwrapped)
    assert set(report) == {"intent"}
    assert all(torch.equal(before[key], after[key]) for key in before if key.startswith("slots."))


def test_fit_heads_leaves_token_heads_random_when_the_encoder_trains(tiny_backbone, tmp_path) -> None:
    trainer = setup(toy_config(tmp_path, tiny_backbone))
    before = _heads_state(trainer.unwrapped)
    report = fit_heads(trainer.unwrapped, trainer.streams, seed=0)
    after = _heads_state(trainer.unwrapped)
    assert set(report) == {"intent"}
    assert report["intent"]["loss_end"] < 0.5 * report["intent"]["loss_start"]
    assert all(torch.equal(before[key], after[key]) for key in before if key.startswith("slots."))
