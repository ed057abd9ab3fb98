"""Adapter mode's costs against full fine-tuning and plain ``encode``: training step time and ``predict`` speed.

Builds two trainers on the same rows (the default encoder with an intent and a slot head): ``--encoder full`` and
``--encoder adapter`` (LoRA that only the heads see). After a warm-up, rounds of ``--steps`` training steps on the
same batches alternate between the two (full, adapter, adapter, full, ...); the medians of sentences/s and their
ratio are reported. Then, on the adapter model, three inference calls alternate on the same texts after a warm-up:

- ``encode``: ``model.encode`` (the source encoder: adapters off), the baseline;
- ``predict``: every task's labels and entities, one pass per batch of a copy of the encoder with LoRA merged in
  (built once, cached; parameters LoRA does not touch are shared);
- ``predict+embedding``: the same with ``output_embedding=True``, which adds a pass of the source encoder.

Untrained adapters and heads cost what trained ones do: speed does not depend on weight values.

Usage:
    python examples/benchmarks/bench_adapter.py --data ../shared/data/snips [--batch-size 32] [--steps 10]
        [--repeats 5] [--sentences 1024] [--json]

JSON (last line with ``--json``): ``adapter_vs_full_step`` (step time ratio, goal ≤ 1.0), ``predict_vs_encode``
(goal ≥ 0.9), ``predict_embedding_vs_encode`` (goal ≥ 0.5), and the sentences/s behind them.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import torch

from stmtl.config import TrainConfig
from stmtl.data.joint_folder import read_joint_folder
from stmtl.training.run import setup


def trainer_for(encoder: str, data: Any, batch_size: int, run_dir: str) -> Any:
    """A trainer of the intent + slot tasks on ``data`` with ``encoder`` ``full`` or ``adapter`` (no preservation)."""
    config = TrainConfig.from_dict(
        {
            "output_dir": run_dir, "batch_size": batch_size, "epochs": 1.0, "preserve_embeddings": 0.0,
            "encoder": encoder, "tasks": [
                {"name": "intent", "kind": "sentence", "train": data},
                {"name": "slots", "kind": "token", "train": data},
            ],
        }
    )  # fmt: skip
    return setup(config)


def alternate(runners: dict[str, Callable[[], float]], repeats: int) -> dict[str, list[float]]:
    """Call every runner ``repeats`` times, in forward then reverse order each round; returns their timings."""
    names, times = list(runners), {name: [] for name in runners}
    for round_index in range(repeats):
        for name in names if round_index % 2 == 0 else names[::-1]:
            times[name].append(runners[name]())
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="SNIPS-style folder (train split for training, test texts)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=10, help="training steps per timed round")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sentences", type=int, default=1024, help="texts per timed inference call")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    # 1. Two trainers on the same rows; the same batches for both.
    data = read_joint_folder(args.data, "train")
    data = data.select(range(min(len(data), args.batch_size * args.steps * 4)))
    with tempfile.TemporaryDirectory() as full_dir, tempfile.TemporaryDirectory() as adapter_dir:
        full = trainer_for("full", data, args.batch_size, full_dir)
        adapter = trainer_for("adapter", data, args.batch_size, adapter_dir)
    batches = [full.streams[0].rows(indices) for _, indices in full.data.epoch_plan(0)]

    def steps(trainer: Any) -> Callable[[], float]:
        def run() -> float:
            start = time.perf_counter()
            for rows in batches[: args.steps]:
                trainer.training_step(trainer.streams[0], rows)
            return time.perf_counter() - start

        return run

    steps(full)(), steps(adapter)()  # warm-up
    step_times = alternate({"full": steps(full), "adapter": steps(adapter)}, args.repeats)
    per_step = {name: statistics.median(times) / args.steps for name, times in step_times.items()}

    # 2. Inference on the adapter model: encode vs predict vs predict with the embedding.
    model = adapter.unwrapped.eval()
    texts = (list(read_joint_folder(args.data, "test")["text"]) * 10)[: args.sentences]

    def timed(call: Callable[[], Any]) -> Callable[[], float]:
        def run() -> float:
            start = time.perf_counter()
            call()
            return time.perf_counter() - start

        return run

    calls = {
        "encode": timed(lambda: model.encode(texts, batch_size=args.batch_size)),
        "predict": timed(lambda: model.predict(texts, batch_size=args.batch_size)),
        "predict+embedding": timed(lambda: model.predict(texts, batch_size=args.batch_size, output_embedding=True)),
    }
    with torch.inference_mode():
        for call in calls.values():
            call()  # warm-up
        inference = alternate(calls, args.repeats)
    speed = {name: len(texts) / statistics.median(times) for name, times in inference.items()}
    result = {
        "torch_threads": torch.get_num_threads(),
        "batch_size": args.batch_size,
        "full_step_s": round(per_step["full"], 4),
        "adapter_step_s": round(per_step["adapter"], 4),
        "adapter_vs_full_step": round(per_step["adapter"] / per_step["full"], 3),
        "sentences_per_s": {name: round(value, 1) for name, value in speed.items()},
        "predict_vs_encode": round(speed["predict"] / speed["encode"], 3),
        "predict_embedding_vs_encode": round(speed["predict+embedding"] / speed["encode"], 3),
        "trainable_parameters": {
            name: sum(p.numel() for p in trainer.unwrapped.parameters() if p.requires_grad)
            for name, trainer in (("full", full), ("adapter", adapter))
        },
    }
    print(f"training step: full {result['full_step_s']:.3f} s, adapter {result['adapter_step_s']:.3f} s "
          f"(ratio {result['adapter_vs_full_step']:.2f}; goal <= 1.0)")  # fmt: skip
    for name, value in result["sentences_per_s"].items():
        print(f"{name:>18}: {value:8.1f} sentences/s ({value / speed['encode']:.2f}x encode)")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
