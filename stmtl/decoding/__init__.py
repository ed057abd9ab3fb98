"""Decoding without torch: from a head's logits (NumPy arrays) to what ``predict`` returns.

Every backend decodes with the same code, so the PyTorch model (through each head's ``decode``) and the ONNX
runner (:mod:`stmtl.onnx.runner`) return the same keys, labels, scores and entity spans for the same logits:

* :mod:`stmtl.decoding.text_batch`: tokenizer offsets → words, their first pieces and the truncation count;
* :mod:`stmtl.decoding.windows`: the input checks and the length-sorted batching loop of ``iter_predict``;
* each head kind's decoder, in its folder (``stmtl/heads/<kind>/decoding.py``), found through the registry
  (:mod:`stmtl.heads.registry`): built from the head's saved config (labels and decision settings: the sentence
  head's prior and prior weight τ, the multi-label threshold), its ``decode(logits, batch)`` gives one result per
  text. :func:`decoder_for` builds one after the checks a saved config gets (:func:`check_config`).

The math runs in float64 whatever the logits' precision, so the decision of a backend depends only on its logits.
Nothing here imports torch: the ONNX runner needs only NumPy, ``tokenizers`` and ``onnxruntime``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from stmtl.decoding.text_batch import TextBatch, build_text_batch


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-softmax over the last axis, in float64."""
    shifted = np.asarray(logits, dtype=np.float64)
    shifted = shifted - shifted.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def decoder_class(kind: str) -> Any:
    """The torch-free decoder class of a head kind.

    Raises:
        ValueError: If ``kind`` is not a registered kind, or it has no torch-free decoder.
    """
    from stmtl.heads.registry import decoder_class as registered

    found = registered(kind)
    if found is None:
        raise ValueError(f"head kind {kind!r} has no torch-free decoder (its class sets no decoder_class)")
    return found


def check_config(kind: str, config: Mapping[str, Any]) -> None:
    """Check a saved head config of ``kind`` as loading the head would, without torch: every key's value, the
    kind's required keys, and what the kind checks across keys (e.g. IOB2 labels, one prior value per label).

    Raises:
        HeadConfigError: Naming the first wrong key.
        ValueError: For a check of the kind across keys.
    """
    from stmtl.heads.validation import check_head_config

    decoder = decoder_class(kind)
    check_head_config(config, decoder.config_checks, complete=True, required=decoder.required_keys)
    decoder.check_config(config)


def decoder_for(kind: str, config: Mapping[str, Any]) -> Any:
    """The decoder of a head of ``kind`` with the saved ``config`` (the head's ``config.json`` values).

    Raises:
        ValueError: If ``kind`` is not a head kind, or has no torch-free decoder.
    """
    return decoder_class(kind).from_config(config)


__all__ = ["TextBatch", "build_text_batch", "check_config", "decoder_class", "decoder_for", "log_softmax"]
