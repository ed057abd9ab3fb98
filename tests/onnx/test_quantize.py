from __future__ import annotations

from collections import Counter
from pathlib import Path

import onnx
import pytest

import stmtl
from tests.decoding.test_torch_parity import assert_same_predictions
from tests.helpers import TOY, TRICKY_TEXTS

TEXTS = [*TRICKY_TEXTS, *(text for text, _, _ in TOY), "x " * 80]


def test_int8_graph_quantizes_the_encoder_projections_only(exported_model) -> None:
    graph = onnx.load(str(Path(exported_model) / "onnx" / "model_qint8.onnx"))
    kinds = Counter(node.op_type for node in graph.graph.node)
    assert kinds["MatMulIntegerToFloat"] == 12  # 2 layers x (query, key, value, attention output, in, out)
    assert kinds["QuantizeLinear"] == 8  # query, key and value share their input's quantization
    heads = [node for node in graph.graph.node if node.name.startswith("heads.")]
    assert heads and all(node.op_type != "MatMulIntegerToFloat" for node in heads)
    assert {entry.domain: entry.version for entry in graph.opset_import}["com.microsoft"] == 1
    weights = [tensor for tensor in graph.graph.initializer if tensor.name.endswith(".int8")]
    assert len(weights) == 12 and all(tensor.data_type == onnx.TensorProto.INT8 for tensor in weights)


@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_answers_do_not_depend_on_the_batch(exported_model, backend) -> None:
    """Per-token activation scales: a text's answer is the same alone or batched with any others."""
    model = stmtl.load(exported_model, backend=backend)
    alone = model.predict(TEXTS, batch_size=1, output_embedding=True)
    together = model.predict(TEXTS, batch_size=len(TEXTS), output_embedding=True)
    for a, b in zip(alone, together):
        assert abs(a.pop("sentence_embedding") - b.pop("sentence_embedding")).max() < 1e-5
    assert_same_predictions(together, alone, score_tolerance=1e-5)
