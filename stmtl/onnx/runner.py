"""The exported model in ONNX Runtime, without torch: ``predict``, ``iter_predict`` and ``encode``.

Imports NumPy, ``tokenizers``, ``onnxruntime`` and stmtl's light modules only. Tokenization reproduces the model's
(:mod:`stmtl.onnx.tokenization`), and decoding is the PyTorch model's own (:mod:`stmtl.decoding`: the same text
batch, the same length-sorted windows, each head kind's decoder built from the head's ``config.json``), so results
have the same keys, labels and entity spans with character offsets; scores differ only as the logits do.

Loading checks before any graph runs, each failure one line naming the file: the manifest (``onnx/export.json``),
the weights the export came from (a model saved again over the folder since is refused: export again), each head's
config (the checks of :mod:`stmtl.heads.validation`; its labels must match the graph's output), and each graph
file: its SHA-256 against the manifest (truncated or damaged), its protobuf structure and external-data locations
(:mod:`stmtl.onnx.graph_file`: nothing outside ``onnx/``), then ONNX Runtime's own parse. Head kinds come
from the registry (:mod:`stmtl.heads.registry`: a head type resolves to a registered kind, by its current or
legacy name, without importing torch), each decoded by its kind's torch-free decoder (:mod:`stmtl.decoding`); a kind
registered without one is refused in one line. Nothing named in the folder is imported, and ONNX Runtime gets no
custom-operator library.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from stmtl.decoding import check_config, decoder_class, decoder_for
from stmtl.decoding.text_batch import build_text_batch
from stmtl.decoding.windows import check_predict_arguments, iter_in_windows, predict_in_windows, predict_results
from stmtl.heads.registry import kind_of_type, unknown_type_message
from stmtl.heads.validation import HeadConfigError
from stmtl.jsonio import read_json
from stmtl.onnx.graph_file import check_graph_file
from stmtl.onnx.layout import (
    BACKENDS,
    ENCODER_GRAPH,
    FORMAT_VERSION,
    MANIFEST_FILE,
    MODEL_GRAPH,
    ONNX_FOLDER,
    graph_file,
    sha256,
)
from stmtl.onnx.tokenization import RunnerTokenizer

logger = logging.getLogger(__name__)


class OnnxModel:
    """A model folder's exported graphs (``stmtl export``) in ONNX Runtime, on CPU.

    Args:
        path: The model folder (it holds ``onnx/``).
        backend: ``"onnx"`` (float32 graphs) or ``"onnx-int8"`` (the quantized ones).
        threads: ONNX Runtime's intra-op threads; ``None`` lets it choose (one per physical core).

    Raises:
        FileNotFoundError: If the folder has no export, or the export lacks the backend's graphs.
        ValueError: One line naming the file, for a damaged, stale or unsafe export.
    """

    def __init__(self, path: str | os.PathLike, backend: str = "onnx", threads: int | None = None) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown ONNX backend {backend!r} (known: {', '.join(BACKENDS)})")
        self.folder, self.backend = Path(path), backend
        self.onnx_folder = self.folder / ONNX_FOLDER
        manifest_path = self.onnx_folder / MANIFEST_FILE
        if not manifest_path.is_file():
            raise FileNotFoundError(f"{manifest_path}: no ONNX export in {self.folder} (stmtl export --model ...)")
        self.manifest = manifest = read_json(manifest_path)
        try:
            if manifest["format"] != FORMAT_VERSION:
                raise ValueError(f"format {manifest['format']!r}, this stmtl reads {FORMAT_VERSION}")
            self._check_source(manifest["source_weights"])
            tokenizer_file = self._inside(manifest["tokenizer"]["file"], self.onnx_folder)
            self.tokenizer = RunnerTokenizer(tokenizer_file, manifest["tokenizer"])
            self.sessions = {name: self._session(name, entry, threads) for name, entry in manifest["graphs"].items()}
            self.decoders = {entry["task"]: self._decoder(entry) for entry in manifest["heads"]}
            self.outputs = {head["task"]: head["output"] for head in manifest["heads"]}
        except (KeyError, TypeError) as error:
            raise ValueError(f"{manifest_path}: malformed ({type(error).__name__}: {error})") from None
        self.max_seq_length = self.tokenizer.max_seq_length

    # Loading ---------------------------------------------------------------------------------------------------

    def _inside(self, relative: str, base: Path) -> Path:
        """``base / relative``, refused unless it stays inside the model folder after symlinks."""
        target, root = os.path.realpath(base / relative), os.path.realpath(self.folder)
        if os.path.isabs(relative) or not target.startswith(root.rstrip(os.sep) + os.sep):
            raise ValueError(f"{self.onnx_folder / MANIFEST_FILE}: {relative!r} resolves outside the model folder")
        return Path(target)

    def _check_source(self, weights: dict[str, str]) -> None:
        """Refuse an export older than the weights now in the folder (files left out of the folder are skipped)."""
        for relative, digest in weights.items():
            path = self._inside(relative, self.folder)
            if path.is_file() and sha256(path) != digest:
                raise ValueError(
                    f"{path}: changed since {self.onnx_folder} was exported; export again "
                    f"(stmtl export --model {self.folder})"
                )

    def _session(self, name: str, entry: dict[str, Any], threads: int | None) -> Any:
        import onnxruntime as ort

        files = entry["files"]
        if self.backend not in files:
            option = " --quantize int8" if self.backend == "onnx-int8" else ""
            raise FileNotFoundError(
                f"{self.onnx_folder / graph_file(name, self.backend)}: not exported (stmtl export --model "
                f"{self.folder}{option})"
            )
        path = self._inside(files[self.backend]["file"], self.onnx_folder)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: missing graph named in {self.onnx_folder / MANIFEST_FILE}")
        if path.stat().st_size != files[self.backend]["bytes"] or sha256(path) != files[self.backend]["sha256"]:
            raise ValueError(f"{path}: damaged or truncated ONNX graph (its SHA-256 differs from {MANIFEST_FILE}'s)")
        check_graph_file(path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or 0
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only
        try:
            return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # ONNX Runtime raises its own exception types
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise ValueError(f"{path}: cannot load the ONNX graph ({first})") from None

    def _decoder(self, entry: dict[str, Any]) -> Any:
        """The decoder of one head, from its ``config.json`` (checked as the PyTorch loader checks it)."""
        manifest = self.onnx_folder / MANIFEST_FILE
        kind = kind_of_type(entry["type"])
        if kind is None:
            raise ValueError(f"{manifest}: {unknown_type_message(entry['type'], entry.get('kind'))}")
        if kind != entry["kind"]:
            raise ValueError(
                f"{manifest}: refusing head type {entry['type']!r}: it is a {kind} head, not {entry['kind']}"
            )
        try:
            decoder = decoder_class(kind)
        except ValueError as error:
            raise ValueError(f"{manifest}: head {entry['task']!r}: {error}; the ONNX backends cannot run it") from None
        path = self._inside(entry["config"], self.folder)
        config = read_json(path)
        try:
            if not isinstance(config, dict):
                raise HeadConfigError("config", "must be a JSON object")
            check_config(kind, config)
            if config["task"] != entry["task"]:
                raise HeadConfigError("task", f"{config['task']!r}, the export's head is {entry['task']!r}")
            width, expected = self._output_width(entry["output"]), decoder.output_width(config)
            if width is not None and width != expected:
                shown = f"{len(config['labels'])} labels" if "labels" in config else f"{expected} outputs"
                raise HeadConfigError("labels" if "labels" in config else "task", f"{shown}, the graph outputs {width}"
                                      " logits")  # fmt: skip
        except (HeadConfigError, ValueError) as error:
            raise ValueError(f"{path}: {error}") from None
        return decoder_for(kind, config)

    def _output_width(self, output: str) -> int | None:
        for item in self.sessions[MODEL_GRAPH].get_outputs():
            if item.name == output:
                width = item.shape[-1]
                return width if isinstance(width, int) else None
        raise ValueError(f"{self.onnx_folder / MANIFEST_FILE}: the graph has no output {output!r}")

    # Inference -------------------------------------------------------------------------------------------------

    @property
    def tasks(self) -> list[str]:
        """The heads' task names, in model order."""
        return list(self.decoders)

    def _run(self, graph: str, outputs: list[str], encoded: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        session = self.sessions[graph]
        feeds = {item.name: encoded[item.name] for item in session.get_inputs()}
        return dict(zip(outputs, session.run(outputs, feeds)))

    def predict(
        self,
        texts: Iterable[str],
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
        output_embedding: bool = False,
    ) -> list[dict[str, Any]]:
        """Every task on every text: what ``MultiTaskSentenceTransformer.predict`` returns, from the graphs.

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
        """Like :meth:`predict`, yielding results in input order while reading ``texts`` lazily."""
        check_predict_arguments(texts, batch_size)
        with _progress(texts, show_progress_bar, "Predicting") as update:
            yield from predict_in_windows(
                texts, batch_size, lambda batch: self._predict_batch(batch, output_embedding), self.max_seq_length,
                update,
            )  # fmt: skip

    def _predict_batch(self, texts: list[str], output_embedding: bool) -> tuple[list[dict[str, Any]], int]:
        encoded = self.tokenizer.encode(texts)
        lengths = encoded["attention_mask"].sum(axis=1).tolist()
        batch, truncated = build_text_batch(texts, encoded["offset_mapping"].tolist(), lengths, self.max_seq_length)
        outputs = list(self.outputs.values())
        in_model = output_embedding and ENCODER_GRAPH not in self.sessions
        out = self._run(MODEL_GRAPH, outputs + (["sentence_embedding"] if in_model else []), encoded)
        decoded = {task: self.decoders[task].decode(out[self.outputs[task]], batch) for task in self.decoders}
        embeddings = None
        if output_embedding:
            embeddings = out["sentence_embedding"] if in_model else self._embeddings(encoded)
        return predict_results(texts, decoded, embeddings), truncated

    def _embeddings(self, encoded: dict[str, np.ndarray]) -> np.ndarray:
        """``(batch, dimension)`` float32 sentence embeddings of the source encoder (what ``encode`` returns)."""
        graph = ENCODER_GRAPH if ENCODER_GRAPH in self.sessions else MODEL_GRAPH
        return self._run(graph, ["sentence_embedding"], encoded)["sentence_embedding"]

    def encode(
        self,
        inputs: str | Iterable[str],
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
        normalize_embeddings: bool = False,
        convert_to_numpy: bool = True,
    ) -> np.ndarray | list[np.ndarray]:
        """Sentence embeddings as ``SentenceTransformer.encode`` returns them (float32).

        Args:
            inputs: One text (gives a ``(dimension,)`` array) or an iterable of texts (``(n, dimension)``).
            batch_size: Texts per graph run.
            show_progress_bar: Show a tqdm bar (when tqdm is installed); ``None`` shows it at logging level INFO.
            normalize_embeddings: Scale each embedding to unit length.
            convert_to_numpy: One array (default); ``False`` gives a list of one array per text.

        Raises:
            TypeError: If an item is not a string, naming its index.
            ValueError: If a text is not valid Unicode, or ``batch_size`` is not positive.
        """
        single = isinstance(inputs, str)
        texts = [inputs] if single else inputs
        check_predict_arguments(texts, batch_size)
        with _progress(texts, show_progress_bar, "Batches") as update:
            rows = list(iter_in_windows(texts, batch_size, lambda batch: list(self._encode_batch(batch)), update))
        dimension = int(self.manifest["embedding_dimension"])
        embeddings = np.stack(rows) if rows else np.zeros((0, dimension), dtype=np.float32)
        if normalize_embeddings and len(embeddings):
            embeddings = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
        if single:
            return embeddings[0]
        return embeddings if convert_to_numpy else list(embeddings)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        return self._embeddings(self.tokenizer.encode(texts))

    def __repr__(self) -> str:
        return f"OnnxModel({str(self.folder)!r}, backend={self.backend!r}, tasks={self.tasks})"


class _progress:
    """A tqdm bar's ``update`` when a bar is wanted and tqdm is installed, else ``None``."""

    def __init__(self, texts: Any, show: bool | None, description: str) -> None:
        if show is None:
            show = logger.getEffectiveLevel() <= logging.INFO
        self.bar = None
        if show:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                return
            total = len(texts) if hasattr(texts, "__len__") else None
            self.bar = tqdm(total=total, desc=description, unit="text")

    def __enter__(self) -> Any:
        return None if self.bar is None else self.bar.update

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.close()
