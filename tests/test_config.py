from __future__ import annotations

import pytest

from stmtl.config import ConfigError, TrainConfig

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


def test_config_save_total_limit_at_least_one(tmp_path, capsys) -> None:
    from stmtl.cli import main
    from tests.helpers import write_joint_folder

    with pytest.raises(ConfigError, match="'save_total_limit' must be >= 1"):
        TrainConfig.from_dict({"output_dir": "x", "tasks": [TASK], "save_total_limit": 0})
    data = write_joint_folder(tmp_path / "data", splits=("train",))
    assert main(["train", "--data", data, "--output", str(tmp_path / "run"), "--save-total-limit", "0"]) == 2
    assert "save_total_limit" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("rows", "overrides", "weight", "dropout"),
    [
        (13_084, {}, 1.0, 0.0),  # enough data to move the encoder far: distillation, which turns dropout off
        (1_000, {}, 0.0, None),  # small data: the encoder hardly drifts, and preservation would cost the tasks
        (13_084, {"freeze": "backbone"}, 0.0, None),
        (13_084, {"preserve_embeddings": 0.0}, 0.0, None),
        (500, {"preserve_embeddings": 3.0}, 3.0, 0.0),  # an explicit weight is kept whatever the data size
    ],
)
def test_default_preservation_depends_on_training_rows(rows, overrides, weight, dropout) -> None:
    values = {"output_dir": "out", "tasks": [{"name": "intent", "kind": "sentence", "train": "a.jsonl"}]}
    config = TrainConfig.from_dict({**values, **overrides})
    config.resolve_preservation(rows)
    assert config.preserve_embeddings == weight and config.encoder_dropout == dropout
