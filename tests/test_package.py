from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import stmtl

ROOT = Path(__file__).resolve().parents[1]
API = [
    "MultiTaskSentenceTransformer", "TaskConfig", "TaskHead", "TrainConfig", "build", "default_backbone",
    "export_onnx", "load", "register_head", "train", "SentenceClassificationHead", "TokenClassificationHead",
    "MultiLabelClassificationHead",
]  # fmt: skip


def test_package_public_names_are_listed_by_dir_and_resolve() -> None:
    from stmtl.config import TaskConfig, TrainConfig
    from stmtl.heads import SentenceClassificationHead
    from stmtl.heads.registry import head_class_names
    from stmtl.training.run import train

    public = [name for name in dir(stmtl) if not name.startswith("_")]
    assert public == sorted({*API, *head_class_names(), "heads"})  # every builtin kind's class too
    assert (stmtl.train, stmtl.TrainConfig, stmtl.TaskConfig) == (train, TrainConfig, TaskConfig)
    assert stmtl.SentenceClassificationHead is SentenceClassificationHead
    assert set(API) <= set(stmtl.__all__)


def test_package_import_and_dir_do_not_import_torch() -> None:
    code = "import sys, json, stmtl; names = dir(stmtl); print(json.dumps(['torch' in sys.modules, len(names)]))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert json.loads(out)[0] is False


def test_package_train_from_python(tiny_backbone, tmp_path) -> None:
    from tests.helpers import toy_dataset

    data = toy_dataset()
    tasks = [stmtl.TaskConfig("intent", "sentence", train=data, dev=data), stmtl.TaskConfig("slots", "token", data)]
    settings = {"backbone": tiny_backbone, "max_steps": 2, "batch_size": 4, "cpu": True, "preserve_embeddings": 1.0}
    config = stmtl.TrainConfig(output_dir=str(tmp_path / "run"), tasks=tasks, **settings)
    model, results = stmtl.train(config)
    saved = json.loads((tmp_path / "run" / "training_config.json").read_text())
    assert saved["encoder_dropout"] == 0.0  # validated as from_dict would: distillation turns encoder dropout off
    assert config.encoder_dropout is None  # on a copy: the caller's config stays as given
    assert results["steps"] == 2 and set(model.heads) == {"intent", "slots"}
    assert stmtl.load(tmp_path / "run").predict(["play music by adele"])[0]["intent"]["label"] in data.unique("label")
