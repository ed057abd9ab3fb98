"""Checks of a saved model folder's files before anything is built from them.

Every module folder named by ``modules.json`` or ``heads.json`` must exist; its JSON files must parse; its weights
must be readable safetensors with finite values (pickled weights alone are refused); and the heads' task names must
be distinct.
Each failure is one ``ValueError`` (or ``FileNotFoundError``) naming the file, so a damaged folder never gets as
far as a traceback from deep inside a loader, a partial model or a prediction scored ``NaN``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

PICKLED_WEIGHTS = ("pytorch_model.bin", "model.pt", "model.pth", "model.ckpt")
"""Weight files in pickle format: never loaded."""


def check_json_files(folder: Path) -> None:
    """Refuse a JSON file in ``folder`` (not below it) that does not parse, naming it."""
    for path in sorted(folder.glob("*.json")):
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"{path}: not valid JSON ({error})") from None


def check_weights(folder: Path) -> None:
    """Refuse unreadable or non-finite safetensors weights in ``folder``, and pickled weights without safetensors.

    Raises:
        ValueError: Naming the file.
    """
    import torch
    from safetensors import SafetensorError, safe_open

    safetensors = sorted(folder.glob("*.safetensors"))
    pickled = [folder / name for name in PICKLED_WEIGHTS if (folder / name).exists()]
    if pickled and not safetensors:
        raise ValueError(f"{pickled[0]}: pickled weights are never loaded (they can run code); save as safetensors")
    for path in safetensors:
        try:
            with safe_open(path, framework="pt") as weights:
                for name in weights.keys():
                    tensor = weights.get_tensor(name)
                    if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                        raise ValueError(f"{path}: tensor {name!r} holds NaN or infinite values (damaged weights)")
        except (SafetensorError, OSError) as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ValueError(f"{path}: unreadable safetensors weights ({reason})") from None


def check_distinct_tasks(folder: Path, entries: list[dict[str, Any]], head_types: set[str]) -> None:
    """Refuse two heads with the same task name (one would silently hide the other), naming the second's config."""
    seen: dict[str, str] = {}
    for entry in entries:
        if entry["type"] not in head_types:
            continue
        config = folder / entry.get("path", "") / "config.json"
        task = json.loads(config.read_text(encoding="utf-8")).get("task") if config.is_file() else None
        if isinstance(task, str) and task in seen:
            raise ValueError(f"{config}: key 'task': {task!r} is also the task of the head in {seen[task]}")
        if isinstance(task, str):
            seen[task] = entry.get("path", "")


def check_model_files(
    path: str | os.PathLike, manifests: dict[str, list[dict[str, Any]]], head_types: set[str]
) -> None:
    """Run every check above on each module folder of a saved model.

    Args:
        path: The model folder.
        manifests: The parsed manifests by file name: ``modules.json`` and ``heads.json`` (see
            :mod:`stmtl.model_format`).
        head_types: The ``type`` values of stmtl's heads.

    Raises:
        FileNotFoundError: If a module folder is missing.
        ValueError: Naming the damaged file.
    """
    root = Path(path)
    for manifest, entries in manifests.items():
        for entry in entries:
            subfolder = entry.get("path", "")
            if not isinstance(subfolder, str) or os.path.isabs(subfolder) or ".." in Path(subfolder).parts:
                raise ValueError(f"{root / manifest}: module path {subfolder!r} is not a folder inside the model")
            folder = root / subfolder
            if not folder.is_dir():
                raise FileNotFoundError(f"{folder}: missing module folder named in {root / manifest}")
            check_json_files(folder)
            check_weights(folder)
    check_distinct_tasks(root, [entry for entries in manifests.values() for entry in entries], head_types)
