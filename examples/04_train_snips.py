"""Train and test on SNIPS (intent + slots), the Python equivalent of the CLI line.

Same as ``python -m stmtl train --data DATA_DIR --output runs/snips`` followed by
``python -m stmtl evaluate --model runs/snips --data DATA_DIR --split test``: the defaults of
``TrainConfig`` (all-MiniLM-L6-v2, joint batches carrying both labels), model selection on dev, figures on test.

Usage:
    python examples/04_train_snips.py data/snips [--output runs/snips] [--epochs 8]
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import json

from stmtl.cli import snips_config
from stmtl.data import read_task_data
from stmtl.evaluation import evaluate_model
from stmtl.training.run import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("--output", default="runs/snips")
    parser.add_argument("--epochs", type=float, default=None)
    args = parser.parse_args()

    # 1. Tasks "intent" (label) and "slots" (seq.out) on the same folder: train/, dev/ for selection, test/.
    overrides = {"epochs": args.epochs} if args.epochs else {}
    config = snips_config(args.data_dir, args.output, overrides)

    # 2. Train; the run folder ends up holding the best model on dev.
    model, results = train(config)
    print(json.dumps({"dev": results["dev"], "train_seconds": results["train_seconds"]}, indent=2))

    # 3. Report on test, never used for any choice.
    scores, _ = evaluate_model(model, read_task_data(args.data_dir, split="test"))
    print("test:", json.dumps(scores, indent=2))


if __name__ == "__main__":
    main()
