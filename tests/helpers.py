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


# A 16-sentence two-task toy set: intents and IOB2 slots.
TOY = [
    ("play music by adele", "PlayMusic", "O O O B-artist"),
    ("play a song by queen", "PlayMusic", "O O O O B-artist"),
    ("play something by metallica now", "PlayMusic", "O O O B-artist O"),
    ("play the song by abba", "PlayMusic", "O O O O B-artist"),
    ("book a table in paris", "BookRestaurant", "O O O O B-city"),
    ("book a table for two in rome", "BookRestaurant", "O O O O B-party O B-city"),
    ("book a table for four in new york", "BookRestaurant", "O O O O B-party O B-city I-city"),
    ("book a restaurant in berlin", "BookRestaurant", "O O O O B-city"),
    ("what is the weather in new york", "GetWeather", "O O O O O B-city I-city"),
    ("weather tomorrow in london", "GetWeather", "O B-date O B-city"),
    ("how is the weather in tokyo today", "GetWeather", "O O O O O B-city B-date"),
    ("weather in los angeles tomorrow", "GetWeather", "O O B-city I-city B-date"),
    ("set an alarm for seven", "SetAlarm", "O O O O B-time"),
    ("set alarm at six thirty", "SetAlarm", "O O O B-time I-time"),
    ("remind me at nine", "SetAlarm", "O O O B-time"),
    ("set an alarm for noon", "SetAlarm", "O O O O B-time"),
]


def toy_dataset():
    """The toy set as a ``datasets.Dataset`` with text, tokens, tags and label."""
    from datasets import Dataset

    return Dataset.from_dict(
        {
            "text": [text for text, _, _ in TOY],
            "tokens": [text.split() for text, _, _ in TOY],
            "tags": [tags.split() for _, _, tags in TOY],
            "label": [label for _, label, _ in TOY],
        }
    )


def write_joint_folder(root, splits=("train", "dev", "test")) -> str:
    """The toy set written as a SNIPS-style folder (same rows in every split)."""
    from pathlib import Path

    root = Path(root)
    for split in splits:
        (root / split).mkdir(parents=True, exist_ok=True)
        (root / split / "seq.in").write_text("".join(f"{text}\n" for text, _, _ in TOY))
        (root / split / "seq.out").write_text("".join(f"{tags}\n" for _, _, tags in TOY))
        (root / split / "label").write_text("".join(f"{label}\n" for _, label, _ in TOY))
    return str(root)


def toy_config(output_dir, backbone, **overrides):
    """A fast two-task config on the toy set (joint mode, high learning rates, full fine-tuning).

    Full fine-tuning, not the task-adapter default: the tiny random encoder gives LoRA little to adapt, and the
    loop's tests (checkpoints, best step, early stopping, resume) count on the toy being learnt in a few steps.
    Adapter-mode runs are tested in ``tests/training/test_adapter_training.py``; the default's choice in
    ``tests/training/test_resolve.py``.
    """
    from stmtl.config import TrainConfig

    data = toy_dataset()
    values = {
        "output_dir": str(output_dir),
        "backbone": backbone,
        "epochs": 25,
        "batch_size": 4,
        "lr_backbone": 2e-3,
        "lr_heads": 1e-2,
        "warmup_ratio": 0.0,
        "log_every": 5,
        "eval_every": 20,
        "cpu": True,
        "encoder": "full",
        "tasks": [
            {"name": "intent", "kind": "sentence", "train": data, "dev": data},
            {"name": "slots", "kind": "token", "train": data, "dev": data},
        ],
    }
    values.update(overrides)
    return TrainConfig.from_dict(values)
