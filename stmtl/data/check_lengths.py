"""Lengths in word pieces for ``stmtl check-data``: the backbone's tokenizer alone (no weights), and percentiles.

The length of a text is its word pieces with the special tokens (``[CLS]``, ``[SEP]``), as the encoder sees it;
a text longer than ``max_seq_length`` is cut, and its words past the limit get no label in training or prediction.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

PERCENTILES = (50, 90, 95, 99)
"""Length percentiles reported."""


def piece_lengths(texts: list[str], tokenizer: Any, max_seq_length: int) -> dict[str, int]:
    """Percentiles, maximum and the number cut of the texts' lengths in word pieces.

    Returns:
        ``{"p50", "p90", "p95", "p99", "max", "truncated"}`` (percentiles rounded up to a length that occurs).
    """
    pieces = np.array([len(ids) for ids in tokenizer(texts, add_special_tokens=True)["input_ids"]] or [0])
    lengths = {f"p{q}": int(np.percentile(pieces, q, method="higher")) for q in PERCENTILES}
    return {**lengths, "max": int(pieces.max()), "truncated": int((pieces > max_seq_length).sum())}


def load_tokenizer(backbone: str | None = None) -> tuple[Any, int, str]:
    """The tokenizer of a backbone folder or cached hub id, without its weights.

    Returns:
        ``(tokenizer, max_seq_length, name)``: the backbone's own ``max_seq_length`` (``sentence_bert_config.json``,
        else the tokenizer's limit, at most 512 when unset) and the name to show.

    Raises:
        OSError: If the folder or its tokenizer files cannot be found.
    """
    from transformers import AutoTokenizer

    from stmtl.backbone import DEFAULT_BACKBONE_ID, default_backbone
    from stmtl.hub import resolve_model_path

    path = Path(resolve_model_path(backbone if backbone is not None else default_backbone()))
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    length = None
    if (path / "sentence_bert_config.json").is_file():
        length = json.loads((path / "sentence_bert_config.json").read_text(encoding="utf-8")).get("max_seq_length")
    if not isinstance(length, int):
        length = min(int(tokenizer.model_max_length), 512)
    return tokenizer, length, DEFAULT_BACKBONE_ID if backbone is None else os.fspath(backbone)
