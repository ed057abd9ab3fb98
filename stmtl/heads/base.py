"""The shared base of task heads: a small classifier that is a sentence-transformers module.

A head reads one feature that the encoder already computed (``sentence_embedding`` or ``token_embeddings``)
and writes ``features[f"{task}_logits"]``; it never changes the features it reads, so ``encode`` of a
multi-task model returns exactly the backbone's embeddings. Its constructor arguments are its saved config
(``config.json``) and its weights are saved as safetensors only.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, ClassVar

try:
    from typing import Self
except ImportError:  # Python 3.10
    from typing import Self

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from sentence_transformers.base.modules import Module
from torch import nn

_TASK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
RESERVED_TASK_NAMES = frozenset({"sentence_embedding", "token_embeddings", "embedding"})


@dataclass
class TextBatch:
    """Where the words of a tokenized batch are, for decoders that return spans.

    Attributes:
        texts: The original texts.
        word_spans: Per text, ``(start, end)`` of every word.
        word_ids: Per text, the word index of every piece (``None`` for special tokens and padding).
    """

    texts: list[str]
    word_spans: list[list[tuple[int, int]]]
    word_ids: list[list[int | None]]


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
    default_input_name: ClassVar[str] = ""
    config_keys: list[str] = ["task", "labels", "in_features", "dropout", "hidden_features", "module_input_name"]

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
        if not isinstance(task, str) or not _TASK_NAME.match(task) or task in RESERVED_TASK_NAMES:
            raise ValueError(f"task name {task!r} must be an identifier (letters, digits, _) and not reserved")
        labels = list(labels)
        if not labels or len(set(labels)) != len(labels) or not all(isinstance(label, str) for label in labels):
            raise ValueError(f"task {task!r}: labels must be a non-empty list of distinct strings")
        if in_features <= 0:
            raise ValueError(f"task {task!r}: in_features must be positive, got {in_features}")
        self.task = task
        self.labels = labels
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
    def num_labels(self) -> int:
        return len(self.labels)

    def forward(self, features: dict[str, Any], **kwargs) -> dict[str, Any]:
        features[self.logits_key] = self.classifier(features[self.module_input_name])
        return features

    def loss(self, logits: torch.Tensor, targets: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
        """Mean cross-entropy of this head's logits against label ids (``-100`` ignored)."""
        return nn.functional.cross_entropy(
            logits.reshape(-1, self.num_labels).float(), targets.reshape(-1), label_smoothing=label_smoothing
        )

    def decode(self, features: dict[str, Any], batch: TextBatch) -> list[Any]:
        """Turn this head's logits for a batch into one result per text."""
        raise NotImplementedError

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
        """Load a head saved by :meth:`save`: its ``config.json`` and ``model.safetensors`` (never a pickle).

        Raises:
            FileNotFoundError: If the config or weight file is missing (naming the file).
            ValueError: If the weight file is unreadable or does not match the config (naming the file).
        """
        folder = os.path.join(model_name_or_path, subfolder)
        config_path = os.path.join(folder, cls.config_file_name)
        weights_path = os.path.join(folder, "model.safetensors")
        for path in (config_path, weights_path):
            if not os.path.isfile(path):
                raise FileNotFoundError(f"{path}: missing file of the {cls.__name__} in {model_name_or_path}")
        config = cls.load_config(model_name_or_path, subfolder=subfolder, local_files_only=True)
        head = cls(**{key: value for key, value in config.items() if key in cls.config_keys})
        try:
            state = load_file(weights_path)
            head.load_state_dict(state, strict=True)
        except (SafetensorError, RuntimeError, OSError) as error:
            reason = str(error).splitlines()[0]
            raise ValueError(f"{weights_path}: unreadable or mismatched head weights ({reason})") from None
        return head
