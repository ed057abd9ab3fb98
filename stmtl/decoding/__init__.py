"""Decoding without torch: from a head's logits (NumPy arrays) to what ``predict`` returns.

Every backend decodes with this package, so the PyTorch model (through each head's ``decode``) and the ONNX
runner (:mod:`stmtl.onnx.runner`) return the same keys, labels, scores and entity spans for the same logits:

* :mod:`stmtl.decoding.text_batch`: tokenizer offsets → words, their first pieces and the truncation count;
* :mod:`stmtl.decoding.windows`: the input checks and the length-sorted batching loop of ``iter_predict``;
* one module per head kind (:mod:`~stmtl.decoding.sentence`, :mod:`~stmtl.decoding.token`,
  :mod:`~stmtl.decoding.multilabel`): a decoder built from the head's saved config (labels and decision settings:
  the sentence head's prior and prior weight τ, the multi-label threshold) whose ``decode(logits, batch)`` gives
  one result per text.

The math runs in float64 whatever the logits' precision, so the decision of a backend depends only on its logits.
Nothing here imports torch: the ONNX runner needs only NumPy, ``tokenizers`` and ``onnxruntime``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stmtl.decoding.multilabel import MultiLabelDecoder
from stmtl.decoding.sentence import SentenceDecoder
from stmtl.decoding.text_batch import TextBatch, build_text_batch
from stmtl.decoding.token import TokenDecoder

DECODERS: dict[str, type[SentenceDecoder] | type[TokenDecoder] | type[MultiLabelDecoder]] = {
    "sentence": SentenceDecoder,
    "token": TokenDecoder,
    "multilabel": MultiLabelDecoder,
}
"""The decoder of each head kind (the ``kind`` of :data:`stmtl.heads.HEAD_TYPES`)."""


def decoder_for(kind: str, config: Mapping[str, Any]) -> SentenceDecoder | TokenDecoder | MultiLabelDecoder:
    """The decoder of a head of ``kind`` with the saved ``config`` (the head's ``config.json`` values).

    Raises:
        ValueError: If ``kind`` is not a head kind.
    """
    if kind not in DECODERS:
        raise ValueError(f"unknown head kind {kind!r} (known: {', '.join(DECODERS)})")
    return DECODERS[kind].from_config(config)


__all__ = [
    "DECODERS",
    "MultiLabelDecoder",
    "SentenceDecoder",
    "TextBatch",
    "TokenDecoder",
    "build_text_batch",
    "decoder_for",
]
