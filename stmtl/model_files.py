"""Checks of a saved model folder before anything is built from it: its manifests, then every module's files.

:func:`check_model_folder` is the one entry point; ``stmtl.load`` and ``MultiTaskSentenceTransformer(path)`` both
run it (the class from its module loader, so there is a single code path). In order:

1. ``modules.json`` parses, names each module once, and lists only allow-listed sentence-transformers text-encoder
   classes or registered heads (:func:`allowed_type`); nothing else named there is ever imported.
2. ``heads.json`` is a valid manifest (:func:`stmtl.model_format.read_head_entries`,
   :func:`stmtl.model_format.check_head_manifest`).
3. Every module folder exists and, after symlinks, lies inside the model folder; a module without parameters
   (:data:`FOLDERLESS_MODULES`: ``Normalize``, ``Dropout``) may have none, as sentence-transformers accepts (the
   published all-MiniLM-L6-v2 lists ``2_Normalize`` without a folder). Its JSON files parse and nest at most
   :data:`stmtl.jsonio.MAX_JSON_DEPTH` deep; its weights are readable safetensors with finite values (pickled weights
   alone are refused).
4. The heads' task names (from their configs) match ``heads.json``, are distinct, and are those saving recorded in
   ``config_sentence_transformers.json`` (:func:`stmtl.model_format.recorded_tasks`), if it did.

Each failure is one ``ValueError`` (or ``FileNotFoundError``) naming the file, so a damaged folder never gets as
far as a traceback from deep inside a loader, a partial model or a prediction scored ``NaN``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

from sentence_transformers.base import modules as base_modules
from sentence_transformers.sentence_transformer import modules as sentence_modules

from stmtl.jsonio import read_json
from stmtl.model_format import (
    CONFIG_FILE,
    HEAD_CLASSES,
    HEADS_FILE,
    MODULES_FILE,
    TASKS_KEY,
    check_head_manifest,
    read_head_entries,
    recorded_adapter,
    recorded_tasks,
)

PICKLED_WEIGHTS = ("pytorch_model.bin", "model.pt", "model.pth", "model.ckpt")
"""Weight files in pickle format: never loaded."""
SENTENCE_TRANSFORMERS_MODULES = (
    base_modules.Transformer, base_modules.Dense, base_modules.Normalize, base_modules.Router,
    sentence_modules.Pooling, sentence_modules.StaticEmbedding, sentence_modules.WordEmbeddings,
    sentence_modules.WordWeights, sentence_modules.WeightedLayerPooling, sentence_modules.LayerNorm,
    sentence_modules.Dropout, sentence_modules.BoW, sentence_modules.CNN, sentence_modules.LSTM,
)  # fmt: skip
"""The sentence-transformers module classes a saved encoder may use (text encoders only)."""


def _type_names(cls: type) -> set[str]:
    """The ``modules.json`` names that resolve to ``cls``: where it is defined, its package, the v2-v5 alias."""
    package = cls.__module__.rsplit(".", 1)[0]
    return {
        f"{cls.__module__}.{cls.__name__}",
        f"{package}.{cls.__name__}",
        f"sentence_transformers.models.{cls.__name__}",
    }


ENCODER_TYPES = frozenset(name for cls in SENTENCE_TRANSFORMERS_MODULES for name in _type_names(cls))
"""Every encoder ``type`` in ``modules.json`` that loading accepts: the classes above, by name."""


def allowed_type(module_type: str) -> bool:
    """Whether loading accepts a ``modules.json`` type: an encoder class above or a registered head's (heads
    appear there in models saved before ``heads.json``; ``heads.json`` itself accepts heads only)."""
    return module_type in ENCODER_TYPES or module_type in HEAD_CLASSES


class _AllowedTypes(AbstractSet):
    """A live set of the types :func:`allowed_type` accepts (registering a head kind adds its type)."""

    def __contains__(self, module_type: object) -> bool:
        return isinstance(module_type, str) and allowed_type(module_type)

    def __iter__(self) -> Iterator[str]:
        return iter([*ENCODER_TYPES, *HEAD_CLASSES])

    def __len__(self) -> int:
        return len(ENCODER_TYPES) + len(HEAD_CLASSES)


ALLOWED_TYPES = _AllowedTypes()
"""Every ``type`` in ``modules.json`` that loading accepts (:func:`allowed_type`)."""
FOLDERLESS_MODULES = frozenset(name for cls in (base_modules.Normalize, sentence_modules.Dropout)
                               for name in _type_names(cls))  # fmt: skip
"""Types whose folder may be missing: they have no parameters and sentence-transformers builds them from defaults
without a config (``Module.load`` reads an optional ``config.json``). The other allow-listed classes need their
folder: a config without defaults (Pooling, BoW, WordWeights) or weights."""


def modules_json_of(path: str | os.PathLike) -> str:
    """The ``modules.json`` of a saved model folder.

    Raises:
        FileNotFoundError: If ``path`` or its ``modules.json`` does not exist.
    """
    modules_json = os.path.join(os.fspath(path), MODULES_FILE)
    if not os.path.isdir(path):
        raise FileNotFoundError(f"{os.fspath(path)}: no such model folder")
    if not os.path.isfile(modules_json):
        raise FileNotFoundError(f"{modules_json}: missing; not a saved sentence-transformers model")
    return modules_json


def module_entries(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The parsed and allow-listed ``modules.json`` of ``path``.

    Raises:
        FileNotFoundError: If ``path`` or its ``modules.json`` does not exist.
        ValueError: Naming the file, if it is malformed, names a module twice, or names a type off the allow-list.
    """
    modules_json = modules_json_of(path)
    entries = read_json(modules_json)
    try:
        types = [entry["type"] for entry in entries]
        names = [entry.get("name") for entry in entries]
        if not all(isinstance(entry.get("path"), str) for entry in entries):
            raise KeyError("an entry lacks a string 'path'")
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"{modules_json}: malformed ({error})") from None
    repeated = next((name for index, name in enumerate(names) if name in names[:index]), None)
    if repeated is not None:
        raise ValueError(f"{modules_json}: key 'name': {repeated!r} appears in two entries (each module needs one)")
    for module_type in types:
        if isinstance(module_type, str) and allowed_type(module_type):
            continue
        if isinstance(module_type, str) and module_type.startswith("stmtl."):
            raise ValueError(f"{modules_json}: unknown stmtl module type {module_type!r} (saved by another version?)")
        raise ValueError(
            f"{modules_json}: refusing module type {module_type!r}: stmtl.load only loads sentence-transformers' "
            "text-encoder modules and stmtl's heads"
        )
    return entries


def check_module_types(path: str | os.PathLike) -> list[str]:
    """Read ``modules.json`` and ``heads.json``; refuse any type outside the allow-list, before anything is imported.

    Args:
        path: A saved model folder.

    Returns:
        The module types, in model order.

    Raises:
        FileNotFoundError: If ``path`` or its ``modules.json`` does not exist.
        ValueError: If a manifest is malformed or names a type that is not one of
            :data:`SENTENCE_TRANSFORMERS_MODULES` or stmtl's heads (the error names the type; it is never imported).
    """
    entries = [*module_entries(path), *read_head_entries(os.path.join(os.fspath(path), HEADS_FILE))]
    return [entry["type"] for entry in sorted(entries, key=lambda entry: entry.get("idx", 0))]


def check_json_files(folder: Path) -> None:
    """Refuse a JSON file in ``folder`` (not below it) that does not parse or nests too deeply, naming it."""
    for path in sorted(folder.glob("*.json")):
        read_json(path)


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


def check_head_tasks(folder: Path, manifests: dict[str, list[dict[str, Any]]], recorded: list[str] | None) -> None:
    """Refuse heads whose config task differs from ``heads.json``, two heads with one task, or tasks other than
    those saving recorded.

    Args:
        folder: The model folder.
        manifests: The entries of ``modules.json`` and ``heads.json`` by file name.
        recorded: :func:`stmtl.model_format.recorded_tasks` of the folder (``None``: nothing recorded).

    Raises:
        ValueError: Naming the head's ``config.json``, ``heads.json`` or ``config_sentence_transformers.json``.
    """
    heads_json = folder / HEADS_FILE
    seen: dict[str, str] = {}
    for entry in (entry for entries in manifests.values() for entry in entries if entry["type"] in HEAD_CLASSES):
        config = folder / entry["path"] / "config.json"
        saved = read_json(config) if config.is_file() else None  # a missing one is named by the head's loader
        task = saved.get("task") if isinstance(saved, dict) else None
        if "task" in entry and isinstance(task, str) and task != entry["task"]:
            raise ValueError(
                f"{heads_json}: the head in {entry['path']} has task {task!r}, heads.json says {entry['task']!r}"
            )
        task = task if isinstance(task, str) else entry.get("task")
        if isinstance(task, str) and task in seen:
            raise ValueError(f"{config}: key 'task': {task!r} is also the task of the head in {seen[task]}")
        if isinstance(task, str):
            seen[task] = entry["path"]
    if recorded is not None and sorted(seen) != sorted(recorded):
        state = f"lists the tasks {list(seen)}" if seen else "lists no heads" if heads_json.is_file() else "missing"
        raise ValueError(
            f"{heads_json}: {state}, but {folder / CONFIG_FILE} (key 'stmtl.{TASKS_KEY}') records the heads {recorded}"
        )


def _module_folder(root: Path, manifest: str, entry: dict[str, Any]) -> Path | None:
    """The checked folder of a manifest entry; ``None`` for a parameter-free module saved without one."""
    subfolder = entry.get("path", "")
    if not isinstance(subfolder, str) or os.path.isabs(subfolder) or ".." in Path(subfolder).parts:
        raise ValueError(f"{root / manifest}: module path {subfolder!r} is not a folder inside the model")
    folder = root / subfolder
    real, real_root = os.path.realpath(folder), os.path.realpath(root)
    if real != real_root and not real.startswith(real_root.rstrip(os.sep) + os.sep):
        raise ValueError(f"{root / manifest}: module path {subfolder!r} resolves to {real}, outside the model folder")
    if not folder.is_dir():
        if entry.get("type") in FOLDERLESS_MODULES and not os.path.lexists(folder):
            return None
        raise FileNotFoundError(f"{folder}: missing module folder named in {root / manifest}")
    return folder


def check_model_folder(path: str | os.PathLike, plain: bool = False) -> dict[str, list[dict[str, Any]]]:
    """Run every check above on a saved model folder, before anything is built from it.

    Args:
        path: The local model folder.
        plain: Also accept a plain Hugging Face folder (no ``modules.json``), of which sentence-transformers builds
            a Transformer with mean pooling: then only its own JSON files and weights are checked.

    Returns:
        The checked manifests by file name: ``modules.json`` and ``heads.json`` entries.

    Raises:
        FileNotFoundError: If the folder, its ``modules.json`` or a module folder is missing.
        ValueError: One line naming the damaged file (and the key or entry).
    """
    root = Path(path)
    if plain and root.is_dir() and not (root / MODULES_FILE).is_file():
        check_json_files(root)
        check_weights(root)
        return {MODULES_FILE: [], HEADS_FILE: []}
    modules = module_entries(root)
    heads = read_head_entries(root / HEADS_FILE)
    check_head_manifest(root / HEADS_FILE, heads, modules)
    manifests = {MODULES_FILE: modules, HEADS_FILE: heads}
    for manifest, entries in manifests.items():
        for entry in entries:
            folder = _module_folder(root, manifest, entry)
            if folder is not None:
                check_json_files(folder)
                check_weights(folder)
    check_head_tasks(root, manifests, recorded_tasks(root))
    if (adapter := recorded_adapter(root)) is not None:
        folder = _module_folder(root, CONFIG_FILE, {"path": adapter})
        check_json_files(folder)
        check_weights(folder)
    return manifests
