from __future__ import annotations

import pytest

from stmtl.model_format import HEAD_CLASSES
from stmtl.onnx.layout import HEAD_KINDS, graph_file
from stmtl.onnx.runner import EXTRA_CHECKS


def test_head_kinds_cover_every_head_class() -> None:
    assert HEAD_KINDS == {name: cls.kind for name, cls in HEAD_CLASSES.items()}
    assert EXTRA_CHECKS == {cls.kind: dict(cls.extra_checks) for cls in HEAD_CLASSES.values()}


def test_graph_file_names() -> None:
    assert graph_file("model", "onnx") == "model.onnx" and graph_file("encoder", "onnx-int8") == "encoder_qint8.onnx"
    with pytest.raises(ValueError, match="unknown ONNX backend 'onnx-fp16'"):
        graph_file("model", "onnx-fp16")
