from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from stmtl.onnx.graph_file import DamagedGraph, check_graph_file, external_locations


def _external(name: str, location: str) -> TensorProto:
    tensor = numpy_helper.from_array(np.zeros(4, dtype=np.float32), name)
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    tensor.external_data.add(key="location", value=location)
    tensor.external_data.add(key="length", value="16")
    return tensor


def _model_with_external_data_in_a_subgraph(location: str) -> onnx.ModelProto:
    """An ``If`` whose then-branch holds a Constant node with an external tensor attribute, plus a sparse
    initializer: places a check limited to the top-level initializers would miss."""
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])
    constant = helper.make_node("Constant", [], ["y"], value=_external("c", location))
    branch = helper.make_graph([constant], "then", [], [out])
    other = helper.make_graph([helper.make_node("Constant", [], ["y"], value=numpy_helper.from_array(
        np.ones(4, dtype=np.float32)))], "else", [], [out])  # fmt: skip
    condition = helper.make_tensor_value_info("flag", TensorProto.BOOL, [])
    node = helper.make_node("If", ["flag"], ["y"], then_branch=branch, else_branch=other)
    sparse = helper.make_sparse_tensor(_external("sv", "sparse.bin"), numpy_helper.from_array(
        np.array([0], dtype=np.int64), "si"), [4])  # fmt: skip
    graph = helper.make_graph([node], "g", [condition], [out], sparse_initializer=[sparse])
    return helper.make_model(graph)


def test_external_locations_found_in_subgraphs_and_sparse_tensors(tmp_path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(_model_with_external_data_in_a_subgraph("../../etc/passwd").SerializeToString())
    assert sorted(external_locations(path)) == ["../../etc/passwd", "sparse.bin"]
    with pytest.raises(ValueError, match="refusing external data '../../etc/passwd'"):
        check_graph_file(path)


def test_missing_external_file_named(tmp_path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(_model_with_external_data_in_a_subgraph("weights.bin").SerializeToString())
    (tmp_path / "sparse.bin").write_bytes(b"\0" * 16)
    with pytest.raises(ValueError, match="external data 'weights.bin' is missing"):
        check_graph_file(path)


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "no graph"), (b"\x3a\xff\xff\xff\x7f", "runs past the end"), (b"\x0b\x00", "unknown wire type"),
     (b"not an onnx file at all", "unknown wire type 6")],
)  # fmt: skip
def test_damaged_files_refused(tmp_path, content, reason) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(content)
    with pytest.raises(DamagedGraph, match=reason):
        external_locations(path)
    with pytest.raises(ValueError, match=f"^{path}: damaged or truncated ONNX graph"):
        check_graph_file(path)
