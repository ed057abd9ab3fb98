from __future__ import annotations

import pytest

from stmtl.decoding import decoder_class
from stmtl.heads.registry import head_types, kind_of_type
from stmtl.onnx.layout import graph_file


def test_every_head_class_resolves_to_its_kind_and_decoder_without_torch() -> None:
    for kind, cls in head_types().items():
        assert kind_of_type(f"{cls.__module__}.{cls.__name__}") == kind
        assert decoder_class(kind) is cls.decoder_class  # what the runner decodes with is the head's own
        assert cls.config_checks == cls.decoder_class.config_checks


def test_graph_file_names() -> None:
    assert graph_file("model", "onnx") == "model.onnx" and graph_file("encoder", "onnx-int8") == "encoder_qint8.onnx"
    with pytest.raises(ValueError, match="unknown ONNX backend 'onnx-fp16'"):
        graph_file("model", "onnx-fp16")
