"""Checkpoints: a loadable sentence-transformers folder plus optimizer, scheduler, RNG and sampler state.

Nothing here is a pickle: the model is safetensors, RNG and sampler state are JSON, and ``optimizer.pt``
(tensors and plain containers) is read back with ``torch.load(weights_only=True)``. Every checkpoint is
written atomically, so a killed run leaves only complete checkpoints behind.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sentence_transformers import SentenceTransformer

from stmtl.atomic import atomic_folder

CHECKPOINTS = "checkpoints"
STATE_FILE = "trainer_state.json"
OPTIMIZER_FILE = "optimizer.pt"
_STEP_DIR = re.compile(r"^step-(\d+)$")


def rng_state() -> dict[str, Any]:
    """This process's RNG states as JSON-able lists."""
    np_state = np.random.get_state()
    state = {
        "python": [random.getstate()[0], list(random.getstate()[1]), random.getstate()[2]],
        "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "torch": torch.get_rng_state().tolist(),
    }
    if torch.cuda.is_available():
        state["cuda"] = [s.tolist() for s in torch.cuda.get_rng_state_all()]
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(torch.tensor(state["torch"], dtype=torch.uint8))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([torch.tensor(s, dtype=torch.uint8) for s in state["cuda"]])


def save_checkpoint(
    run_dir: str | os.PathLike,
    step: int,
    model: SentenceTransformer,
    optimizer_state: dict[str, Any],
    trainer_state: dict[str, Any],
    rng_states: list[dict[str, Any]],
) -> Path:
    """Write ``run_dir/checkpoints/step-<step>`` atomically (main process only).

    Args:
        run_dir: The run folder.
        step: Optimizer step count.
        model: The unwrapped model.
        optimizer_state: Tensors and plain values: optimizer, scheduler, loss-weighting state.
        trainer_state: JSON-able counters: step, epoch, batches done in the epoch, best score, patience.
        rng_states: One :func:`rng_state` per process, by rank.

    Returns:
        The checkpoint folder.
    """
    path = Path(run_dir) / CHECKPOINTS / f"step-{step:07d}"
    with atomic_folder(path) as staging:
        SentenceTransformer.save(model, staging, create_model_card=True)
        torch.save(optimizer_state, os.path.join(staging, OPTIMIZER_FILE))
        with open(os.path.join(staging, "rng_state.json"), "w", encoding="utf-8") as handle:
            json.dump(rng_states, handle)
        # Written last: a folder with trainer_state.json is a complete checkpoint.
        with open(os.path.join(staging, STATE_FILE), "w", encoding="utf-8") as handle:
            json.dump(trainer_state, handle, indent=2)
    return path


def list_checkpoints(run_dir: str | os.PathLike) -> list[Path]:
    """Complete checkpoints of a run, oldest first."""
    folder = Path(run_dir) / CHECKPOINTS
    if not folder.is_dir():
        return []
    found = [
        (int(match.group(1)), path)
        for path in folder.iterdir()
        if (match := _STEP_DIR.match(path.name)) and (path / STATE_FILE).is_file()
    ]
    return [path for _, path in sorted(found)]


def load_checkpoint(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """Read a checkpoint's optimizer state (weights_only), trainer state and RNG states."""
    path = Path(path)
    optimizer_state = torch.load(path / OPTIMIZER_FILE, map_location="cpu", weights_only=True)
    trainer_state = json.loads((path / STATE_FILE).read_text(encoding="utf-8"))
    rng_states = json.loads((path / "rng_state.json").read_text(encoding="utf-8"))
    return optimizer_state, trainer_state, rng_states


def rotate_checkpoints(run_dir: str | os.PathLike, keep: int, protect: str | None = None) -> None:
    """Delete all but the newest ``keep`` checkpoints, never the one named by ``protect`` (the best)."""
    checkpoints = list_checkpoints(run_dir)
    for path in checkpoints[: max(0, len(checkpoints) - keep)]:
        if protect is None or path.resolve() != Path(protect).resolve():
            shutil.rmtree(path, ignore_errors=True)


def save_model_into_run(model: SentenceTransformer, run_dir: str | os.PathLike) -> None:
    """Save the final model at the root of the run folder, next to ``checkpoints/`` and ``metrics.jsonl``.

    The model is written to a staging folder first; ``modules.json`` is removed before files are moved in and
    restored last, so the folder never loads as a half-replaced model.
    """
    run_dir = Path(run_dir)
    staging = Path(tempfile.mkdtemp(prefix=".model.tmp-", dir=run_dir))
    try:
        SentenceTransformer.save(model, str(staging), create_model_card=True)
        (run_dir / "modules.json").unlink(missing_ok=True)
        for entry in sorted(staging.iterdir(), key=lambda p: p.name == "modules.json"):
            target = run_dir / entry.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(entry, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
