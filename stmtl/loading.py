"""``stmtl.load``: reload a saved multi-task model, importing nothing that is not ours or sentence-transformers'."""

from __future__ import annotations

import json
import os
from typing import Any

from stmtl.model import MultiTaskSentenceTransformer

TRUSTED_PREFIXES = ("sentence_transformers.", "stmtl.")


def check_module_types(path: str | os.PathLike) -> list[str]:
    """Read ``modules.json`` and refuse any module type outside the allow-list, before anything is imported.

    Args:
        path: A saved model folder.

    Returns:
        The module types, in order.

    Raises:
        FileNotFoundError: If ``path`` or its ``modules.json`` does not exist.
        ValueError: If ``modules.json`` is malformed or names a type outside ``sentence_transformers.*`` and
            ``stmtl.*`` (the error names the type; it is never imported).
    """
    modules_json = os.path.join(os.fspath(path), "modules.json")
    if not os.path.isdir(path):
        raise FileNotFoundError(f"{os.fspath(path)}: no such model folder")
    if not os.path.isfile(modules_json):
        raise FileNotFoundError(f"{modules_json}: missing; not a saved sentence-transformers model")
    try:
        with open(modules_json, encoding="utf-8") as handle:
            types = [entry["type"] for entry in json.load(handle)]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{modules_json}: malformed ({error})") from None
    known_stmtl = set(MultiTaskSentenceTransformer._module_classes)
    for module_type in types:
        if not isinstance(module_type, str) or not module_type.startswith(TRUSTED_PREFIXES):
            raise ValueError(
                f"{modules_json}: refusing module type {module_type!r}: stmtl.load only loads "
                "sentence_transformers.* and stmtl.* modules"
            )
        if module_type.startswith("stmtl.") and module_type not in known_stmtl:
            raise ValueError(f"{modules_json}: unknown stmtl module type {module_type!r} (saved by another version?)")
    return types


def load(
    path: str | os.PathLike,
    device: str | None = None,
    trust_remote_code: bool = False,
    **kwargs: Any,
) -> MultiTaskSentenceTransformer:
    """Load a model saved by ``MultiTaskSentenceTransformer.save`` (or any local sentence-transformers folder).

    Module types are checked against the allow-list first. stmtl's heads resolve to the installed classes, so
    ``trust_remote_code`` stays off: a backbone's own modelling code (``auto_map``) runs only if you pass
    ``trust_remote_code=True`` yourself.

    Args:
        path: The saved model folder.
        device: Where to put the model.
        trust_remote_code: Allow the backbone's own remote code. Off by default.
        **kwargs: Passed to ``SentenceTransformer.__init__`` (e.g. ``model_kwargs``).

    Returns:
        The model, with identical weights and predictions.
    """
    check_module_types(path)
    return MultiTaskSentenceTransformer(
        os.fspath(path), device=device, trust_remote_code=trust_remote_code, local_files_only=True, **kwargs
    )
