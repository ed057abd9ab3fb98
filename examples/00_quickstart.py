"""Quick start: train intents and slots on made-up requests, then label requests the model has never seen.

Generates assistant requests from templates (four intents: book a table, weather, play music, set an alarm; seven
slot types filled from short lists; see ``stmtl/demo_data.py``), trains the default encoder (all-MiniLM-L6-v2)
with an intent head and a slot head for a few epochs, and prints the predictions for requests with new slot values
and new sentence shapes, each checked against its expected answer. Takes about a minute on a 2-core CPU; exits
with status 1 if any unseen request is labelled wrongly.

Usage:
    python examples/00_quickstart.py [--output runs/quickstart] [--epochs 3] [--threads 1] [--verbose]
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse
import contextlib
import logging
import sys
import time
from typing import Any

import stmtl
from stmtl.demo_data import UNSEEN, Expected, assistant_rows, check_predictions


def train_model(output: str, backbone: str | None = None, epochs: float = 3, rows: int = 320, **settings: Any) -> Any:
    """Train an intent + slot model on template requests; returns the best model (kept in ``output``).

    Args:
        output: The run folder (replaced if it holds an earlier run).
        backbone: The encoder: ``None`` for all-MiniLM-L6-v2, or a local model folder.
        epochs: Passes over the training requests.
        rows: Training requests (a quarter as many again are generated for dev).
        **settings: Other ``TrainConfig`` values (e.g. learning rates for another backbone).
    """
    from datasets import Dataset

    # 1. Made-up data: one request carries both labels, so both tasks share each batch ("joint" mode).
    train = Dataset.from_list(assistant_rows(rows, seed=0))
    dev = Dataset.from_list(assistant_rows(rows // 4, seed=1))
    tasks = [
        stmtl.TaskConfig("intent", "sentence", train=train, dev=dev),  # column "label"
        stmtl.TaskConfig("slots", "token", train=train, dev=dev),  # columns "tokens", "tags"
    ]
    # 2. A short run (60 steps): small batches and high learning rates; the heads start from random weights, hence
    # their larger rate.
    values = {"batch_size": 16, "lr_backbone": 2e-4, "lr_heads": 5e-3, "save_total_limit": 1, **settings}
    config = stmtl.TrainConfig(output_dir=output, tasks=tasks, backbone=backbone, epochs=epochs, **values)
    model, _ = stmtl.train(config, overwrite=True)
    return model


def label_unseen(model: Any, expected: list[Expected] = UNSEEN) -> tuple[list[dict[str, Any]], list[bool]]:
    """``predict`` on requests unlike the training data, and whether each answer is the expected one."""
    predictions = model.predict([item.text for item in expected])
    return predictions, check_predictions(predictions, expected)


def print_table(predictions: list[dict[str, Any]], right: list[bool], expected: list[Expected]) -> None:
    """One line per request: the text, the predicted intent and entities, and ✓ or the expected answer."""
    width = max(len(item.text) for item in expected)
    print(f"{'unseen request':<{width}}  {'intent':<15} entities")
    for result, ok, want in zip(predictions, right, expected):
        entities = ", ".join(f"{entity['label']}={entity['text']}" for entity in result["slots"]) or "-"
        verdict = "✓" if ok else f"✗ expected {want.intent}: " + ", ".join(f"{s}={t}" for s, t in want.slots)
        print(f"{want.text:<{width}}  {result['intent']['label']:<15} {entities:<38} {verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="runs/quickstart", help="run folder (default: runs/quickstart)")
    parser.add_argument("--epochs", type=float, default=3.0, help="passes over the training data (default: 3)")
    parser.add_argument("--verbose", action="store_true", help="show progress bars and per-epoch dev scores")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: 1; see below)")
    args = parser.parse_args()
    start = time.perf_counter()
    # One thread by default: on the shared 2-core machine this was written on, with two other trainings running, the
    # whole script took 61 s with one torch thread and 98-400 s with torch's default of two, whose threads wait for
    # each other whenever one is descheduled. On an idle machine with more cores, --threads 2 or more may be faster.
    import torch

    torch.set_num_threads(args.threads)

    # 3. Train, quietly unless --verbose: progress bars and per-epoch dev scores go to the silenced stderr; warnings
    # go through logging, whose handler keeps the real stderr.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    if not args.verbose:
        import datasets
        from transformers.utils import logging as transformers_logging

        datasets.disable_progress_bars()
        transformers_logging.disable_progress_bar()
    with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(sys.stderr if args.verbose else devnull):
        model = train_model(args.output, epochs=args.epochs)
    print(f"trained on 320 template requests (4 intents, 7 slot types) in {time.perf_counter() - start:.0f} s\n")

    # 4. Requests with new slot values and new sentence shapes.
    predictions, right = label_unseen(model)
    print_table(predictions, right, UNSEEN)
    print(f"\n{sum(right)}/{len(right)} unseen requests labelled right (intent and every entity)")
    print(f'model in {args.output}: python -m stmtl predict --model {args.output} "play some jazz on deezer"')
    return 0 if all(right) else 1


if __name__ == "__main__":
    sys.exit(main())
