"""Task A: sentence classification (e.g. intents) from the pooled sentence embedding."""

from __future__ import annotations

from typing import Any

from stmtl.heads.base import TaskHead, TextBatch


class SentenceClassificationHead(TaskHead):
    """Classifies a whole text from ``features["sentence_embedding"]``.

    Writes ``features[f"{task}_logits"]`` of shape ``(batch, num_labels)``.

    Design choices:
        * Input after the backbone's ``Normalize`` (when it has one): the head classifies the very vector that
          ``encode`` returns, so intents are a linear read-out of the public embedding space and keeping that
          space intact (see embedding preservation) keeps the head valid.
        * A single linear layer by default (a hidden layer is a constructor option): the shared encoder is
          fine-tuned, so extra capacity in the head adds parameters without adding accuracy on intent data.
        * Dropout 0.1 on the input, BERT's own rate for its classification heads.

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
