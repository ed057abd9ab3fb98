from __future__ import annotations

import json
import os
import pickle
import random
import shutil

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


def _names(run) -> list[str]:
    from stmtl.training.checkpoint import list_checkpoints

    return [path.name for path in list_checkpoints(run)]


def _state(path) -> dict:
    return json.loads((path / STATE_FILE).read_text())


# Learning rates 0: the dev score never improves after the first evaluation, so step 2 stays the best.
STILL = {"max_steps": 6, "eval_every": 2, "lr_backbone": 0.0, "lr_heads": 0.0}


def test_checkpoint_state_names_best_and_best_is_never_rotated(tiny_backbone, tmp_path) -> None:
    from stmtl.training.run import train
    from tests.helpers import toy_config

    full = tmp_path / "full"
    _, results = train(toy_config(full, tiny_backbone, **STILL, save_total_limit=2))
    assert _names(full) == ["step-0000002", "step-0000004", "step-0000006"]
    for name in _names(full):
        assert _state(full / "checkpoints" / name)["best_checkpoint"] == "checkpoints/step-0000002"
    assert results["best_checkpoint"] == "checkpoints/step-0000002"
    # The best, older than the 2 newest, keeps its weights only; the last of the finished run needs no state.
    has_state = {name: (full / "checkpoints" / name / TRAINING_STATE_FILE).exists() for name in _names(full)}
    assert has_state == {"step-0000002": False, "step-0000004": True, "step-0000006": False}

    # A run resumed after the best checkpoint still knows which one it is.
    resumed = tmp_path / "resumed"
    for name in ("step-0000002", "step-0000004"):
        shutil.copytree(full / "checkpoints" / name, resumed / "checkpoints" / name)
    _, results = train(toy_config(resumed, tiny_backbone, **STILL, save_total_limit=2), resume=True)
    assert results["best_checkpoint"] == "checkpoints/step-0000002" and results["steps"] == 6


def test_checkpoint_default_run_keeps_the_newest_whole_and_the_best_as_weights(tiny_backbone, tmp_path) -> None:
    from stmtl.training.run import train
    from tests.helpers import toy_config

    run = tmp_path / "run"
    train(toy_config(run, tiny_backbone, **STILL))
    assert _names(run) == ["step-0000002", "step-0000006"]
    best, last = run / "checkpoints" / "step-0000002", run / "checkpoints" / "step-0000006"
    assert not (best / TRAINING_STATE_FILE).exists() and not (last / TRAINING_STATE_FILE).exists()
    assert _state(last)["finished"] is True and _state(best)["finished"] is False
    # The root model is the best checkpoint's: its weights are hard links to the checkpoint's files.
    for name in ("model.safetensors", "2_SentenceClassificationHead/model.safetensors", "heads.json"):
        assert os.path.samefile(run / name, best / name), name
    assert not os.path.samefile(run / "README.md", best / "README.md")  # the model card differs: its own file


def test_checkpoint_resume_of_a_finished_run_trains_no_further(tiny_backbone, tmp_path, caplog) -> None:
    from stmtl.training.run import train
    from tests.helpers import toy_config

    run = tmp_path / "run"
    train(toy_config(run, tiny_backbone, **STILL))
    weights = (run / "model.safetensors").read_bytes()
    records = (run / "metrics.jsonl").read_text().splitlines()
    _, results = train(toy_config(run, tiny_backbone, **STILL), resume=True)
    new = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()[len(records) :]]
    assert new[0] == {**new[0], "type": "resume", "step": 6, "finished": True}
    assert not [record for record in new if record["type"] in ("train", "eval")]
    assert results["steps"] == 6 and results["best_checkpoint"] == "checkpoints/step-0000002"
    assert (run / "model.safetensors").read_bytes() == weights
    assert _names(run) == ["step-0000002", "step-0000006"]
    assert "the run finished at step 6; --resume only re-does its final evaluation" in caplog.text


def test_checkpoint_early_stopped_run_resumes_only_with_more_patience(tiny_backbone, tmp_path) -> None:
    from stmtl.training.run import train
    from tests.helpers import toy_config

    run = tmp_path / "run"
    config = {**STILL, "max_steps": 12, "early_stopping_patience": 1}
    _, results = train(toy_config(run, tiny_backbone, **config))
    assert results["steps"] == 4 and _names(run) == ["step-0000002", "step-0000004"]
    assert (run / "checkpoints" / "step-0000004" / TRAINING_STATE_FILE).exists()  # can go on with more patience
    _, results = train(toy_config(run, tiny_backbone, **config), resume=True)
    assert results["steps"] == 4  # the same patience: stopped already
    _, results = train(toy_config(run, tiny_backbone, **{**config, "early_stopping_patience": 2}), resume=True)
    assert results["steps"] == 6 and _names(run) == ["step-0000002", "step-0000006"]


def test_checkpoint_rotation_keeps_the_best_as_weights_only(tmp_path) -> None:
    from stmtl.training.checkpoint import rotate_checkpoints

    for step in (2, 4, 6, 8):
        folder = tmp_path / "checkpoints" / f"step-{step:07d}"
        folder.mkdir(parents=True)
        (folder / STATE_FILE).write_text("{}")
        (folder / TRAINING_STATE_FILE).write_bytes(b"state")
    rotate_checkpoints(tmp_path, 2, protect="checkpoints/step-0000002")
    assert _names(tmp_path) == ["step-0000002", "step-0000006", "step-0000008"]
    kept = sorted(path.parent.name for path in tmp_path.rglob(TRAINING_STATE_FILE))
    assert kept == ["step-0000006", "step-0000008"]
    with pytest.raises(FileNotFoundError, match=r"training_state.pt: missing; this checkpoint keeps only the model"):
        load_checkpoint(tmp_path / "checkpoints" / "step-0000002")


def test_checkpoint_finish_marks_the_last_checkpoint_and_drops_its_state(tmp_path) -> None:
    from stmtl.training.checkpoint import finish_checkpoint

    (tmp_path / STATE_FILE).write_text('{"step": 8}')
    torch.save({"rng": [rng_state()]}, tmp_path / TRAINING_STATE_FILE)
    finish_checkpoint(tmp_path)
    assert load_checkpoint(tmp_path) == (None, {"step": 8, "finished": True})
    assert not (tmp_path / TRAINING_STATE_FILE).exists()
