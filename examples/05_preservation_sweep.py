"""Choose the embedding-preservation method and weight on SNIPS dev: the sweep behind the README's table.

Each run trains intents + slots for one epoch (seed 42) with one preservation setting, then scores the model's
dev intent accuracy and slot F1 and the STS Spearman of its ``encode()`` embeddings. Runs go one after the other
(about 4 minutes each on a 2-core CPU) and append a JSON line to ``OUTPUT/sweep.jsonl``; a rerun skips runs
already recorded there, so an interrupted sweep continues where it stopped. Nothing here looks at test data.

Usage:
    python examples/05_preservation_sweep.py data/snips data/stsb/dev.tsv \
        [--output runs/sweep] [--runs distill-3 l2sp-0.1 ...] [--epochs 1]
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import json
from pathlib import Path
from typing import Any

from stmtl.cli import snips_config
from stmtl.sts import evaluate_sts
from stmtl.training.run import train

# name → TrainConfig overrides. Distillation turns the encoder's dropout off unless encoder_dropout says otherwise,
# so the "+dropout" runs show what that choice is worth. Runs without preservation say so: the training default
# preserves from 2,000 training rows.
RUNS: dict[str, dict[str, Any]] = {
    "none": {"preserve_embeddings": 0.0},
    "distill-1+dropout": {"preserve_embeddings": 1.0, "encoder_dropout": 0.1},
    "distill-3+dropout": {"preserve_embeddings": 3.0, "encoder_dropout": 0.1},
    "distill-10+dropout": {"preserve_embeddings": 10.0, "encoder_dropout": 0.1},
    "distill-30+dropout": {"preserve_embeddings": 30.0, "encoder_dropout": 0.1},
    "l2sp-0.01": {"preserve_embeddings": 0.01, "preserve_method": "l2sp"},
    "l2sp-0.1": {"preserve_embeddings": 0.1, "preserve_method": "l2sp"},
    "l2sp-1": {"preserve_embeddings": 1.0, "preserve_method": "l2sp"},
    "none-no-dropout": {"preserve_embeddings": 0.0, "encoder_dropout": 0.0},
    "distill-3": {"preserve_embeddings": 3.0},
    "none+lr-heads-3e-3": {"preserve_embeddings": 0.0, "lr_heads": 3e-3},
    "distill-1+lr-heads-3e-3": {"preserve_embeddings": 1.0, "lr_heads": 3e-3},
    "distill-2+lr-heads-3e-3": {"preserve_embeddings": 2.0, "lr_heads": 3e-3},
    "distill-3+lr-heads-3e-3": {"preserve_embeddings": 3.0, "lr_heads": 3e-3},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("sts_tsv")
    parser.add_argument("--output", default="runs/sweep")
    parser.add_argument("--runs", nargs="+", choices=list(RUNS), default=list(RUNS))
    parser.add_argument("--epochs", type=float, default=1.0)
    args = parser.parse_args()
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    log = output / "sweep.jsonl"

    # 1. Runs already recorded are kept, not retrained.
    done = {json.loads(line)["run"]: json.loads(line) for line in log.read_text().splitlines()} if log.exists() else {}

    for name in args.runs:
        if name in done:
            continue
        # 2. Train one setting on the same data, budget and seed as every other run.
        overrides = {"epochs": args.epochs, **RUNS[name]}
        config = snips_config(args.data_dir, str(output / name), overrides)
        for task in config.tasks:
            task.test = None  # choices are made on dev only
        model, results = train(config)
        # 3. Dev task metrics of the selected checkpoint and STS of its embeddings.
        row = {
            "run": name,
            **RUNS[name],
            "dev_intent": 100 * results["dev"]["intent"]["accuracy"],
            "dev_slots": 100 * results["dev"]["slots"]["f1"],
            "sts_spearman": evaluate_sts(model, args.sts_tsv)["spearman"],
        }
        done[name] = row
        with log.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")

    # 4. The table, in the order asked for.
    print("| run | dev intent acc | dev slot F1 | STS Spearman |\n| --- | --- | --- | --- |")
    for name in args.runs:
        row = done[name]
        print(f"| {name} | {row['dev_intent']:.2f} | {row['dev_slots']:.2f} | {row['sts_spearman']:.2f} |")


if __name__ == "__main__":
    main()
