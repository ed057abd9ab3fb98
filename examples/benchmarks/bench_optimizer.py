"""Optimizer step time: AdamW's fused kernel vs its per-tensor implementations, on the default backbone's parameters.

stmtl builds AdamW with ``fused=True`` (:func:`stmtl.training.optim.build_optimizer`). This measures why: one
``optimizer.step()`` over every parameter of the encoder (all-MiniLM-L6-v2: 22.7M) with fixed random gradients,
for ``fused=True``, ``foreach=True`` (PyTorch's default on GPU) and ``foreach=False`` (the plain loop, PyTorch's
default on CPU). After ``--warmup`` steps each, ``--repeats`` rounds time one step of every variant in alternating
order; medians are reported.

With ``--data DIR`` it also times whole training steps (``MultiTaskTrainer.training_step`` of the CLI defaults on
that joint-layout folder, an intent and a slot task): rounds of ``--steps`` steps alternate between the fused kernel
and the plain loop on the same batches, switched through the optimizer's param-group flags.

Usage:
    python examples/benchmarks/bench_optimizer.py [--backbone DIR] [--repeats 30] [--warmup 3]
        [--data data/snips] [--steps 10] [--step-rounds 6] [--json]

JSON (last line with ``--json``): ``parameters``, ``torch_threads``, ``median_ms`` per variant,
``fused_speedup`` (median of the plain loop / median of fused), and with ``--data`` ``step_s`` (median seconds
per training step, ``{"fused", "loop"}``).
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import json
import statistics
import tempfile
import time

import torch
from sentence_transformers import SentenceTransformer

import stmtl

VARIANTS = {"fused": {"fused": True}, "foreach": {"foreach": True}, "loop": {"foreach": False}}


def training_steps(data: str, backbone: str | None, steps: int, rounds: int) -> dict[str, float]:
    """Median seconds per training step with the fused kernel and with the plain loop, alternating rounds."""
    from stmtl.config import TrainConfig
    from stmtl.training.run import setup

    with tempfile.TemporaryDirectory() as run_dir:
        tasks = [
            {"name": "intent", "kind": "sentence", "train": data},
            {"name": "slots", "kind": "token", "train": data},
        ]
        trainer = setup(
            TrainConfig.from_dict({"output_dir": run_dir, "backbone": backbone, "encoder": "full", "tasks": tasks})
        )
    stream = trainer.streams[0]
    batches = [stream.rows(indices) for _, indices in trainer.data.epoch_plan(0)]
    groups = getattr(trainer.optimizer, "optimizer", trainer.optimizer).param_groups

    def timed(fused: bool, chunk: list[dict]) -> float:
        for group in groups:
            group["fused"], group["foreach"] = (True, None) if fused else (None, False)
        start = time.perf_counter()
        for rows in chunk:
            trainer.training_step(stream, rows)
        return (time.perf_counter() - start) / len(chunk)

    timed(True, batches[:3]), timed(False, batches[:3])
    seconds: dict[bool, list[float]] = {True: [], False: []}
    for round_index in range(rounds):
        chunk = [batches[(round_index * steps + i) % len(batches)] for i in range(steps)]
        for fused in (True, False) if round_index % 2 == 0 else (False, True):
            seconds[fused].append(timed(fused, chunk))
    return {"fused": round(statistics.median(seconds[True]), 3), "loop": round(statistics.median(seconds[False]), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default=None, help="sentence-transformers folder; default all-MiniLM-L6-v2")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--data", help="joint-layout folder: also time whole training steps on it")
    parser.add_argument("--steps", type=int, default=10, help="training steps per timed round (with --data)")
    parser.add_argument("--step-rounds", type=int, default=6, help="timed rounds of training steps (with --data)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    # 1. The encoder's parameters, with fixed random gradients.
    torch.manual_seed(0)
    parameters = list(SentenceTransformer(args.backbone or stmtl.default_backbone(), device="cpu").parameters())
    for parameter in parameters:
        parameter.grad = torch.randn_like(parameter) * 1e-3
    optimizers = {name: torch.optim.AdamW(parameters, lr=1e-5, **kwargs) for name, kwargs in VARIANTS.items()}

    # 2. Warm-up, then alternating rounds of one step per variant.
    for _ in range(args.warmup):
        for optimizer in optimizers.values():
            optimizer.step()
    times: dict[str, list[float]] = {name: [] for name in optimizers}
    for round_index in range(args.repeats):
        order = list(optimizers.items())
        for name, optimizer in order if round_index % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            optimizer.step()
            times[name].append(time.perf_counter() - start)

    # 3. Report.
    median_ms = {name: round(1000 * statistics.median(values), 1) for name, values in times.items()}
    result = {
        "parameters": sum(p.numel() for p in parameters),
        "torch_threads": torch.get_num_threads(),
        "median_ms": median_ms,
        "fused_speedup": round(median_ms["loop"] / median_ms["fused"], 2),
    }
    print(f"AdamW step over {result['parameters']:,} parameters, {result['torch_threads']} threads (median ms)")
    for name, value in median_ms.items():
        print(f"{name:<8} {value:>8.1f}")
    # 4. Whole training steps, fused against the plain loop.
    if args.data:
        result["step_s"] = training_steps(args.data, args.backbone, args.steps, args.step_rounds)
        step = result["step_s"]
        print(f"training step (median): {step['fused']:.3f} s fused, {step['loop']:.3f} s with the plain loop")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
