"""Checkpoints: a loadable sentence-transformers folder plus optimizer, scheduler, loss-weight, RNG and data state.

The model folder is the one ``MultiTaskSentenceTransformer.save`` writes (:mod:`stmtl.model_format`: the encoder
in ``modules.json``, the heads in ``heads.json``).

The model is safetensors; ``training_state.pt`` (optimizer, scheduler and loss-weight tensors, and each
process's RNG states) is read back with Accelerate's ``load``, which unpickles with ``weights_only=True``; the
counters are JSON. Accelerate's ``save_state`` is not used: it writes the weights a second time next to the
sentence-transformers folder, and its ``register_for_checkpointing`` objects are read back with
``weights_only=False``, which would let a checkpoint folder run code on ``--resume``. Every checkpoint is written
atomically, so a killed run leaves only complete checkpoints behind. Paths to checkpoints are stored relative to the
run folder (``checkpoints/step-0000040``), so a run folder can be moved or resumed from any working directory.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate.utils import load as safe_load
from sentence_transformers import SentenceTransformer

from stmtl.atomic import atomic_files, atomic_folder
from stmtl.jsonio import to_json
from stmtl.model_format import save_model_folder

CHECKPOINTS = "checkpoints"
STATE_FILE = "trainer_state.json"
TRAINING_STATE_FILE = "training_state.pt"
_STEP_DIR = re.compile(r"^step-(\d+)$")


def checkpoint_name(step: int) -> str:
    """The path of the checkpoint of ``step`` relative to the run folder, e.g. ``checkpoints/step-0000040``."""
    return f"{CHECKPOINTS}/step-{step:07d}"


def checkpoint_path(run_dir: str | os.PathLike, name: str | os.PathLike) -> Path:
    """Where the checkpoint ``name`` (relative as stored now, or absolute as stored by earlier versions) is."""
    return Path(run_dir) / CHECKPOINTS / Path(name).name


def rng_state() -> dict[str, Any]:
    """This process's RNG states (Python, NumPy, torch, CUDA), as their libraries return them."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(
    run_dir: str | os.PathLike, step: int, model: SentenceTransformer, training_state: dict[str, Any],
    trainer_state: dict[str, Any],
) -> Path:  # fmt: skip
    """Write ``run_dir/checkpoints/step-<step>`` atomically (main process only).

    Args:
        run_dir: The run folder.
        step: Optimizer step count.
        model: The unwrapped model.
        training_state: Optimizer, scheduler and loss-weighting state dicts, and ``rng``: one :func:`rng_state`
            per process, by rank.
        trainer_state: JSON-able counters: step, epoch, batches done in the epoch, best score, patience.

    Returns:
        The checkpoint folder.
    """
    path = Path(run_dir) / checkpoint_name(step)
    with atomic_folder(path) as staging:
        save_model_folder(model, staging)
        torch.save(training_state, os.path.join(staging, TRAINING_STATE_FILE))
        # Written last: a folder with trainer_state.json is a complete checkpoint.
        with open(os.path.join(staging, STATE_FILE), "w", encoding="utf-8") as handle:
            handle.write(to_json(trainer_state, indent=2))
    return path


def list_checkpoints(run_dir: str | os.PathLike, run_id: str | None = None) -> list[Path]:
    """Complete checkpoints in a run folder, oldest first; with ``run_id``, only those of that run."""
    folder = Path(run_dir) / CHECKPOINTS
    if not folder.is_dir():
        return []
    found = [
        (int(match.group(1)), path)
        for path in folder.iterdir()
        if (match := _STEP_DIR.match(path.name)) and (path / STATE_FILE).is_file()
    ]
    return [path for _, path in sorted(found) if run_id is None or checkpoint_run_id(path) == run_id]


def checkpoint_run_id(path: str | os.PathLike) -> str | None:
    """The id of the run that wrote a checkpoint (``None`` for checkpoints of earlier versions or unreadable ones)."""
    try:
        return json.loads((Path(path) / STATE_FILE).read_text(encoding="utf-8")).get("run_id")
    except (OSError, ValueError, AttributeError):
        return None


def latest_checkpoint(run_dir: str | os.PathLike, run_id: str | None = None) -> Path | None:
    """The newest complete checkpoint in a run folder (of the run ``run_id``, if given), if any."""
    checkpoints = list_checkpoints(run_dir, run_id)
    return checkpoints[-1] if checkpoints else None


def load_checkpoint(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read a checkpoint's training state (``weights_only`` unpickling) and trainer counters."""
    path = Path(path)
    if not (path / TRAINING_STATE_FILE).is_file():
        raise FileNotFoundError(
            f"{path / TRAINING_STATE_FILE}: missing; a checkpoint with optimizer.pt and rng_state.json instead was "
            "written by an earlier stmtl and cannot be resumed (its model still loads with stmtl.load)"
        )
    training_state = safe_load(path / TRAINING_STATE_FILE, map_location="cpu")
    trainer_state = json.loads((path / STATE_FILE).read_text(encoding="utf-8"))
    return training_state, trainer_state


def rotate_checkpoints(
    run_dir: str | os.PathLike, keep: int, protect: str | None = None, run_id: str | None = None
) -> None:
    """Delete all but the newest ``keep`` (at least 1) checkpoints of the run ``run_id``, never ``protect`` (the best).

    Args:
        run_dir: The run folder.
        keep: How many of the newest checkpoints to keep.
        protect: The best checkpoint, as stored in the trainer state.
        run_id: Rotate only this run's checkpoints (another run's higher step numbers never count as newer).
    """
    checkpoints = list_checkpoints(run_dir, run_id)
    protected = checkpoint_path(run_dir, protect).name if protect else None
    for path in checkpoints[: max(0, len(checkpoints) - max(1, keep))]:
        if path.name != protected:
            shutil.rmtree(path, ignore_errors=True)


def save_model_into_run(model: SentenceTransformer, run_dir: str | os.PathLike) -> None:
    """Save the final model at the root of the run folder, next to ``checkpoints/`` and ``metrics.jsonl``."""
    with atomic_files(run_dir) as staging:
        save_model_folder(model, staging)
