"""Quick start: train intents and slots on made-up requests, then label requests the model has never seen.

Generates assistant requests from templates (four intents: book a table, weather, play music, set an alarm; seven
slot types filled from lists of values; see ``stmtl/demo_data.py``), trains the default encoder (all-MiniLM-L6-v2)
with an intent head and a slot head for three epochs, and prints the predictions for requests with new slot values
and new sentence shapes, each checked against its expected answer. Exits with status 1 unless every unseen request
is labelled right with a margin: the intent and every expected entity scored at least ``MIN_SCORE`` by ``predict``.
Trains in well under a minute on a 2-core CPU.

Usage:
    python examples/00_quickstart.py [--output runs/quickstart] [--seed 0] [--threads 1] [--verbose]
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

import stmtl  # imports torch only when a model or training is first asked for
from stmtl.demo_data import UNSEEN, Expected, answer_scores, assistant_rows, check_predictions

MIN_SCORE = 0.6
"""The smallest score ``predict`` may give an expected intent or entity (a wrong one scores 0). An entity's score
is the mean probability of its words' tags; 0.6 leaves a wrong label at most 0.4 of the probability, a clear
margin rather than a coin toss."""


def train_model(
    output: str, backbone: str | None = None, epochs: float = 3, rows: int = 320, seed: int = 0, **settings: Any
) -> Any:
    """Train an intent + slot model on template requests; returns the best model (kept in ``output``).

    Args:
        output: The run folder (replaced if it holds an earlier run).
        backbone: The encoder: ``None`` for all-MiniLM-L6-v2, or a local model folder.
        epochs: Passes over the training requests.
        rows: Training requests (a quarter as many again are generated for dev).
        seed: Seed of the training requests (``2 * seed``), of the dev requests (``2 * seed + 1``) and of training.
        **settings: Other ``TrainConfig`` values (e.g. learning rates for another backbone).
    """
    from datasets import Dataset

    # 1. Made-up data: one request carries both labels, so both tasks share each batch ("joint" mode). Dev requests
    # are other requests than the training ones, so dev scores are those of unseen text.
    train_rows = assistant_rows(rows, seed=2 * seed)
    dev_rows = assistant_rows(rows // 4, seed=2 * seed + 1, exclude={row["text"] for row in train_rows})
    train, dev = Dataset.from_list(train_rows), Dataset.from_list(dev_rows)
    tasks = [
        stmtl.TaskConfig("intent", "sentence", train=train, dev=dev),  # column "label"
        stmtl.TaskConfig("slots", "token", train=train, dev=dev),  # columns "tokens", "tags"
    ]
    # 2. A short run (120 steps): small batches, the heads (random at first) at a high learning rate. The encoder
    # trains the default way, through a task adapter: encode() stays the source model's, bit for bit, so the model
    # still serves similarity search.
    values = {"batch_size": 8, "lr_heads": 5e-3, **settings}
    config = stmtl.TrainConfig(
        output_dir=output, tasks=tasks, backbone=backbone, epochs=epochs, seed=seed, save_total_limit=1, **values
    )
    model, _ = stmtl.train(config, overwrite=True)
    return model


def label_unseen(
    model: Any, expected: list[Expected] = UNSEEN
) -> tuple[list[dict[str, Any]], list[bool], list[dict[str, Any]]]:
    """``predict`` on requests unlike the training data: the predictions, whether each is the expected answer, and
    the scores of its expected labels (:func:`stmtl.demo_data.answer_scores`)."""
    predictions = model.predict([item.text for item in expected])
    return predictions, check_predictions(predictions, expected), answer_scores(predictions, expected)


def print_table(
    predictions: list[dict[str, Any]], right: list[bool], expected: list[Expected], scores: list[dict[str, Any]]
) -> None:
    """One line per request: the text, the predicted intent and entities, the smallest expected score, ✓ or ✗."""
    width = max(len(item.text) for item in expected)
    print(f"{'unseen request':<{width}}  {'intent':<15} {'entities':<38} {'min':>4}")
    for result, ok, want, score in zip(predictions, right, expected, scores):
        entities = ", ".join(f"{entity['label']}={entity['text']}" for entity in result["slots"]) or "-"
        verdict = "✓" if ok else f"✗ expected {want.intent}: " + ", ".join(f"{s}={t}" for s, t in want.slots)
        if ok and score["min"] < MIN_SCORE:
            verdict = f"✗ right, but below {MIN_SCORE}"
        print(f"{want.text:<{width}}  {result['intent']['label']:<15} {entities:<38} {score['min']:.2f} {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--output", default="runs/quickstart", help="run folder (default: runs/quickstart)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated data and of training (default: 0)")
    parser.add_argument("--epochs", type=float, default=3.0, help="passes over the training data (default: 3)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: 1; see below)")
    parser.add_argument("--verbose", action="store_true", help="show progress bars and per-evaluation dev scores")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    # One thread by default: on a shared 2-core machine, two torch threads wait for each other whenever one is
    # descheduled (the whole script took 98-400 s with two threads against 61 s with one, next to two other
    # trainings). On an idle machine --threads 2 may be faster. OpenMP reads its thread count before torch loads.
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch

    torch.set_num_threads(args.threads)

    # 3. Train, quietly unless --verbose: progress bars and per-evaluation dev scores go to the silenced stderr;
    # warnings go through logging, whose handler keeps the real stderr.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    if not args.verbose:
        import datasets
        from transformers.utils import logging as transformers_logging

        datasets.disable_progress_bars()
        transformers_logging.disable_progress_bar()
    with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(sys.stderr if args.verbose else devnull):
        trained = time.perf_counter()
        model = train_model(args.output, epochs=args.epochs, seed=args.seed)
        trained = time.perf_counter() - trained
    print(f"trained on 320 template requests (4 intents, 7 slot types, seed {args.seed}) in {trained:.0f} s\n")

    # 4. Requests with new slot values and new sentence shapes.
    predictions, right, scores = label_unseen(model)
    print_table(predictions, right, UNSEEN, scores)
    margin = min(score["min"] for score in scores)
    passed = all(right) and margin >= MIN_SCORE
    print(
        f"\n{sum(right)}/{len(right)} unseen requests labelled right (intent and every entity); smallest score of an "
        f"expected label {margin:.2f} (needed: {MIN_SCORE}); {time.perf_counter() - start:.0f} s in all"
    )
    print(f'model in {args.output}: python -m stmtl predict --model {args.output} "play some jazz on deezer"')
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
