"""Multi-label sentence classification: any number of labels per text (topics, tags, several intents)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import datasets
import numpy as np
import pyarrow as pa
import torch
from torch import nn

from stmtl.heads.classification import ClassificationHead
from stmtl.heads.columns import column_values
from stmtl.heads.multilabel import DATA, KIND
from stmtl.heads.multilabel.columns import MultiLabelColumnReader
from stmtl.heads.multilabel.decoding import MultiLabelDecoder

if TYPE_CHECKING:
    import evaluate

    from stmtl.alignment import BatchAlignment

THRESHOLD_GRID = tuple(round(0.05 * i, 2) for i in range(1, 20))
"""Decision thresholds tried on dev data: 0.05, 0.10, ..., 0.95."""


class MultiLabelClassificationHead(ClassificationHead):
    """Gives each text any subset of ``labels`` from ``features["sentence_embedding"]`` (column ``labels``).

    Writes ``features[f"{task}_logits"]`` of shape ``(batch, num_labels)``: one independent logit per label.

    Design choices:
        * Sigmoid per label with binary cross-entropy (labels are not exclusive, so no softmax).
        * One decision threshold for every label, chosen on dev data after training (:meth:`calibrate`, micro-F1
          over a 0.05 grid) and saved in the head's config, so ``predict`` after reloading decides as evaluation
          did. 0.5 until calibrated.
        * Scored by micro- and macro-F1 over labels and by exact-set accuracy; the best model is selected on dev
          micro-F1.

    Args:
        task: Task name, e.g. ``"topics"``.
        labels: Label names, in logit order.
        in_features: Sentence embedding size.
        dropout: Input dropout.
        hidden_features: Optional hidden layer size.
        module_input_name: Feature to read, ``"sentence_embedding"`` by default.
        threshold: Probability at or above which a label is predicted.
    """

    kind = KIND
    data_description = DATA
    default_input_name = "sentence_embedding"
    default_task_name = "labels"
    columns = {"labels": datasets.List(datasets.Value("string"))}
    label_column = "labels"
    column_reader_class = MultiLabelColumnReader
    decoder_class = MultiLabelDecoder
    config_checks = MultiLabelDecoder.config_checks
    metric_keys = ("micro_f1", "macro_f1")
    selection_key = "micro_f1"
    config_keys = [*ClassificationHead.config_keys, "threshold"]

    def __init__(self, task: str, labels: list[str], in_features: int, threshold: float = 0.5, **kwargs: Any):
        super().__init__(task, labels, in_features, kind_config={"threshold": threshold}, **kwargs)
        self.threshold = float(threshold)

    @classmethod
    def label_counts(cls, dataset: datasets.Dataset, task: str) -> dict[str, int]:
        """Examples per label (each counted once per row), most frequent first."""
        counts = Counter(label for labels in column_values(dataset, "labels") for label in set(labels))
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def encode_targets(self, batch: pa.Table, alignment: BatchAlignment) -> pa.Array:
        """A multi-hot vector per row; labels unknown to the head are left out (evaluation counts them wrong)."""
        targets = []
        for labels in batch.column("labels").to_pylist():
            vector = [0.0] * self.num_labels
            for label in labels:
                if label in self.label_ids:
                    vector[self.label_ids[label]] = 1.0
            targets.append(vector)
        return pa.array(targets, pa.list_(pa.float32()))

    def collate_targets(self, targets: list[list[float]], seq_len: int) -> torch.Tensor:
        return torch.tensor(targets, dtype=torch.float32)  # (batch, num_labels)

    def loss(
        self, features: dict[str, Any], batch: dict[str, torch.Tensor], label_smoothing: float = 0.0
    ) -> torch.Tensor:
        """Mean binary cross-entropy over labels; smoothing moves targets to ``ε/2`` and ``1 - ε/2``."""
        logits = features[self.logits_key].float()  # (batch, num_labels)
        targets = batch[self.target_column].to(logits.device)
        targets = targets * (1.0 - label_smoothing) + 0.5 * label_smoothing
        return nn.functional.binary_cross_entropy_with_logits(logits, targets)

    def reference(self, row: dict[str, Any]) -> list[str]:
        return sorted(row["labels"])

    def scored_form(self, result: list[dict[str, Any]], word_spans: list[tuple[int, int]]) -> list[str]:
        return sorted(item["label"] for item in result)

    def metric(self) -> evaluate.Metric:
        from stmtl.heads.multilabel.metric import MultiLabelMetric

        return MultiLabelMetric(keep_in_memory=True)

    def calibrate(self, model: Any, dataset: datasets.Dataset, **settings: Any) -> dict[str, Any] | None:
        """Set :attr:`threshold` to the grid value with the best dev micro-F1 (ties: the one nearest 0.5).

        An empty dev set leaves the threshold as it is and returns ``None``.
        """
        if len(dataset) == 0:
            return None
        logits = model.encode(list(dataset["text"]), output_value=self.logits_key, show_progress_bar=False)
        logits = np.stack([row.float().cpu().numpy() for row in logits])  # (n, num_labels)
        probabilities = self.decoder.probabilities(logits)
        gold = np.zeros_like(probabilities, dtype=bool)
        for row, labels in enumerate(dataset["labels"]):
            gold[row, [self.label_ids[label] for label in labels if label in self.label_ids]] = True

        def micro_f1(threshold: float) -> float:
            predicted = probabilities >= threshold
            true_positives = float((predicted & gold).sum())
            denominator = float(predicted.sum() + gold.sum())
            return 2 * true_positives / denominator if denominator else 0.0

        scores = {threshold: micro_f1(threshold) for threshold in THRESHOLD_GRID}
        self.threshold = max(THRESHOLD_GRID, key=lambda t: (scores[t], -abs(t - 0.5)))
        return {"threshold": self.threshold, "dev_micro_f1": scores[self.threshold]}

    def describe_decision(self, chosen: dict[str, Any]) -> str:
        """Every label at or above the threshold, and the dev score that chose it."""
        line = f"every label whose sigmoid probability is at least {self.threshold:g}"
        if "dev_micro_f1" in chosen:
            line += f" (threshold chosen on dev: micro-F1 {chosen['dev_micro_f1']:.4f})"
        return line
