from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import torch

from stmtl.alignment import align_batch
from stmtl.heads import MultiLabelClassificationHead, TextBatch

LABELS = ["music", "travel", "weather"]


def _batch(n: int) -> TextBatch:
    return TextBatch(texts=["x"] * n, word_spans=[[]] * n, first_pieces=[[]] * n)


def test_multilabel_head_writes_one_logit_per_label() -> None:
    head = MultiLabelClassificationHead("topics", LABELS, in_features=8)
    features = head({"sentence_embedding": torch.randn(4, 8)})
    assert features["topics_logits"].shape == (4, 3)


def test_multilabel_head_targets_are_multi_hot_and_skip_unknown_labels() -> None:
    head = MultiLabelClassificationHead("topics", LABELS, in_features=8)
    batch = pa.table({"labels": [["weather", "music"], [], ["unknown"]]})
    targets = head.encode_targets(
        batch, align_batch(*[np.zeros(shape, dtype=np.int64) for shape in ((0, 2), 3, (0, 2), 3)])
    )
    targets = targets.to_pylist()
    assert targets == [[1.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    assert head.collate_targets(targets, seq_len=7).shape == (3, 3)


def test_multilabel_head_loss_is_binary_cross_entropy() -> None:
    head = MultiLabelClassificationHead("topics", LABELS, in_features=2)
    logits = torch.tensor([[2.0, -1.0, 0.5]])
    batch = {"labels.topics": torch.tensor([[1.0, 0.0, 1.0]])}
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits, batch["labels.topics"])
    assert torch.allclose(head.loss({"topics_logits": logits}, batch), expected)


def test_multilabel_head_decode_labels_above_threshold_most_probable_first() -> None:
    head = MultiLabelClassificationHead("topics", LABELS, in_features=2, threshold=0.6)
    logits = torch.logit(torch.tensor([[0.7, 0.2, 0.9], [0.1, 0.5, 0.59]]))
    decoded = head.decode({"topics_logits": logits}, _batch(2))
    assert [item["label"] for item in decoded[0]] == ["weather", "music"]
    assert decoded[0][0]["score"] == pytest.approx(0.9)
    assert decoded[1] == []
    assert head.scored_form(decoded[0], []) == ["music", "weather"]


def test_multilabel_head_threshold_saved_and_reloaded(tmp_path) -> None:
    head = MultiLabelClassificationHead("topics", LABELS, in_features=4, threshold=0.3)
    head.save(str(tmp_path))
    loaded = MultiLabelClassificationHead.load(str(tmp_path))
    assert loaded.threshold == 0.3 and loaded.get_config_dict() == head.get_config_dict()


def test_multilabel_head_calibrate_picks_dev_threshold() -> None:
    from datasets import Dataset

    head = MultiLabelClassificationHead("topics", LABELS, in_features=2)
    # Gold labels have probability 0.3 and the others 0.1: only a threshold in (0.1, 0.3] is right everywhere.
    probabilities = torch.tensor([[0.3, 0.1, 0.1], [0.1, 0.3, 0.3], [0.1, 0.1, 0.3]])

    class Model:
        def encode(self, texts, output_value, show_progress_bar):
            assert output_value == "topics_logits" and len(texts) == 3
            return list(torch.logit(probabilities))

    dev = Dataset.from_dict({"text": ["a", "b", "c"], "labels": [["music"], ["travel", "weather"], ["weather"]]})
    settings = head.calibrate(Model(), dev)
    assert 0.1 < head.threshold <= 0.3
    assert settings == {"threshold": head.threshold, "dev_micro_f1": 1.0}


def test_multilabel_head_rejects_bad_threshold() -> None:
    with pytest.raises(ValueError, match="threshold"):
        MultiLabelClassificationHead("topics", LABELS, in_features=2, threshold=1.0)


def test_multilabel_head_calibrate_keeps_threshold_on_empty_dev() -> None:
    from datasets import Dataset

    head = MultiLabelClassificationHead("topics", LABELS, in_features=2, threshold=0.4)
    empty = Dataset.from_dict({"text": [], "labels": []})
    assert head.calibrate(None, empty) is None and head.threshold == 0.4
