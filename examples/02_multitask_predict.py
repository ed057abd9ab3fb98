"""Task 2 showcase: one encoder, an intent head (Task A) and an NER head (Task B), one forward pass.

Builds the multi-task model on the default backbone with made-up label sets, prints ``predict`` output for
sample sentences (labels with probabilities, entities with character offsets), then saves and reloads it.
The heads are untrained here, so labels are random guesses: this shows the interface and the data flow.
Train them with ``examples/03_train_multitask.py`` or ``python -m stmtl train``.

Usage:
    python examples/02_multitask_predict.py
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import json
import tempfile

import stmtl
from stmtl.heads import SentenceClassificationHead, TokenClassificationHead

INTENTS = ["BookRestaurant", "GetWeather", "PlayMusic", "SetAlarm"]
NER_TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-TIME", "I-TIME"]
TEXTS = [
    "Book a table for two at Nobu in Malibu at 8pm",
    "  what's   the weather in São Paulo 🌧️ tomorrow?",
    "播放周杰伦的歌",
    "",
]


def main() -> None:
    # 1. Heads read features the encoder already computes: the sentence embedding and the token embeddings.
    dim = 384  # all-MiniLM-L6-v2
    heads = [SentenceClassificationHead("intent", INTENTS, dim), TokenClassificationHead("ner", NER_TAGS, dim)]
    model = stmtl.build(heads, device="cpu")
    print(model)

    # 2. One pass per batch gives every task's output; entity offsets index the original text.
    print("\npredict (untrained heads: the labels are random until trained)")
    for text, result in zip(TEXTS, model.predict(TEXTS)):
        print(json.dumps({"text": text, **result}, ensure_ascii=False))

    # 3. encode() still returns the backbone's sentence embeddings.
    print(f"\nencode: {model.encode(TEXTS).shape}, embedding dimension {model.get_embedding_dimension()}")

    # 4. Save in the sentence-transformers format and reload with stmtl.load.
    with tempfile.TemporaryDirectory() as folder:
        model.save(folder)
        print(f"\nsaved: {sorted(os.listdir(folder))}")
        reloaded = stmtl.load(folder, device="cpu")
        print(f"reloaded predictions identical: {reloaded.predict(TEXTS) == model.predict(TEXTS)}")


if __name__ == "__main__":
    main()
