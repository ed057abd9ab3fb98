"""The saved folder: ``modules.json`` lists the shared encoder, ``heads.json`` lists the task heads.

A saved multi-task model is a sentence-transformers folder whose ``modules.json`` names only the encoder stages
(Transformer, Pooling, Normalize, ...), all of them sentence-transformers classes. So plain
``SentenceTransformer(path)`` loads it without stmtl installed and without ``trust_remote_code``, and encodes
exactly as the multi-task model does (heads only add ``{task}_logits`` features, never change the embeddings).
The heads are listed in stmtl's own manifest, ``heads.json``, in the layout of ``modules.json`` plus the task name::

    [{"idx": 2, "name": "2", "path": "2_SentenceClassificationHead", "task": "intent", "kind": "sentence",
      "type": "stmtl.heads.sentence.head.SentenceClassificationHead"}, ...]

Each head keeps its subfolder (``config.json`` and ``model.safetensors``), and ``idx`` keeps its place in the
model's module order. ``MultiTaskSentenceTransformer`` loads the encoder through its parent and then the heads
named here; a head ``type`` resolves only to a registered head class (:mod:`stmtl.heads.registry`, through
:data:`HEAD_CLASSES`), by its current name or the name it had before it moved (the types of models saved by
earlier versions, e.g. ``stmtl.heads.sentence_classification.SentenceClassificationHead``): nothing named in the
file is ever imported. A type no registered kind has stops loading with one line naming the kind and how to
register it. Why not list the heads in ``modules.json`` (as models saved before this format do,
and which still load): since sentence-transformers 6.0, a type outside ``sentence_transformers`` there makes plain
``SentenceTransformer`` refuse the folder unless ``trust_remote_code=True``, and even then it needs stmtl installed.

``heads.json`` is written before ``modules.json`` (the marker of a complete model, see :mod:`stmtl.atomic`) and is
always written, as ``[]`` for a model without heads, so a folder saved over never keeps another model's heads.
Saving also records the heads' task names in ``config_sentence_transformers.json`` (``"stmtl": {"tasks": [...]}``),
so a ``heads.json`` that went missing or lost entries is refused at load instead of loading a model without them
(a model saved without the record loads as before).

At load the manifest is checked whole before anything is built: distinct names, indices, paths and tasks
(:func:`read_head_entries`); every head after every encoder module, no name or path shared with one
(:func:`check_head_manifest`); each head reading a feature the encoder yields (:func:`add_saved_heads`).
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stmtl.heads import TaskHead
from stmtl.heads.registry import SavedTypes, class_of_type, kind_of_type, unknown_type_message
from stmtl.jsonio import read_json, write_json

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from torch import nn

MODULES_FILE = "modules.json"
HEADS_FILE = "heads.json"
CONFIG_FILE = "config_sentence_transformers.json"
TASKS_KEY = "tasks"
"""The key under ``stmtl`` in :data:`CONFIG_FILE` where saving records the heads' task names, in model order."""
ADAPTER_KEY = "task_adapter"
"""The key under ``stmtl`` in :data:`CONFIG_FILE` naming the task adapter's folder (:mod:`stmtl.adapters`)."""
ENCODER_FEATURES = frozenset({"token_embeddings", "sentence_embedding"})
"""Features every encoder yields (Transformer and pooling); :func:`encoder_features` adds declared outputs."""
HEAD_CLASSES = SavedTypes()
"""The ``type`` of every registered head class, as ``modules.json`` and ``heads.json`` write it (and as models saved
before the class moved wrote it), to its class: a live view of the registry."""


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

    Raises:
        ValueError: Before anything is written, if an encoder module comes after a head (the manifest places every
            head after the encoder, so that model could not be loaded as it is).
    """
    from sentence_transformers import SentenceTransformer

    modules = list(model)
    head = next((module for module in modules if isinstance(module, TaskHead)), None)
    later = next((m for m in modules[modules.index(head) :] if not isinstance(m, TaskHead)), None) if head else None
    if later is not None:
        raise ValueError(
            f"cannot save: the encoder module {type(later).__name__} comes after the head of task {head.task!r}; "
            "heads must come after the whole encoder"
        )

    adapter = getattr(model, "task_adapter", None)
    with adapter.removed() if adapter is not None else nullcontext():  # the encoder as the source model wrote it
        SentenceTransformer.save(
            model, os.fspath(path), model_name, create_model_card, train_datasets, safe_serialization=True
        )
    if adapter is not None:
        from stmtl.adapters import ADAPTER_FOLDER

        adapter.save(Path(path) / ADAPTER_FOLDER)
    modules_json = Path(path) / MODULES_FILE
    entries = json.loads(modules_json.read_text(encoding="utf-8"))
    # The parent's modules.json lists the heads too. It goes before heads.json is written: a process killed in
    # between must not leave a folder whose two manifests both list the heads (refused at load as a duplicate).
    modules_json.unlink()
    heads = {name: module for name, module in model._modules.items() if isinstance(module, TaskHead)}
    head_entries = [
        {**entry, "task": heads[entry["name"]].task, "kind": heads[entry["name"]].kind}
        for entry in entries
        if entry["name"] in heads
    ]
    (Path(path) / HEADS_FILE).write_text(json.dumps(head_entries, indent=2) + "\n", encoding="utf-8")
    encoder_entries = [entry for entry in entries if entry["name"] not in heads]
    write_json(modules_json, encoder_entries, indent=2)  # the marker of a complete model appears whole and last


def read_head_entries(heads_json: str | os.PathLike | None) -> list[dict[str, Any]]:
    """Parse and check a ``heads.json`` on its own (``None`` or no file: the folder has none).

    Every entry has string ``name``, ``path``, ``task`` and ``type`` (and ``kind``, written since kinds could be
    registered) and an integer ``idx``; the type is a registered head's (:data:`HEAD_CLASSES`, nothing named in the
    file is ever imported); the path is a relative folder
    without ``..``; names are module names (non-empty, no ``.``); names, indices, paths and tasks are distinct.
    :func:`check_head_manifest` checks the entries against ``modules.json``.

    Returns:
        The entries, in file order.

    Raises:
        ValueError: One line naming the file and the entry, if it is malformed, nests too deeply or breaks a rule.
    """
    if heads_json is None or not os.path.isfile(heads_json):
        return []
    file = os.fspath(heads_json)
    entries = read_json(heads_json)
    try:
        if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
            raise TypeError("expected a list of objects")
        for entry in entries:
            if not all(isinstance(entry.get(key), str) for key in ("name", "path", "task", "type")):
                raise KeyError(f"an entry lacks one of 'name', 'path', 'task', 'type': {entry}")
            if not isinstance(entry.get("idx"), int) or isinstance(entry["idx"], bool):
                raise KeyError(f"an entry lacks an integer 'idx': {entry}")
            if "kind" in entry and not isinstance(entry["kind"], str):
                raise KeyError(f"an entry's 'kind' is not a string: {entry}")
    except (KeyError, TypeError) as error:
        raise ValueError(f"{file}: malformed ({error})") from None
    for entry in entries:
        kind = kind_of_type(entry["type"])
        if kind is None:
            raise ValueError(f"{file}: {unknown_type_message(entry['type'], entry.get('kind'))}")
        if entry.get("kind", kind) != kind:
            raise ValueError(f"{file}: head {entry['name']!r}: kind {entry['kind']!r}, but its type is a {kind} head")
        if os.path.isabs(entry["path"]) or ".." in Path(entry["path"]).parts or not entry["path"]:
            raise ValueError(f"{file}: head path {entry['path']!r} is not a folder inside the model")
        if not entry["name"] or "." in entry["name"]:
            raise ValueError(f"{file}: head name {entry['name']!r} must be non-empty and without '.'")
    for key in ("name", "idx", "path", "task"):
        values = [entry[key] for entry in entries]
        repeated = next((value for index, value in enumerate(values) if value in values[:index]), None)
        if repeated is not None:
            raise ValueError(f"{file}: key {key!r}: {repeated!r} appears in two entries (each head needs its own)")
    return entries


def check_head_manifest(
    heads_json: str | os.PathLike, heads: list[dict[str, Any]], modules: list[dict[str, Any]]
) -> None:
    """Check ``heads.json`` entries against ``modules.json``: the heads come after the whole encoder.

    Every head's ``idx`` is greater than every encoder module's (a head placed before ``Normalize`` or ``Pooling``
    would read other features than it was trained on), and no head ``name`` or ``path`` is also an encoder
    module's (the parent would load one module over the other).

    Args:
        heads_json: The file, for messages.
        heads: Its entries (:func:`read_head_entries`).
        modules: The entries of ``modules.json`` (``idx`` defaults to the position, as sentence-transformers reads it).

    Raises:
        ValueError: One line naming ``heads_json`` and the entry.
    """
    indices = [entry["idx"] if isinstance(entry.get("idx"), int) else index for index, entry in enumerate(modules)]
    last = max(indices, default=-1)
    for entry in heads:
        if entry["idx"] <= last:
            raise ValueError(
                f"{os.fspath(heads_json)}: head {entry['name']!r} has idx {entry['idx']}; heads come after the "
                f"encoder's modules (idx greater than {last}, the last in {MODULES_FILE})"
            )
        for key in ("name", "path"):
            if any(module.get(key) == entry[key] for module in modules):
                raise ValueError(
                    f"{os.fspath(heads_json)}: head {entry['name']!r}: key {key!r}: {entry[key]!r} is also an encoder "
                    f"module's in {MODULES_FILE}"
                )


def recorded_tasks(folder: str | os.PathLike) -> list[str] | None:
    """The head tasks that saving recorded in ``config_sentence_transformers.json`` (key ``stmtl`` → ``tasks``).

    Returns:
        The task names in model order, or ``None`` for a model saved without the record (by an older stmtl, or not
        by stmtl at all).

    Raises:
        ValueError: Naming the file and key, if the record is not a list of task names.
    """
    path = Path(folder) / CONFIG_FILE
    if not path.is_file():
        return None
    config = read_json(path)
    saved = config.get("stmtl") if isinstance(config, dict) else None
    if not isinstance(saved, dict) or TASKS_KEY not in saved:
        return None
    tasks = saved[TASKS_KEY]
    if not isinstance(tasks, list) or not all(isinstance(task, str) for task in tasks):
        raise ValueError(f"{path}: key 'stmtl.{TASKS_KEY}' must be a list of task names, got {tasks!r}")
    return tasks


def recorded_adapter(folder: str | os.PathLike) -> str | None:
    """The task adapter's subfolder that saving recorded in ``config_sentence_transformers.json`` (key ``stmtl`` →
    ``task_adapter``), or ``None`` for a model without one.

    Raises:
        ValueError: Naming the file and key, if the value is not a plain relative folder name.
    """
    path = Path(folder) / CONFIG_FILE
    if not path.is_file():
        return None
    config = read_json(path)
    saved = config.get("stmtl") if isinstance(config, dict) else None
    if not isinstance(saved, dict) or saved.get(ADAPTER_KEY) is None:
        return None
    sub = saved[ADAPTER_KEY]
    if not isinstance(sub, str) or not sub or os.path.isabs(sub) or ".." in Path(sub).parts:
        raise ValueError(f"{path}: key 'stmtl.{ADAPTER_KEY}' must name a folder inside the model, got {sub!r}")
    return sub


def encoder_features(modules: list[nn.Module]) -> set[str]:
    """The features an encoder yields for heads to read.

    ``token_embeddings`` and ``sentence_embedding`` (what a Transformer and a pooling write), plus the
    ``module_output_name`` of every encoder module that declares one (a ``Dense`` or ``Normalize`` writing a key
    of its own). Read from the built modules, so it is what their configs actually set.
    """
    declared = {getattr(module, "module_output_name", None) for module in modules}
    return set(ENCODER_FEATURES) | {name for name in declared if isinstance(name, str)}


def check_head_input(head: TaskHead, features: set[str], config_path: str) -> None:
    """Refuse a head whose ``module_input_name`` is not among ``features``, naming its ``config.json``."""
    if head.module_input_name not in features:
        raise ValueError(
            f"{config_path}: key 'module_input_name': {head.module_input_name!r} is not a feature the encoder "
            f"yields ({', '.join(sorted(features))})"
        )


def add_saved_heads(
    modules: list[nn.Module] | OrderedDict[str, nn.Module], model_name_or_path: str, **hub: Any
) -> list[nn.Module] | OrderedDict[str, nn.Module]:
    """The encoder modules sentence-transformers loaded, with the heads of ``heads.json`` put back in their places.

    Every head (also one that ``modules.json`` lists, as models saved before ``heads.json`` do) must read a feature
    the encoder yields (:func:`encoder_features`): checked on the built encoder, before a head is appended.

    Args:
        modules: What the parent's loader returned for ``modules.json``.
        model_name_or_path: The model folder (or hub id).
        **hub: ``token``, ``cache_folder``, ``revision``, ``local_files_only`` for sentence-transformers' loaders.

    Returns:
        ``modules`` unchanged if there is no ``heads.json`` (or it is empty), else all modules in saved order.

    Raises:
        ValueError: If ``heads.json`` is refused (:func:`read_head_entries`, :func:`check_head_manifest`), a head's
            config names another task or a feature the encoder does not yield.
    """
    from sentence_transformers.util import load_file_path

    heads_json = load_file_path(model_name_or_path, HEADS_FILE, **hub)
    entries = read_head_entries(heads_json)
    modules_json = load_file_path(model_name_or_path, MODULES_FILE, **hub)
    saved = read_json(modules_json) if modules_json else []
    check_head_manifest(heads_json or HEADS_FILE, entries, saved)
    named = list(modules.items()) if isinstance(modules, OrderedDict) else [(str(i), m) for i, m in enumerate(modules)]
    features = encoder_features([module for _, module in named if not isinstance(module, TaskHead)])
    folders = {entry.get("name"): entry.get("path", "") for entry in saved}
    for name, module in named:
        if isinstance(module, TaskHead):  # a head listed in modules.json, loaded by the parent
            check_head_input(module, features, os.path.join(model_name_or_path, folders.get(name, ""), "config.json"))
    if not entries:
        return modules
    order = {entry.get("name"): entry.get("idx", index) for index, entry in enumerate(saved)}
    placed = [(order.get(name, index), name, module) for index, (name, module) in enumerate(named)]
    for entry in entries:
        head = class_of_type(entry["type"]).load(model_name_or_path, subfolder=entry["path"], **hub)
        if head.task != entry["task"]:
            raise ValueError(
                f"{heads_json}: the head in {entry['path']} has task {head.task!r}, heads.json says {entry['task']!r}"
            )
        check_head_input(head, features, os.path.join(model_name_or_path, entry["path"], "config.json"))
        placed.append((entry["idx"], entry["name"], head))
    return OrderedDict((name, module) for _, name, module in sorted(placed, key=lambda item: item[0]))


def module_folders(folder: str | os.PathLike) -> list[str]:
    """The subfolders ``modules.json`` and ``heads.json`` name (unchecked; unreadable manifests count as empty)."""
    found = []
    for name in (MODULES_FILE, HEADS_FILE):
        try:
            entries = read_json(Path(folder) / name)
        except (OSError, ValueError):
            continue
        for entry in entries if isinstance(entries, list) else []:
            sub = entry.get("path") if isinstance(entry, dict) else None
            if isinstance(sub, str):
                found.append(sub)
    return found
