"""What the classification kinds share: a label set in logit order, cross-entropy, and the label-set checks.

The sentence, token and multi-label heads are :class:`ClassificationHead` subclasses: their config has ``labels``,
they build their label set from the training data (:meth:`ClassificationHead.labels_from_data`), warn when it is
too small to learn from, and count labels the model cannot predict as wrong when scoring.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

from stmtl.alignment import IGNORE_INDEX
from stmtl.heads.base import TaskHead
from stmtl.heads.validation import check_labels

if TYPE_CHECKING:
    import datasets

logger = logging.getLogger(__name__)


class ClassificationHead(TaskHead):
    """A head with one logit per label.

    Args:
        task: Task name.
        labels: Output labels, in logit order.
        in_features: Size of the feature read.
        dropout: Input dropout.
        hidden_features: Optional hidden layer size.
        module_input_name: The feature to read.
        kind_config: The kind's other config values, checked with the labels.
    """

    config_keys: list[str] = ["task", "labels", "in_features", "dropout", "hidden_features", "module_input_name"]
    config_checks: ClassVar[dict[str, Any]] = {"labels": check_labels}
    required_keys: ClassVar[tuple[str, ...]] = ("labels",)
    label_column: ClassVar[str] = ""
    """The column whose values are the labels (a string, or a list of strings per row)."""
    min_labels: ClassVar[int] = 1
    """Fewest labels a head of this kind can learn anything from; fewer gets a warning at training time."""

    def __init__(
        self,
        task: str,
        labels: list[str],
        in_features: int,
        dropout: float = 0.1,
        hidden_features: int | None = None,
        module_input_name: str | None = None,
        kind_config: dict[str, Any] | None = None,
    ) -> None:
        outputs = len(labels) if isinstance(labels, (list, tuple)) else 1
        super().__init__(task, in_features, outputs, dropout, hidden_features, module_input_name,
                         {"labels": labels, **(kind_config or {})})  # fmt: skip
        self.labels = list(labels)
        self.label_ids = {label: index for index, label in enumerate(self.labels)}

    @property
    def num_labels(self) -> int:
        return len(self.labels)

    @property
    def cache_key(self) -> tuple[Any, ...]:
        """The tokenization cache of the targets depends on the class, the task and the label set."""
        return (type(self).__name__, self.task, list(self.labels))

    # Data ------------------------------------------------------------------------------------------------------

    @classmethod
    def labels_from_data(cls, dataset: datasets.Dataset | datasets.IterableDataset) -> list[str]:
        """The label set found in training data, in logit order: the sorted set of :attr:`label_column` values."""
        return sorted(cls.distinct_values(dataset, cls.label_column))

    @staticmethod
    def distinct_values(dataset: datasets.Dataset | datasets.IterableDataset, column: str) -> set[str]:
        """Every value of a string (or list-of-strings) column, read in Arrow batches without Python rows."""
        import pyarrow as pa
        import pyarrow.compute as pc

        values: set[str] = set()
        for batch in dataset.with_format("arrow").iter(batch_size=100_000):
            array = batch.column(column).combine_chunks()
            if pa.types.is_list(array.type) or pa.types.is_large_list(array.type):
                array = array.flatten()
            values.update(pc.unique(array).to_pylist())
        values.discard(None)
        return values

    @classmethod
    def for_task(
        cls, task: str, data: datasets.Dataset | datasets.IterableDataset, in_features: int, **options: Any
    ) -> ClassificationHead:
        """A head with the task's fixed ``labels`` or the label set of its training data; a warning when it has
        fewer labels than it can learn from."""
        labels = options.pop("labels", None) or cls.labels_from_data(data)
        head = cls(task, labels, in_features, **options)
        if head.num_labels < cls.min_labels:
            logger.warning(
                f"task {task!r} has a single label {head.labels} in its training data: its {cls.kind} head "
                f"learns nothing (loss 0, accuracy 1.0) and always predicts it; give it at least {cls.min_labels}"
            )
        return head

    def check_continuation(self, data: datasets.Dataset, labels: list[str] | None) -> str | None:
        """A saved head goes on with its own label set: the task's fixed labels must be it, and the training data
        may hold no label outside it."""
        if labels is not None and list(labels) != list(self.labels):
            return "labels differ from the label set of the backbone's head"
        if unknown := sorted(set(self.labels_from_data(data)) - set(self.labels)):
            return f"the backbone's head lacks label(s) {unknown[:5]} of the training data"
        return None

    @classmethod
    def training_errors(cls, dataset: datasets.Dataset, task: str) -> list[str]:
        """Fewer labels than :attr:`min_labels`."""
        labels = cls.labels_from_data(dataset)
        if len(labels) < cls.min_labels:
            return [
                f"its training data has {len(labels)} label(s) {labels}; its head needs at least {cls.min_labels} to "
                "learn anything"
            ]
        return []

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

    def probe_items(self, inputs: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Items whose label the head knows: label ids of ``-100`` (an unknown label, a later word piece) carry no
        loss; per word piece for a token head (``(batch, seq, dim)`` inputs become ``(items, dim)``)."""
        if targets.dtype != torch.long:  # multi-hot vectors: every row counts
            return inputs, targets
        known = targets != IGNORE_INDEX
        return inputs[known], targets[known]

    # Scoring ---------------------------------------------------------------------------------------------------

    def score(self, references: list[Any], predictions: list[Any]) -> dict[str, Any]:
        """Metrics of the predictions; labels the model cannot predict count as wrong (one warning lists them)."""
        from stmtl.metrics.unknown_labels import warn_unknown_labels

        flat = [item for value in references for item in (value if isinstance(value, list) else [value])]
        warn_unknown_labels(self.task, flat, self.labels)
        return super().score(references, predictions)

    def describe_outputs(self) -> str:
        """The labels, the first 40 of them."""
        shown = ", ".join(f"`{label}`" for label in self.labels[:40])
        return shown + (f" … ({len(self.labels)} in all)" if len(self.labels) > 40 else "")
