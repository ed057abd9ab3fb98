from __future__ import annotations

import os
import pickle
import random

import numpy as np
import pytest
import torch

from stmtl.training.checkpoint import STATE_FILE, TRAINING_STATE_FILE, load_checkpoint, rng_state, set_rng_state


def test_checkpoint_rng_state_round_trips_through_the_safe_loader(tmp_path) -> None:
    torch.save({"rng": [rng_state()]}, tmp_path / TRAINING_STATE_FILE)
    (tmp_path / STATE_FILE).write_text('{"step": 3}')
    expected = (random.random(), np.random.rand(), torch.rand(2))
    training_state, trainer_state = load_checkpoint(tmp_path)
    set_rng_state(training_state["rng"][0])
    assert trainer_state == {"step": 3}
    assert (random.random(), np.random.rand()) == expected[:2] and torch.equal(torch.rand(2), expected[2])


class _RunsCode:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_checkpoint_training_state_never_unpickles_code(tmp_path) -> None:
    marker = tmp_path / "code-ran"
    torch.save({"optimizer": _RunsCode(str(marker))}, tmp_path / TRAINING_STATE_FILE)
    (tmp_path / STATE_FILE).write_text("{}")
    with pytest.raises(pickle.UnpicklingError):
        load_checkpoint(tmp_path)
    assert not marker.exists()


def test_checkpoint_of_older_format_refused_with_clear_message(tmp_path) -> None:
    (tmp_path / STATE_FILE).write_text("{}")
    (tmp_path / "optimizer.pt").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="training_state.pt: missing.*cannot be resumed"):
        load_checkpoint(tmp_path)


def test_checkpoint_state_names_best_and_best_is_never_rotated(tiny_backbone, tmp_path) -> None:
    import json
    import shutil

    from stmtl.training.checkpoint import list_checkpoints
    from stmtl.training.run import train
    from tests.helpers import toy_config

    # Learning rates 0: the dev score never improves after the first evaluation, so step 2 stays the best.
    config = {"max_steps": 4, "eval_every": 2, "lr_backbone": 0.0, "lr_heads": 0.0, "save_total_limit": 1}
    _, results = train(toy_config(tmp_path / "full", tiny_backbone, **config))
    assert [path.name for path in list_checkpoints(tmp_path / "full")] == ["step-0000002", "step-0000004"]
    for path in list_checkpoints(tmp_path / "full"):
        assert json.loads((path / STATE_FILE).read_text())["best_checkpoint"] == "checkpoints/step-0000002"
    assert results["best_checkpoint"] == "checkpoints/step-0000002"

    # A run resumed from the best checkpoint still knows that it is the best.
    resumed = tmp_path / "resumed"
    shutil.copytree(tmp_path / "full" / "checkpoints" / "step-0000002", resumed / "checkpoints" / "step-0000002")
    _, results = train(toy_config(resumed, tiny_backbone, **config), resume=True)
    assert results["best_checkpoint"] == "checkpoints/step-0000002"
