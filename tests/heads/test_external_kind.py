"""A head kind defined here, outside stmtl, registered with stmtl.register_head: it reads its own column, trains,
saves, reloads and predicts, without a line of stmtl changed. Unregistered, nothing of it works, and a saved model
with it stops with one line naming the kind and how to register it."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import datasets
import numpy as np
import pyarrow as pa
import pytest
import torch
from torch import nn

import stmtl
from stmtl.config import ConfigError, TaskConfig, TrainConfig
from stmtl.data import DataError, read_jsonl
from stmtl.data.inferred_tasks import infer_tasks
from stmtl.heads import TaskHead
from stmtl.heads.registry import unregister_head
from tests.helpers import TOY

POSITIVE = {"PlayMusic", "BookRestaurant"}


@dataclass(frozen=True)
class PolarityDecoder:
    """Torch-free: the probability that a text is positive."""

    config_checks: ClassVar[dict[str, Any]] = {}
    required_keys: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def check_config(cls, config: Mapping[str, Any]) -> None:
        """Nothing to check."""

    @staticmethod
    def output_width(config: Mapping[str, Any]) -> int:
        return 1

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> PolarityDecoder:
        return cls()

    def decode(self, logits: np.ndarray, batch: Any = None) -> list[dict[str, float]]:
        return [{"positive": float(1 / (1 + np.exp(-row[0])))} for row in np.asarray(logits, dtype=np.float64)]


class PolarityHead(TaskHead):
    """Whether a text is positive (column ``polarity``: ``pos`` or ``neg``), one logit."""

    kind = "polarity"
    default_input_name = "sentence_embedding"
    default_task_name = "polarity"
    columns = {"polarity": datasets.Value("string")}
    decoder_class = PolarityDecoder
    metric_keys = ("accuracy",)
    selection_key = "accuracy"

    def __init__(self, task: str, in_features: int, **kwargs: Any) -> None:
        super().__init__(task, in_features, 1, **kwargs)

    @classmethod
    def for_task(cls, task: str, data: Any, in_features: int, **options: Any) -> PolarityHead:
        return cls(task, in_features, **options)

    def encode_targets(self, batch: pa.Table, alignment: Any) -> pa.Array:
        return pa.array([1.0 if value == "pos" else 0.0 for value in batch.column("polarity").to_pylist()])

    def collate_targets(self, targets: list[float], seq_len: int) -> torch.Tensor:
        return torch.tensor(targets, dtype=torch.float32)  # (batch,)

    def loss(self, features: dict[str, Any], batch: dict[str, torch.Tensor], label_smoothing: float = 0.0):
        logits = features[self.logits_key].float()[:, 0]  # (batch,)
        return nn.functional.binary_cross_entropy_with_logits(logits, batch[self.target_column].to(logits.device))

    def reference(self, row: dict[str, Any]) -> str:
        return row["polarity"]

    def scored_form(self, result: dict[str, float], word_spans: Any) -> str:
        return "pos" if result["positive"] >= 0.5 else "neg"

    def metric(self) -> Any:
        from stmtl.heads.sentence.metric import SentenceClassificationMetric

        return SentenceClassificationMetric(keep_in_memory=True)


@pytest.fixture
def registered() -> Iterator[type[PolarityHead]]:
    stmtl.register_head(PolarityHead)
    yield PolarityHead
    unregister_head("polarity")


@pytest.fixture
def data(tmp_path) -> str:
    path = tmp_path / "polarity.jsonl"
    rows = [{"text": text, "polarity": "pos" if label in POSITIVE else "neg"} for text, label, _ in TOY]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return str(path)


def _config(output: Any, backbone: str, data: str) -> TrainConfig:
    tasks = [TaskConfig("polarity", "polarity", data, dev=data)]
    return TrainConfig(str(output), tasks, backbone=backbone, max_steps=60, batch_size=4, lr_heads=0.01, cpu=True)


def test_external_kind_reads_trains_saves_reloads_and_predicts(registered, data, tiny_backbone, tmp_path) -> None:
    assert infer_tasks(data) == [{"name": "polarity", "kind": "polarity", "train": data, "dev": None, "test": None}]
    assert read_jsonl(data).features["polarity"] == datasets.Value("string")
    model, results = stmtl.train(_config(tmp_path / "run", tiny_backbone, data))
    assert results["dev"]["polarity"]["accuracy"] == 1.0  # the toy set is learned (dev is the training data)
    heads = json.loads((tmp_path / "run" / "heads.json").read_text())
    assert [(entry["kind"], entry["type"]) for entry in heads] == [("polarity", f"{__name__}.PolarityHead")]

    loaded = stmtl.load(tmp_path / "run", device="cpu")
    assert isinstance(loaded.heads["polarity"], PolarityHead)
    texts = [text for text, _, _ in TOY]
    assert loaded.predict(texts) == model.predict(texts)
    assert [result["polarity"]["positive"] >= 0.5 for result in loaded.predict(texts)] == [
        label in POSITIVE for _, label, _ in TOY
    ]


def test_external_kind_unregistered_is_refused_everywhere(registered, data, tiny_backbone, tmp_path) -> None:
    stmtl.train(_config(tmp_path / "run", tiny_backbone, data))
    unregister_head("polarity")
    with pytest.raises(ConfigError, match="'polarity' is not a head kind .*stmtl.register_head"):
        _config(tmp_path / "again", tiny_backbone, data).validate()
    with pytest.raises(DataError, match="key 'polarity' is read by no head kind"):
        read_jsonl(data)
    with pytest.raises(ValueError) as info:
        stmtl.load(tmp_path / "run", device="cpu")
    message = str(info.value)
    assert "\n" not in message and "(kind 'polarity')" in message
    assert "stmtl.register_head(PolarityHead)" in message
