"""What the ONNX runner refuses before running anything, each time with one line naming the file."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import stmtl
from stmtl.onnx.layout import sha256


@pytest.fixture
def folder(exported_model, tmp_path) -> Path:
    copy = tmp_path / "model"
    shutil.copytree(exported_model, copy)
    return copy


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "onnx" / "export.json").read_text())


def _write_manifest(folder: Path, manifest: dict) -> None:
    (folder / "onnx" / "export.json").write_text(json.dumps(manifest))


def _one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


def test_predict_runs_where_torch_cannot_be_imported(exported_model) -> None:
    script = (
        "import sys\n"
        "class NoTorch:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('torch', 'transformers', 'sentence_transformers'):\n"
        "            raise ImportError(f'{name} is not installed here')\n"
        "sys.meta_path.insert(0, NoTorch())\n"
        "import json, stmtl\n"
        f"model = stmtl.load({exported_model!r}, backend='onnx-int8')\n"
        "result = model.predict(['book a table in paris tomorrow'], output_embedding=True)[0]\n"
        "embedding = result.pop('sentence_embedding')\n"
        "print(json.dumps({'result': result, 'dimension': len(embedding), 'encode': model.encode(['a']).shape[1]}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(answer["result"]) == {"text", "intent", "ner", "topics"}
    assert answer["dimension"] == answer["encode"] == 32


def test_truncated_graph_refused_naming_the_file(folder) -> None:
    graph = folder / "onnx" / "model.onnx"
    graph.write_bytes(graph.read_bytes()[: graph.stat().st_size // 2])
    with pytest.raises(ValueError) as error:
        stmtl.load(folder, backend="onnx")
    assert _one_line(error).startswith(f"{graph}: damaged or truncated ONNX graph")
    manifest = _manifest(folder)  # a manifest that matches the damaged file: the structure check finds it
    manifest["graphs"]["model"]["files"]["onnx"].update(bytes=graph.stat().st_size, sha256=sha256(graph))
    _write_manifest(folder, manifest)
    with pytest.raises(ValueError, match="runs past the end") as error:
        stmtl.load(folder, backend="onnx")
    assert _one_line(error).startswith(f"{graph}: damaged or truncated ONNX graph")


def _with_external_data(folder: Path, location: str) -> Path:
    """Re-save the fp32 graph with its weights in an external file at ``location`` (relative to onnx/)."""
    import onnx

    graph = folder / "onnx" / "model.onnx"
    model = onnx.load(str(graph))
    onnx.save_model(model, str(graph), save_as_external_data=True, location="weights.bin", size_threshold=1024)
    data = folder / "onnx" / "weights.bin"
    target = (folder / "onnx" / location).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    if target != data.resolve():
        shutil.move(data, target)
        model = onnx.load(str(graph), load_external_data=False)
        for tensor in model.graph.initializer:
            for entry in tensor.external_data:
                if entry.key == "location":
                    entry.value = location
        onnx.save_model(model, str(graph))
    manifest = _manifest(folder)
    manifest["graphs"]["model"]["files"]["onnx"].update(bytes=graph.stat().st_size, sha256=sha256(graph))
    _write_manifest(folder, manifest)
    return graph


def test_external_data_inside_the_model_folder_loads(folder) -> None:
    _with_external_data(folder, "data/model.bin")
    texts = ["book a table for two"]
    assert np.allclose(
        stmtl.load(folder, backend="onnx").encode(texts), stmtl.load(folder.parent / "model").encode(texts), atol=1e-4
    )


@pytest.mark.parametrize("location", ["../weights.bin", "../../outside.bin", "/tmp/stmtl-absolute-weights.bin"])
def test_external_data_outside_the_graph_folder_refused(folder, location) -> None:
    graph = _with_external_data(folder, location)
    with pytest.raises(ValueError) as error:
        stmtl.load(folder, backend="onnx")
    assert _one_line(error).startswith(f"{graph}: refusing external data {location!r}")
    Path("/tmp/stmtl-absolute-weights.bin").unlink(missing_ok=True)


def test_stale_export_refused_after_the_model_is_saved_again(folder) -> None:
    weights = folder / "2_SentenceClassificationHead" / "model.safetensors"
    model = stmtl.load(folder)
    with torch.no_grad():
        model.heads["intent"].classifier[-1].bias.add_(1.0)
    model.save(str(folder))
    with pytest.raises(ValueError) as error:
        stmtl.load(folder, backend="onnx")
    assert _one_line(error).startswith(f"{weights}: changed since") and "stmtl export" in str(error.value)


def test_missing_int8_graph_says_how_to_export_it(folder) -> None:
    manifest = _manifest(folder)
    del manifest["graphs"]["model"]["files"]["onnx-int8"]
    _write_manifest(folder, manifest)
    with pytest.raises(FileNotFoundError, match="--quantize int8"):
        stmtl.load(folder, backend="onnx-int8")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m["heads"][0].update(config="../../../etc/passwd"), "resolves outside the model folder"),
        (lambda m: m["heads"][0].update(type="evil.module.Head"), "refusing head type 'evil.module.Head'"),
        (lambda m: m["graphs"]["model"]["files"]["onnx"].update(file="/etc/hostname"), "outside the model folder"),
        (lambda m: m.pop("heads"), "malformed"),
    ],
)  # fmt: skip
def test_tampered_manifest_refused(folder, change, message) -> None:
    manifest = _manifest(folder)
    change(manifest)
    _write_manifest(folder, manifest)
    with pytest.raises(ValueError, match=message) as error:
        stmtl.load(folder, backend="onnx")
    _one_line(error)


def test_head_config_checked_against_the_graph(folder) -> None:
    config_path = folder / "2_SentenceClassificationHead" / "config.json"
    config = json.loads(config_path.read_text())
    config["labels"] = config["labels"] + ["Extra"]
    config["prior"] = [0.5, 0.3, 0.1, 0.1]
    config_path.write_text(json.dumps(config))
    with pytest.raises(ValueError) as error:
        stmtl.load(folder, backend="onnx")
    assert _one_line(error).startswith(f"{config_path}: key 'labels': 4 labels, the graph outputs 3 logits")
    config["labels"], config["prior"], config["prior_weight"] = config["labels"][:3], [0.6, 0.3, 0.1], -1
    config_path.write_text(json.dumps(config))
    with pytest.raises(ValueError, match="prior_weight"):
        stmtl.load(folder, backend="onnx")


def test_decision_settings_come_from_the_head_config(folder) -> None:
    """A re-calibrated τ or threshold in config.json applies to the ONNX runner as to the PyTorch model."""
    path = folder / "4_MultiLabelClassificationHead" / "config.json"
    config = json.loads(path.read_text())
    config["threshold"] = 0.05
    path.write_text(json.dumps(config))
    texts = ["play music", "weather in rome"]
    onnx_topics = [result["topics"] for result in stmtl.load(folder, backend="onnx").predict(texts)]
    torch_topics = [result["topics"] for result in stmtl.load(folder).predict(texts)]
    assert [[item["label"] for item in row] for row in onnx_topics] == [[i["label"] for i in r] for r in torch_topics]
    assert all(len(row) == 3 for row in onnx_topics)
