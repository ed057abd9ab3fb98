"""Token classification (NER / slot filling) from the per-token hidden states."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import datasets
import numpy as np
import pyarrow as pa
import torch

from stmtl.alignment import IGNORE_INDEX
from stmtl.heads.classification import ClassificationHead
from stmtl.heads.columns import column_values
from stmtl.heads.token import DATA, KIND
from stmtl.heads.token.bio import entities_to_tags
from stmtl.heads.token.columns import TokenColumnReader
from stmtl.heads.token.crf import LinearChainCRF
from stmtl.heads.token.decoding import TokenDecoder

if TYPE_CHECKING:
    import evaluate

    from stmtl.alignment import BatchAlignment


class TokenClassificationHead(ClassificationHead):
    """Tags every word piece from ``features["token_embeddings"]``; one IOB2 tag per word (``tokens``/``tags``).

    Writes ``features[f"{task}_logits"]`` of shape ``(batch, seq, num_labels)``.

    Design choices:
        * IOB2 tags (``B-type`` opens an entity, ``I-type`` continues it, ``O`` is outside): the scheme of SNIPS
          and ATIS data and what seqeval's strict mode scores, so no conversion sits between model and metric.
          The data readers convert IOB1 (CoNLL-2003), BIOES and BILOU sources to IOB2 before the head sees them
          (:mod:`stmtl.heads.token.tag_schemes`); the head itself holds IOB2 labels only, and its label set must
          contain ``O``.
        * Each word is tagged from its first piece; later pieces are ignored in the loss and at decoding, so a
          word counts once however the tokenizer splits it.
        * Decoding (:class:`stmtl.heads.token.decoding.TokenDecoder`): a Viterbi pass over the words' log-probabilities
          picks the most probable tag sequence in which every ``I-X`` continues an ``X`` entity, and the words'
          tags become entities with character offsets; words cut by truncation are tagged ``O``.
        * A single linear layer with dropout 0.1 by default, as BERT's token-classification head.
        * A linear-chain CRF (:mod:`stmtl.heads.token.crf`) on every head trained from data (:meth:`for_task`,
          what ``stmtl train`` builds) unless the task's options say ``crf: false``: learned scores for each pair
          of neighbouring tags and for a text's first and last tag, trained on the words' negative log-likelihood
          (the forward algorithm; per word, so its scale matches cross-entropy's; no label smoothing) and decoded
          by the same Viterbi pass with those scores added. The scores are saved in the config as well as the
          weights, so the torch-free decoder (and the ONNX runner) reads them. With the task adapter it raised dev
          slot F1 by 5.18 at 16 SNIPS sentences per intent and 1.62 at 1,000 (3 samples each, every one up) and
          left it level on all of SNIPS (94.86 against 94.81, 3 seeds; docs/results.md). A head built directly,
          or loaded from a config without the key, has none.
        * ``sentence_context`` (off by default) makes the head intent-aware: each piece's features are concatenated
          with the text's ``sentence_embedding`` before the classifier, so a word's tag can depend on what the
          whole sentence asks for (the same words are a ``playlist`` in one intent and an ``object_name`` in
          another). Measured on SNIPS with the task adapter it lowered dev slot F1 (94.33 against 94.81, 3 seeds;
          docs/results.md), hence off.
        * Scored on the entities ``predict`` returns (after its repair of a stray ``I-X``), turned back into
          word tags, with seqeval in strict IOB2 mode; the best model is selected on dev entity F1.

    Args:
        task: Task name, e.g. ``"slots"``.
        labels: IOB2 tags, in logit order.
        in_features: Hidden size of the encoder.
        dropout: Input dropout.
        hidden_features: Optional hidden layer size.
        module_input_name: Feature to read, ``"token_embeddings"`` by default.
        sentence_context: Concatenate ``features["sentence_embedding"]`` to every piece's features.
        crf: ``True`` for a new linear-chain CRF, the saved scores of a trained one, or ``False`` for none.
    """

    kind = KIND
    config_keys = [*ClassificationHead.config_keys, "sentence_context", "crf"]
    config_checks = TokenDecoder.config_checks
    data_description = DATA
    default_input_name = "token_embeddings"
    default_task_name = "slots"
    columns = {"tokens": datasets.List(datasets.Value("string")), "tags": datasets.List(datasets.Value("string"))}
    words_column = "tokens"
    label_column = "tags"
    joint_files = {"seq.in": "tokens", "seq.out": "tags"}
    """The files of a SNIPS/ATIS joint folder this kind reads (:mod:`stmtl.data.joint_folder`): the words and the
    tags of each line."""
    column_reader_class = TokenColumnReader
    decoder_class = TokenDecoder
    count_unit = "entities per type"
    metric_keys = ("precision", "recall", "f1")
    selection_key = "f1"
    min_labels = 2  # "O" and one entity tag
    # A sentence encoder's word-piece states were not trained to tell entity types apart, so the encoder must move
    # for this task. On small data a head probed on them fits the training words almost exactly (probe loss 0.02
    # on 112 sentences) and leaves the encoder little gradient to learn from: 16 SNIPS sentences per intent reach
    # 52.66 dev slot F1 with the probe, 62.62 without (full fine-tuning; docs/task3_training.md).
    probe_with_trainable_encoder = False

    def __init__(
        self,
        task: str,
        labels: list[str],
        in_features: int,
        sentence_context: bool = False,
        crf: bool | dict[str, Any] = False,
        **kwargs: Any,
    ) -> None:
        kind_config = {"sentence_context": sentence_context, "crf": crf}
        super().__init__(task, labels, in_features, kind_config=kind_config, **kwargs)
        self.sentence_context = bool(sentence_context)
        if self.sentence_context:
            self.classifier = self.build_classifier(2 * in_features, self.num_labels)
        self.chain = LinearChainCRF(self.labels, crf if isinstance(crf, dict) else None) if crf is not False else None

    @property
    def crf(self) -> bool | dict[str, Any]:
        """The CRF's current scores (``{"transitions", "start", "end"}``), or ``False`` without one."""
        return False if self.chain is None else self.chain.scores()

    def classifier_inputs(self, features: dict[str, Any]) -> torch.Tensor:
        """The pieces' features, with the sentence embedding after each when :attr:`sentence_context`."""
        tokens = features[self.module_input_name]  # (batch, seq, dim)
        if not self.sentence_context:
            return tokens
        sentence = features["sentence_embedding"]  # (batch, dim)
        if sentence.shape[-1] != tokens.shape[-1]:
            raise ValueError(
                f"head {self.task!r}: sentence_context needs a sentence embedding as wide as the token features "
                f"({tokens.shape[-1]}), got {sentence.shape[-1]}"
            )
        return torch.cat([tokens, sentence.unsqueeze(1).expand_as(tokens)], dim=-1)  # (batch, seq, 2 * dim)

    @classmethod
    def for_task(
        cls, task: str, data: datasets.Dataset | datasets.IterableDataset, in_features: int, **options: Any
    ) -> TokenClassificationHead:
        """A new head for ``task``, with a CRF unless the task's options say ``crf: false`` (heads built directly
        and saved configs without the key have none)."""
        options.setdefault("crf", True)
        return super().for_task(task, data, in_features, **options)

    @classmethod
    def labels_from_data(cls, dataset: datasets.Dataset | datasets.IterableDataset) -> list[str]:
        """``O`` first, then the sorted set of the other tags (IOB2: the readers have converted other schemes)."""
        tags = cls.distinct_values(dataset, "tags")
        return ["O", *sorted(tags - {"O"})]

    @classmethod
    def label_counts(cls, dataset: datasets.Dataset, task: str) -> dict[str, int]:
        """Entities per type (``B-`` tags), most frequent first."""
        counts = Counter(tag[2:] for tags in column_values(dataset, "tags") for tag in tags if tag.startswith("B-"))
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def encode_targets(self, batch: pa.Table, alignment: BatchAlignment) -> pa.Array:
        """Per row, one id per piece: the word's tag id on its first piece, ``-100`` elsewhere and for unknown tags."""
        tags = batch.column("tags").combine_chunks().flatten().to_pylist()
        word_label_ids = np.array([self.label_ids.get(tag, IGNORE_INDEX) for tag in tags], dtype=np.int64)
        labels = alignment.piece_labels(word_label_ids)  # (pieces,)
        return pa.ListArray.from_arrays(pa.array(alignment.piece_offsets, pa.int32()), pa.array(labels, pa.int64()))

    def loss(
        self, features: dict[str, Any], batch: dict[str, torch.Tensor], label_smoothing: float = 0.0
    ) -> torch.Tensor:
        """Cross-entropy per word; with a CRF, its negative log-likelihood per word.

        Items without a sequence (the LP-FT probe's ``(items, labels)`` logits) get cross-entropy either way: the
        probe fits the emission layer, the CRF's scores start at zero.
        """
        logits = features[self.logits_key]
        if self.chain is None or logits.dim() != 3:
            return super().loss(features, batch, label_smoothing)
        targets = batch[self.target_column].to(logits.device)  # (batch, seq): tag id on a word's first piece
        known = targets != IGNORE_INDEX
        # Each text's words moved to the front of its row, in order: (batch, seq) indices of the word pieces first.
        order = torch.sort((~known).to(torch.int8), dim=1, stable=True).indices
        words = known.sum(dim=1)  # (batch,)
        width = int(words.max())
        if width == 0:  # no word of this task in the batch
            return logits.sum() * 0.0
        texts = words > 0
        order = order[texts, :width]  # (texts, words)
        emissions = logits[texts].gather(1, order.unsqueeze(-1).expand(-1, -1, self.num_labels))  # (texts, words, L)
        tags = targets[texts].gather(1, order)  # (texts, words)
        mask = torch.arange(width, device=logits.device) < words[texts].unsqueeze(1)  # (texts, words)
        return self.chain.nll(emissions, tags, mask) / words.sum()

    def structure_parameters(self) -> list[torch.nn.Parameter]:
        """The CRF's transition, start and end scores, if the head has one."""
        return [] if self.chain is None else list(self.chain.parameters())

    def collate_targets(self, targets: list[list[int]], seq_len: int) -> torch.Tensor:
        padded = [row + [IGNORE_INDEX] * (seq_len - len(row)) for row in targets]
        return torch.tensor(padded, dtype=torch.long)  # (batch, seq)

    def reference(self, row: dict[str, Any]) -> list[str]:
        return list(row["tags"])

    def scored_form(self, result: list[dict[str, Any]], word_spans: list[tuple[int, int]]) -> list[str]:
        return entities_to_tags(result, word_spans)

    def metric(self) -> evaluate.Metric:
        from stmtl.heads.token.metric import TokenClassificationMetric

        return TokenClassificationMetric(keep_in_memory=True)

    def error_analysis(self, references: list[list[str]], predictions: list[list[str]]) -> dict[str, Any]:
        """The ``entity_errors``: missed, spurious, wrong span and wrong type (:mod:`stmtl.heads.token.errors`)."""
        from stmtl.heads.token.errors import entity_errors

        return {"entity_errors": entity_errors(references, predictions)}

    def describe_decision(self, chosen: dict[str, Any]) -> str:
        """The most probable well-formed IOB2 tag sequence (under the CRF when the head has one)."""
        model = " under the head's linear-chain CRF" if self.chain is not None else ""
        return f"the most probable well-formed IOB2 tag sequence per text{model}, read as entities"
