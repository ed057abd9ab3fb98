"""Training configuration: two small dataclasses, readable from YAML, checked key by key."""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from stmtl.adapters import DEFAULT_TARGETS as ADAPTER_TARGETS

DEFAULT_PRESERVATION = 1.0
"""Distillation weight of full fine-tuning (``encoder: full``) when ``preserve_embeddings`` is not given and the
training data has at least :data:`PRESERVE_FROM_ROWS` rows: the trained encoder still serves ``encode()`` (see the
docs/embeddings.md for what it costs the tasks)."""
PRESERVE_FROM_ROWS = 2_000
"""Below this many training rows the default is no preservation. Measured on SNIPS subsets without it, STS-B dev
moves by 0.9 points (112 rows) and 1.7 (1,000 rows) from the source model, against 28 on all 13,084 rows, while
preservation there costs 5 points or more of slot F1."""
logger = logging.getLogger(__name__)


class ConfigError(ValueError):
    """A configuration value or key is wrong; the message names it."""


@dataclass(frozen=True)
class Bounds:
    """The values a numeric config key allows: finite numbers from ``low`` to ``high`` (``None``: unbounded),
    each bound included unless ``low_open``/``high_open``.

    Declared once per field (``option(..., bounds=...)``), they are checked by :meth:`TrainConfig.validate` (naming
    the config key) and by the generated command-line flags (naming the flag, before anything heavy is imported).
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def __str__(self) -> str:
        if self.high is None:
            return f"{'>' if self.low_open else '>='} {self.low}"
        if self.low is None:
            return f"{'<' if self.high_open else '<='} {self.high}"
        return f"in {'(' if self.low_open else '['}{self.low}, {self.high}{')' if self.high_open else ']'}"

    def contains(self, value: float) -> bool:
        """Whether ``value`` is a finite number within the bounds."""
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return False
        above = self.low is None or (value > self.low if self.low_open else value >= self.low)
        return above and (self.high is None or (value < self.high if self.high_open else value <= self.high))


AT_LEAST_ONE = Bounds(1)
"""Counts of steps, rows, examples and evaluations."""
NON_NEGATIVE = Bounds(0)
"""Learning rates, weights and decay."""
FRACTION = Bounds(0, 1, high_open=True)
"""Ratios and probabilities below 1: warmup share, dropout, label smoothing."""


def option(default: Any, help: str, bounds: Bounds | None = None, **kwargs: Any) -> Any:
    """A config field with its help text and, for a number, its :class:`Bounds`: the one description a key has, in
    YAML docs and on the command line."""
    return field(default=default, metadata={"help": help, "bounds": bounds, **kwargs})


def bounds_of(cls: type, name: str) -> Bounds | None:
    """The declared bounds of the field ``name`` of a config dataclass."""
    return next(f.metadata.get("bounds") for f in dataclasses.fields(cls) if f.name == name)


def check_bounds(config: Any, prefix: str = "") -> None:
    """Refuse a numeric field of a config dataclass outside its declared bounds (``None`` is always allowed).

    Raises:
        ConfigError: Naming the key (``prefix`` + field name), the bounds and the value.
    """
    for f in dataclasses.fields(config):
        bounds, value = f.metadata.get("bounds"), getattr(config, f.name)
        if bounds is not None and value is not None and not bounds.contains(value):
            raise ConfigError(f"config key {prefix + f.name!r} must be {bounds}, got {value!r}")


@dataclass
class TaskConfig:
    """One task: its head and its data.

    Attributes:
        name: Task name; the head writes ``{name}_logits`` and results are keyed by it.
        kind: The head kind, one of :func:`stmtl.heads.registry.kinds` (``stmtl train --help`` lists them with the
            columns they read; a kind defined outside stmtl is registered with ``stmtl.register_head``).
        train: Training data: a joint-layout folder (its ``train/`` split), a ``.jsonl`` or CoNLL file, or a
            ``datasets.Dataset``. Tasks with the same ``train`` source share batches in ``joint`` mode.
        dev: Development data (same forms; a folder gives its ``dev/`` split). Used for evaluation, best-checkpoint
            selection, early stopping and dev-time head settings (e.g. a multi-label threshold).
        test: Test data, only for the final report.
        weight: Static loss weight.
        labels: Fixed label set; ``None`` collects it from the training data.
        hidden_features: Optional hidden layer in the head.
        dropout: Head dropout.
        options: The kind's own head settings, by config key (e.g. ``{"loss": "huber"}`` for a regression task);
            ``None`` for the kind's defaults.
    """

    name: str
    kind: str
    train: Any
    dev: Any = None
    test: Any = None
    weight: float = field(default=1.0, metadata={"bounds": NON_NEGATIVE})
    labels: list[str] | None = None
    hidden_features: int | None = field(default=None, metadata={"bounds": AT_LEAST_ONE})
    dropout: float = field(default=0.1, metadata={"bounds": FRACTION})
    options: dict[str, Any] | None = None


FLAG_GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "everyday": (
        "everyday options (what most runs set)",
        ("backbone", "encoder", "epochs", "max_steps", "batch_size", "lr_backbone", "lr_heads", "seed"),
    ),
    "data": (
        "data (how batches are read and mixed)",
        ("max_seq_length", "mode", "sampling", "temperature", "group_by_length", "streaming", "shuffle_buffer"),
    ),
    "model": (
        "model (heads, task adapter, losses and decisions)",
        (
            "head_init", "label_smoothing", "loss_weighting", "logit_adjustment", "prior_weight", "prior_objective",
            "adapter_rank", "adapter_targets", "adapter_dropout", "lr_adapter", "encoder_dropout",
        ),
    ),
    "schedule": (
        "schedule (steps, learning rate, evaluation)",
        (
            "min_steps", "warmup_ratio", "scheduler", "layer_lr_decay", "weight_decay", "max_grad_norm",
            "gradient_accumulation_steps", "eval_every", "early_stopping_patience", "eval_batch_size",
        ),
    ),
    "preservation": (
        "preservation (keep encode()'s embeddings near the source model's)",
        ("preserve_embeddings", "preserve_method", "sts"),
    ),
    "freezing": ("freezing (what does not train)", ("freeze", "frozen_head_loss", "unfreeze_every")),
    "checkpoints": (
        "checkpoints, logs and the run folder",
        ("save_total_limit", "log_every", "nan_patience", "report_to"),
    ),
    "advanced": ("advanced", ("mixed_precision", "cpu", "grad_cosine_every", "trust_remote_code")),
}  # fmt: skip
"""The ``stmtl train`` flags of :class:`TrainConfig`'s fields, by group, in the order ``--help`` shows them: group
name → (title, field names). Every field with a flag is in exactly one group."""


@dataclass
class TrainConfig:
    """Everything a training run needs; saved as ``training_config.json`` in the run folder.

    Every field but ``output_dir`` and ``tasks`` is also a ``stmtl train`` flag, generated from this class with its
    help text, default, choices and, for a number, its :class:`Bounds`. The defaults are the ones measured on SNIPS
    (docs/results.md).
    """

    output_dir: str
    tasks: list[TaskConfig] = field(default_factory=list)
    backbone: str | None = option(
        None,
        "local sentence-transformers or Hugging Face folder, or a saved stmtl model (its heads of the configured "
        "task names train on); none: all-MiniLM-L6-v2",
    )
    mode: Literal["joint", "interleave"] = option(
        "joint", "joint: tasks sharing a training source share batches; interleave: one task per batch"
    )
    sampling: Literal["proportional", "temperature", "uniform"] = option(
        "proportional", "how often each training stream is drawn (interleave mode or several sources)"
    )
    temperature: float = option(0.5, "T of temperature sampling (p ∝ size^T)", NON_NEGATIVE)
    epochs: float | None = option(
        None,
        "passes over the training data (fractions allowed); none: 3, or more to reach min_steps",
        Bounds(0, low_open=True),
    )
    max_steps: int | None = option(None, "stop after this many optimizer steps", AT_LEAST_ONE)
    min_steps: int = option(
        400, "fewest optimizer steps when epochs is not given (small data gets more epochs)", AT_LEAST_ONE
    )
    head_init: Literal["probe", "random"] = option(
        "probe",
        "probe: fit the heads on the frozen source encoder before fine-tuning (LP-FT; token heads only when the "
        "encoder is frozen); random: do not",
    )
    batch_size: int = option(32, "examples per step on each process", AT_LEAST_ONE)
    eval_batch_size: int = option(128, "examples per forward pass in evaluation", AT_LEAST_ONE)
    lr_backbone: float = option(1e-4, "peak learning rate of the shared encoder", NON_NEGATIVE)
    lr_heads: float = option(1e-3, "peak learning rate of the task heads", NON_NEGATIVE)
    layer_lr_decay: float = option(
        1.0, "learning-rate factor per encoder layer going down (1: no decay)", Bounds(0, 1, low_open=True)
    )
    weight_decay: float = option(0.01, "AdamW decoupled weight decay", NON_NEGATIVE)
    warmup_ratio: float = option(0.1, "share of steps with linear learning-rate warmup", FRACTION)
    scheduler: Literal["linear", "cosine", "constant"] = option("linear", "learning-rate schedule after warmup")
    max_grad_norm: float | None = option(1.0, "gradient clipping norm (0: no clipping)", NON_NEGATIVE)
    gradient_accumulation_steps: int = option(1, "batches per optimizer step", AT_LEAST_ONE)
    mixed_precision: Literal["no", "bf16", "fp16"] = option("no", "Accelerate mixed precision")
    freeze: str = option(
        "none",
        "parameters to freeze: none, all, backbone, embeddings, layers:A-B, layers:N, head:<task>, "
        "or a comma-separated combination",
    )
    frozen_head_loss: Literal["keep", "drop"] = option(
        "keep",
        "a head frozen by head:<task>: keep its loss (the encoder learns to keep serving the fixed head) or drop it "
        "(the task is only evaluated)",
    )
    unfreeze_every: int | None = option(None, "gradual unfreezing: one more encoder layer every N steps", AT_LEAST_ONE)
    loss_weighting: Literal["static", "uncertainty"] = option(
        "static", "static task weights, or learned uncertainty weighting"
    )
    label_smoothing: float = option(0.0, "label smoothing of the heads' losses", FRACTION)
    preserve_embeddings: float | None = option(
        None,
        f"full fine-tuning's embedding-preservation penalty weight (0: off; a weight implies encoder 'full'); none: "
        f"{DEFAULT_PRESERVATION:g} from {PRESERVE_FROM_ROWS:,} training rows, else 0 (0 with a task adapter, a frozen "
        "backbone or streaming)",
        NON_NEGATIVE,
    )
    preserve_method: Literal["distill", "l2sp"] = option("distill", "embedding-preservation penalty")
    encoder: Literal["full", "adapter"] | None = option(
        None,
        "adapter: freeze the shared encoder and train LoRA adapters that only the heads see (encode() stays the "
        "source model's, bit for bit); full: fine-tune the encoder (encode() moves, unless preserved); none: adapter, "
        "or full where other settings work on the encoder's own weights (freezing or unfreezing its parts, a "
        "preservation weight, layer-wise decay) or the backbone has no projection the adapter wraps",
    )
    adapter_rank: int = option(32, "LoRA rank of the task adapter (encoder adapter)", Bounds(1, 1024))
    adapter_targets: str = option(
        ",".join(ADAPTER_TARGETS), "encoder projections the task adapter wraps (comma-separated module names)"
    )
    adapter_dropout: float = option(0.1, "dropout on the task adapter's input in training", FRACTION)
    lr_adapter: float = option(2e-3, "peak learning rate of the task adapter", NON_NEGATIVE)
    encoder_dropout: float | None = option(
        None,
        "dropout of the shared encoder in training; none: the backbone's own, or 0 under distillation",
        FRACTION,
    )
    grad_cosine_every: int | None = option(None, "log the cosine between task gradients every N steps", AT_LEAST_ONE)
    max_seq_length: int | None = option(
        None,
        "truncation length in word pieces, at most the backbone's position limit; none: the backbone's default",
        AT_LEAST_ONE,
    )
    group_by_length: bool = option(True, "batch texts of similar length together (less padding)")
    streaming: bool = option(
        False, "read training files as they are consumed (corpora larger than RAM); needs max_steps"
    )
    shuffle_buffer: int = option(10_000, "rows in the shuffle buffer of a streamed training source", AT_LEAST_ONE)
    eval_every: int | None = option(None, "evaluate on dev every N steps; none: 10 evaluations per run", AT_LEAST_ONE)
    save_total_limit: int = option(
        1, "newest checkpoints kept whole, for --resume; the best one is kept too, weights only", AT_LEAST_ONE
    )
    early_stopping_patience: int | None = option(
        None, "stop after N evaluations without dev improvement", AT_LEAST_ONE
    )
    log_every: int = option(20, "steps between training-loss records", AT_LEAST_ONE)
    nan_patience: int = option(5, "consecutive non-finite steps tolerated before stopping", AT_LEAST_ONE)
    seed: int = option(42, "random seed (data order, initialisation, dropout)", Bounds(0, 2**32 - 1))
    logit_adjustment: bool = option(
        True, "train sentence heads on logits + log label prior (balanced error); off: plain cross-entropy"
    )
    prior_weight: float | None = option(
        None,
        "tau: weight of the label prior added to sentence heads' logits when deciding; none: chosen on dev for "
        "prior_objective",
        Bounds(0, 1),
    )
    prior_objective: Literal["accuracy", "balanced"] = option(
        "accuracy",
        "what tau is chosen for on dev: accuracy (test data follows the training frequencies) or balanced "
        "(balanced accuracy: every label counts the same)",
    )
    trust_remote_code: bool = option(
        False,
        "run Python code shipped in the backbone folder (auto_map): it runs with your permissions, so only for a "
        "folder you trust",
    )
    report_to: Literal["none", "tensorboard"] = option("none", "experiment tracker")
    cpu: bool = option(False, "train on the CPU even if a GPU is present")
    sts: str | None = option(
        None, "STS TSV (sentence1, sentence2, score): at the end, STS Spearman of the trained and the source model"
    )

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
        values = read_yaml(path)
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls.from_dict(values)

    def validate(self) -> None:
        """Check values that types alone do not catch: every number within its field's :class:`Bounds`, task names
        and kinds, the freeze policy and the combinations that cannot run. Only checks: the defaults that depend on
        the data are resolved once, into a new config, by :func:`stmtl.training.resolve.resolve_config`.

        Raises:
            ConfigError: Naming the key at fault.
        """
        if not self.tasks:
            raise ConfigError("config key 'tasks' is empty: give at least one task")
        names = [task.name for task in self.tasks]
        if len(set(names)) != len(names):
            raise ConfigError(f"config key 'tasks': task names must be distinct, got {names}")
        check_bounds(self)
        for index, task in enumerate(self.tasks):
            check_bounds(task, f"tasks[{index}].")
        check_freeze_syntax(self.freeze)
        if self.streaming and not self.max_steps:
            raise ConfigError("streaming: a streamed corpus has no known length, so set max_steps (the step budget)")
        # A streamed run's default weight is 0 (resolve_config), so only a weight given explicitly can clash.
        if self.streaming and (self.preserve_embeddings or 0) > 0 and self.preserve_method == "distill":
            raise ConfigError(
                "streaming: distillation caches source embeddings of every training row before training; "
                "use preserve_method 'l2sp' with streaming"
            )
        if self.encoder == "adapter" and self.unfreeze_every:
            raise ConfigError(
                "config key 'unfreeze_every': gradual unfreezing trains the encoder's own layers, which a task "
                "adapter keeps frozen; use encoder 'full' with it"
            )
        from stmtl.heads.registry import kinds

        for index, task in enumerate(self.tasks):
            if task.kind not in kinds():
                raise ConfigError(
                    f"config key 'tasks[{index}].kind': {task.kind!r} is not a head kind ({', '.join(kinds())}); a "
                    "kind defined outside stmtl must be registered first: stmtl.register_head(YourHead)"
                )

    def encoder_frozen(self) -> bool:
        """Whether ``encode()`` cannot move: the backbone is frozen, or only a task adapter trains."""
        frozen = bool({part.strip() for part in self.freeze.split(",")} & {"backbone", "all"})
        return frozen or self.encoder == "adapter"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able values (datasets passed in Python are shown by their repr)."""
        values = dataclasses.asdict(self)
        for task in values["tasks"]:
            for key in ("train", "dev", "test"):
                if task[key] is not None and not isinstance(task[key], (str, int, float)):
                    task[key] = f"<{type(task[key]).__name__} with {len(task[key])} rows>"
        return values


def read_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """The mapping a YAML config file holds, unchecked (importing nothing heavy).

    Raises:
        ConfigError: Naming the file, if it cannot be read, is not YAML or is not a mapping.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            values = yaml.safe_load(handle) or {}
    except OSError as error:
        raise ConfigError(f"{path}: cannot read config ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: invalid YAML ({str(error).splitlines()[0]})") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: the config must be a mapping of keys to values")
    return values


_FREEZE_PART = re.compile(r"^(none|all|backbone|embeddings|layers:\d+(-\d+)?|head:[A-Za-z][A-Za-z0-9_]*)$")


def check_freeze_syntax(policy: str) -> None:
    """Refuse a freeze policy that cannot parse, before any model loads (ranges and tasks are checked later).

    Raises:
        ConfigError: Naming the policy and the part that does not parse.
    """
    for part in (part.strip() for part in policy.split(",")):
        if not _FREEZE_PART.match(part):
            raise ConfigError(f"config key 'freeze': cannot parse {part!r} in {policy!r}")


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
    if origin is dict:
        key, item = typing.get_args(hint)
        return isinstance(value, dict) and all(_type_ok(k, key) and _type_ok(v, item) for k, v in value.items())
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
