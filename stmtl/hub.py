"""Hugging Face Hub ids: a model named ``org/name`` is found in (or fetched into) the Hugging Face cache.

Everywhere stmtl takes a model or a backbone, it takes a local folder or a hub id, as sentence-transformers does.
An id resolves to a snapshot folder of the cache (``models--org--name/snapshots/<commit>``) through
``huggingface_hub.snapshot_download``, and everything after that reads local files, so the same checks run on a
downloaded model as on a local one. With ``HF_HUB_OFFLINE=1`` (or ``local_files_only=True``) nothing is
downloaded: the id resolves from the cache, or the error names the id and the cache folder. Only what stmtl can
load is fetched: safetensors weights, configs and tokenizer files, not pickled, ONNX, OpenVINO, TensorFlow, Flax or
Rust weights. No code from a repository ever runs here (``trust_remote_code`` is a separate, explicit choice).
"""

from __future__ import annotations

import os
import re

DEFAULT_ORGANIZATION = "sentence-transformers"
"""The organization sentence-transformers puts before an id without one (``all-MiniLM-L6-v2``)."""
IGNORED_FILES = ["*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl", "*.h5", "*.msgpack", "*.ot", "*.onnx", "*.tflite",
                 "onnx/*", "openvino/*"]  # fmt: skip
"""Files a snapshot leaves out: stmtl loads safetensors only."""
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")
_CACHE_FOLDER = re.compile(r"models--(?P<org>[^/]+?)--(?P<name>[^/]+)/snapshots/[^/]+/?$")


def is_hub_id(name: str) -> bool:
    """Whether ``name`` reads as a hub id (``name``, ``org/name``), not as a path (``./x``, ``/a/b``, ``a/b/c``)."""
    return bool(_HUB_ID.match(name))


def offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) forbids downloads, read now, not at import."""
    from huggingface_hub import constants

    values = (os.environ.get("HF_HUB_OFFLINE"), os.environ.get("TRANSFORMERS_OFFLINE"))
    return constants.HF_HUB_OFFLINE or any((value or "").upper() in {"1", "ON", "YES", "TRUE"} for value in values)


def cache_folder_of(cache_folder: str | os.PathLike | None = None) -> str:
    """The cache a hub id resolves in: ``cache_folder``, else ``SENTENCE_TRANSFORMERS_HOME``, else the HF cache."""
    from huggingface_hub import constants

    return os.fspath(cache_folder or os.environ.get("SENTENCE_TRANSFORMERS_HOME") or constants.HF_HUB_CACHE)


def repo_id(name: str) -> str:
    """The full id of ``name``: sentence-transformers' organization is put before a bare name, as it does."""
    from sentence_transformers.util import ORIGINAL_TRANSFORMER_MODELS

    if "/" in name or name.lower() in ORIGINAL_TRANSFORMER_MODELS:
        return name
    return f"{DEFAULT_ORGANIZATION}/{name}"


def hub_id_of_path(path: str | os.PathLike) -> str | None:
    """The id of a snapshot folder of the Hugging Face cache (``.../models--org--name/snapshots/<hash>``), or None."""
    match = _CACHE_FOLDER.search(os.path.abspath(os.fspath(path)).replace(os.sep, "/"))
    return f"{match['org']}/{match['name']}" if match else None


def resolve_model_path(
    name_or_path: str | os.PathLike,
    cache_folder: str | os.PathLike | None = None,
    revision: str | None = None,
    token: bool | str | None = None,
    local_files_only: bool = False,
) -> str:
    """A local folder for a model named by path or by hub id.

    Args:
        name_or_path: A local folder (returned as is) or a hub id such as ``sentence-transformers/all-MiniLM-L6-v2``.
        cache_folder: The cache to look in and download into (default: see :func:`cache_folder_of`).
        revision: A branch, tag or commit of the hub repository (default: ``main``).
        token: A Hugging Face token for private repositories.
        local_files_only: Never download, as with ``HF_HUB_OFFLINE=1``.

    Returns:
        The folder: ``name_or_path`` itself, or the cache's snapshot folder of the id.

    Raises:
        FileNotFoundError: If ``name_or_path`` is neither a folder nor a hub id, or (offline) the id is not in the
            cache; one line naming the id and the cache folder.
        OSError: If downloading the id fails (one line naming the id, the cache folder and the reason).
    """
    path = os.fspath(name_or_path)
    if os.path.isdir(path):
        return path
    if os.path.exists(path) or not is_hub_id(path):
        raise FileNotFoundError(f"{path}: no such model folder (and not a Hugging Face Hub id such as org/name)")
    from huggingface_hub import snapshot_download

    full_id, cache = repo_id(path), cache_folder_of(cache_folder)
    no_download = local_files_only or offline()
    try:
        return snapshot_download(full_id, revision=revision, cache_dir=cache, token=token,
                                 local_files_only=no_download, ignore_patterns=IGNORED_FILES)  # fmt: skip
    except Exception as error:  # huggingface_hub raises its own types for each way this fails
        at = f"@{revision}" if revision else ""
        if no_download:
            raise FileNotFoundError(
                f"{path}: no such model folder, and {full_id}{at} is not in the Hugging Face cache {cache} "
                "(HF_HUB_OFFLINE=1 or local_files_only: nothing is downloaded)"
            ) from None
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise OSError(f"{full_id}{at}: cannot download it into the Hugging Face cache {cache} ({reason})") from None
