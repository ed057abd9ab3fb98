"""The runner's tokenizer: the model's fast tokenizer (``onnx/tokenizer.json``) called as sentence-transformers
calls it (special tokens added, longest-first truncation at ``max_seq_length``, padding to the longest text), with
the ``tokenizers`` package alone. The export checks that both give the same ids and offsets."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np


class RunnerTokenizer:
    """Batches of texts to the arrays a graph takes, plus each piece's character offsets.

    Args:
        path: The ``tokenizer.json`` file.
        settings: The ``tokenizer`` entry of ``export.json``: ``max_seq_length``, ``pad_id``, ``pad_token``,
            ``pad_type_id``, ``padding_side``, ``truncation_side``.

    Raises:
        ValueError: If the file is not a tokenizer (naming it) or a setting is missing.
    """

    def __init__(self, path: str | os.PathLike, settings: Mapping[str, Any]) -> None:
        from tokenizers import Tokenizer

        try:
            self.tokenizer = Tokenizer.from_file(os.fspath(path))
        except Exception as error:  # tokenizers raises its own exception type
            raise ValueError(f"{path}: not a tokenizers file ({str(error).splitlines()[0]})") from None
        try:
            self.max_seq_length = int(settings["max_seq_length"])
            self.tokenizer.enable_truncation(
                self.max_seq_length, stride=0, strategy="longest_first", direction=settings["truncation_side"]
            )
            self.tokenizer.enable_padding(
                direction=settings["padding_side"], pad_id=int(settings["pad_id"]),
                pad_type_id=int(settings["pad_type_id"]), pad_token=str(settings["pad_token"]),
            )  # fmt: skip
        except Exception as error:  # a missing key, a wrong type, or what tokenizers refuses
            raise ValueError(f"{path}: tokenizer settings of export.json are wrong ({error})") from None

    def encode(self, texts: list[str]) -> dict[str, np.ndarray]:
        """``input_ids``, ``attention_mask``, ``token_type_ids`` (``(batch, sequence)`` int64) and ``offset_mapping``
        (``(batch, sequence, 2)`` int64) of a batch of texts."""
        encodings = self.tokenizer.encode_batch(texts, add_special_tokens=True)
        if not encodings:
            empty = np.zeros((0, 0), dtype=np.int64)
            return {"input_ids": empty, "attention_mask": empty, "token_type_ids": empty,
                    "offset_mapping": np.zeros((0, 0, 2), dtype=np.int64)}  # fmt: skip
        return {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
            "offset_mapping": np.array([e.offsets for e in encodings], dtype=np.int64).reshape(len(encodings), -1, 2),
        }
