"""``stmtl.load``: reload a saved multi-task model, importing nothing that is not ours or sentence-transformers'.

A model is a local folder or a hub id (resolved to a folder of the Hugging Face cache first, :mod:`stmtl.hub`), so
every check below runs on local files before anything is built from them.
"""

from __future__ import annotations

import os
from typing import Any

from stmtl.hub import is_hub_id, repo_id, resolve_model_path
from stmtl.model import MultiTaskSentenceTransformer
from stmtl.model_files import ALLOWED_TYPES, SENTENCE_TRANSFORMERS_MODULES, check_module_types, modules_json_of

__all__ = ["ALLOWED_TYPES", "SENTENCE_TRANSFORMERS_MODULES", "check_module_types", "load"]


def load(
    path: str | os.PathLike,
    device: str | None = None,
    trust_remote_code: bool = False,
    cache_folder: str | None = None,
    revision: str | None = None,
    **kwargs: Any,
) -> MultiTaskSentenceTransformer:
    """Load a model saved by ``MultiTaskSentenceTransformer.save`` (or any sentence-transformers model).

    Before anything is built, the folder is checked (:func:`stmtl.model_files.check_model_folder`, which
    ``MultiTaskSentenceTransformer(path)`` runs too): module types against the allow-list (``modules.json``, and
    ``heads.json`` for the heads), ``heads.json`` as a manifest, then the files: a missing module folder (a
    ``Normalize`` or ``Dropout`` may have none), one outside the model folder after symlinks, a JSON file that does
    not parse or nests too deeply, unreadable or non-finite weights, pickled weights, two heads with one task name
    and heads other than those saving recorded are refused naming the file. stmtl's heads resolve to the installed
    classes, so ``trust_remote_code`` stays off: a backbone's own modelling code (``auto_map``) runs only if you pass
    ``trust_remote_code=True`` yourself. Models saved before ``heads.json`` existed (heads listed in
    ``modules.json``) load as well.

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
    modules_json_of(folder)  # a saved model, not a plain Hugging Face folder; the rest is checked on construction
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
