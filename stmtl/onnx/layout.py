"""What ``onnx/`` inside a model folder holds, and its manifest ``export.json``; no torch, no onnx package.

Without a task adapter one graph, ``model.onnx``, maps token ids and attention mask (and token type ids when the
tokenizer gives them) to the sentence embedding, the token embeddings (when a head reads them) and every head's
logits. With a task adapter the heads read the adapted encoder and ``encode`` the source one: ``model.onnx`` holds
the adapted encoder (LoRA merged into a copy of the weights) and the heads, ``encoder.onnx`` the source encoder
with the embedding outputs. ``*_qint8.onnx`` are the int8 versions. The embedding outputs are always what
``encode`` returns, the logits what the heads compute.

``export.json`` records what the runner needs besides the heads' own ``config.json`` files (read from the model
folder, so a re-calibrated τ or threshold applies at once): the inputs, the tokenizer settings, each graph's
outputs, files and SHA-256, the heads (task, kind, config file, output) and the SHA-256 of the weight files the
graphs were made from (a model saved again over the folder makes the export stale, which the runner refuses).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from stmtl.adapters import ADAPTER_FOLDER
from stmtl.jsonio import read_json

ONNX_FOLDER = "onnx"
MANIFEST_FILE = "export.json"
TOKENIZER_FILE = "tokenizer.json"
FORMAT_VERSION = 1
MODEL_GRAPH = "model"
"""The graph ``predict`` runs: the heads' logits (and, without an adapter, the embeddings)."""
ENCODER_GRAPH = "encoder"
"""With a task adapter only: the source encoder, which ``encode`` runs."""
BACKENDS = {"onnx": "", "onnx-int8": "_qint8"}
"""Each ONNX backend of ``stmtl.load`` and the suffix of its graph files (``model.onnx``, ``model_qint8.onnx``)."""
MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
"""Inputs a graph may take, in this order."""


def graph_file(graph: str, backend: str) -> str:
    """The file name of ``graph`` (``"model"`` or ``"encoder"``) for ``backend`` (``"onnx"`` or ``"onnx-int8"``).

    Raises:
        ValueError: If ``backend`` is not an ONNX backend.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown ONNX backend {backend!r} (known: {', '.join(BACKENDS)})")
    return f"{graph}{BACKENDS[backend]}.onnx"


def source_weights(folder: str | os.PathLike) -> dict[str, str]:
    """SHA-256 of every weight file of the model's modules (encoder, heads, task adapter), by relative path."""
    folder = Path(folder)
    paths = [entry.get("path", "") for entry in read_json(folder / "modules.json")]
    if (folder / "heads.json").is_file():
        paths += [entry["path"] for entry in read_json(folder / "heads.json")]
    paths.append(ADAPTER_FOLDER)
    found = {}
    for subfolder in dict.fromkeys(paths):
        directory = folder / subfolder
        if directory.is_dir():
            for file in sorted(directory.glob("*.safetensors")):
                found[file.relative_to(folder).as_posix()] = sha256(file)
    return found


def sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file, read 4 MiB at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()
