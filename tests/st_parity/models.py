"""The two classes the parity tests run on, built from the same tiny local BERT."""

from __future__ import annotations

from sentence_transformers import SentenceTransformer

import stmtl
from stmtl.backbone import encoder_modules
from stmtl.heads import SentenceClassificationHead
from tests.helpers import INTENTS, two_task_model

CLASSES = [SentenceTransformer, stmtl.MultiTaskSentenceTransformer]
IDS = ["plain", "multitask"]


def make_model(cls: type, backbone: str, modules: list | None = None) -> SentenceTransformer:
    """A model of ``cls`` on the tiny backbone: the encoder alone, or the encoder and two heads."""
    if cls is SentenceTransformer:
        return SentenceTransformer(modules=modules or encoder_modules(backbone), device="cpu")
    if modules is not None:
        dim = SentenceTransformer(modules=modules, device="cpu").encode("x").shape[-1]
        head = SentenceClassificationHead("intent", INTENTS, dim)
        return stmtl.MultiTaskSentenceTransformer(modules=[*modules, head], device="cpu")
    return two_task_model(backbone, dim=32)
