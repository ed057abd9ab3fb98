"""Task B: token classification (NER / slot filling) from the per-token hidden states."""

from __future__ import annotations

from typing import Any

from stmtl.alignment import first_pieces
from stmtl.bio import check_iob2_labels, decode_entities
from stmtl.heads.base import TaskHead, TextBatch


class TokenClassificationHead(TaskHead):
    """Tags every word piece from ``features["token_embeddings"]``.

    Writes ``features[f"{task}_logits"]`` of shape ``(batch, seq, num_labels)``.

    Design choices:
        * IOB2 tags (``B-type`` opens an entity, ``I-type`` continues it, ``O`` is outside): the scheme of SNIPS,
          ATIS and CoNLL data and what seqeval's strict mode scores, so no conversion sits between data,
          model and metric. The label set must contain ``O``.
        * Each word is tagged from its first piece; later pieces are ignored in the loss and at decoding, so a
          word counts once however the tokenizer splits it.
        * A single linear layer with dropout 0.1 by default, as BERT's token-classification head.

    Args:
        task: Task name, e.g. ``"slots"``.
        labels: IOB2 tags, in logit order.
        in_features: Hidden size of the encoder.
        dropout: Input dropout.
        hidden_features: Optional hidden layer size.
        module_input_name: Feature to read, ``"token_embeddings"`` by default.
    """

    kind = "token"
    default_input_name = "token_embeddings"

    def __init__(self, task: str, labels: list[str], in_features: int, **kwargs: Any) -> None:
        super().__init__(task, labels, in_features, **kwargs)
        check_iob2_labels(self.labels)

    def decode(self, features: dict[str, Any], batch: TextBatch) -> list[list[dict[str, Any]]]:
        """Entities with character offsets per text.

        Words without a piece (cut by truncation) are tagged ``O``.

        Returns:
            Per text, a list of ``{"label", "start", "end", "text", "score"}``.
        """
        probabilities = features[self.logits_key].float().softmax(dim=-1)  # (batch, seq, num_labels)
        scores, indices = probabilities.max(dim=-1)  # (batch, seq)
        scores, indices = scores.tolist(), indices.tolist()
        results = []
        for row, (text, spans, word_ids) in enumerate(zip(batch.texts, batch.word_spans, batch.word_ids)):
            tags, tag_scores = [], []
            for position in first_pieces(word_ids, len(spans)):
                if position is None:
                    tags.append("O")
                    tag_scores.append(1.0)
                else:
                    tags.append(self.labels[indices[row][position]])
                    tag_scores.append(scores[row][position])
            results.append(decode_entities(text, spans, tags, tag_scores))
        return results
