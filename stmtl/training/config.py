"""Training configuration: two small dataclasses, readable from YAML, checked key by key."""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml


class ConfigError(ValueError):
    """A configuration value or key is wrong; the message names it."""


@dataclass
class TaskConfig:
    """One task: its head and its data.

    Attributes:
        name: Task name; the head writes ``{name}_logits`` and results are keyed by it.
        kind: ``"sentence"`` (one label per text, column ``label``) or ``"token"`` (IOB2 tags, ``tokens``/``tags``).
        train: Training data: a joint-layout folder (its ``train/`` split), a ``.jsonl`` or CoNLL file, or a
            ``datasets.Dataset``. Tasks with the same ``train`` source share batches in ``joint`` mode.
        dev: Development data (same forms; a folder gives its ``dev/`` split). Used for evaluation, best-checkpoint
            selection and early stopping.
        test: Test data, only for the final report.
        weight: Static loss weight.
        labels: Fixed label set; ``None`` collects it from the training data (sorted, ``O`` first for tags).
        hidden_features: Optional hidden layer in the head.
        dropout: Head dropout.
    """

    name: str
    kind: Literal["sentence", "token"]
    train: Any
    dev: Any = None
    test: Any = None
    weight: float = 1.0
    labels: list[str] | None = None
    hidden_features: int | None = None
    dropout: float = 0.1


@dataclass
class TrainConfig:
    """Everything a training run needs; saved as ``training_config.json`` in the run folder.

    The defaults are the ones measured on SNIPS (see the README's results section).
    """

    output_dir: str
    tasks: list[TaskConfig] = field(default_factory=list)
    backbone: str | None = None
    mode: Literal["joint", "interleave"] = "joint"
    sampling: Literal["proportional", "temperature", "uniform"] = "proportional"
    temperature: float = 0.5
    epochs: float = 8.0
    max_steps: int | None = None
    batch_size: int = 32
    eval_batch_size: int = 128
    lr_backbone: float = 1e-4
    lr_heads: float = 1e-3
    layer_lr_decay: float = 1.0
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    scheduler: Literal["linear", "cosine", "constant"] = "linear"
    max_grad_norm: float | None = 1.0
    gradient_accumulation_steps: int = 1
    mixed_precision: Literal["no", "bf16", "fp16"] = "no"
    freeze: str = "none"
    unfreeze_every: int | None = None
    loss_weighting: Literal["static", "uncertainty"] = "static"
    label_smoothing: float = 0.0
    preserve_embeddings: float = 0.0
    preserve_method: Literal["distill", "l2sp"] = "distill"
    encoder_dropout: float | None = None  # None: the backbone's own, but 0 under distillation (see preservation.py)
    grad_cosine_every: int | None = None
    max_seq_length: int | None = None
    group_by_length: bool = True
    eval_every: int | None = None
    save_total_limit: int = 2
    early_stopping_patience: int | None = None
    log_every: int = 20
    nan_patience: int = 5
    seed: int = 42
    report_to: Literal["none", "tensorboard"] = "none"
    cpu: bool = False

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build and check a config from plain values (e.g. parsed YAML).

        Raises:
            ConfigError: Naming an unknown key, a missing required key or a value of the wrong type.
        """
        values = dict(values)
        tasks = values.pop("tasks", [])
        if not isinstance(tasks, list):
            raise ConfigError(f"config key 'tasks' must be a list, got {type(tasks).__name__}")
        config = _build(cls, values, "")
        config.tasks = [
            task if isinstance(task, TaskConfig) else _build(TaskConfig, task, f"tasks[{i}].")
            for i, task in enumerate(tasks)
        ]
        config.validate()
        return config

    @classmethod
    def from_yaml(cls, path: str | os.PathLike, **overrides: Any) -> TrainConfig:
        """Read a YAML config; ``overrides`` (e.g. from the CLI) replace its top-level keys."""
        try:
            with open(path, encoding="utf-8") as handle:
                values = yaml.safe_load(handle) or {}
        except OSError as error:
            raise ConfigError(f"{path}: cannot read config ({error.strerror})") from None
        except yaml.YAMLError as error:
            raise ConfigError(f"{path}: invalid YAML ({str(error).splitlines()[0]})") from None
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: the config must be a mapping of keys to values")
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls.from_dict(values)

    def validate(self) -> None:
        """Check values that types alone do not catch."""
        if not self.tasks:
            raise ConfigError("config key 'tasks' is empty: give at least one task")
        names = [task.name for task in self.tasks]
        if len(set(names)) != len(names):
            raise ConfigError(f"config key 'tasks': task names must be distinct, got {names}")
        for key in ("batch_size", "eval_batch_size", "gradient_accumulation_steps", "log_every", "nan_patience"):
            if getattr(self, key) < 1:
                raise ConfigError(f"config key {key!r} must be >= 1, got {getattr(self, key)}")
        if self.epochs <= 0 and not self.max_steps:
            raise ConfigError("config key 'epochs' must be > 0 (or set max_steps)")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ConfigError(f"config key 'warmup_ratio' must be in [0, 1), got {self.warmup_ratio}")
        if self.encoder_dropout is not None and not 0.0 <= self.encoder_dropout < 1.0:
            raise ConfigError(f"config key 'encoder_dropout' must be in [0, 1), got {self.encoder_dropout}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able values (datasets passed in Python are shown by their repr)."""
        values = dataclasses.asdict(self)
        for task in values["tasks"]:
            for key in ("train", "dev", "test"):
                if task[key] is not None and not isinstance(task[key], (str, int, float)):
                    task[key] = f"<{type(task[key]).__name__} with {len(task[key])} rows>"
        return values


def _build(cls: type, values: Any, prefix: str) -> Any:
    """Instantiate a config dataclass, checking every key and value type."""
    if not isinstance(values, dict):
        raise ConfigError(f"config key {prefix.rstrip('.') or 'root'!r} must be a mapping")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(f"unknown config key {prefix + str(key)!r} (valid keys: {', '.join(sorted(fields))})")
        if isinstance(value, os.PathLike):
            value = values[key] = os.fspath(value)
        if not _type_ok(value, hints[key]):
            raise ConfigError(f"config key {prefix + key!r}: {value!r} is not of type {_type_name(hints[key])}")
    missing = [
        name
        for name, f in fields.items()
        if name not in values and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"missing config key {prefix + missing[0]!r}")
    return cls(**values)


def _type_ok(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, arg) for arg in typing.get_args(hint))
    if origin is Literal:
        return value in typing.get_args(hint)
    if origin is list:
        (item,) = typing.get_args(hint)
        return isinstance(value, list) and all(_type_ok(v, item) for v in value)
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _type_name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is Literal:
        return " | ".join(repr(v) for v in typing.get_args(hint))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(arg) for arg in typing.get_args(hint))
    return getattr(hint, "__name__", str(hint))
