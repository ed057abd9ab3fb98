"""The saved folder: ``modules.json`` lists the shared encoder, ``heads.json`` lists the task heads.

A saved multi-task model is a sentence-transformers folder whose ``modules.json`` names only the encoder stages
(Transformer, Pooling, Normalize, ...), all of them sentence-transformers classes. So plain
``SentenceTransformer(path)`` loads it without stmtl installed and without ``trust_remote_code``, and encodes
exactly as the multi-task model does (heads only add ``{task}_logits`` features, never change the embeddings).
The heads are listed in stmtl's own manifest, ``heads.json``, in the layout of ``modules.json`` plus the task name::

    [{"idx": 2, "name": "2", "path": "2_SentenceClassificationHead", "task": "intent",
      "type": "stmtl.heads.sentence_classification.SentenceClassificationHead"}, ...]

Each head keeps its subfolder (``config.json`` and ``model.safetensors``), and ``idx`` keeps its place in the
model's module order. ``MultiTaskSentenceTransformer`` loads the encoder through its parent and then the heads
named here; a head ``type`` resolves only to one of stmtl's own head classes (:data:`HEAD_CLASSES`): nothing named
in the file is ever imported. Why not list the heads in ``modules.json`` (as models saved before this format do,
and which still load): since sentence-transformers 6.0, a type outside ``sentence_transformers`` there makes plain
``SentenceTransformer`` refuse the folder unless ``trust_remote_code=True``, and even then it needs stmtl installed.

``heads.json`` is written before ``modules.json`` (the marker of a complete model, see :mod:`stmtl.atomic`) and is
always written, as ``[]`` for a model without heads, so a folder saved over never keeps another model's heads.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stmtl.heads import HEAD_TYPES, TaskHead
from stmtl.jsonio import write_json

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from torch import nn

MODULES_FILE = "modules.json"
HEADS_FILE = "heads.json"
HEAD_CLASSES: dict[str, type[TaskHead]] = {f"{cls.__module__}.{cls.__name__}": cls for cls in HEAD_TYPES.values()}
"""The ``type`` of every stmtl head, as ``modules.json`` and ``heads.json`` write it, to its class."""


def save_model_folder(
    model: SentenceTransformer,
    path: str | os.PathLike,
    model_name: str | None = None,
    create_model_card: bool = True,
    train_datasets: list[str] | None = None,
) -> None:
    """Write a model into ``path`` (a staging folder: see :mod:`stmtl.atomic`), heads listed in ``heads.json``.

    Args:
        model: The model; its task heads are found by type, wherever they are in the module order.
        path: The folder to write into.
        model_name: Passed to sentence-transformers' ``save`` (the model card's model id).
        create_model_card: Write ``README.md``.
        train_datasets: Passed to sentence-transformers' ``save``.
    """
    from sentence_transformers import SentenceTransformer

    SentenceTransformer.save(
        model, os.fspath(path), model_name, create_model_card, train_datasets, safe_serialization=True
    )
    modules_json = Path(path) / MODULES_FILE
    entries = json.loads(modules_json.read_text(encoding="utf-8"))
    # The parent's modules.json lists the heads too. It goes before heads.json is written: a process killed in
    # between must not leave a folder whose two manifests both list the heads (refused at load as a duplicate).
    modules_json.unlink()
    heads = {name: module for name, module in model._modules.items() if isinstance(module, TaskHead)}
    head_entries = [{**entry, "task": heads[entry["name"]].task} for entry in entries if entry["name"] in heads]
    (Path(path) / HEADS_FILE).write_text(json.dumps(head_entries, indent=2) + "\n", encoding="utf-8")
    encoder_entries = [entry for entry in entries if entry["name"] not in heads]
    write_json(modules_json, encoder_entries, indent=2)  # the marker of a complete model appears whole and last


def read_head_entries(heads_json: str | os.PathLike | None) -> list[dict[str, Any]]:
    """Parse and check a ``heads.json`` (``None``: the folder has none): every type must be one of stmtl's heads.

    Returns:
        The entries, in file order.

    Raises:
        ValueError: Naming the file, if it is malformed, names a type outside :data:`HEAD_CLASSES` (never
            imported), or a path outside the model folder.
    """
    if heads_json is None or not os.path.isfile(heads_json):
        return []
    try:
        entries = json.loads(Path(heads_json).read_text(encoding="utf-8"))
        if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
            raise TypeError("expected a list of objects")
        for entry in entries:
            if not all(isinstance(entry.get(key), str) for key in ("name", "path", "task", "type")):
                raise KeyError(f"an entry lacks one of 'name', 'path', 'task', 'type': {entry}")
            if not isinstance(entry.get("idx"), int):
                raise KeyError(f"an entry lacks an integer 'idx': {entry}")
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{os.fspath(heads_json)}: malformed ({error})") from None
    for entry in entries:
        if entry["type"] not in HEAD_CLASSES:
            raise ValueError(
                f"{os.fspath(heads_json)}: refusing head type {entry['type']!r}: only stmtl's heads are loaded "
                f"({', '.join(sorted(HEAD_CLASSES))})"
            )
        if os.path.isabs(entry["path"]) or ".." in Path(entry["path"]).parts or not entry["path"]:
            raise ValueError(f"{os.fspath(heads_json)}: head path {entry['path']!r} is not a folder inside the model")
    return entries


def add_saved_heads(
    modules: list[nn.Module] | OrderedDict[str, nn.Module], model_name_or_path: str, **hub: Any
) -> list[nn.Module] | OrderedDict[str, nn.Module]:
    """The encoder modules sentence-transformers loaded, with the heads of ``heads.json`` put back in their places.

    Args:
        modules: What the parent's loader returned for ``modules.json``.
        model_name_or_path: The model folder (or hub id).
        **hub: ``token``, ``cache_folder``, ``revision``, ``local_files_only`` for sentence-transformers' loaders.

    Returns:
        ``modules`` unchanged if there is no ``heads.json`` (or it is empty), else all modules in saved order.

    Raises:
        ValueError: If ``heads.json`` is refused (:func:`read_head_entries`), or a head's config names another task.
    """
    from sentence_transformers.util import load_file_path

    heads_json = load_file_path(model_name_or_path, HEADS_FILE, **hub)
    entries = read_head_entries(heads_json)
    if not entries:
        return modules
    if not isinstance(modules, OrderedDict):
        modules = OrderedDict((str(index), module) for index, module in enumerate(modules))
    modules_json = load_file_path(model_name_or_path, MODULES_FILE, **hub)
    saved = json.loads(Path(modules_json).read_text(encoding="utf-8")) if modules_json else []
    order = {entry.get("name"): entry.get("idx", index) for index, entry in enumerate(saved)}
    placed = [(order.get(name, index), name, module) for index, (name, module) in enumerate(modules.items())]
    for entry in entries:
        head = HEAD_CLASSES[entry["type"]].load(model_name_or_path, subfolder=entry["path"], **hub)
        if head.task != entry["task"]:
            raise ValueError(
                f"{heads_json}: the head in {entry['path']} has task {head.task!r}, heads.json says {entry['task']!r}"
            )
        placed.append((entry["idx"], entry["name"], head))
    return OrderedDict((name, module) for _, name, module in sorted(placed, key=lambda item: item[0]))


def module_folders(folder: str | os.PathLike) -> list[str]:
    """The subfolders ``modules.json`` and ``heads.json`` name (unchecked; unreadable manifests count as empty)."""
    found = []
    for name in (MODULES_FILE, HEADS_FILE):
        try:
            entries = json.loads((Path(folder) / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for entry in entries if isinstance(entries, list) else []:
            sub = entry.get("path") if isinstance(entry, dict) else None
            if isinstance(sub, str):
                found.append(sub)
    return found
