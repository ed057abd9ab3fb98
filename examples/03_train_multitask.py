"""Task 4 showcase: the multi-task training loop on two made-up datasets, one per task.

Task A (intents) and Task B (named entities) come from *different* corpora here, as they usually do: an intent
dataset of ``{"text", "label"}`` rows and an NER dataset of ``{"tokens", "tags"}`` rows, generated from templates
(``stmtl/demo_data.py``, shared with the quick start). ``interleave`` mode mixes one-task batches from both
(``datasets.interleave_datasets``, proportional sampling); every batch runs the shared encoder once; the loss of the
batch's task trains the encoder and that task's head. Dev metrics come from ``evaluate``-style metrics (accuracy,
macro-F1) and seqeval (strict).

Usage:
    python examples/03_train_multitask.py [--output runs/example03] [--epochs 3]
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import json

from datasets import Dataset

import stmtl
from stmtl.config import TrainConfig
from stmtl.demo_data import intent_rows, ner_rows
from stmtl.training.run import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="runs/example03")
    parser.add_argument("--epochs", type=float, default=3.0)
    args = parser.parse_args()

    # 1. Two corpora, one per task, each with its own train/dev split.
    intents_train, intents_dev = Dataset.from_list(intent_rows(120)), Dataset.from_list(intent_rows(30, seed=1))
    ner_train, ner_dev = Dataset.from_list(ner_rows(120)), Dataset.from_list(ner_rows(30, seed=1))
    print(f"intent data: {len(intents_train)} train / {len(intents_dev)} dev, e.g. {intents_train[0]}")
    print(f"NER data:    {len(ner_train)} train / {len(ner_dev)} dev, e.g. {ner_train[0]}")

    # 2. The run: default backbone, one-task batches interleaved in proportion to dataset size.
    config = TrainConfig.from_dict(
        {
            "output_dir": args.output,
            "mode": "interleave",
            "sampling": "proportional",
            "epochs": args.epochs,
            "batch_size": 16,
            "lr_backbone": 1e-4,
            "lr_heads": 3e-3,
            "log_every": 5,
            "tasks": [
                {"name": "intent", "kind": "sentence", "train": intents_train, "dev": intents_dev},
                {"name": "ner", "kind": "token", "train": ner_train, "dev": ner_dev},
            ],
        }
    )

    # 3. Train: progress bar with per-task loss, dev evaluation each epoch, checkpoints, best model kept.
    model, results = train(config)
    print("\ndev metrics of the best checkpoint:")
    print(json.dumps(results["dev"], indent=2))

    # 4. Use it: one call, both tasks; and reload it from the run folder.
    texts = ["will it rain in berlin tomorrow", "grace hopper flew to são paulo on monday"]
    for text, result in zip(texts, stmtl.load(args.output).predict(texts)):
        print(json.dumps({"text": text, **result}, ensure_ascii=False))
    print(f"\nrun folder: {args.output} (model, checkpoints/, metrics.jsonl, plots/)")


if __name__ == "__main__":
    main()
