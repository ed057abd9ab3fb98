"""The shared base of task heads: a small classifier that is a sentence-transformers module and owns its task.

A head reads one feature that the encoder already computed (``sentence_embedding`` or ``token_embeddings``) and
writes ``features[head.logits_key]``; it never changes the features it reads, so ``encode`` of a multi-task model
returns exactly the backbone's embeddings. Its constructor arguments are its saved config (``config.json``) and
its weights are saved as safetensors only.

Like a spaCy pipeline component, a head owns everything task-specific, through the same verbs for every task, so
that data encoding, training, evaluation and ``predict`` never ask which kind of task they hold:

* data: :attr:`label_columns`, :meth:`labels_from_data`, :meth:`encode_targets`, :meth:`collate_targets`;
* training: :meth:`loss`;
* inference: :meth:`decode` (used by ``predict`` and by evaluation alike), through the torch-free :attr:`decoder`
  that the ONNX runner uses too;
* scoring: :meth:`reference`, :meth:`scored_form`, :meth:`score`, :attr:`metric_keys`, :attr:`selection_key`;
* dev-time settings: :meth:`calibrate`; plots: :meth:`plot`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import torch
from safetensors import SafetensorError
from sentence_transformers.base.modules import Module
from torch import nn

from stmtl.decoding.text_batch import TextBatch
from stmtl.heads.validation import HeadConfigError, check_head_config
from stmtl.metrics.unknown_labels import warn_unknown_labels

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
        labels: Output labels, in logit order.
        in_features: Size of the feature read (the encoder's hidden size).
        dropout: Dropout on the input (and hidden layer). 0.1 as in BERT's own fine-tuning heads.
        hidden_features: Size of an optional hidden layer; ``None`` (default) for a single linear layer.
        module_input_name: The feature to read.
    """

    kind: ClassVar[str] = ""
    """Registry name, the ``kind`` of a task in a training config."""
    default_input_name: ClassVar[str] = ""
    label_columns: ClassVar[tuple[str, ...]] = ()
    """Dataset columns this task's labels come from."""
    metric_keys: ClassVar[tuple[str, ...]] = ()
    """Keys of :meth:`score` shown in the headline view."""
    selection_key: ClassVar[str] = ""
    """Key of :meth:`score` whose dev value selects the best model."""
    config_keys: list[str] = ["task", "labels", "in_features", "dropout", "hidden_features", "module_input_name"]
    extra_checks: ClassVar[dict[str, Callable[[Any], None]]] = {}
    """Checks of the config keys a head type adds (see :mod:`stmtl.heads.validation`)."""
    min_labels: ClassVar[int] = 1
    """Fewest labels a head of this type can learn anything from; fewer gets a warning at training time."""
    probe_with_trainable_encoder: ClassVar[bool] = True
    """Whether the LP-FT probe (:mod:`stmtl.training.head_init`) fits this head before a run in which the encoder
    trains. With a frozen encoder every trainable head is probed."""

    def __init__(
        self,
        task: str,
        labels: list[str],
        in_features: int,
        dropout: float = 0.1,
        hidden_features: int | None = None,
        module_input_name: str | None = None,
    ) -> None:
        super().__init__()
        arguments = {"task": task, "labels": labels, "in_features": in_features, "dropout": dropout,
                     "hidden_features": hidden_features, "module_input_name": module_input_name}  # fmt: skip
        try:
            check_head_config(arguments)
        except HeadConfigError as error:
            raise ValueError(f"head {task!r}: {error}") from None
        labels = list(labels)
        self.task = task
        self.labels = labels
        self.label_ids = {label: index for index, label in enumerate(labels)}
        self.in_features = in_features
        self.dropout = dropout
        self.hidden_features = hidden_features
        self.module_input_name = module_input_name or self.default_input_name
        layers: list[nn.Module] = [nn.Dropout(dropout)]
        width = in_features
        if hidden_features:
            layers += [nn.Linear(in_features, hidden_features), nn.GELU(), nn.Dropout(dropout)]
            width = hidden_features
        layers.append(nn.Linear(width, len(labels)))
        self.classifier = nn.Sequential(*layers)

    @property
    def logits_key(self) -> str:
        """The features key this head writes."""
        return f"{self.task}_logits"

    @property
    def target_column(self) -> str:
        """The column of encoded data (and key of a collated batch) holding this task's training targets."""
        return f"labels.{self.task}"

    @property
    def num_labels(self) -> int:
        return len(self.labels)

    def warn_if_too_few_labels(self) -> None:
        """Log a warning when the head has fewer labels than it can learn from (e.g. one intent: loss 0 at once)."""
        if self.num_labels < self.min_labels:
            logger.warning(
                f"task {self.task!r} has a single label {self.labels} in its training data: its {self.kind} head "
                f"learns nothing (loss 0, accuracy 1.0) and always predicts it; give it at least {self.min_labels}"
            )

    def forward(self, features: dict[str, Any], **kwargs) -> dict[str, Any]:
        features[self.logits_key] = self.classifier(features[self.module_input_name])
        return features

    # Data ------------------------------------------------------------------------------------------------------

    @classmethod
    def missing_columns(cls, dataset: datasets.Dataset) -> list[str]:
        """The :attr:`label_columns` that ``dataset`` lacks (none: it is labelled for this task type)."""
        return [column for column in cls.label_columns if column not in dataset.column_names]

    @classmethod
    def labels_from_data(cls, dataset: datasets.Dataset) -> list[str]:
        """The label set found in training data, in logit order."""
        raise NotImplementedError

    @staticmethod
    def distinct_values(dataset: datasets.Dataset | datasets.IterableDataset, column: str) -> set[str]:
        """Every value of a string (or list-of-strings) column, read in Arrow batches without Python rows."""
        import pyarrow.compute as pc

        values: set[str] = set()
        for batch in dataset.with_format("arrow").iter(batch_size=100_000):
            array = batch.column(column).combine_chunks()
            if hasattr(array, "flatten"):
                array = array.flatten()
            values.update(pc.unique(array).to_pylist())
        values.discard(None)
        return values

    def prepare_training(self, dataset: datasets.Dataset | datasets.IterableDataset, **settings: Any) -> None:
        """Take training-time settings from the training data (e.g. class frequencies); none by default.

        Called once per run before training, also on resume. ``settings`` are the run's training options that a head
        kind may use (e.g. ``logit_adjustment``); kinds ignore those they do not know.
        """

    def encode_targets(self, batch: pa.Table, alignment: BatchAlignment) -> pa.Array:
        """Training targets of an Arrow batch of rows (columns ``label_columns``), one value per row;
        ``alignment`` maps the rows' pieces to their words."""
        raise NotImplementedError

    def collate_targets(self, targets: list[Any], seq_len: int) -> torch.Tensor:
        """Stack the targets of one batch into a tensor; ``seq_len`` is the padded piece length."""
        raise NotImplementedError

    # Training --------------------------------------------------------------------------------------------------

    def loss(
        self, features: dict[str, Any], batch: dict[str, torch.Tensor], label_smoothing: float = 0.0
    ) -> torch.Tensor:
        """Mean cross-entropy of this head's logits against the label ids of ``batch`` (``-100`` ignored)."""
        logits = features[self.logits_key]
        targets = batch[self.target_column].to(logits.device)
        return nn.functional.cross_entropy(
            logits.reshape(-1, self.num_labels).float(), targets.reshape(-1), label_smoothing=label_smoothing
        )

    # Inference and scoring -------------------------------------------------------------------------------------

    @property
    def decoder(self) -> Any:
        """The torch-free decoder of this head's kind with its current config (labels and decision settings), from
        :mod:`stmtl.decoding`: the same code decodes the ONNX runner's logits."""
        from stmtl.decoding import decoder_for

        return decoder_for(self.kind, self.get_config_dict())

    def decode(self, features: dict[str, Any], batch: TextBatch) -> list[Any]:
        """Turn this head's logits for a batch into one ``predict`` result per text, with :attr:`decoder`.

        The logits are read as float32 NumPy arrays; the decoder's math runs in float64 (see
        :mod:`stmtl.decoding`): a sentence head gives ``{"label", "score"}`` per text, a token head a list of
        entities ``{"label", "start", "end", "text", "score"}``, a multi-label head a list of ``{"label", "score"}``.
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
        """Metrics of the predictions; labels the model cannot predict count as wrong (one warning lists them)."""
        flat = [item for value in references for item in (value if isinstance(value, list) else [value])]
        warn_unknown_labels(self.task, flat, self.labels)
        return self.metric().compute(predictions=predictions, references=references)

    def chance_level(self) -> float:
        """The :attr:`selection_key` score of guessing, below which a trained task has learned nothing; 0 here."""
        return 0.0

    def calibrate(self, model: Any, dataset: datasets.Dataset, **settings: Any) -> dict[str, Any] | None:
        """Choose decision settings on dev data and keep them in the config; returns them. Argmax heads have none.

        Args:
            model: The model this head belongs to (to compute dev logits with ``encode``).
            dataset: Dev rows with a ``text`` column and this task's label columns.
            **settings: The run's calibration options (e.g. ``prior_weight``, ``objective``); kinds ignore those
                they do not know.
        """
        return None

    def plot(self, references: list[Any], predictions: list[Any], folder: Path) -> list[Path]:
        """Task-specific plots of dev predictions (e.g. a confusion matrix); none by default."""
        return []

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
            check_head_config(config, cls.extra_checks, complete=True)
            head = cls(**config)
        except HeadConfigError as error:
            raise ValueError(f"{config_path}: {error}") from None
        except ValueError as error:  # a check of the head type itself, e.g. tags that are not IOB2
            raise ValueError(f"{config_path}: {error}") from None
        try:
            return cls.load_torch_weights(model_name_or_path, model=head, **hub)
        except (SafetensorError, RuntimeError, OSError) as error:
            path = os.path.join(model_name_or_path, subfolder, WEIGHTS_FILE)
            reason = str(error).splitlines()[0]
            raise ValueError(f"{path}: unreadable or mismatched head weights ({reason})") from None
