"""``MultiTaskSentenceTransformer``: a SentenceTransformer whose extra modules are task heads."""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.util import batch_to_device
from torch import nn
from tqdm.auto import tqdm

import stmtl
from stmtl.adapters import ADAPTER_FOLDER, AdapterConfig, TaskAdapter, read_adapter_config
from stmtl.atomic import atomic_folder
from stmtl.decoding.text_batch import build_text_batch
from stmtl.decoding.windows import check_predict_arguments, predict_in_windows, predict_results
from stmtl.encoding import as_batch, check_inputs, encode_arguments, encode_in_windows
from stmtl.heads import TaskHead
from stmtl.hub import is_hub_id, repo_id, resolve_model_path
from stmtl.model_card import render_model_card
from stmtl.model_files import check_model_folder
from stmtl.model_format import (
    ADAPTER_KEY,
    HEAD_CLASSES,
    TASKS_KEY,
    add_saved_heads,
    recorded_adapter,
    save_model_folder,
)
from stmtl.save_errors import tensor_bytes

logger = logging.getLogger(__name__)

_AT_LIMIT: ContextVar[list[int] | None] = ContextVar("stmtl_texts_at_limit", default=None)
"""The texts of the running ``encode`` call that reached ``max_seq_length``, as a one-item counter. A context
variable, so every thread (and asyncio task) counts its own call; ``None`` outside ``encode``."""


class MultiTaskSentenceTransformer(SentenceTransformer):
    """A ``SentenceTransformer`` (Transformer → Pooling [→ Normalize]) followed by task heads.

    Everything of the parent works unchanged: ``encode`` returns the encoder's embeddings (heads only add
    ``{task}_logits`` features), ``save`` writes the sentence-transformers folder format, and
    ``encode(output_value="intent_logits")`` returns a head's raw logits. :meth:`predict` adds decoded labels
    and entity spans for every task from one forward pass per batch.

    Construct it like its parent (``modules=[...]``, a saved folder or a hub id), or with :func:`stmtl.build`, and
    load saved models with :func:`stmtl.load`. A saved model's ``modules.json`` lists the encoder only and
    ``heads.json`` the heads (:mod:`stmtl.model_format`), so plain ``SentenceTransformer(path)`` loads the encoder
    where stmtl is not installed; loading here reads both. A hub id resolves through the Hugging Face cache
    (:mod:`stmtl.hub`; ``HF_HUB_OFFLINE=1`` is respected).

    With a task adapter (:meth:`add_task_adapter`, :mod:`stmtl.adapters`) the heads read the adapted encoder's
    features while ``encode`` runs the source encoder, bit for bit; ``heads`` (a dict of task name → head) and
    ``task_adapter`` (or ``None``) are the model's task parts.
    """

    _task_adapter: TaskAdapter | None = None

    # The registered head classes, by the type name a saved model gives them (a live view of the registry, legacy
    # names included): heads.json types resolve only to these, and so do heads in the modules.json of models saved
    # before heads.json existed, with no trust_remote_code (which would also enable a backbone's remote code).
    # Other types in modules.json follow the parent's rules.
    _module_classes = HEAD_CLASSES

    def __init__(self, model_name_or_path: str | os.PathLike | None = None, **kwargs: Any) -> None:
        hub_id = None
        if model_name_or_path is not None and not os.path.isdir(model_name_or_path):
            hub_id = repo_id(os.fspath(model_name_or_path)) if is_hub_id(os.fspath(model_name_or_path)) else None
            model_name_or_path = resolve_model_path(
                model_name_or_path, kwargs.get("cache_folder"), kwargs.get("revision"), kwargs.get("token"),
                kwargs.get("local_files_only", False),
            )  # fmt: skip
        super().__init__(os.fspath(model_name_or_path) if model_name_or_path is not None else None, **kwargs)
        self.card_info: dict[str, Any] = dict(getattr(self, "card_info", {}) or {})
        if hub_id:  # as sentence-transformers does: a model loaded from the hub is the base of what is saved
            self.model_card_data.base_model = hub_id
        tasks = [module.task for module in self if isinstance(module, TaskHead)]
        if len(set(tasks)) != len(tasks):
            raise ValueError(f"task names of the heads must be distinct, got {tasks}")
        folder = os.fspath(model_name_or_path) if model_name_or_path is not None else None
        if folder is not None and os.path.isdir(folder) and (subfolder := recorded_adapter(folder)) is not None:
            adapter_folder = os.path.join(folder, subfolder)
            adapter = self.add_task_adapter(read_adapter_config(adapter_folder))
            adapter.load_weights(os.path.join(adapter_folder, "adapter_model.safetensors"))

    def _load_modules(
        self, model_name_or_path: str, token: bool | str | None, cache_folder: str | None, revision: str | None = None,
        trust_remote_code: bool = False, local_files_only: bool = False, **kwargs: Any,
    ) -> tuple[list[nn.Module] | OrderedDict[str, nn.Module], dict[str, Any]]:  # fmt: skip
        """Check the folder (:func:`stmtl.model_files.check_model_folder`: what ``stmtl.load`` checks; a plain
        Hugging Face folder is accepted, as by the parent), then the parent's loading of ``modules.json`` (the
        encoder), then the heads ``heads.json`` lists."""
        check_model_folder(model_name_or_path, plain=True)
        hub = {
            "token": token,
            "cache_folder": cache_folder,
            "revision": revision,
            "local_files_only": local_files_only,
        }
        modules, module_kwargs = super()._load_modules(model_name_or_path, trust_remote_code=trust_remote_code, **hub,
                                                       **kwargs)  # fmt: skip
        return add_saved_heads(modules, model_name_or_path, **hub), module_kwargs

    @property
    def heads(self) -> dict[str, TaskHead]:
        """The task heads by task name, in model order."""
        return {module.task: module for module in self if isinstance(module, TaskHead)}

    @property
    def task_adapter(self) -> TaskAdapter | None:
        """The LoRA adapter the heads see (:mod:`stmtl.adapters`), or ``None`` (the heads read the encoder as is)."""
        return self._task_adapter

    def add_task_adapter(self, config: AdapterConfig | None = None) -> TaskAdapter:
        """Freeze the encoder and put LoRA adapters on it: the heads then read adapted features, ``encode`` the source.

        Args:
            config: Rank, scaling, dropout and target modules; :class:`~stmtl.adapters.AdapterConfig` defaults.

        Returns:
            The adapter; its parameters are the encoder's only trainable ones.

        Raises:
            ValueError: If the model already has one, or no encoder module matches the targets.
        """
        if self._task_adapter is not None:
            raise ValueError("the model already has a task adapter")
        self._task_adapter = TaskAdapter(self[0].auto_model, config or AdapterConfig())
        return self._task_adapter

    def _source_encoder(self, output_value: str | None = "sentence_embedding") -> Any:
        """A context that runs the source encoder (adapters off) for ``output_value``; a no-op without an adapter
        or for a head's output (heads always read the adapted encoder)."""
        adapter = self._task_adapter
        if adapter is None or output_value in {head.logits_key for head in self.heads.values()}:
            return nullcontext()
        return adapter.disabled()

    @property
    def shared_modules(self) -> list[torch.nn.Module]:
        """The modules every task shares (Transformer, Pooling, ...): all but the task heads, in model order."""
        return [module for module in self if not isinstance(module, TaskHead)]

    def encode(self, *args: Any, **kwargs: Any) -> Any:
        """``SentenceTransformer.encode`` (same arguments), with inputs checked and one truncation warning per call.

        Each call counts its own truncated texts (a context variable, not the instance), so calls running at once
        in several threads each report theirs.

        Takes what the parent takes (strings, text pairs, numpy string arrays, dataset columns, ...). A generator or
        other iterator is read lazily, ``batch_size * 16`` items at a time, so only the embeddings are held in
        memory, never the whole input; quantised precisions are calibrated once over all of it
        (:func:`stmtl.encoding.encode_in_windows`), so an iterator and a list give the same values.

        Raises:
            TypeError: If an input is ``None``, a number or bytes, naming its index.
            ValueError: If a text is not valid Unicode (a lone surrogate), naming its index.
        """
        call = encode_arguments(self, args, kwargs)
        if _AT_LIMIT.get() is not None:  # a window of an iterator's call: that call counts and warns
            return self._encode_checked(call)
        at_limit = [0]
        token = _AT_LIMIT.set(at_limit)
        try:
            if isinstance(call["inputs"], Iterator):
                return encode_in_windows(self, call)
            return self._encode_checked(call)
        finally:
            _AT_LIMIT.reset(token)
            if at_limit[0]:
                logger.warning(
                    f"{at_limit[0]} text(s) reached max_seq_length={self.max_seq_length} tokens; "
                    "anything longer was truncated"
                )

    def _encode_checked(self, call: dict[str, Any]) -> Any:
        """The parent's ``encode`` of a batch of inputs, checked first; the source encoder's embeddings with a task
        adapter (and, for ``output_value=None``, the heads' outputs of the adapted encoder merged into each dict)."""
        call["inputs"] = inputs = as_batch(self, call["inputs"])
        check_inputs([inputs] if self.is_singular_input(inputs) else inputs, "inputs")
        output_value = call.get("output_value", "sentence_embedding")
        with self._source_encoder(output_value):
            encoded = super().encode(**call)
        if self._task_adapter is None or output_value is not None:
            return encoded
        with self._task_adapter.lock:
            adapted = super().encode(**call)
        keys = [head.logits_key for head in self.heads.values()]
        rows = [encoded] if isinstance(encoded, dict) else encoded
        for row, adapted_row in zip(rows, [adapted] if isinstance(adapted, dict) else adapted):
            row.update({key: adapted_row[key] for key in keys})
        return encoded

    def preprocess(self, inputs: Any, prompt: str | None = None, **kwargs: Any) -> dict[str, Any]:
        features = super().preprocess(inputs, prompt, **kwargs)
        at_limit = _AT_LIMIT.get()
        if at_limit is not None and "attention_mask" in features and self.max_seq_length:
            at_limit[0] += int((features["attention_mask"].sum(dim=1) >= self.max_seq_length).sum())
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
            One dict per text: ``"text"`` (the text itself), then one key per task holding what the task's head
            decodes: ``{"label", "score"}``
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
        check_predict_arguments(texts, batch_size)
        if show_progress_bar is None:
            show_progress_bar = logger.getEffectiveLevel() <= logging.INFO
        total = len(texts) if hasattr(texts, "__len__") else None
        self.eval()
        with tqdm(total=total, desc="Predicting", unit="text", disable=not show_progress_bar) as bar:
            yield from predict_in_windows(
                texts, batch_size, lambda batch: self._predict_batch(batch, output_embedding), self.max_seq_length,
                bar.update,
            )  # fmt: skip

    @torch.inference_mode()
    def _predict_batch(self, texts: list[str], output_embedding: bool) -> tuple[list[dict[str, Any]], int]:
        """Tokenize with offsets, run all modules once, decode every head (:mod:`stmtl.decoding`, as the ONNX runner
        does). Returns results and #truncated."""
        features = self.preprocess(texts, processing_kwargs={"text": {"return_offsets_mapping": True}})
        offsets = features.pop("offset_mapping").tolist()  # (batch, seq, 2)
        lengths = features["attention_mask"].sum(dim=1).tolist()
        batch, truncated = build_text_batch(texts, offsets, lengths, self.max_seq_length)
        features = batch_to_device(features, self.device)
        adapter = self._task_adapter
        with adapter.lock if adapter is not None else nullcontext():
            if adapter is None:
                out = self(dict(features))
            else:  # the adapted encoder with LoRA merged in: the heads' features at the cost of a plain pass
                out = dict(features)
                for module in [adapter.merged(self[0]), *list(self)[1:]]:
                    out = module(out)
            if output_embedding and adapter is not None:  # a second pass, of the source encoder only
                with adapter.disabled():
                    source = dict(features)
                    for module in self.shared_modules:
                        source = module(source)
                    out["sentence_embedding"] = source["sentence_embedding"]
        decoded = {task: head.decode(out, batch) for task, head in self.heads.items()}
        embeddings = out["sentence_embedding"].float().cpu().numpy() if output_embedding else None
        return predict_results(texts, decoded, embeddings), truncated

    def save(
        self,
        path: str | None,
        model_name: str | None = None,
        create_model_card: bool = True,
        train_datasets: list[str] | None = None,
        safe_serialization: bool = True,
    ) -> None:
        """Save in the sentence-transformers format, atomically and as safetensors only; ``path=None`` saves nothing.

        ``modules.json`` lists the encoder and ``heads.json`` the heads (:mod:`stmtl.model_format`). The folder is
        written next to ``path`` and swapped into place, so ``path`` never holds a partial model. Files already in
        ``path`` that the model does not write are kept, as sentence-transformers' own ``save`` keeps them.
        """
        if path is None:
            return
        with atomic_folder(path, keep_other_files=True, expected_bytes=tensor_bytes(self.state_dict())) as staging:
            save_model_folder(self, staging, model_name, create_model_card, train_datasets)

    def _create_model_card(self, path: str, model_name: str | None = None, train_datasets: Any = None) -> None:
        if model_name and not Path(model_name).exists() and not self.model_card_data.model_id:
            self.model_card_data.model_id = model_name  # as sentence-transformers: the id in the card's usage lines
        with open(os.path.join(path, "README.md"), "w", encoding="utf8") as handle:
            handle.write(render_model_card(self))

    def _get_model_config(self) -> dict[str, Any]:
        config = super()._get_model_config()
        base_model = {"base_model": self.model_card_data.base_model} if self.model_card_data.base_model else {}
        tasks = {TASKS_KEY: [module.task for module in self if isinstance(module, TaskHead)]}
        adapter = {ADAPTER_KEY: ADAPTER_FOLDER} if self._task_adapter is not None else {}
        saved = {**base_model, **getattr(self, "card_info", {}), **tasks, **adapter}
        config["stmtl"] = {"version": stmtl.__version__, **saved}
        return config

    def _parse_model_config(self, model_config: dict[str, Any]) -> None:
        super()._parse_model_config(model_config)
        saved = dict(model_config.get("stmtl", {}))
        saved.pop("version", None)
        saved.pop(TASKS_KEY, None)  # checked against heads.json before loading (stmtl.model_files)
        saved.pop(ADAPTER_KEY, None)  # read by __init__
        if isinstance(base_model := saved.pop("base_model", None), str):
            self.model_card_data.base_model = base_model
        self.card_info = saved
