"""``stmtl.load``: reload a saved multi-task model, importing nothing that is not ours or sentence-transformers'.

A model is a local folder or a hub id (resolved to a folder of the Hugging Face cache first, :mod:`stmtl.hub`), so
every check below runs on local files before anything is built from them. The PyTorch model's modules are imported
on first use: ``load(path, backend="onnx")`` runs the folder's exported graphs (:mod:`stmtl.onnx.runner`) in a
process without torch.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

from stmtl.hub import is_hub_id, repo_id, resolve_model_path

if TYPE_CHECKING:
    from stmtl.model import MultiTaskSentenceTransformer
    from stmtl.onnx.runner import OnnxModel

__all__ = ["BACKENDS", "load"]

BACKENDS = ("torch", "onnx", "onnx-int8")
"""What ``load`` can run a model with: PyTorch, or its exported float32 or int8 ONNX graphs."""
_MODEL_FILES_NAMES = ("ALLOWED_TYPES", "SENTENCE_TRANSFORMERS_MODULES", "check_module_types")


def __getattr__(name: str) -> Any:
    # The allow-list, importable from here as before; it lives with the folder checks (they import
    # sentence-transformers).
    if name in _MODEL_FILES_NAMES:
        return getattr(importlib.import_module("stmtl.model_files"), name)
    raise AttributeError(f"module 'stmtl.loading' has no attribute {name!r}")


def load(
    path: str | os.PathLike,
    device: str | None = None,
    trust_remote_code: bool = False,
    cache_folder: str | None = None,
    revision: str | None = None,
    backend: str = "torch",
    **kwargs: Any,
) -> MultiTaskSentenceTransformer | OnnxModel:
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

    With ``backend="onnx"`` or ``"onnx-int8"`` the folder's export (``stmtl export``) runs in ONNX Runtime instead:
    an :class:`~stmtl.onnx.runner.OnnxModel` with the same ``predict``, ``iter_predict`` and ``encode``, which
    imports no torch. It needs a local folder; ``kwargs`` may hold ``threads`` (ONNX Runtime's intra-op threads).

    Args:
        path: The saved model folder, or a hub id such as ``org/name`` (found in, or downloaded into, the Hugging
            Face cache; with ``HF_HUB_OFFLINE=1`` it must be there already).
        device: Where to put the model.
        trust_remote_code: Allow the backbone's own remote code. Off by default.
        cache_folder: The Hugging Face cache for a hub id (default: ``SENTENCE_TRANSFORMERS_HOME`` or the HF cache).
        revision: Branch, tag or commit of a hub id.
        backend: ``"torch"`` (default), ``"onnx"`` (float32 graphs) or ``"onnx-int8"`` (quantized graphs).
        **kwargs: Passed to ``SentenceTransformer.__init__`` (e.g. ``model_kwargs``, ``token``).

    Returns:
        The model, with identical weights and predictions.

    Raises:
        FileNotFoundError: If the folder, ``modules.json`` or a module folder is missing, or a hub id is not in the
            cache while offline.
        ValueError: Naming the damaged file or, for damage only the loaders find (e.g. a tokenizer file of the
            wrong structure), the folder.
    """
    if backend != "torch":
        return _load_onnx(path, backend, device, trust_remote_code, **kwargs)
    from stmtl.model import MultiTaskSentenceTransformer
    from stmtl.model_files import modules_json_of

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


def _load_onnx(
    path: str | os.PathLike, backend: str, device: str | None, trust_remote_code: bool, **kwargs: Any
) -> OnnxModel:
    """The folder's exported graphs in ONNX Runtime, on CPU.

    Raises:
        ValueError: For an unknown backend, a device other than the CPU or an option the runner does not take.
        FileNotFoundError: If ``path`` is not a local folder.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r} (known: {', '.join(BACKENDS)})")
    if device not in (None, "cpu"):
        raise ValueError(f"backend {backend!r} runs on the CPU, got device {device!r}")
    unknown = sorted(set(kwargs) - {"threads"})
    if unknown:
        raise ValueError(f"backend {backend!r} takes no option {unknown[0]!r} (options: threads)")
    if not os.path.isdir(path):
        raise FileNotFoundError(f"{os.fspath(path)}: no such model folder (the ONNX backends need a local folder)")
    from stmtl.onnx.runner import OnnxModel

    del trust_remote_code  # the graphs run no Python code of the model's
    return OnnxModel(path, backend, threads=kwargs.get("threads"))


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0]}" if text else type(error).__name__
