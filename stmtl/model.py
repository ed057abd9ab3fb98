"""``MultiTaskSentenceTransformer``: a SentenceTransformer whose extra modules are task heads."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Iterator
from itertools import islice
from types import MappingProxyType
from typing import Any

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.util import batch_to_device
from tqdm.auto import tqdm

import stmtl
from stmtl.alignment import first_pieces, piece_word_ids, split_words
from stmtl.atomic import atomic_folder
from stmtl.heads import HEAD_TYPES, TaskHead, TextBatch
from stmtl.model_card import render_model_card

logger = logging.getLogger(__name__)

SORT_WINDOW_BATCHES = 16
"""``predict`` reads this many batches of texts at a time and sorts them by length to cut padding."""
_SURROGATE = re.compile("[\ud800-\udfff]")


class MultiTaskSentenceTransformer(SentenceTransformer):
    """A ``SentenceTransformer`` (Transformer → Pooling [→ Normalize]) followed by task heads.

    Everything of the parent works unchanged: ``encode`` returns the encoder's embeddings (heads only add
    ``{task}_logits`` features), ``save`` writes the sentence-transformers folder format, and
    ``encode(output_value="intent_logits")`` returns a head's raw logits. :meth:`predict` adds decoded labels
    and entity spans for every task from one forward pass per batch.

    Construct it like its parent (``modules=[...]`` or a saved folder), or with :func:`stmtl.build`, and load
    saved models with :func:`stmtl.load`.
    """

    # stmtl's own head classes resolve to these classes when a saved model is loaded, so loading needs no
    # trust_remote_code (which would also enable a backbone's remote code); foreign types still need it.
    _module_classes = MappingProxyType({f"{cls.__module__}.{cls.__name__}": cls for cls in HEAD_TYPES.values()})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.card_info: dict[str, Any] = dict(getattr(self, "card_info", {}) or {})
        tasks = [module.task for module in self if isinstance(module, TaskHead)]
        if len(set(tasks)) != len(tasks):
            raise ValueError(f"task names of the heads must be distinct, got {tasks}")

    @property
    def heads(self) -> dict[str, TaskHead]:
        """The task heads by task name, in model order."""
        return {module.task: module for module in self if isinstance(module, TaskHead)}

    @property
    def shared_modules(self) -> list[torch.nn.Module]:
        """The modules every task shares (Transformer, Pooling, ...): all but the task heads, in model order."""
        return [module for module in self if not isinstance(module, TaskHead)]

    def encode(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """``SentenceTransformer.encode`` with text inputs checked and one truncation warning per call.

        A generator or other one-shot iterable is read lazily, ``batch_size * 16`` texts at a time, so only the
        embeddings are held in memory, never the whole input.

        Raises:
            TypeError: If an item of a batch is not a string, naming its index.
            ValueError: If a text is not valid Unicode (a lone surrogate), naming its index.
        """
        if isinstance(inputs, Iterator):
            return self._encode_lazily(inputs, *args, **kwargs)
        if not isinstance(inputs, (str, list, tuple)) and hasattr(inputs, "__iter__") and not hasattr(inputs, "shape"):
            inputs = list(inputs)
        if isinstance(inputs, (list, tuple)):
            _check_texts(inputs, "inputs")
        elif not isinstance(inputs, str):
            raise TypeError(f"inputs must be a string or a list of strings, got {type(inputs).__name__}")
        self._at_limit = 0
        try:
            return super().encode(inputs, *args, **kwargs)
        finally:
            if self._at_limit:
                logger.warning(
                    f"{self._at_limit} text(s) reached max_seq_length={self.max_seq_length} tokens; "
                    "anything longer was truncated"
                )
            self._at_limit = 0

    def _encode_lazily(self, inputs: Iterator[str], *args: Any, **kwargs: Any) -> Any:
        """Encode an iterator window by window and join the results as ``encode`` would return them."""
        batch_size = kwargs.get("batch_size", args[2] if len(args) > 2 else 32)
        parts, offset = [], 0
        while window := list(islice(inputs, batch_size * SORT_WINDOW_BATCHES)):
            _check_texts(window, "inputs", offset)
            parts.append(self.encode(window, *args, **kwargs))
            offset += len(window)
        if not parts:
            return self.encode([], *args, **kwargs)
        if isinstance(parts[0], np.ndarray):
            return np.concatenate(parts)
        if isinstance(parts[0], torch.Tensor):
            return torch.cat(parts)
        return [item for part in parts for item in part]

    def preprocess(self, inputs: Any, prompt: str | None = None, **kwargs: Any) -> dict[str, Any]:
        features = super().preprocess(inputs, prompt, **kwargs)
        if "attention_mask" in features and self.max_seq_length:
            self._at_limit = getattr(self, "_at_limit", 0) + int(
                (features["attention_mask"].sum(dim=1) >= self.max_seq_length).sum()
            )
        return features

    def predict(
        self,
        texts: Iterable[str],
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
        output_embedding: bool = False,
    ) -> list[dict[str, Any]]:
        """Run every task on every text, one encoder pass per batch.

        Args:
            texts: A list or any iterable of strings (read lazily, ``batch_size * 16`` at a time).
            batch_size: Texts per forward pass.
            show_progress_bar: Show a tqdm bar; ``None`` shows it when logging is at INFO or below.
            output_embedding: Also return each text's ``sentence_embedding`` (numpy) under that key.

        Returns:
            One dict per text, keyed by task name, holding what the task's head decodes: ``{"label", "score"}``
            for sentence classification, a list of entities ``{"label", "start", "end", "text", "score"}`` with
            ``text[start:end] == text`` for token classification, a list of ``{"label", "score"}`` for multi-label.

        Raises:
            TypeError: If an item is not a string (naming its index), or ``texts`` is a single string.
            ValueError: If a text is not valid Unicode (a lone surrogate), naming its index.
        """
        return list(self.iter_predict(texts, batch_size, show_progress_bar, output_embedding))

    def iter_predict(
        self,
        texts: Iterable[str],
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
        output_embedding: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """Like :meth:`predict`, yielding results in input order while reading ``texts`` lazily.

        Memory stays flat for any number of texts: only ``batch_size * 16`` texts are held at a time.
        """
        if isinstance(texts, str):
            raise TypeError("texts must be an iterable of strings, not a single string: wrap it in a list")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if show_progress_bar is None:
            show_progress_bar = logger.getEffectiveLevel() <= logging.INFO
        total = len(texts) if hasattr(texts, "__len__") else None
        truncated = 0
        self.eval()
        iterator = iter(texts)
        offset = 0
        with tqdm(total=total, desc="Predicting", unit="text", disable=not show_progress_bar) as bar:
            while window := list(islice(iterator, batch_size * SORT_WINDOW_BATCHES)):
                _check_texts(window, "texts", offset)
                order = np.argsort([-len(text) for text in window], kind="stable")
                results: list[dict[str, Any] | None] = [None] * len(window)
                for start in range(0, len(window), batch_size):
                    indices = order[start : start + batch_size]
                    batch_results, batch_truncated = self._predict_batch(
                        [window[i] for i in indices], output_embedding
                    )
                    truncated += batch_truncated
                    for index, result in zip(indices, batch_results):
                        results[index] = result
                    bar.update(len(indices))
                offset += len(window)
                yield from results
        self._at_limit = 0
        if truncated:
            logger.warning(
                f"{truncated} text(s) exceeded max_seq_length={self.max_seq_length} tokens and were truncated; "
                "words past the limit get no entities"
            )

    @torch.inference_mode()
    def _predict_batch(self, texts: list[str], output_embedding: bool) -> tuple[list[dict[str, Any]], int]:
        """Tokenize with offsets, run all modules once, decode every head. Returns results and #truncated."""
        features = self.preprocess(texts, processing_kwargs={"text": {"return_offsets_mapping": True}})
        offsets = features.pop("offset_mapping").tolist()  # (batch, seq, 2)
        word_spans = [split_words(text) for text in texts]
        word_ids = [piece_word_ids(piece_offsets, spans) for piece_offsets, spans in zip(offsets, word_spans)]
        lengths = features["attention_mask"].sum(dim=1).tolist()
        truncated = sum(
            1
            for length, piece_offsets, spans in zip(lengths, offsets, word_spans)
            if spans and length >= (self.max_seq_length or 0) and spans[-1][1] > max(end for _, end in piece_offsets)
        )
        out = self(batch_to_device(features, self.device))
        positions = [first_pieces(ids, len(spans)) for ids, spans in zip(word_ids, word_spans)]
        batch = TextBatch(texts=texts, word_spans=word_spans, first_pieces=positions)
        decoded = {task: head.decode(out, batch) for task, head in self.heads.items()}
        results = [{task: decoded[task][row] for task in decoded} for row in range(len(texts))]
        if output_embedding:
            embeddings = out["sentence_embedding"].float().cpu().numpy()
            for result, embedding in zip(results, embeddings):
                result["sentence_embedding"] = embedding
        return results, truncated

    def save(
        self,
        path: str,
        model_name: str | None = None,
        create_model_card: bool = True,
        train_datasets: list[str] | None = None,
        safe_serialization: bool = True,
    ) -> None:
        """Save in the sentence-transformers format, atomically and as safetensors only.

        The folder is written next to ``path`` and swapped into place, so ``path`` never holds a partial model. Files
        already in ``path`` that the model does not write are kept, as sentence-transformers' own ``save`` keeps them.
        """
        with atomic_folder(path, keep_other_files=True) as staging:
            super().save(staging, model_name, create_model_card, train_datasets, safe_serialization=True)

    def _create_model_card(self, path: str, model_name: str | None = None, train_datasets: Any = None) -> None:
        with open(os.path.join(path, "README.md"), "w", encoding="utf8") as handle:
            handle.write(render_model_card(self))

    def _get_model_config(self) -> dict[str, Any]:
        config = super()._get_model_config()
        config["stmtl"] = {"version": stmtl.__version__, **getattr(self, "card_info", {})}
        return config

    def _parse_model_config(self, model_config: dict[str, Any]) -> None:
        super()._parse_model_config(model_config)
        saved = dict(model_config.get("stmtl", {}))
        saved.pop("version", None)
        self.card_info = saved


def _check_texts(items: Iterable[Any], name: str, offset: int = 0) -> None:
    """Raise ``TypeError`` naming the first non-string item, ``ValueError`` the first with a lone surrogate."""
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise TypeError(f"{name}[{offset + index}] is {type(item).__name__}, expected str")
        if match := _SURROGATE.search(item):
            raise ValueError(
                f"{name}[{offset + index}] is not valid Unicode: lone surrogate {match.group()!r} at character "
                f"{match.start()} (decode input with errors='replace' or fix it)"
            )
