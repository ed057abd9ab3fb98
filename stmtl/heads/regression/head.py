"""Sentence regression (a rating, an urgency score) from the pooled sentence embedding."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import datasets
import numpy as np
import pyarrow as pa
import torch
from torch import nn

from stmtl.heads.base import TaskHead
from stmtl.heads.columns import ColumnReader, column_values
from stmtl.heads.regression import DATA, KIND
from stmtl.heads.regression.decoding import RegressionDecoder
from stmtl.heads.validation import HeadConfigError, check_head_config

if TYPE_CHECKING:
    import os

    import evaluate

    from stmtl.alignment import BatchAlignment

NUMBER = datasets.Value("float64")


def _is_task_name(key: str) -> bool:
    # A key that can name a task (an identifier that is not reserved), so that its column can be one.
    try:
        check_head_config({"task": key})
    except HeadConfigError:
        return False
    return True


class SentenceRegressionHead(TaskHead):
    """Predicts a number per text from ``features["sentence_embedding"]``, read from the column named after its task.

    Writes ``features[f"{task}_logits"]`` of shape ``(batch, 1)``: the standardized score.

    Design choices:
        * One column per task, named after it: ``{"text": ..., "urgency": 0.7}`` gives the task ``urgency``; any key
          of a data file that no other kind reads by name and that holds a number is such a column.
        * The head learns the target standardized by the training targets' mean and standard deviation (set by
          :meth:`prepare_training`, saved in the config): the output of a fresh head is near the mean whatever the
          target's unit, and ``predict`` gives ``output * std + mean``, in the target's unit.
        * Mean squared error (``loss: mse``, the default) or the Huber loss (``loss: huber``, less pulled by a few
          far-off targets) on the standardized scale.
        * Scored by Pearson and Spearman correlation and mean absolute error; the best model is selected on dev MAE
          (lower is better).

    Args:
        task: Task name, also the data column of the target.
        in_features: Sentence embedding size.
        loss: ``"mse"`` or ``"huber"``.
        target_mean: The training targets' mean, ``None`` until :meth:`prepare_training`.
        target_std: Their standard deviation, ``None`` until then.
        dropout: Input dropout.
        hidden_features: Optional hidden layer size.
        module_input_name: Feature to read, ``"sentence_embedding"`` by default.
    """

    kind = KIND
    data_description = DATA
    default_input_name = "sentence_embedding"
    value_description = "any other key with a number"
    decoder_class = RegressionDecoder
    config_checks = RegressionDecoder.config_checks
    config_keys = [*TaskHead.config_keys, "loss", "target_mean", "target_std"]
    metric_keys = ("pearson", "spearman", "mae")
    selection_key = "mae"
    greater_is_better = False
    raw_metric_keys = ("mae", "rmse", "count")
    in_exact_match = False

    def __init__(
        self,
        task: str,
        in_features: int,
        loss: str = "mse",
        target_mean: float | None = None,
        target_std: float | None = None,
        **kwargs: Any,
    ) -> None:
        config = {"loss": loss, "target_mean": target_mean, "target_std": target_std}
        super().__init__(task, in_features, 1, kind_config=config, **kwargs)
        self.loss_name = loss
        self.target_mean = None if target_mean is None else float(target_mean)
        self.target_std = None if target_std is None else float(target_std)

    def get_config_dict(self) -> dict[str, Any]:
        return {**super().get_config_dict(), "loss": self.loss_name}

    # Data ------------------------------------------------------------------------------------------------------

    @classmethod
    def task_features(cls, task: str) -> datasets.Features:
        """The column named after the task, a number."""
        return datasets.Features({task: NUMBER})

    @classmethod
    def column_for_value(cls, key: str, value: Any, cell: bool) -> Any | None:
        """A key that can name a task and holds a number (a finite one, not a boolean; for a CSV/TSV cell, text
        that reads as one)."""
        if cell:
            try:
                value = float(value)
            except ValueError:
                return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return None
        return NUMBER if _is_task_name(key) else None

    @classmethod
    def tasks_in(cls, features: datasets.Features, taken: set[str]) -> list[str]:
        """One task per numeric column that no kind reads by name (and that can name a task)."""
        return [
            name
            for name, feature in features.items()
            if name not in taken and _is_numeric(feature) and _is_task_name(name)
        ]

    @classmethod
    def column_reader(cls, source: str | os.PathLike | None, columns: Sequence[str]) -> ColumnReader:
        """Each column a finite number (a cell: text that reads as one)."""
        return ColumnReader(source, dict.fromkeys(columns, NUMBER))

    @classmethod
    def for_task(cls, task: str, data: datasets.Dataset, in_features: int, **options: Any) -> SentenceRegressionHead:
        """A new head; a fixed label set does not apply.

        Raises:
            ValueError: If ``labels`` are given.
        """
        if options.pop("labels", None) is not None:
            raise ValueError("a regression task has no labels; remove 'labels' from its config")
        return cls(task, in_features, **options)

    @classmethod
    def training_errors(cls, dataset: datasets.Dataset, task: str) -> list[str]:
        """A single target value: nothing to learn."""
        values = set(column_values(dataset, task))
        if len(values) < 2:
            return [f"its training data has {len(values)} distinct target value(s); its head learns nothing from it"]
        return []

    def prepare_training(self, dataset: datasets.Dataset | datasets.IterableDataset, **settings: Any) -> None:
        """Set the target's mean and standard deviation from the training data, unless the head has them already
        (a head that continues from a saved model keeps its scale). A streamed source is not read ahead: the head
        then learns the target as it is (mean 0, standard deviation 1)."""
        if self.target_mean is not None or isinstance(dataset, datasets.IterableDataset):
            return
        values = np.concatenate(
            [batch.column(self.task).to_numpy() for batch in dataset.with_format("arrow").iter(batch_size=100_000)]
        )  # (rows,)
        std = float(values.std()) if len(values) else 0.0
        self.target_mean = float(values.mean()) if len(values) else 0.0
        self.target_std = std if std > 0 else 1.0

    def encode_targets(self, batch: pa.Table, alignment: BatchAlignment) -> pa.Array:
        """The target of each row, as it is (standardized in :meth:`loss`)."""
        return batch.column(self.task).combine_chunks().cast(pa.float32())

    def collate_targets(self, targets: list[float], seq_len: int) -> torch.Tensor:
        return torch.tensor(targets, dtype=torch.float32)  # (batch,)

    # Training --------------------------------------------------------------------------------------------------

    def loss(
        self, features: dict[str, Any], batch: dict[str, torch.Tensor], label_smoothing: float = 0.0
    ) -> torch.Tensor:
        """MSE (or Huber) of the output against the standardized target; label smoothing does not apply."""
        output = features[self.logits_key].float()[:, 0]  # (batch,)
        targets = batch[self.target_column].to(output.device).float()  # (batch,)
        scale = RegressionDecoder.from_config(self.get_config_dict())
        standardized = (targets - scale.target_mean) / scale.target_std
        if self.loss_name == "huber":
            return nn.functional.huber_loss(output, standardized)
        return nn.functional.mse_loss(output, standardized)

    # Inference and scoring -------------------------------------------------------------------------------------

    def reference(self, row: dict[str, Any]) -> float:
        return float(row[self.task])

    def scored_form(self, result: dict[str, float], word_spans: list[tuple[int, int]]) -> float:
        return result["score"]

    def metric(self) -> evaluate.Metric:
        from stmtl.heads.regression.metric import RegressionMetric

        return RegressionMetric(keep_in_memory=True)

    def describe_outputs(self) -> str:
        return "a score (a number)"

    def describe_decision(self, chosen: dict[str, Any]) -> str:
        decoder = self.decoder
        return (
            f"the score: the output × {decoder.target_std:g} + {decoder.target_mean:g} (the training targets' "
            "standard deviation and mean)"
        )


def _is_numeric(feature: Any) -> bool:
    """Whether a ``datasets`` feature is a number column (not a boolean)."""
    dtype = getattr(feature, "dtype", "")
    return isinstance(feature, datasets.Value) and dtype.startswith(("int", "uint", "float"))
