"""Sentence classification (e.g. intents) from the pooled sentence embedding."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import datasets
import numpy as np
import pyarrow as pa
import torch
from torch import nn

from stmtl.alignment import IGNORE_INDEX
from stmtl.decoding import log_softmax
from stmtl.heads.classification import ClassificationHead
from stmtl.heads.columns import column_values
from stmtl.heads.sentence import DATA, KIND
from stmtl.heads.sentence.decoding import SentenceDecoder, check_prior_weight

if TYPE_CHECKING:
    import evaluate

    from stmtl.alignment import BatchAlignment


class SentenceClassificationHead(ClassificationHead):
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
          the cross-entropy sees ``logits + log(prior)``, the training frequencies of the labels. The plain logits
          then carry the labels' evidence apart from their frequency: their argmax minimises the *balanced* error,
          so an intent with 15 training sentences among thousands is not drowned out. On balanced data the prior is
          uniform and the loss is plain cross-entropy.
        * Prediction adds the prior back with a weight: ``logits + prior_weight * log(prior)``. ``prior_weight``
          (τ) 0 gives the balanced classifier above, 1 the one that follows the training frequencies (the plain
          cross-entropy classifier's decision rule); :meth:`calibrate` picks τ in [0, 1] on dev data for the
          run's objective, accuracy (the test set follows the training frequencies) or balanced accuracy (every
          label counts the same). The prior and τ are saved in the config, so ``predict`` after reloading decides as
          evaluation did.
        * Scored by accuracy and macro-F1; the best model is selected on dev accuracy.

    Args:
        task: Task name, e.g. ``"intent"``.
        labels: Class names, in logit order.
        in_features: Sentence embedding size (384 for all-MiniLM-L6-v2).
        dropout: Input dropout.
        hidden_features: Optional hidden layer size.
        module_input_name: Feature to read, ``"sentence_embedding"`` by default.
        prior: Training frequency of each label (in logit order, summing to 1), set from the training data by
            :meth:`prepare_training`; ``None`` (uniform) until then.
        prior_weight: τ, the weight of ``log(prior)`` added to the logits at prediction; 0 until calibrated.
    """

    kind = KIND
    data_description = DATA
    default_input_name = "sentence_embedding"
    default_task_name = "intent"
    columns = {"label": datasets.Value("string")}
    label_column = "label"
    joint_files = {"label": "label"}
    """The file of a SNIPS/ATIS joint folder this kind reads (:mod:`stmtl.data.joint_folder`): one label a line."""
    decoder_class = SentenceDecoder
    config_checks = SentenceDecoder.config_checks
    metric_keys = ("accuracy", "macro_f1")
    selection_key = "accuracy"
    min_labels = 2
    config_keys = [*ClassificationHead.config_keys, "prior", "prior_weight"]
    PRIOR_WEIGHT_GRID = tuple(round(0.05 * i, 2) for i in range(21))
    """τ values :meth:`calibrate` tries: 0, 0.05, ..., 1."""
    logit_adjustment = True
    """Whether :meth:`loss` adds ``log(prior)`` to the logits (a training option, not saved)."""

    def __init__(
        self,
        task: str,
        labels: list[str],
        in_features: int,
        prior: list[float] | None = None,
        prior_weight: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(task, labels, in_features, kind_config={"prior": prior, "prior_weight": prior_weight},
                         **kwargs)  # fmt: skip
        self.prior = None if prior is None else [float(value) for value in prior]
        self.prior_weight = float(prior_weight)

    @property
    def log_prior(self) -> torch.Tensor | None:
        """``(num_labels,)`` log training frequency of each label, or ``None`` (no prior known)."""
        return None if self.prior is None else torch.tensor(self.prior, dtype=torch.float32).log()

    @classmethod
    def label_counts(cls, dataset: datasets.Dataset, task: str) -> dict[str, int]:
        """Examples per label, most frequent first."""
        counts = Counter(column_values(dataset, "label"))
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def prepare_training(
        self, dataset: datasets.Dataset | datasets.IterableDataset, logit_adjustment: bool = True, **settings: Any
    ) -> None:
        """Set the label prior from the ``label`` counts; add-one smoothing keeps a label absent from the data finite.
        A streamed source is not read ahead for its counts: the prior stays unknown (plain cross-entropy, no τ).
        τ goes back to 0 until :meth:`calibrate` (dev selection during training compares the plain logits).

        Args:
            dataset: The training rows.
            logit_adjustment: Train on ``logits + log(prior)`` (balanced error); ``False``: plain cross-entropy.
            **settings: Other heads' training options, ignored.
        """
        import pyarrow.compute as pc

        self.prior_weight = 0.0
        self.logit_adjustment = logit_adjustment

        if isinstance(dataset, datasets.IterableDataset):
            self.prior = None
            return
        counts = dict.fromkeys(self.labels, 1.0)
        for batch in dataset.with_format("arrow").iter(batch_size=100_000):
            for entry in pc.value_counts(batch.column("label").combine_chunks()).to_pylist():
                if entry["values"] in counts:
                    counts[entry["values"]] += entry["counts"]
        total = sum(counts.values())
        self.prior = [counts[label] / total for label in self.labels]

    def loss(
        self, features: dict[str, Any], batch: dict[str, torch.Tensor], label_smoothing: float = 0.0
    ) -> torch.Tensor:
        """Cross-entropy of ``logits + log(prior)`` (plain cross-entropy without a prior or logit adjustment)."""
        logits = features[self.logits_key].float()  # (batch, num_labels)
        if self.prior is not None and self.logit_adjustment:
            logits = logits + self.log_prior.to(logits.device)
        targets = batch[self.target_column].to(logits.device)
        return nn.functional.cross_entropy(logits, targets, label_smoothing=label_smoothing)

    def encode_targets(self, batch: pa.Table, alignment: BatchAlignment) -> pa.Array:
        """One label id per row; a label unknown to the head gets ``-100`` (no loss)."""
        labels = batch.column("label").to_pylist()
        return pa.array([self.label_ids.get(label, IGNORE_INDEX) for label in labels], pa.int64())

    def collate_targets(self, targets: list[int], seq_len: int) -> torch.Tensor:
        return torch.tensor(targets, dtype=torch.long)  # (batch,)

    def decision_logits(
        self, logits: torch.Tensor | np.ndarray, prior_weight: float | None = None
    ) -> torch.Tensor | np.ndarray:
        """``logits + τ * log(prior)``, the scores ``predict`` ranks labels by (the logits as they are for τ = 0).

        Computed in float64 by the head's :attr:`decoder` (:class:`stmtl.decoding.sentence.SentenceDecoder`), the
        rule every backend's ``predict`` applies.

        Args:
            logits: ``(batch, num_labels)``, a tensor (a float64 CPU tensor comes back) or an array.
            prior_weight: τ; the head's own :attr:`prior_weight` by default.
        """
        if isinstance(logits, torch.Tensor):
            return torch.from_numpy(self.decision_logits(logits.detach().float().cpu().numpy(), prior_weight))
        return self.decoder.decision_logits(logits, prior_weight)

    def reference(self, row: dict[str, Any]) -> str:
        return row["label"]

    def scored_form(self, result: dict[str, Any], word_spans: list[tuple[int, int]]) -> str:
        return result["label"]

    def chance_level(self) -> float:
        """Accuracy of a uniform guess, ``1 / num_labels``."""
        return 1.0 / self.num_labels

    def metric(self) -> evaluate.Metric:
        from stmtl.heads.sentence.metric import SentenceClassificationMetric

        return SentenceClassificationMetric(keep_in_memory=True)

    def error_analysis(self, references: list[str], predictions: list[str]) -> dict[str, Any]:
        """The ``confusion_matrix`` and its ``most_confused`` (gold, predicted) pairs
        (:mod:`stmtl.heads.sentence.errors`)."""
        from stmtl.heads.sentence.errors import confusion_matrix, most_confused

        matrix = confusion_matrix(references, predictions)
        return {"confusion_matrix": matrix, "most_confused": most_confused(matrix)}

    def calibrate(
        self, model: Any, dataset: datasets.Dataset, prior_weight: float | None = None, objective: str = "accuracy",
        **settings: Any,
    ) -> dict[str, Any] | None:  # fmt: skip
        """Set :attr:`prior_weight` (τ): the grid value with the best dev ``objective``; among equally good values
        the one whose decision scores give the dev labels the lowest log loss (class-balanced for ``"balanced"``),
        then the smaller τ.

        Accuracy on a small or easy dev set is flat over wide ranges of τ (on a 272-row long-tail dev set, the same
        for every τ from 0 to 0.55); the log loss, a proper scoring rule, still tells how well ``softmax(logits + τ ·
        log prior)`` fits the dev labels, where a rule "smallest τ on ties" would take the edge of the range.

        Args:
            model: The model this head belongs to (dev logits come from its ``encode``).
            dataset: Dev rows with ``text`` and ``label``.
            prior_weight: A fixed τ to keep instead of choosing one (its dev scores are still reported).
            objective: ``"accuracy"`` or ``"balanced"`` (balanced accuracy: the mean of per-label recalls).
            **settings: Other heads' calibration settings, ignored.

        Returns:
            ``{"prior_weight", "objective", "dev_accuracy", "dev_balanced_accuracy", "dev_log_loss"}``; ``None``
            without a prior (streamed training data) or dev rows.
        """
        if objective not in ("accuracy", "balanced"):
            raise ValueError(f"objective must be 'accuracy' or 'balanced', got {objective!r}")
        if self.prior is None or len(dataset) == 0:
            return None
        logits = model.encode(list(dataset["text"]), output_value=self.logits_key, show_progress_bar=False)
        logits = np.stack([row.float().cpu().numpy() for row in logits])  # (n, num_labels)
        gold = np.array([self.label_ids.get(label, -1) for label in dataset["label"]])
        decoder = self.decoder

        known = np.unique(gold[gold >= 0])

        def scores(weight: float) -> tuple[float, float, float, float]:
            """Accuracy, balanced accuracy, log loss and class-balanced log loss at τ = ``weight``."""
            decision = decoder.decision_logits(logits, weight)  # (n, num_labels)
            predicted = decision.argmax(axis=-1)
            # (n,); a row of a label the head lacks gets a placeholder, left out of both losses below
            losses = -log_softmax(decision)[np.arange(len(gold)), np.maximum(gold, 0)]
            recalls = [float((predicted[gold == i] == i).mean()) for i in known]
            balanced_loss = [float(losses[gold == i].mean()) for i in known]
            return (float((predicted == gold).mean()), float(np.mean(recalls)) if recalls else 0.0,
                    float(losses[gold >= 0].mean()) if known.size else 0.0,
                    float(np.mean(balanced_loss)) if balanced_loss else 0.0)  # fmt: skip

        grid = {weight: scores(weight) for weight in self.PRIOR_WEIGHT_GRID}
        if prior_weight is None:
            score, loss = (0, 2) if objective == "accuracy" else (1, 3)
            prior_weight = max(self.PRIOR_WEIGHT_GRID, key=lambda w: (grid[w][score], -grid[w][loss], -w))
        else:
            check_prior_weight(prior_weight)
            grid.setdefault(prior_weight, scores(prior_weight))
        self.prior_weight = float(prior_weight)
        accuracy, balanced, log_loss, _ = grid[prior_weight]
        return {"prior_weight": self.prior_weight, "objective": objective, "dev_accuracy": accuracy,
                "dev_balanced_accuracy": balanced, "dev_log_loss": log_loss}  # fmt: skip

    def describe_decision(self, chosen: dict[str, Any]) -> str:
        """The label with the largest logit, plus τ times the log prior when the head has one."""
        if self.prior is None:
            return "the label with the largest logit (no label prior)"
        line = f"the label with the largest logit + τ · log(training prior), prior weight τ = {self.prior_weight:g}"
        if "dev_accuracy" in chosen:
            objective = chosen.get("objective", "accuracy")
            line += (
                f" (chosen on dev by {objective}: accuracy {chosen['dev_accuracy']:.4f}, balanced accuracy "
                f"{chosen['dev_balanced_accuracy']:.4f})"
            )
        return line
