from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import stmtl
from stmtl.onnx import bundle as bundle_module
from tests.decoding.test_torch_parity import assert_same_predictions


def test_bundle_holds_only_what_the_runner_reads_and_predicts_the_same(exported_model, tmp_path) -> None:
    target = tmp_path / "bundle"
    done = subprocess.run(  # as Dockerfile.serve runs it: the file alone, with the standard library only
        [sys.executable, bundle_module.__file__, exported_model, str(target), "--backend", "onnx-int8"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    files = sorted(path.relative_to(target).as_posix() for path in target.rglob("*") if path.is_file())
    assert files == [
        "2_SentenceClassificationHead/config.json", "3_TokenClassificationHead/config.json",
        "4_MultiLabelClassificationHead/config.json", "onnx/export.json", "onnx/model_qint8.onnx",
        "onnx/tokenizer.json",
    ]  # fmt: skip
    texts = ["book a table in rome tomorrow", "play music"]
    expected = stmtl.load(exported_model, backend="onnx-int8").predict(texts)
    assert_same_predictions(stmtl.load(target, backend="onnx-int8").predict(texts), expected, score_tolerance=0)
    with pytest.raises(FileNotFoundError, match="missing graph named in"):
        stmtl.load(target, backend="onnx")


def test_bundle_refuses_a_folder_without_the_backend(exported_model, tmp_path) -> None:
    with pytest.raises(ValueError, match="already exists"):
        bundle_module.bundle(exported_model, tmp_path)
    with pytest.raises(FileNotFoundError, match="no ONNX export"):
        bundle_module.bundle(tmp_path, tmp_path / "out")
    assert not Path(tmp_path / "out").exists()
