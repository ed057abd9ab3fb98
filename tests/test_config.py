from __future__ import annotations

import dataclasses
import re
import typing

import pytest

from stmtl.config import Bounds, ConfigError, TaskConfig, TrainConfig

TASK = {"name": "intent", "kind": "sentence", "train": "data.jsonl"}


def test_config_unknown_key_named() -> None:
    with pytest.raises(ConfigError, match="'lerning_rate'"):
        TrainConfig.from_dict({"output_dir": "x", "tasks": [TASK], "lerning_rate": 1})


def test_config_unknown_task_key_named() -> None:
    with pytest.raises(ConfigError, match=r"tasks\[0\].wieght"):
        TrainConfig.from_dict({"output_dir": "x", "tasks": [{**TASK, "wieght": 2}]})


@pytest.mark.parametrize(
    ("key", "value"), [("epochs", "three"), ("batch_size", 2.5), ("mode", "parallel"), ("group_by_length", "yes")]
)
def test_config_wrong_type_named(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=f"'{key}'"):
        TrainConfig.from_dict({"output_dir": "x", "tasks": [TASK], key: value})


def test_config_missing_task_field_named() -> None:
    with pytest.raises(ConfigError, match=r"tasks\[0\].kind"):
        TrainConfig.from_dict({"output_dir": "x", "tasks": [{"name": "a", "train": "f"}]})


def test_config_yaml_with_overrides(tmp_path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("output_dir: out\nepochs: 2\ntasks:\n  - {name: intent, kind: sentence, train: a.jsonl}\n")
    config = TrainConfig.from_yaml(path, epochs=3.0, output_dir=None)
    assert config.epochs == 3.0 and config.output_dir == "out" and config.tasks[0].train == "a.jsonl"


def test_config_bad_yaml_named(tmp_path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("tasks: [unclosed\n")
    with pytest.raises(ConfigError, match="c.yaml"):
        TrainConfig.from_yaml(path)


@pytest.mark.parametrize(
    ("key", "value"), [("warmup_ratio", 1.0), ("encoder_dropout", 1.5), ("encoder_dropout", -0.1)]
)
def test_config_out_of_range_named(key: str, value: float) -> None:
    with pytest.raises(ConfigError, match=f"'{key}' must be in"):
        TrainConfig.from_dict({"output_dir": "x", "tasks": [TASK], key: value})


def test_config_save_total_limit_at_least_one() -> None:
    with pytest.raises(ConfigError, match="'save_total_limit' must be >= 1"):
        TrainConfig.from_dict({"output_dir": "x", "tasks": [TASK], "save_total_limit": 0})


NUMBER_HINTS = {int, float, int | None, float | None}


@pytest.mark.parametrize("cls", [TrainConfig, TaskConfig])
def test_config_every_numeric_field_declares_bounds(cls) -> None:
    hints = typing.get_type_hints(cls)
    numeric = [f.name for f in dataclasses.fields(cls) if hints[f.name] in NUMBER_HINTS]
    assert numeric and all(isinstance(f.metadata.get("bounds"), Bounds) for f in dataclasses.fields(cls)
                           if f.name in numeric), numeric  # fmt: skip
    for f in dataclasses.fields(cls):  # the defaults lie within
        assert f.default is None or f.name not in numeric or f.metadata["bounds"].contains(f.default), f.name


@pytest.mark.parametrize(
    ("key", "value", "bounds"),
    [
        ("max_steps", 0, ">= 1"), ("max_steps", -3, ">= 1"), ("max_grad_norm", -1.0, ">= 0"),
        ("eval_every", 0, ">= 1"), ("eval_every", -1, ">= 1"), ("max_seq_length", 0, ">= 1"),
        ("temperature", -1.0, ">= 0"), ("unfreeze_every", 0, ">= 1"), ("epochs", 0, "> 0"), ("epochs", -1.5, "> 0"),
        ("seed", -1, "in [0, 4294967295]"), ("lr_backbone", -1e-4, ">= 0"), ("layer_lr_decay", 0.0, "in (0, 1]"),
        ("layer_lr_decay", 1.5, "in (0, 1]"), ("label_smoothing", 1.0, "in [0, 1)"),
        ("lr_heads", float("nan"), ">= 0"), ("weight_decay", float("inf"), ">= 0"),
        ("early_stopping_patience", 0, ">= 1"), ("grad_cosine_every", 0, ">= 1"), ("min_steps", 0, ">= 1"),
        ("preserve_embeddings", -1.0, ">= 0"), ("shuffle_buffer", 0, ">= 1"), ("nan_patience", 0, ">= 1"),
    ],
)  # fmt: skip
def test_config_out_of_bounds_refused_naming_key_and_bounds(key, value, bounds) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"config key '{key}' must be {bounds}, got")):
        TrainConfig.from_dict({"output_dir": "x", "tasks": [TASK], key: value})
    config = TrainConfig(output_dir="x", tasks=[TaskConfig(**TASK)])  # built in Python: validate() checks it
    setattr(config, key, value)
    with pytest.raises(ConfigError, match=f"'{key}'"):
        config.validate()


@pytest.mark.parametrize(("key", "value"), [("dropout", 1.0), ("weight", -1.0), ("hidden_features", 0)])
def test_config_task_out_of_bounds_named(key, value) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"config key 'tasks[0].{key}' must be")):
        TrainConfig.from_dict({"output_dir": "x", "tasks": [{**TASK, key: value}]})


def test_config_bounds_allow_their_edges() -> None:
    edges = {"max_steps": 1, "max_grad_norm": 0.0, "temperature": 0.0, "layer_lr_decay": 1.0, "seed": 2**32 - 1,
             "lr_backbone": 0.0, "warmup_ratio": 0.0, "epochs": 0.5}  # fmt: skip
    config = TrainConfig.from_dict({"output_dir": "x", "tasks": [TASK], **edges})
    assert all(getattr(config, key) == value for key, value in edges.items())


def test_config_validate_only_checks() -> None:
    config = TrainConfig(output_dir="x", tasks=[TaskConfig(**TASK)], preserve_embeddings=3.0, freeze="backbone")
    before = config.to_dict()
    config.validate()
    assert config.to_dict() == before  # no default resolved in place (that is resolve_config's, once)


def test_config_task_options_are_a_mapping() -> None:
    config = TrainConfig.from_dict({"output_dir": "x", "tasks": [{**TASK, "options": {"prior_weight": 0.5}}]})
    assert config.tasks[0].options == {"prior_weight": 0.5}
    with pytest.raises(ConfigError, match=r"config key 'tasks\[0\].options': 'huber' is not of type dict"):
        TrainConfig.from_dict({"output_dir": "x", "tasks": [{**TASK, "options": "huber"}]})


def test_config_adapter_with_gradual_unfreezing_refused_naming_the_key() -> None:
    tasks = [{"name": "intent", "kind": "sentence", "train": "a.jsonl"}]
    with pytest.raises(ConfigError, match="'unfreeze_every'.*encoder 'full'"):
        TrainConfig.from_dict({"output_dir": "o", "tasks": tasks, "encoder": "adapter", "unfreeze_every": 10})
