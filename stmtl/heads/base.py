"""The shared base of task heads: a small network that is a sentence-transformers module and owns its task.

A head reads one feature that the encoder already computed (``sentence_embedding`` or ``token_embeddings``) and
writes ``features[head.logits_key]``; it never changes the features it reads, so ``encode`` of a multi-task model
returns exactly the backbone's embeddings. Its constructor arguments are its saved config (``config.json``) and
its weights are saved as safetensors only.

Like a spaCy pipeline component, a head owns everything task-specific, through the same verbs for every kind, so
that data reading, training, evaluation and ``predict`` never ask which kind of task they hold. This base holds
what every kind shares:

* config and layers: :attr:`config_keys`, :attr:`config_checks`, ``Dropout → [Linear → GELU → Dropout] → Linear``,
  :meth:`save` / :meth:`load`;
* data: the columns a task reads (:meth:`task_features`), the checks of their values in a file
  (:meth:`column_reader`), a head built from training data (:meth:`for_task`), targets
  (:meth:`encode_targets`, :meth:`collate_targets`);
* training: :meth:`loss`, and which items the LP-FT probe fits (:meth:`probe_items`);
* inference: :meth:`decode`, through the torch-free :attr:`decoder_class` that the ONNX runner uses too;
* scoring: :meth:`reference`, :meth:`scored_form`, :meth:`metric`, :meth:`score`, :attr:`selection_key` and
  :attr:`greater_is_better`, :meth:`error_analysis`.

Classification specifics (labels, cross-entropy, the label-set check) live in
:class:`stmtl.heads.classification.ClassificationHead`; each kind lives in its own folder (``stmtl/heads/<kind>/``).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Self

import torch
from safetensors import SafetensorError
from sentence_transformers.base.modules import Module
from torch import nn

from stmtl.decoding.text_batch import TextBatch
from stmtl.heads.columns import ColumnReader
from stmtl.heads.validation import HeadConfigError, check_head_config

if TYPE_CHECKING:
    import datasets
    import evaluate
    import pyarrow as pa

    from stmtl.alignment import BatchAlignment

logger = logging.getLogger(__name__)
WEIGHTS_FILE = "model.safetensors"


class TaskHead(Module):
    """Dropout → [Linear → GELU → Dropout] → Linear over one feature of the encoder.

    Args:
        task: Task name; the head writes ``features[f"{task}_logits"]`` and ``predict`` keys results by it.
        in_features: Size of the feature read (the encoder's hidden size).
        num_outputs: Size of the last layer (one logit per label, or one score); not saved: a kind derives it
            from its config.
        dropout: Dropout on the input (and hidden layer). 0.1 as in BERT's own fine-tuning heads.
        hidden_features: Size of an optional hidden layer; ``None`` (default) for a single linear layer.
        module_input_name: The feature to read.
        kind_config: The kind's own config values, checked with :attr:`config_checks` along with the shared ones.
    """

    kind: ClassVar[str] = ""
    """Registry name, the ``kind`` of a task in a training config."""
    default_input_name: ClassVar[str] = ""
    config_keys: list[str] = ["task", "in_features", "dropout", "hidden_features", "module_input_name"]
    config_checks: ClassVar[dict[str, Callable[[Any], None]]] = {}
    """Checks of the config keys a kind adds (see :mod:`stmtl.heads.validation`)."""
    required_keys: ClassVar[tuple[str, ...]] = ()
    """Keys of the kind that a saved config must have."""
    decoder_class: ClassVar[Any] = None
    """The kind's torch-free decoder: ``from_config(config)`` and ``decode(logits, batch)`` (see
    :mod:`stmtl.decoding`)."""
    default_task_name: ClassVar[str] = ""
    """The name of a task of this kind inferred from data (:mod:`stmtl.data.inferred_tasks`)."""
    data_description: ClassVar[str] = ""
    """What data gives a task of this kind, for help texts (e.g. ``"'label' gives task 'intent'"``)."""
    columns: ClassVar[dict[str, Any]] = {}
    """The dataset columns a task of this kind reads, by name, with their ``datasets`` feature types."""
    value_description: ClassVar[str] = ""
    """What the keys a kind reads by their value look like, for messages (e.g. ``"any other key with a number"``);
    see :meth:`column_for_value`."""
    words_column: ClassVar[str | None] = None
    """A column that holds a row's words (and gives its text when it has none), e.g. ``tokens``."""
    joint_files: ClassVar[dict[str, str]] = {}
    """The files of a SNIPS/ATIS joint folder this kind reads, file name → column (:mod:`stmtl.data.joint_folder`)."""
    column_reader_class: ClassVar[type[ColumnReader]] = ColumnReader
    """Checks the kind's values in a data file, row by row (see :mod:`stmtl.heads.columns`)."""
    metric_keys: ClassVar[tuple[str, ...]] = ()
    """Keys of :meth:`score` shown in the headline view."""
    selection_key: ClassVar[str] = ""
    """Key of :meth:`score` whose dev value selects the best model."""
    greater_is_better: ClassVar[bool] = True
    """Whether a larger :attr:`selection_key` value is better (an error, e.g. MAE, is not)."""
    raw_metric_keys: ClassVar[tuple[str, ...]] = ()
    """Keys of :meth:`score` that are not fractions (e.g. an error in the target's unit): reports show them as they
    are, not as percentages."""
    in_exact_match: ClassVar[bool] = True
    """Whether a prediction can be exactly right, so that the task counts in exact match across tasks (a score on a
    continuous scale cannot)."""
    count_unit: ClassVar[str] = "examples per label"
    """What :meth:`label_counts` counts, in the data check's report."""
    probe_with_trainable_encoder: ClassVar[bool] = True
    """Whether the LP-FT probe (:mod:`stmtl.training.head_init`) fits this head before a run in which the encoder
    trains. With a frozen encoder every trainable head is probed."""

    def __init__(
        self,
        task: str,
        in_features: int,
        num_outputs: int,
        dropout: float = 0.1,
        hidden_features: int | None = None,
        module_input_name: str | None = None,
        kind_config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        arguments = {"task": task, **(kind_config or {}), "in_features": in_features, "dropout": dropout,
                     "hidden_features": hidden_features, "module_input_name": module_input_name}  # fmt: skip
        try:
            check_head_config(arguments, self.config_checks)
            if self.decoder_class is not None:
                self.decoder_class.check_config(arguments)
        except HeadConfigError as error:
            raise ValueError(f"head {task!r}: {error}") from None
        self.task = task
        self.in_features = in_features
        self.dropout = dropout
        self.hidden_features = hidden_features
        self.module_input_name = module_input_name or self.default_input_name
        self.classifier = self.build_classifier(in_features, num_outputs)

    def build_classifier(self, width: int, num_outputs: int) -> nn.Sequential:
        """``Dropout → [Linear → GELU → Dropout] → Linear`` from ``width`` input features to ``num_outputs``."""
        layers: list[nn.Module] = [nn.Dropout(self.dropout)]
        if self.hidden_features:
            layers += [nn.Linear(width, self.hidden_features), nn.GELU(), nn.Dropout(self.dropout)]
            width = self.hidden_features
        layers.append(nn.Linear(width, num_outputs))
        return nn.Sequential(*layers)

    @property
    def logits_key(self) -> str:
        """The features key this head writes."""
        return f"{self.task}_logits"

    @property
    def target_column(self) -> str:
        """The column of encoded data (and key of a collated batch) holding this task's training targets."""
        return f"labels.{self.task}"

    def classifier_inputs(self, features: dict[str, Any]) -> torch.Tensor:
        """What the classifier reads: the feature :attr:`module_input_name` (a kind may add context to it)."""
        return features[self.module_input_name]

    def forward(self, features: dict[str, Any], **kwargs) -> dict[str, Any]:
        features[self.logits_key] = self.classifier(self.classifier_inputs(features))
        return features

    # Data ------------------------------------------------------------------------------------------------------

    @classmethod
    def task_features(cls, task: str) -> datasets.Features:
        """The columns a task named ``task`` of this kind reads, with their types (:attr:`columns` by default)."""
        import datasets

        return datasets.Features(dict(cls.columns))

    @classmethod
    def missing_columns(cls, dataset: datasets.Dataset | datasets.IterableDataset, task: str) -> list[str]:
        """The columns of :meth:`task_features` that ``dataset`` lacks (none: it is labelled for the task)."""
        return [column for column in cls.task_features(task) if column not in (dataset.column_names or ())]

    @classmethod
    def column_for_value(cls, key: str, value: Any, cell: bool) -> Any | None:
        """The feature type of a file's key that no kind reads by name, if this kind reads it for its value (e.g. a
        number for a regression task named after the key); ``None`` by default.

        Args:
            key: The key (a JSON Lines key or a CSV/TSV column).
            value: Its value in the first row: a JSON value, or the text of a cell when ``cell``.
            cell: Whether ``value`` is the text of a CSV/TSV cell.
        """
        return None

    @classmethod
    def tasks_in(cls, features: datasets.Features, taken: set[str]) -> list[str]:
        """The tasks of this kind that data with these columns gives (:mod:`stmtl.data.inferred_tasks`).

        By default one task, :attr:`default_task_name`, when every one of :attr:`columns` is there.

        Args:
            features: The data's columns.
            taken: Columns other kinds read by name (a kind that reads columns by value leaves them alone).
        """
        return [cls.default_task_name] if cls.columns and all(column in features for column in cls.columns) else []

    @classmethod
    def column_reader(cls, source: str | os.PathLike | None, columns: Sequence[str]) -> ColumnReader:
        """The checks of this kind's values in one source, row by row (:attr:`column_reader_class`)."""
        return cls.column_reader_class(source, {column: cls.columns[column] for column in columns})

    @classmethod
    def for_task(
        cls, task: str, data: datasets.Dataset | datasets.IterableDataset, in_features: int, **options: Any
    ) -> TaskHead:
        """A new head for ``task``, shaped by its training data (e.g. the label set found there).

        Args:
            task: The task name.
            data: Its training rows.
            in_features: Size of the feature read.
            **options: ``dropout``, ``hidden_features`` and the task's ``labels`` (a fixed label set), as the task's
                config gives them.

        Raises:
            ValueError: If an option does not apply to the kind (e.g. labels for a regression task).
        """
        raise NotImplementedError

    def check_continuation(self, data: datasets.Dataset, labels: list[str] | None) -> str | None:
        """Why this saved head cannot go on training on ``data`` (with the task's fixed ``labels``), or ``None``."""
        return None

    @classmethod
    def label_counts(cls, dataset: datasets.Dataset, task: str) -> dict[str, int]:
        """Examples per label in ``dataset``, most frequent first (for the data check); ``{}`` for a kind without
        labels."""
        return {}

    @classmethod
    def training_errors(cls, dataset: datasets.Dataset, task: str) -> list[str]:
        """What in the training data of ``task`` would let its head learn nothing (the data check's errors)."""
        return []

    def prepare_training(self, dataset: datasets.Dataset | datasets.IterableDataset, **settings: Any) -> None:
        """Take training-time settings from the training data (e.g. class frequencies); none by default.

        Called once per run before training, also on resume. ``settings`` are the run's training options that a head
        kind may use (e.g. ``logit_adjustment``); kinds ignore those they do not know.
        """

    def encode_targets(self, batch: pa.Table, alignment: BatchAlignment) -> pa.Array:
        """Training targets of an Arrow batch of rows (the task's columns), one value per row; ``alignment`` maps
        the rows' pieces to their words."""
        raise NotImplementedError

    def collate_targets(self, targets: list[Any], seq_len: int) -> torch.Tensor:
        """Stack the targets of one batch into a tensor; ``seq_len`` is the padded piece length."""
        raise NotImplementedError

    @property
    def cache_key(self) -> tuple[Any, ...]:
        """What the tokenization cache of this head's targets depends on (its class, task and config)."""
        return (type(self).__name__, self.task, self.get_config_dict())

    # Training --------------------------------------------------------------------------------------------------

    def loss(
        self, features: dict[str, Any], batch: dict[str, torch.Tensor], label_smoothing: float = 0.0
    ) -> torch.Tensor:
        """The mean loss of this head's logits against the targets of ``batch``."""
        raise NotImplementedError

    def structure_parameters(self) -> list[nn.Parameter]:
        """Parameters that score how outputs follow one another (a CRF's transitions) rather than read features:
        the optimizer trains them faster (:func:`stmtl.training.optim.param_groups`). None by default."""
        return []

    def probe_items(self, inputs: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The items the LP-FT probe fits this head on, from the feature it reads and a batch's targets: every
        row by default, ``(items, dim)`` and ``(items, ...)``."""
        return inputs, targets

    # Inference and scoring -------------------------------------------------------------------------------------

    @property
    def decoder(self) -> Any:
        """The torch-free decoder of this head's kind with its current config (labels and decision settings): the
        same code decodes the ONNX runner's logits."""
        return self.decoder_class.from_config(self.get_config_dict())

    def decode(self, features: dict[str, Any], batch: TextBatch) -> list[Any]:
        """Turn this head's logits for a batch into one ``predict`` result per text, with :attr:`decoder`.

        The logits are read as float32 NumPy arrays; the decoder's math runs in float64 (see
        :mod:`stmtl.decoding`).
        """
        logits = features[self.logits_key].detach().float().cpu().numpy()
        return self.decoder.decode(logits, batch)

    def reference(self, row: dict[str, Any]) -> Any:
        """The gold value of a data row, in the form :meth:`score` compares."""
        raise NotImplementedError

    def scored_form(self, result: Any, word_spans: list[tuple[int, int]]) -> Any:
        """A :meth:`decode` result in the form :meth:`score` compares, so scores are those of ``predict``."""
        raise NotImplementedError

    def metric(self) -> evaluate.Metric:
        """The ``evaluate`` metric of this task."""
        raise NotImplementedError

    def score(self, references: list[Any], predictions: list[Any]) -> dict[str, Any]:
        """Metrics of the predictions."""
        return self.metric().compute(predictions=predictions, references=references)

    def error_analysis(self, references: list[Any], predictions: list[Any]) -> dict[str, Any]:
        """What the task gets wrong, for ``stmtl evaluate``'s report (e.g. a confusion matrix); none by default."""
        return {}

    def chance_level(self) -> float:
        """The :attr:`selection_key` score of guessing, below which a trained task has learned nothing; 0 here."""
        return 0.0

    def calibrate(self, model: Any, dataset: datasets.Dataset, **settings: Any) -> dict[str, Any] | None:
        """Choose decision settings on dev data and keep them in the config; returns them. Most kinds have none.

        Args:
            model: The model this head belongs to (to compute dev logits with ``encode``).
            dataset: Dev rows with a ``text`` column and this task's columns.
            **settings: The run's calibration options (e.g. ``prior_weight``, ``objective``); kinds ignore those
                they do not know.
        """
        return None

    def describe_outputs(self) -> str:
        """What the head predicts, for the model card (e.g. its labels)."""
        return ""

    def describe_decision(self, chosen: dict[str, Any]) -> str:
        """How the head turns logits into results, with its settings and what dev calibration ``chose``, for the
        model card."""
        return "the decoded logits"

    # Saving ----------------------------------------------------------------------------------------------------

    def save(self, output_path: str, *args, safe_serialization: bool = True, **kwargs) -> None:
        self.save_config(output_path)
        self.save_torch_weights(output_path, safe_serialization=True)

    @classmethod
    def load(
        cls,
        model_name_or_path: str,
        subfolder: str = "",
        token: bool | str | None = None,
        cache_folder: str | None = None,
        revision: str | None = None,
        local_files_only: bool = False,
        **kwargs,
    ) -> Self:
        """Load a head saved by :meth:`save` with sentence-transformers' loaders: config and safetensors only.

        The config is checked (:mod:`stmtl.heads.validation`) before any layer is allocated.

        Raises:
            FileNotFoundError: If the config or weight file is missing (naming the file).
            ValueError: If the config is not valid JSON or has a wrong, unknown or missing key, or the weight file is
                unreadable or does not match the config (naming the file and the key).
        """
        hub = {"subfolder": subfolder, "token": token, "cache_folder": cache_folder, "revision": revision,
               "local_files_only": local_files_only}  # fmt: skip
        for name in (cls.config_file_name, WEIGHTS_FILE):
            if cls.load_file_path(model_name_or_path, filename=name, **hub) is None:
                path = os.path.join(model_name_or_path, subfolder, name)
                raise FileNotFoundError(f"{path}: missing file of the {cls.__name__} in {model_name_or_path}")
        config_path = os.path.join(model_name_or_path, subfolder, cls.config_file_name)
        try:
            config = cls.load_config(model_name_or_path, **hub)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{config_path}: not valid JSON ({error})") from None
        if not isinstance(config, dict):
            raise ValueError(f"{config_path}: must be a JSON object, got {type(config).__name__}")
        try:
            check_head_config(config, cls.config_checks, complete=True, required=cls.required_keys)
            head = cls(**config)
        except HeadConfigError as error:
            raise ValueError(f"{config_path}: {error}") from None
        except ValueError as error:  # a check of the kind itself, e.g. tags that are not IOB2
            raise ValueError(f"{config_path}: {error}") from None
        try:
            return cls.load_torch_weights(model_name_or_path, model=head, **hub)
        except (SafetensorError, RuntimeError, OSError) as error:
            path = os.path.join(model_name_or_path, subfolder, WEIGHTS_FILE)
            reason = str(error).splitlines()[0]
            raise ValueError(f"{path}: unreadable or mismatched head weights ({reason})") from None
