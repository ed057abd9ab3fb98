"""Head configs: wrong types, repeated labels and absurd sizes are refused naming the file and the key."""

from __future__ import annotations

import json

import pytest
import torch

from stmtl.heads import MultiLabelClassificationHead, SentenceClassificationHead

BAD_VALUES = [
    ("labels", "ABCDEFG"),
    ("labels", ["A", "B", "A"]),
    ("labels", ["A", 2]),
    ("labels", [f"label{i}" for i in range(1_000_000)]),
    ("in_features", "8"),
    ("in_features", True),
    ("dropout", "0.1"),
    ("dropout", 1.5),
    ("hidden_features", 1e12),
    ("hidden_features", 10**12),
    ("task", ["intent"]),
    ("task", "text"),  # predict's results hold the text under that key
    ("module_input_name", 3),
    ("unknown_key", 1),
]


@pytest.fixture
def no_allocation(monkeypatch):
    """Fail any layer construction with a clear marker, to see that refusals come before allocation."""

    def refuse(self, *args, **kwargs):
        raise AssertionError("a layer was allocated")

    monkeypatch.setattr(torch.nn.Linear, "__init__", refuse)


@pytest.mark.parametrize(("key", "value"), BAD_VALUES, ids=[f"{key}-{str(value)[:12]}" for key, value in BAD_VALUES])
def test_validation_bad_config_value_names_file_and_key(tmp_path, key, value, request) -> None:
    SentenceClassificationHead("intent", list("ABCDEFG"), in_features=8).save(str(tmp_path))
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, key: value}))
    request.getfixturevalue("no_allocation")
    with pytest.raises(ValueError, match=rf"config\.json: key '{key}'"):
        SentenceClassificationHead.load(str(tmp_path))


def test_validation_missing_config_key_named(tmp_path) -> None:
    SentenceClassificationHead("intent", ["A", "B"], in_features=8).save(str(tmp_path))
    config = json.loads((tmp_path / "config.json").read_text())
    del config["in_features"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"config\.json: key 'in_features'"):
        SentenceClassificationHead.load(str(tmp_path))


def test_validation_constructor_refuses_a_string_of_labels() -> None:
    with pytest.raises(ValueError, match="'labels'"):
        SentenceClassificationHead("intent", "ABC", in_features=8)


def test_validation_multilabel_threshold_type_named(tmp_path) -> None:
    MultiLabelClassificationHead("topics", ["a", "b"], in_features=8).save(str(tmp_path))
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "threshold": "0.5"}))
    with pytest.raises(ValueError, match=r"config\.json: key 'threshold'"):
        MultiLabelClassificationHead.load(str(tmp_path))
