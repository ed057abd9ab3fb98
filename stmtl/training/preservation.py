"""Keeping ``encode()`` useful while the heads train: embedding distillation or L2-SP.

Fine-tuning the shared encoder for intents and slots moves its sentence embeddings away from what made them good
for search and clustering. Two penalties, added to the task losses with weight ``preserve_embeddings``:

* ``distill`` (default): ``1 - cos(e, e0)`` between the model's ``sentence_embedding`` of a training text and the
  *source* model's embedding of the same text. Up to :data:`CACHED_TEACHER_ROWS` training rows, the source
  embeddings are computed once, before the first step, and stored as a column of the training dataset (cached on
  disk), so the teacher costs one ``encode`` pass over the training texts, not a second forward pass per step.
  Above that, a pass over every row would delay the first step by the corpus size (37 minutes for a million rows
  on a 2-core CPU), so a frozen copy of the source encoder embeds each batch as it comes instead: the time to the
  first step stays flat and each step pays one forward pass more. Both give the same teacher values (the
  source encoder in eval mode). The teacher is computed without dropout, so
  distillation also turns the encoder's dropout off for training (unless ``encoder_dropout`` is set): with
  dropout on, ``1 - cos`` is already about 0.05 at step 0 on SNIPS, and the term becomes a dropout-consistency
  regulariser that fights the tasks.
* ``l2sp``: ``||θ - θ0||²`` summed over encoder parameters, θ0 being their starting values (Li et al., "Explicit
  Inductive Bias for Transfer Learning with Convolutional Networks", ICML 2018). It needs no data but constrains
  every weight, including those the embedding does not depend on much.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

import torch

logger = logging.getLogger(__name__)

TEACHER = "teacher_embedding"
"""Column of the cached source embedding."""
CACHED_TEACHER_ROWS = 50_000
"""Most training rows whose source embeddings distillation computes before the first step (about two minutes on a
2-core CPU); a larger corpus gets them batch by batch from a frozen copy of the source encoder."""


def weights_fingerprint(model: Any) -> str:
    """A hash of the weights of the model's shared (non-head) modules: the source model's identity in cache keys."""
    from datasets.fingerprint import Hasher

    hasher = Hasher()
    for module in model.shared_modules:
        for name, tensor in module.state_dict().items():
            hasher.update(name)
            hasher.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return hasher.hexdigest()


def set_encoder_dropout(model: Any, probability: float) -> int:
    """Set the probability of every dropout layer outside the task heads.

    Args:
        model: The model; its saved config keeps the backbone's own value, which only matters for training.
        probability: The new dropout probability.

    Returns:
        The number of dropout layers changed.
    """
    layers = [
        layer for module in model.shared_modules for layer in module.modules() if isinstance(layer, torch.nn.Dropout)
    ]
    for layer in layers:
        layer.p = probability
    logger.info("encoder dropout set to %g in %d layers", probability, len(layers))
    return len(layers)


class EmbeddingPreservation:
    """The preservation penalty of one run.

    Args:
        method: ``"distill"`` or ``"l2sp"``.
        weight: Multiplier of the penalty.
    """

    def __init__(self, method: str, weight: float, cached_rows: int = CACHED_TEACHER_ROWS) -> None:
        if method not in ("distill", "l2sp"):
            raise ValueError(f"preserve_method must be 'distill' or 'l2sp', got {method!r}")
        self.method, self.weight, self.cached_rows = method, weight, cached_rows
        self.anchor: list[tuple[torch.nn.Parameter, torch.Tensor]] = []
        self.teacher_passes = 0
        """Preparations that ran the source model (0 when every embedding came from the cache)."""
        self.teacher: torch.nn.Sequential | None = None
        """The frozen source encoder that embeds each batch, when the corpus is too large to cache."""
        self.tokenizer: Any = None

    @torch.no_grad()
    def prepare(self, model: Any, streams: list[Any], batch_size: int = 128) -> None:
        """Before training: add the source embedding of every training row as a column, or snapshot θ0 for L2-SP.

        The embeddings are computed with ``Dataset.map`` and cached under a fingerprint of the rows and of the
        source model's weights, so a second run from the same model and data skips the teacher pass. Above
        ``cached_rows`` rows in all, only a frozen copy of the source encoder is kept (see :meth:`loss`).
        """
        if self.method == "l2sp":
            self.anchor = [
                (p, p.detach().clone())
                for module in model.shared_modules
                for p in module.parameters()
                if p.requires_grad
            ]
            return
        from datasets.fingerprint import Hasher

        from stmtl.features import collate, forward

        rows = sum(len(stream.dataset) for stream in streams)
        if rows > self.cached_rows:
            self.teacher = torch.nn.Sequential(*(copy.deepcopy(module) for module in model.shared_modules)).eval()
            self.teacher.requires_grad_(False)
            self.tokenizer = model.tokenizer
            logger.info("source embeddings of %d training rows: computed batch by batch (over %d rows)", rows,
                        self.cached_rows)  # fmt: skip
            return
        model_hash = weights_fingerprint(model)

        computed = []

        def embed(columns: dict[str, list]) -> dict[str, Any]:
            computed.append(len(columns["input_ids"]))
            features = forward(model, collate(columns, model.tokenizer), model.device)
            return {TEACHER: features["sentence_embedding"].float().cpu().numpy()}  # (batch, dim)

        model.eval()
        for stream in streams:
            stream.dataset = stream.dataset.map(
                embed,
                batched=True,
                batch_size=batch_size,
                new_fingerprint=Hasher.hash([stream.dataset._fingerprint, TEACHER, model_hash]),
                desc="Source embeddings",
            )
        self.teacher_passes += bool(computed)
        logger.info("source embeddings of %d training rows ready (%d computed)", sum(len(s.dataset) for s in streams),
                    sum(computed))  # fmt: skip

    def loss(self, features: dict[str, Any], rows: dict[str, list]) -> torch.Tensor:
        """The weighted penalty for one batch of rows (column → values)."""
        if self.method == "l2sp":
            penalty = sum(((p - p0.to(p.device)) ** 2).sum() for p, p0 in self.anchor)
            return self.weight * penalty
        student = features["sentence_embedding"].float()  # (batch, dim)
        if TEACHER in rows:
            teacher = torch.tensor(rows[TEACHER], dtype=torch.float32, device=student.device)  # (batch, dim)
        else:
            teacher = self.teacher_embeddings(rows, student.device)
        cosine = torch.nn.functional.cosine_similarity(student, teacher, dim=-1)  # (batch,)
        return self.weight * (1.0 - cosine).mean()

    @torch.no_grad()
    def teacher_embeddings(self, rows: dict[str, list], device: torch.device) -> torch.Tensor:
        """``(batch, dim)`` source embeddings of a batch of encoded rows, by the frozen copy of the source encoder."""
        from stmtl.features import MODEL_INPUTS, collate

        if self.teacher is None:
            raise RuntimeError("no source embeddings: prepare() was not run, or the rows lack the teacher column")
        self.teacher.to(device)
        batch = collate(rows, self.tokenizer)
        features = self.teacher({key: batch[key].to(device) for key in MODEL_INPUTS if key in batch})
        return features["sentence_embedding"].float()
