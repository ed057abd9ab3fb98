"""``stmtl.load``: reload a saved multi-task model, importing nothing that is not ours or sentence-transformers'.

A model is a local folder or a hub id (resolved to a folder of the Hugging Face cache first, :mod:`stmtl.hub`), so
every check below runs on local files before anything is built from them.
"""

from __future__ import annotations

import json
import os
from typing import Any

from sentence_transformers.base import modules as base_modules
from sentence_transformers.sentence_transformer import modules as sentence_modules

from stmtl.hub import is_hub_id, repo_id, resolve_model_path
from stmtl.model import MultiTaskSentenceTransformer
from stmtl.model_files import check_model_files
from stmtl.model_format import HEADS_FILE, read_head_entries

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


ALLOWED_TYPES = frozenset(name for cls in SENTENCE_TRANSFORMERS_MODULES for name in _type_names(cls)) | frozenset(
    MultiTaskSentenceTransformer._module_classes
)
"""Every ``type`` in ``modules.json`` that :func:`load` accepts: the classes above and stmtl's heads, by name (heads
appear there in models saved before ``heads.json``; ``heads.json`` itself accepts stmtl's heads only)."""


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
    entries = [*_module_entries(path), *read_head_entries(os.path.join(os.fspath(path), HEADS_FILE))]
    return [entry["type"] for entry in sorted(entries, key=lambda entry: entry.get("idx", 0))]


def _module_entries(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The parsed and allow-listed ``modules.json`` of ``path``."""
    modules_json = os.path.join(os.fspath(path), "modules.json")
    if not os.path.isdir(path):
        raise FileNotFoundError(f"{os.fspath(path)}: no such model folder")
    if not os.path.isfile(modules_json):
        raise FileNotFoundError(f"{modules_json}: missing; not a saved sentence-transformers model")
    try:
        with open(modules_json, encoding="utf-8") as handle:
            entries = json.load(handle)
        types = [entry["type"] for entry in entries]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{modules_json}: malformed ({error})") from None
    for module_type in types:
        if module_type in ALLOWED_TYPES:
            continue
        if isinstance(module_type, str) and module_type.startswith("stmtl."):
            raise ValueError(f"{modules_json}: unknown stmtl module type {module_type!r} (saved by another version?)")
        raise ValueError(
            f"{modules_json}: refusing module type {module_type!r}: stmtl.load only loads sentence-transformers' "
            "text-encoder modules and stmtl's heads"
        )
    return entries


def load(
    path: str | os.PathLike,
    device: str | None = None,
    trust_remote_code: bool = False,
    cache_folder: str | None = None,
    revision: str | None = None,
    **kwargs: Any,
) -> MultiTaskSentenceTransformer:
    """Load a model saved by ``MultiTaskSentenceTransformer.save`` (or any sentence-transformers model).

    Module types are checked against the allow-list first (``modules.json``, and ``heads.json`` for the heads),
    then the folder's files (:mod:`stmtl.model_files`): a missing module folder, a JSON file that does not parse,
    unreadable or non-finite weights, pickled weights and two heads with one task name are refused naming the file.
    stmtl's heads resolve to the installed classes, so ``trust_remote_code`` stays off: a backbone's own modelling
    code (``auto_map``) runs only if you pass ``trust_remote_code=True`` yourself. Models saved before ``heads.json``
    existed (heads listed in ``modules.json``) load as well.

    Args:
        path: The saved model folder, or a hub id such as ``org/name`` (found in, or downloaded into, the Hugging
            Face cache; with ``HF_HUB_OFFLINE=1`` it must be there already).
        device: Where to put the model.
        trust_remote_code: Allow the backbone's own remote code. Off by default.
        cache_folder: The Hugging Face cache for a hub id (default: ``SENTENCE_TRANSFORMERS_HOME`` or the HF cache).
        revision: Branch, tag or commit of a hub id.
        **kwargs: Passed to ``SentenceTransformer.__init__`` (e.g. ``model_kwargs``, ``token``).

    Returns:
        The model, with identical weights and predictions.

    Raises:
        FileNotFoundError: If the folder, ``modules.json`` or a module folder is missing, or a hub id is not in the
            cache while offline.
        ValueError: Naming the damaged file or, for damage only the loaders find (e.g. a tokenizer file of the
            wrong structure), the folder.
    """
    name = os.fspath(path)
    folder = resolve_model_path(
        name, cache_folder, revision, kwargs.get("token"), kwargs.get("local_files_only", False)
    )
    entries = _module_entries(folder)
    heads = read_head_entries(os.path.join(folder, HEADS_FILE))
    check_model_files(
        folder, {"modules.json": entries, HEADS_FILE: heads}, set(MultiTaskSentenceTransformer._module_classes)
    )
    kwargs["model_kwargs"] = {"use_safetensors": True, **(kwargs.get("model_kwargs") or {})}
    kwargs["local_files_only"] = True
    try:
        model = MultiTaskSentenceTransformer(folder, device=device, trust_remote_code=trust_remote_code, **kwargs)
    except (FileNotFoundError, ValueError) as error:
        if folder in str(error):
            raise
        raise ValueError(f"{folder}: cannot load the model ({_first_line(error)})") from error
    except Exception as error:  # tokenizers and safetensors raise their own exception types
        raise ValueError(f"{folder}: cannot load the model ({_first_line(error)})") from error
    if folder != name and is_hub_id(name):  # as sentence-transformers: a model loaded from the hub is the base
        model.model_card_data.base_model = repo_id(name)
    return model


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0]}" if text else type(error).__name__
