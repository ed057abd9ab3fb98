"""Checkpoints: a loadable sentence-transformers folder plus optimizer, scheduler, loss-weight, RNG and data state.

What a run folder keeps (with the default ``save_total_limit`` of 1): the newest checkpoint whole, for ``--resume``,
and the best one (by dev score) as its model and counters only: its ``training_state.pt`` (twice the model's size
under AdamW) is removed once a newer checkpoint exists. The last checkpoint of a run that trained all its steps is
written without ``training_state.pt`` and marked ``finished``: nothing can continue it (``--resume`` may not change
the step budget), so ``--resume`` of a finished run trains no further and only re-does the final evaluation and
outputs. A run that stopped early keeps it, so ``--resume`` with a larger ``early_stopping_patience`` continues.
Files identical to an earlier checkpoint's (the tokenizer, a frozen encoder's weights, and the final model at the
run folder's root, which is the best checkpoint's) are hard links to it, stored once; ``du`` counts them once.

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

from stmtl.atomic import atomic_files, atomic_folder, link_identical_files
from stmtl.jsonio import to_json, write_json
from stmtl.model_format import save_model_folder
from stmtl.save_errors import tensor_bytes

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
    run_dir: str | os.PathLike, step: int, model: SentenceTransformer, training_state: dict[str, Any] | None,
    trainer_state: dict[str, Any],
) -> Path:  # fmt: skip
    """Write ``run_dir/checkpoints/step-<step>`` atomically (main process only).

    Files identical to those of the run folder's other checkpoints are hard-linked to them.

    Args:
        run_dir: The run folder.
        step: Optimizer step count.
        model: The unwrapped model.
        training_state: Optimizer, scheduler and loss-weighting state dicts, and ``rng``: one :func:`rng_state`
            per process, by rank; ``None`` for a checkpoint that is never resumed (``trainer_state["finished"]``).
        trainer_state: JSON-able counters: step, epoch, batches done in the epoch, best score, patience.

    Returns:
        The checkpoint folder.

    Raises:
        SaveError: An ``OSError`` naming the checkpoint folder and the cause (a full disk...) when a write fails.
    """
    path = Path(run_dir) / checkpoint_name(step)
    others = [other for other in reversed(list_checkpoints(run_dir)) if other.name != path.name]
    expected = tensor_bytes(model.state_dict()) + tensor_bytes(training_state)
    with atomic_folder(path, expected_bytes=expected) as staging:
        save_model_folder(model, staging)
        if training_state is not None:
            torch.save(training_state, os.path.join(staging, TRAINING_STATE_FILE))
        link_identical_files(staging, others)
        # Written last: a folder with trainer_state.json is a complete checkpoint.
        with open(os.path.join(staging, STATE_FILE), "w", encoding="utf-8") as handle:
            handle.write(to_json(trainer_state, indent=2))
    return path


def finish_checkpoint(path: str | os.PathLike) -> None:
    """Mark a run's last checkpoint ``finished`` and drop its training state (it will never be continued)."""
    path = Path(path)
    state = json.loads((path / STATE_FILE).read_text(encoding="utf-8"))
    write_json(path / STATE_FILE, {**state, "finished": True}, indent=2)  # first: a kill in between stays finished
    (path / TRAINING_STATE_FILE).unlink(missing_ok=True)


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


def load_checkpoint(path: str | os.PathLike) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Read a checkpoint's training state (``weights_only`` unpickling) and trainer counters.

    Returns:
        The training state (``None`` for the last checkpoint of a finished run: it holds none) and the counters.

    Raises:
        FileNotFoundError: If an unfinished checkpoint has no training state: the best one kept besides the newest
            (weights only), or one written by an earlier stmtl.
    """
    path = Path(path)
    trainer_state = json.loads((path / STATE_FILE).read_text(encoding="utf-8"))
    if isinstance(trainer_state, dict) and trainer_state.get("finished"):
        return None, trainer_state
    if not (path / TRAINING_STATE_FILE).is_file():
        if (path / "optimizer.pt").is_file():
            raise FileNotFoundError(
                f"{path / TRAINING_STATE_FILE}: missing; a checkpoint with optimizer.pt and rng_state.json instead "
                "was written by an earlier stmtl and cannot be resumed (its model still loads with stmtl.load)"
            )
        raise FileNotFoundError(
            f"{path / TRAINING_STATE_FILE}: missing; this checkpoint keeps only the model (the best one of its run, "
            "kept besides the newest) and cannot be resumed (its model loads with stmtl.load)"
        )
    training_state = safe_load(path / TRAINING_STATE_FILE, map_location="cpu")
    return training_state, trainer_state


def rotate_checkpoints(
    run_dir: str | os.PathLike, keep: int, protect: str | None = None, run_id: str | None = None
) -> None:
    """Delete all but the newest ``keep`` (at least 1) checkpoints of the run ``run_id``, never ``protect`` (the best).

    The best checkpoint, when older than those, keeps its model and counters but loses its training state: only
    the newest is ever resumed.

    Args:
        run_dir: The run folder.
        keep: How many of the newest checkpoints to keep whole.
        protect: The best checkpoint, as stored in the trainer state.
        run_id: Rotate only this run's checkpoints (another run's higher step numbers never count as newer).
    """
    checkpoints = list_checkpoints(run_dir, run_id)
    protected = checkpoint_path(run_dir, protect).name if protect else None
    for path in checkpoints[: max(0, len(checkpoints) - max(1, keep))]:
        if path.name != protected:
            shutil.rmtree(path, ignore_errors=True)
        else:
            (path / TRAINING_STATE_FILE).unlink(missing_ok=True)


def save_model_into_run(model: SentenceTransformer, run_dir: str | os.PathLike) -> None:
    """Save the final model at the root of the run folder, next to ``checkpoints/`` and ``metrics.jsonl``.

    Its files identical to a checkpoint's (all but the model card and settings, when the model is the best
    checkpoint's) are hard links to that checkpoint's files.

    Raises:
        SaveError: An ``OSError`` naming the run folder and the cause (a full disk...) when a write fails.
    """
    with atomic_files(run_dir, expected_bytes=tensor_bytes(model.state_dict())) as staging:
        save_model_folder(model, staging)
        link_identical_files(staging, list(reversed(list_checkpoints(run_dir))))
