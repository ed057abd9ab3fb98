"""int8 graphs: dynamic quantization with one activation scale per token, so a text's answer never depends on the
texts it is batched with.

What is quantized, and why:

* ``MatMul`` with a constant weight: every linear projection of the encoder (attention query, key, value and
  output, feed-forward in and out), which hold nearly all of its arithmetic. Weights become int8, symmetric, with
  one scale per output channel. Activations are quantized at run time, **per token**: each token's vector gets the
  scale ``max|x| / 127`` (``ReduceMax`` of ``Abs``), is quantized by ``QuantizeLinear`` (blocked along the hidden
  axis, opset 21) to uint8 around the zero point 128, multiplied by ``MatMulIntegerToFloat`` (an ONNX Runtime
  contrib operator: integer product, then the weight scales) and scaled back by its own scale.
* Not the attention products (query·key and weights·value): both sides are activations, and at these sequence
  lengths they cost little.
* Not the task heads (nodes ``heads.<task>/...``): a few hundred multiply-adds per token, and their logits are the
  decisions themselves.
* Not the word-embedding lookup (``Gather``): a lookup has no arithmetic to save; quantizing it only shrinks the file.
* LayerNorm, softmax, GELU, pooling and normalization stay in float32.

Why not ``onnxruntime.quantization.quantize_dynamic``: it quantizes each activation tensor with one scale for the
whole batch (padding included), so a text's logits depend on the other texts of its batch. Measured on a SNIPS
model (intent + slots on all-MiniLM-L6-v2, 700 test texts): between batch size 32 and 1, 26 to 29 texts got other
slot spans and intent probabilities moved by up to 0.12, and a server that batches concurrent requests would
answer a text differently depending on its neighbours. Per-token scales give the same answer whatever the batch,
at the same speed on an AVX2 CPU, and lost less accuracy (test slot F1 +0.05, dev -0.30 against the float graph,
where quantize_dynamic with per-channel weights lost 0.23 and 0.17 and batch-size-dependent results; with one
weight scale per tensor 0.51 and 0.58; with 7-bit weights (``reduce_range``) 4.3 and 5.2). ONNX Runtime's 8-bit
``MatMulNBits`` (blockwise, also batch-independent) was no faster than float32 on that CPU.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

QUANTIZED_OPERATORS = ("MatMul",)
EXCLUDED_PREFIX = "heads."
"""Nodes named with this prefix (the task heads, see :mod:`stmtl.onnx.export`) stay in float."""
OPSET = 21
"""The default-domain opset the int8 graph needs (blocked ``QuantizeLinear``)."""
CONTRIB_DOMAIN = "com.microsoft"
ZERO_POINT = 128
SETTINGS = {
    "method": "dynamic, per token", "operators": list(QUANTIZED_OPERATORS),
    "weights": "int8, symmetric, one scale per output channel",
    "activations": "per token: scale max|x|/127 at run time, uint8 around zero point 128",
    "excluded": "task heads, attention products, embeddings", "contrib_operators": ["MatMulIntegerToFloat"],
}  # fmt: skip
"""What ``export.json`` records about the int8 graphs."""


def quantize_int8(source: Path, target: Path) -> dict[str, Any]:
    """Write the int8 version of the float graph ``source`` to ``target``.

    Returns:
        The settings used (:data:`SETTINGS`), as ``export.json`` records them.
    """
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    floats = {tensor.name: tensor for tensor in graph.initializer if tensor.data_type == onnx.TensorProto.FLOAT}
    constants = [
        numpy_helper.from_array(np.array([-1], dtype=np.int64), "quant.last_axis"),
        numpy_helper.from_array(np.array(1e-12, dtype=np.float32), "quant.smallest_scale"),
        numpy_helper.from_array(np.array(1 / 127, dtype=np.float32), "quant.per_level"),
        numpy_helper.from_array(np.array(1.0, dtype=np.float32), "quant.one"),
        numpy_helper.from_array(np.array(ZERO_POINT, dtype=np.uint8), "quant.zero_point"),
    ]
    weights: dict[str, tuple[str, str]] = {}  # float weight -> (int8 weight, per-channel scales)
    tokens: dict[str, tuple[str, str]] = {}  # activation -> (quantized, per-token scales)
    nodes = []
    for node in graph.node:
        weight = floats.get(node.input[1]) if node.op_type == "MatMul" and len(node.input) == 2 else None
        if weight is None or len(weight.dims) != 2 or node.name.startswith(EXCLUDED_PREFIX) or node.input[0] in floats:
            nodes.append(node)
            continue
        if weight.name not in weights:
            values = numpy_helper.to_array(weight).astype(np.float32)  # (in, out)
            scales = np.abs(values).max(axis=0) / 127  # (out,)
            scales[scales == 0] = 1.0
            quantized = np.clip(np.round(values / scales), -127, 127).astype(np.int8)
            names = (f"{weight.name}.int8", f"{weight.name}.scale")
            constants += [numpy_helper.from_array(quantized, names[0]), numpy_helper.from_array(scales, names[1])]
            weights[weight.name] = names
        source_name = node.input[0]
        if source_name not in tokens:
            tokens[source_name] = (f"{source_name}.uint8", f"{source_name}.scale")
            nodes += _token_quantization(helper, source_name, *tokens[source_name], width=weight.dims[0])
        quantized_input, token_scale = tokens[source_name]
        nodes += [
            helper.make_node("MatMulIntegerToFloat", [quantized_input, weights[weight.name][0], "quant.one",
                             weights[weight.name][1], "quant.zero_point"], [f"{node.output[0]}.unscaled"],
                             name=f"{node.name}.int8", domain=CONTRIB_DOMAIN),
            helper.make_node("Mul", [f"{node.output[0]}.unscaled", token_scale], [node.output[0]],
                             name=f"{node.name}.rescale"),
        ]  # fmt: skip
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in graph.node for name in node.input} | {output.name for output in graph.output}
    kept = [tensor for tensor in [*graph.initializer, *constants] if tensor.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            entry.version = max(entry.version, OPSET)
    if not any(entry.domain == CONTRIB_DOMAIN for entry in model.opset_import):
        model.opset_import.append(helper.make_opsetid(CONTRIB_DOMAIN, 1))
    onnx.save_model(model, str(target))
    return dict(SETTINGS)


def _token_quantization(helper: Any, source: str, quantized: str, scale: str, width: int) -> list[Any]:
    """Nodes giving ``scale`` (``(..., 1)``: ``max|x| / 127`` per token) and ``quantized`` (uint8, ``x / scale +
    128``) of the activation ``source`` (``(..., width)``)."""
    return [
        helper.make_node("Abs", [source], [f"{source}.abs"], name=f"{source}.abs"),
        helper.make_node("ReduceMax", [f"{source}.abs", "quant.last_axis"], [f"{source}.max"], keepdims=1,
                         name=f"{source}.max"),
        helper.make_node("Max", [f"{source}.max", "quant.smallest_scale"], [f"{source}.max_or_tiny"],
                         name=f"{source}.max_or_tiny"),
        helper.make_node("Mul", [f"{source}.max_or_tiny", "quant.per_level"], [scale], name=scale),
        helper.make_node("Shape", [scale], [f"{source}.scale_shape"], name=f"{source}.scale_shape"),
        helper.make_node("ConstantOfShape", [f"{source}.scale_shape"], [f"{source}.zero_points"],
                         value=helper.make_tensor("value", 2, [1], [ZERO_POINT]), name=f"{source}.zero_points"),
        helper.make_node("QuantizeLinear", [source, scale, f"{source}.zero_points"], [quantized], axis=-1,
                         block_size=width, name=quantized),
    ]  # fmt: skip
