"""Task A: sentence classification (e.g. intents) from the pooled sentence embedding."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import datasets
import pyarrow as pa
import torch
from torch import nn

from stmtl.alignment import IGNORE_INDEX
from stmtl.heads.base import TaskHead, TextBatch

if TYPE_CHECKING:
    import evaluate

    from stmtl.alignment import BatchAlignment


class SentenceClassificationHead(TaskHead):
    """Classifies a whole text from ``features["sentence_embedding"]``; one label per text (column ``label``).

    Writes ``features[f"{task}_logits"]`` of shape ``(batch, num_labels)``.

    Design choices:
        * Input after the backbone's ``Normalize`` (when it has one): the head classifies the very vector that
          ``encode`` returns, so intents are a linear read-out of the public embedding space and keeping that
          space intact (see embedding preservation) keeps the head valid.
        * A single linear layer by default (a hidden layer is a constructor option): the shared encoder is
          fine-tuned, so extra capacity in the head adds parameters without adding accuracy on intent data.
        * Dropout 0.1 on the input, BERT's own rate for its classification heads.
        * Trained with a logit-adjusted loss (Menon et al., "Long-Tail Learning via Logit Adjustment", ICLR 2021):
          the cross-entropy sees ``logits + log(prior)``, the training frequencies of the labels, while ``predict``
          uses the plain logits. The head thus learns the labels' evidence apart from their frequency and its
          argmax minimises the *balanced* error: an intent with 15 training sentences among thousands is not
          drowned out. On balanced data the prior is uniform and the loss is plain cross-entropy.
        * Scored by accuracy and macro-F1; the best model is selected on dev accuracy.

    Args:
        task: Task name, e.g. ``"intent"``.
        labels: Class names, in logit order.
        in_features: Sentence embedding size (384 for all-MiniLM-L6-v2).
        dropout: Input dropout.
        hidden_features: Optional hidden layer size.
        module_input_name: Feature to read, ``"sentence_embedding"`` by default.
    """

    kind = "sentence"
    default_input_name = "sentence_embedding"
    label_columns = ("label",)
    metric_keys = ("accuracy", "macro_f1")
    selection_key = "accuracy"
    min_labels = 2
    log_prior: torch.Tensor | None = None
    """``(num_labels,)`` log training frequency of each label, set by :meth:`prepare_training`; not saved."""

    @classmethod
    def labels_from_data(cls, dataset: datasets.Dataset) -> list[str]:
        """The sorted set of ``label`` values."""
        return sorted(cls.distinct_values(dataset, "label"))

    def prepare_training(self, dataset: datasets.Dataset | datasets.IterableDataset) -> None:
        """Set the label prior of the logit-adjusted loss from the ``label`` counts; add-one smoothing keeps a label
        absent from the data finite. A streamed source is not read ahead for its counts: the prior stays uniform
        (plain cross-entropy)."""
        import pyarrow.compute as pc

        if isinstance(dataset, datasets.IterableDataset):
            self.log_prior = None
            return
        counts = dict.fromkeys(self.labels, 1.0)
        for batch in dataset.with_format("arrow").iter(batch_size=100_000):
            for entry in pc.value_counts(batch.column("label").combine_chunks()).to_pylist():
                if entry["values"] in counts:
                    counts[entry["values"]] += entry["counts"]
        prior = torch.tensor([counts[label] for label in self.labels]) / sum(counts.values())  # (num_labels,)
        self.log_prior = prior.log().to(self.classifier[-1].weight.device)

    def loss(
        self, features: dict[str, Any], batch: dict[str, torch.Tensor], label_smoothing: float = 0.0
    ) -> torch.Tensor:
        """Cross-entropy of ``logits + log(prior)`` (plain cross-entropy before :meth:`prepare_training`)."""
        logits = features[self.logits_key].float()  # (batch, num_labels)
        if self.log_prior is not None:
            logits = logits + self.log_prior.to(logits.device)
        targets = batch[self.target_column].to(logits.device)
        return nn.functional.cross_entropy(logits, targets, label_smoothing=label_smoothing)

    def encode_targets(self, batch: pa.Table, alignment: BatchAlignment) -> pa.Array:
        """One label id per row; a label unknown to the head gets ``-100`` (no loss)."""
        labels = batch.column("label").to_pylist()
        return pa.array([self.label_ids.get(label, IGNORE_INDEX) for label in labels], pa.int64())

    def collate_targets(self, targets: list[int], seq_len: int) -> torch.Tensor:
        return torch.tensor(targets, dtype=torch.long)  # (batch,)

    def decode(self, features: dict[str, Any], batch: TextBatch) -> list[dict[str, Any]]:
        """Label and softmax probability per text.

        Returns:
            ``[{"label": str, "score": float}, ...]``, one per text.
        """
        probabilities = features[self.logits_key].float().softmax(dim=-1)  # (batch, num_labels)
        scores, indices = probabilities.max(dim=-1)
        return [
            {"label": self.labels[index], "score": float(score)}
            for score, index in zip(scores.tolist(), indices.tolist())
        ]

    def reference(self, row: dict[str, Any]) -> str:
        return row["label"]

    def scored_form(self, result: dict[str, Any], word_spans: list[tuple[int, int]]) -> str:
        return result["label"]

    def chance_level(self) -> float:
        """Accuracy of a uniform guess, ``1 / num_labels``."""
        return 1.0 / self.num_labels

    def metric(self) -> evaluate.Metric:
        from stmtl.metrics import SentenceClassificationMetric

        return SentenceClassificationMetric(keep_in_memory=True)

    def plot(self, references: list[str], predictions: list[str], folder: Path) -> list[Path]:
        """The dev confusion matrix."""
        from stmtl.training.plots import plot_confusion_matrix

        path = Path(folder) / f"confusion_{self.task}.png"
        title = f"{self.task}: dev confusion matrix"
        return [plot_confusion_matrix(references, predictions, self.labels, path, title=title)]
