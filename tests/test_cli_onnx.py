"""``stmtl export``, ``--backend`` on predict and encode, and ``stmtl serve``'s argument checks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from stmtl.cli import main
from tests.test_cli_startup import HEAVY, run_cli

ROOT = Path(__file__).resolve().parents[1]


def test_cli_export_then_predict_and_encode_with_each_backend(exported_model, tmp_path, capsys) -> None:
    folder = tmp_path / "model"
    shutil.copytree(exported_model, folder, ignore=shutil.ignore_patterns("onnx"))
    from transformers.utils import logging as transformers_logging

    transformers_logging.enable_progress_bar()  # as in a fresh process: export's own load must not show its bar
    assert main(["export", "--model", str(folder), "--quantize", "int8"]) == 0
    printed, errors = capsys.readouterr()
    assert "Loading weights" not in errors
    assert "model.onnx" in printed and "model_qint8.onnx" in printed and "largest difference" in printed
    texts = ["book a table in rome", "play music by adele"]
    answers = {}
    for backend in ("torch", "onnx", "onnx-int8"):
        assert main(["predict", "--model", str(folder), "--backend", backend, *texts]) == 0
        answers[backend] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        output = tmp_path / f"{backend}.npy"
        source = tmp_path / "texts.txt"
        source.write_text("\n".join(texts) + "\n")
        assert main(["encode", "--model", str(folder), "--backend", backend, "--input", str(source),
                     "--output", str(output)]) == 0  # fmt: skip
        assert "2 embeddings of dimension 32" in capsys.readouterr().out
    assert [a["intent"]["label"] for a in answers["onnx"]] == [a["intent"]["label"] for a in answers["torch"]]
    assert [a["text"] for a in answers["onnx-int8"]] == texts
    assert np.abs(np.load(tmp_path / "onnx.npy") - np.load(tmp_path / "torch.npy")).max() < 1e-4


def test_cli_predict_onnx_imports_no_torch(exported_model) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "stmtl", "predict", "--model", exported_model, "--backend",
         "onnx-int8", "book a table"], capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    modules = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time")}
    assert not modules & {"torch", "transformers", "sentence_transformers", "datasets"}
    assert json.loads(done.stdout)["text"] == "book a table"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["export", "--model", "/nonexistent"], "--model /nonexistent: no such model folder"),
        (["export", "--model", "MODEL", "--quantize", "int4"], "argument --quantize: invalid choice"),
        (["serve", "--model", "/nonexistent"], "--model /nonexistent: no such model folder"),
        (["serve", "--model", "MODEL", "--port", "70000"], "argument --port: must be in [0, 65535], got 70000"),
        (["serve", "--model", "MODEL", "--max-texts", "0"], "argument --max-texts: must be in [1, 100000], got 0"),
        (["predict", "--model", "MODEL", "--backend", "tensorrt", "x"], "argument --backend: invalid choice"),
        (["export", "--model", "NOT_A_MODEL"], "not a saved model (no modules.json)"),
    ],
)  # fmt: skip
def test_cli_export_and_serve_answer_before_heavy_imports(argv, message, tmp_path) -> None:
    names = {"MODEL": str(tmp_path), "NOT_A_MODEL": str(tmp_path)}
    returncode, err, modules = run_cli(*(names.get(arg, arg) for arg in argv))
    assert returncode == 2 and message in err.strip().splitlines()[-1], err
    assert not [name for name in HEAVY if name in modules]
