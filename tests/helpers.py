"""Small builders shared by tests."""

from __future__ import annotations

import stmtl
from stmtl.heads import SentenceClassificationHead, TokenClassificationHead

INTENTS = ["BookRestaurant", "GetWeather", "PlayMusic"]
TAGS = ["O", "B-loc", "I-loc", "B-time", "I-time"]
TRICKY_TEXTS = [
    "Book a table for two at Nobu in Malibu at 8pm",
    "  what's   the weather in São Paulo 🌧️ tomorrow?",
    "播放周杰伦的歌",
    "",
    "e\u0301te\u0301 Zürich ,, (rain)\t\tsupercalifragilistic",
]


def two_task_model(backbone: str, dim: int, seed: int = 0) -> stmtl.MultiTaskSentenceTransformer:
    """An intent head and an NER head on ``backbone``, random weights from ``seed``."""
    import torch

    torch.manual_seed(seed)
    heads = [SentenceClassificationHead("intent", INTENTS, dim), TokenClassificationHead("ner", TAGS, dim)]
    return stmtl.build(heads, backbone=backbone, device="cpu")
