"""``stmtl export``: a saved model's graphs into its own ``onnx/`` folder, through ``torch.onnx.export``.

Each graph (:mod:`stmtl.onnx.layout`) is traced by the exporter of torch 2.x (``dynamo=True``: ``torch.export``,
then ONNX through onnxscript) with dynamic batch and sequence axes, then tidied with the ``onnx`` package: the
exporter's per-node metadata (Python stack traces with local paths) is dropped, the head nodes are named
``heads.<task>/...`` (so quantization can leave them in float) and the graph is checked. Before anything is kept,
the graphs run in ONNX Runtime on probe texts next to the PyTorch model: outputs that differ by more than
:data:`TOLERANCE`, or a tokenizer that tokenizes otherwise, fail the export. The folder is written whole or not at
all (:func:`stmtl.atomic.atomic_folder`), with ``export.json`` naming every file and its SHA-256.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import io
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import stmtl
from stmtl.atomic import atomic_folder
from stmtl.jsonio import read_json, write_json
from stmtl.onnx.layout import (
    ENCODER_GRAPH,
    FORMAT_VERSION,
    MANIFEST_FILE,
    MODEL_GRAPH,
    MODEL_INPUTS,
    ONNX_FOLDER,
    TOKENIZER_FILE,
    graph_file,
    sha256,
    source_weights,
)

TOLERANCE = 1e-3
"""Largest absolute difference between an fp32 graph's outputs and PyTorch's that an export accepts."""
PROBE_TEXTS = (
    "Book a table for two at Nobu in Malibu at 8pm",
    "  what's   the weather in São Paulo 🌧️ tomorrow?",
    "",
    "play (the) song ,, e\u0301te\u0301 Zürich",
)
"""Texts the export runs through both backends (varied lengths, padding, spaces, accents, emoji, an empty text)."""
_SINGLE_FILE_LIMIT = 1_800_000_000
"""A graph larger than this keeps its weights in an external data file beside it (protobuf's limit is 2 GB)."""

logger = logging.getLogger(__name__)


class _Graph(nn.Module):
    """Encoder modules then heads, from input tensors to a tuple of named features."""

    def __init__(self, encoder: list[nn.Module], heads: list[nn.Module], inputs: list[str], outputs: list[str]):
        super().__init__()
        self.encoder = nn.ModuleList(encoder)
        self.heads = nn.ModuleDict({head.task: head for head in heads})
        self.inputs, self.outputs = inputs, outputs
        self.eval()

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, ...]:
        given = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
        features: dict[str, Any] = {name: given[name] for name in self.inputs}  # each (batch, sequence)
        for module in self.encoder:
            features = module(features)
        for head in self.heads.values():
            features = head(features)
        return tuple(features[name] for name in self.outputs)


def export_onnx(path: str | os.PathLike, quantize: str | None = None) -> dict[str, Any]:
    """Export the model saved in ``path`` into ``path/onnx`` (replacing an earlier export there).

    Args:
        path: A saved stmtl model folder.
        quantize: ``"int8"`` to add the dynamically quantized graphs (:mod:`stmtl.onnx.quantize`), or ``None``.

    Returns:
        The manifest written to ``onnx/export.json``.

    Raises:
        ValueError: If ``quantize`` is unknown, the model cannot be exported (a default prompt, a slow tokenizer,
            an operator the exporter lacks) or an exported graph does not match PyTorch on the probe texts.
        FileNotFoundError: If ``path`` is not a saved model.
    """
    if quantize not in (None, "int8"):
        raise ValueError(f"quantize must be 'int8' or None, got {quantize!r}")
    from stmtl.loading import load

    folder = Path(path)
    model = load(folder, device="cpu")
    model.eval()
    _check_exportable(model, folder)
    _plain_attention(model)
    features = model.preprocess(list(PROBE_TEXTS))
    inputs = [name for name in MODEL_INPUTS if name in features]
    heads = list(model.heads.values())
    embeddings = ["sentence_embedding", *sorted({h.module_input_name for h in heads} - {"sentence_embedding"})]
    logits = [head.logits_key for head in heads]
    source, adapted = _encoders(model)
    graphs = (
        {MODEL_GRAPH: _Graph(source, heads, inputs, embeddings + logits)}
        if model.task_adapter is None
        else {
            ENCODER_GRAPH: _Graph(source, [], inputs, embeddings),
            MODEL_GRAPH: _Graph(adapted, heads, inputs, logits),
        }
    )
    with atomic_folder(folder / ONNX_FOLDER) as staging:
        staging = Path(staging)
        tokenizer = _write_tokenizer(model, staging)
        manifest: dict[str, Any] = {
            "format": FORMAT_VERSION, "stmtl_version": stmtl.__version__, "torch_version": torch.__version__,
            "inputs": inputs, "tokenizer": tokenizer, "embedding_dimension": model.get_embedding_dimension(),
            "heads": _head_entries(folder, model), "graphs": {}, "source_weights": source_weights(folder),
        }  # fmt: skip
        expected = _reference_outputs(model, features)
        for name, module in graphs.items():
            target = staging / graph_file(name, "onnx")
            _export_graph(module, features, target)
            differences = _compare(target, features, expected, module.outputs)
            manifest["graphs"][name] = {"outputs": module.outputs, "files": {"onnx": _file_entry(target)},
                                        "max_abs_diff": {"onnx": differences}}  # fmt: skip
            if quantize == "int8":
                from stmtl.onnx.quantize import quantize_int8

                quantized = staging / graph_file(name, "onnx-int8")
                manifest["quantization"] = quantize_int8(target, quantized)
                manifest["graphs"][name]["files"]["onnx-int8"] = _file_entry(quantized)
                manifest["graphs"][name]["max_abs_diff"]["onnx-int8"] = _compare(
                    quantized, features, expected, module.outputs, tolerance=None
                )
        write_json(staging / MANIFEST_FILE, manifest, indent=2)
    return manifest


def _check_exportable(model: Any, folder: Path) -> None:
    if getattr(model, "default_prompt_name", None):
        raise ValueError(
            f"{folder}: the model prepends prompt {model.default_prompt_name!r} in encode; the ONNX runner does not "
            "apply prompts, so this model cannot be exported"
        )
    if not hasattr(model.tokenizer, "backend_tokenizer"):
        raise ValueError(f"{folder}: the tokenizer is not a fast (Rust) tokenizer; the ONNX runner needs one")
    for head in model.heads.values():
        if head.decoder_class is None:
            raise ValueError(
                f"{folder}: head {head.task!r} ({head.kind}) has no torch-free decoder (decoder_class); the ONNX "
                "backends cannot decode it, so the model cannot be exported"
            )


def _plain_attention(model: Any) -> None:
    """Trace the encoder's plain ("eager") attention, softmax over masked scores, where the backbone offers it: the
    exporter turns PyTorch's fused attention into a longer graph (guards for fully masked rows) that ran about 5%
    slower in ONNX Runtime on MiniLM. The results agree within float rounding."""
    auto_model = getattr(model[0], "auto_model", None)
    if hasattr(auto_model, "set_attn_implementation"):
        try:
            auto_model.set_attn_implementation("eager")
        except (ValueError, ImportError, NotImplementedError) as error:
            logger.info(f"keeping the backbone's attention for export ({error})")


def _encoders(model: Any) -> tuple[list[nn.Module], list[nn.Module]]:
    """The source encoder's modules and the heads' encoder's: the same without an adapter; with one, two copies, the
    LoRA wrappers taken out of the first and merged into the weights of the second (no extra cost per token)."""
    shared = model.shared_modules
    adapter = model.task_adapter
    if adapter is None:
        return shared, shared
    from stmtl.adapters import wrapped_layers

    with adapter.removed():
        source = copy.deepcopy(shared)
    adapted = copy.deepcopy(shared)
    for parent, name, layer in wrapped_layers(adapted[0].auto_model):
        layer.merge(safe_merge=True)  # base weight += (alpha / rank) * B @ A
        setattr(parent, name, layer.get_base_layer())
    return source, adapted


def _reference_outputs(model: Any, features: dict[str, Any]) -> dict[str, np.ndarray]:
    """PyTorch's outputs on the probe batch: embeddings of the source encoder, logits of the heads' encoder."""
    batch = {key: value for key, value in features.items() if key in MODEL_INPUTS}
    with torch.inference_mode():
        out = model(dict(batch))
        with model._source_encoder():
            source = dict(batch)
            for module in model.shared_modules:
                source = module(source)
    values = {head.logits_key: out[head.logits_key] for head in model.heads.values()}
    values.update({key: value for key, value in source.items() if key not in values and torch.is_tensor(value)})
    return {key: value.float().numpy() for key, value in values.items()}


def _export_graph(module: _Graph, features: dict[str, Any], target: Path) -> None:
    """Trace ``module`` into ``target`` with dynamic batch and sequence axes, then tidy it."""
    import onnx

    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence")
    args = tuple(features[name] for name in module.inputs)
    quiet = io.StringIO()
    try:
        with contextlib.redirect_stdout(quiet), _quiet_loggers(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's notes on axis names and deprecations
            torch.onnx.export(
                module, args, str(target), input_names=module.inputs, output_names=module.outputs,
                dynamic_shapes=tuple({0: batch, 1: sequence} for _ in args), dynamo=True, external_data=False,
                optimize=True, verbose=False,
            )  # fmt: skip
    except Exception as error:
        raise ValueError(f"{target.name}: torch.onnx.export failed ({_summary(error)})") from error
    graph = onnx.load(str(target))
    _tidy(graph)
    onnx.checker.check_model(graph)
    big = graph.ByteSize() > _SINGLE_FILE_LIMIT
    onnx.save_model(graph, str(target), save_as_external_data=big, location=f"{target.name}.data")


def _summary(error: BaseException) -> str:
    """The line of an exporter error that says what failed (its cause's, when the exporter wraps it)."""
    cause = error.__cause__ or error
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return f"{type(cause).__name__}: {lines[0]}" if lines else type(cause).__name__


def _tidy(graph: Any) -> None:
    """Drop per-node metadata and shape annotations (re-inferred by ONNX Runtime), name the heads' nodes."""
    del graph.graph.value_info[:]  # the quantizer's shape inference disagrees with some the exporter writes
    for node in graph.graph.node:
        scopes = next((entry.value for entry in node.metadata_props if entry.key == "pkg.torch.onnx.name_scopes"), "")
        head = next((scope for scope in _literal_list(scopes) if scope.startswith("heads.")), None)
        if head is not None:
            node.name = f"{'.'.join(head.split('.')[:2])}/{node.name}"
        del node.metadata_props[:]
        node.doc_string = ""
    graph.producer_name, graph.producer_version = "stmtl", stmtl.__version__


def _literal_list(text: str) -> list[str]:
    try:
        value = ast.literal_eval(text) if text else []
    except (ValueError, SyntaxError):
        return []
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


@contextlib.contextmanager
def _quiet_loggers():
    """The exporter logs a warning per missing optional package (torchvision ops); keep them out of the CLI."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch._export", "onnxscript")]
    levels = [item.level for item in loggers]
    for item in loggers:
        item.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for item, level in zip(loggers, levels):
            item.setLevel(level)


def _write_tokenizer(model: Any, staging: Path) -> dict[str, Any]:
    """Save the fast tokenizer as ``tokenizer.json`` with the settings ``encode`` calls it with; check that the
    runner's tokenization gives the same ids and offsets as sentence-transformers' on the probe texts."""
    from stmtl.onnx.tokenization import RunnerTokenizer

    tokenizer = model.tokenizer
    settings = {
        "file": TOKENIZER_FILE, "max_seq_length": int(model.max_seq_length),
        "pad_id": int(tokenizer.pad_token_id or 0), "pad_token": tokenizer.pad_token or "[PAD]",
        "pad_type_id": int(getattr(tokenizer, "pad_token_type_id", 0) or 0),
        "padding_side": tokenizer.padding_side, "truncation_side": tokenizer.truncation_side,
    }  # fmt: skip
    (staging / TOKENIZER_FILE).write_text(tokenizer.backend_tokenizer.to_str(), encoding="utf-8")
    ours = RunnerTokenizer(staging / TOKENIZER_FILE, settings).encode(list(PROBE_TEXTS))
    reference = model.preprocess(list(PROBE_TEXTS), processing_kwargs={"text": {"return_offsets_mapping": True}})
    for key in ("input_ids", "attention_mask", "token_type_ids", "offset_mapping"):
        if key in reference and not np.array_equal(ours[key], reference[key].numpy()):
            raise ValueError(f"{TOKENIZER_FILE}: the saved tokenizer gives other {key} than the model's")
    return settings


def _head_entries(folder: Path, model: Any) -> list[dict[str, Any]]:
    """Task, kind, config file (relative to the model folder) and output of every head, in model order."""
    entries = read_json(folder / "heads.json")
    by_task = {entry["task"]: entry for entry in entries}
    return [
        {"task": head.task, "kind": head.kind, "config": f"{by_task[head.task]['path']}/config.json",
         "type": by_task[head.task]["type"], "output": head.logits_key,
         "num_outputs": head.decoder_class.output_width(head.get_config_dict()) if head.decoder_class else None}
        for head in model.heads.values()
    ]  # fmt: skip


def _file_entry(path: Path) -> dict[str, Any]:
    return {"file": path.name, "bytes": path.stat().st_size, "sha256": sha256(path)}


def _compare(
    path: Path, features: dict[str, Any], expected: dict[str, np.ndarray], outputs: list[str],
    tolerance: float | None = TOLERANCE,
) -> dict[str, float]:  # fmt: skip
    """Largest absolute difference of each output of the graph at ``path`` from PyTorch's (real tokens only)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [item.name for item in session.get_inputs()]
    values = session.run(outputs, {name: features[name].numpy() for name in names})
    mask = features["attention_mask"].numpy().astype(bool)  # (batch, sequence)
    differences = {}
    for name, value in zip(outputs, values):
        gap = np.abs(value - expected[name])
        if gap.ndim == 3:  # (batch, sequence, width): padding positions carry nothing
            gap = gap[mask]
        differences[name] = float(gap.max()) if gap.size else 0.0
        if tolerance is not None and not differences[name] <= tolerance:
            raise ValueError(
                f"{path.name}: output {name!r} differs from PyTorch by {differences[name]:.2e} (over {tolerance:g})"
            )
    return differences
