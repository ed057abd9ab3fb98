"""Training throughput: stmtl's training step vs a bare PyTorch loop doing the same work, and SNIPS time-to-floor.

Both loops train the same encoder with an intent head and a slot head on *identical* batches (same rows, same
padding), with the same forward (encoder → mean pooling → normalize → heads), cross-entropy losses, backward,
gradient clipping and AdamW step, and the same autocast setting. stmtl's side is ``MultiTaskTrainer.training_step``
(Accelerate, loss weighting, label alignment from the data pipeline; no embedding preservation, which the bare
loop does not do, and so the encoder's own dropout on both sides); the bare side is a hand-written loop on
``transformers.AutoModel``. After a warm-up, rounds of ``--steps`` steps alternate between the two; the medians of
sentences/s and their ratio are reported.

``--run DIR`` also reads a finished SNIPS run's ``metrics.jsonl`` and reports the first dev evaluation that meets
the floor (intent accuracy ≥ 98.0, slot F1 ≥ 95.0, exact match ≥ 88.0) with its wall time.

Usage:
    python examples/benchmarks/bench_training.py --data data/snips [--batch-size 32] [--steps 20]
        [--repeats 5] [--mixed-precision no|bf16] [--run runs/snips] [--json]

JSON (last line with ``--json``): ``train_vs_bare`` (goal ≥ 0.90), ``stmtl_sentences_per_s``,
``bare_sentences_per_s``, ``time_to_floor_s`` (or null).
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import json
import statistics
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch
from datasets import Dataset
from torch import nn
from transformers import AutoModel

import stmtl
from stmtl.config import TrainConfig
from stmtl.data import read_joint_folder
from stmtl.features import collate
from stmtl.training.run import setup
from stmtl.training.sampling import Stream, epoch_schedule

FLOOR = {"intent": 0.98, "slots": 0.95, "exact_match": 0.88}


def made_up_data(count: int) -> Dataset:
    words = "play the new song by adele on spotify in the kitchen tomorrow at nine please".split()
    rows = [words[: 4 + i % 10] for i in range(count)]
    return Dataset.from_dict(
        {
            "tokens": rows,
            "tags": [["O"] * (len(r) - 1) + ["B-x"] for r in rows],
            "label": [f"I{i % 7}" for i in range(count)],
            "text": [" ".join(r) for r in rows],
        }
    )


class BareModel(nn.Module):
    """Encoder + mean pooling + normalize + two linear heads, written directly on ``transformers``."""

    def __init__(self, backbone: str, num_intents: int, num_tags: int) -> None:
        super().__init__()
        self.encoder = AutoModel.from_pretrained(backbone)
        hidden = self.encoder.config.hidden_size
        self.intent = nn.Sequential(nn.Dropout(0.1), nn.Linear(hidden, num_intents))
        self.slots = nn.Sequential(nn.Dropout(0.1), nn.Linear(hidden, num_tags))

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in batch}
        tokens = self.encoder(**inputs).last_hidden_state  # (batch, seq, hidden)
        mask = batch["attention_mask"].unsqueeze(-1).to(tokens.dtype)  # (batch, seq, 1)
        sentence = nn.functional.normalize((tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9), dim=-1)
        return self.intent(sentence), self.slots(tokens)


def bare_step(model: BareModel, optimizer: torch.optim.Optimizer, batch: dict, autocast: Any) -> None:
    model.train()
    with autocast():
        intent_logits, slot_logits = model(batch)
    loss = nn.functional.cross_entropy(intent_logits.float(), batch["labels.intent"]) + nn.functional.cross_entropy(
        slot_logits.float().reshape(-1, slot_logits.shape[-1]), batch["labels.slots"].reshape(-1)
    )
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def padding_fraction(batches: list[dict[str, list]]) -> float:
    """Share of padded positions in a list of batches (each padded to its longest row)."""
    padded = sum(max(batch["length"]) * len(batch["length"]) for batch in batches)
    real = sum(sum(batch["length"]) for batch in batches)
    return round(1 - real / padded, 4)


def time_to_floor(run_dir: Path) -> dict[str, Any] | None:
    """First dev evaluation of a run that meets the floor, from its metrics.jsonl.

    Runs logged before ``elapsed_s`` was recorded get an estimate: the step's share of the run's
    ``train_seconds`` (from ``results.json``; steps take equal time), marked ``"estimated": true``.
    """
    results = json.loads((run_dir / "results.json").read_text()) if (run_dir / "results.json").exists() else {}
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record.get("type") != "eval":
            continue
        metrics = record["metrics"]
        if (
            metrics["intent"]["accuracy"] >= FLOOR["intent"]
            and metrics["slots"]["f1"] >= FLOOR["slots"]
            and metrics.get("exact_match", 0) >= FLOOR["exact_match"]
        ):
            elapsed, estimated = record.get("elapsed_s"), False
            if elapsed is None and results.get("train_seconds") and results.get("steps"):
                elapsed, estimated = round(record["step"] / results["steps"] * results["train_seconds"], 1), True
            return {"step": record["step"], "elapsed_s": elapsed, "estimated": estimated, "metrics": metrics}
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="SNIPS-style folder (train split used); default: made-up sentences")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20, help="steps per timed round")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--mixed-precision", choices=["no", "bf16"], default="no")
    parser.add_argument("--backbone", default=None)
    parser.add_argument("--run", help="finished SNIPS run folder for time-to-floor")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    # 1. Identical data for both loops: the stmtl pipeline's encoded rows and batch order.
    data = read_joint_folder(args.data, "train") if args.data else made_up_data(4000)
    needed = args.batch_size * args.steps * (2 * args.repeats + 1)
    data = data.select(range(min(len(data), needed)))
    backbone = args.backbone or stmtl.default_backbone()
    with tempfile.TemporaryDirectory() as run_dir:
        config = TrainConfig.from_dict(
            {
                "output_dir": run_dir, "backbone": backbone, "batch_size": args.batch_size, "epochs": 1.0,
                "mixed_precision": args.mixed_precision, "encoder": "full", "preserve_embeddings": 0.0, "tasks": [
                    {"name": "intent", "kind": "sentence", "train": data},
                    {"name": "slots", "kind": "token", "train": data},
                ],
            }
        )  # fmt: skip
        trainer = setup(config)
    stream = trainer.streams[0]
    batches = [stream.rows(indices) for _, indices in trainer.data.epoch_plan(0)]
    lengths = stream.lengths()
    plain = epoch_schedule([Stream(["intent", "slots"], lengths)], args.batch_size, 42, 0, group_by_length=False)
    ungrouped = [stream.rows(indices) for _, indices in plain]
    device = trainer.accelerator.device
    tokenizer = trainer.unwrapped.tokenizer
    heads = [trainer.unwrapped.heads["intent"], trainer.unwrapped.heads["slots"]]

    # 2. The bare loop's model and optimizer (same parameter count, fused AdamW as stmtl's, same learning rates).
    bare = BareModel(backbone, heads[0].num_labels, heads[1].num_labels).to(device)
    optimizer = torch.optim.AdamW(
        [{"params": bare.encoder.parameters(), "lr": 1e-4}, {"params": [*bare.intent.parameters(),
         *bare.slots.parameters()], "lr": 1e-3}], weight_decay=0.01, fused=True
    )  # fmt: skip
    dtype = torch.bfloat16 if args.mixed_precision == "bf16" else None
    autocast = (lambda: torch.autocast(device.type, dtype=dtype)) if dtype else nullcontext

    def run_stmtl(chunk: list[dict[str, list]]) -> float:
        start = time.perf_counter()
        for rows in chunk:
            trainer.training_step(stream, rows)
        return time.perf_counter() - start

    def run_bare(chunk: list[dict[str, list]]) -> float:
        start = time.perf_counter()
        for rows in chunk:
            batch = {k: v.to(device) for k, v in collate(rows, tokenizer, heads).items()}
            bare_step(bare, optimizer, batch, autocast)
        return time.perf_counter() - start

    # 3. Warm-up, then alternating rounds on the same batches (and stmtl on batches without length grouping).
    run_stmtl(batches[:3]), run_bare(batches[:3])
    stmtl_speed, bare_speed, ungrouped_speed = [], [], []
    for round_index in range(args.repeats):
        window = slice((round_index % 4) * args.steps, (round_index % 4 + 1) * args.steps)
        chunk, plain_chunk = batches[window] or batches[: args.steps], ungrouped[window] or ungrouped[: args.steps]
        order = [
            (run_stmtl, stmtl_speed, chunk),
            (run_bare, bare_speed, chunk),
            (run_stmtl, ungrouped_speed, plain_chunk),
        ]
        for runner, speeds, rows in order if round_index % 2 == 0 else order[::-1]:
            speeds.append(sum(len(batch["input_ids"]) for batch in rows) / runner(rows))
    result: dict[str, Any] = {
        "stmtl_sentences_per_s": round(statistics.median(stmtl_speed), 1),
        "bare_sentences_per_s": round(statistics.median(bare_speed), 1),
        "train_vs_bare": round(statistics.median(stmtl_speed) / statistics.median(bare_speed), 3),
        "ungrouped_sentences_per_s": round(statistics.median(ungrouped_speed), 1),
        "length_grouping_gain": round(statistics.median(stmtl_speed) / statistics.median(ungrouped_speed), 3),
        "padding_fraction_grouped": padding_fraction(batches),
        "padding_fraction_ungrouped": padding_fraction(ungrouped),
        "batch_size": args.batch_size,
        "mixed_precision": args.mixed_precision,
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
    }

    # 4. Time-to-floor from a finished run.
    if args.run:
        reached = time_to_floor(Path(args.run))
        result["time_to_floor_s"] = reached["elapsed_s"] if reached else None
        result["floor_reached_at_step"] = reached["step"] if reached else None
        result["time_to_floor_estimated"] = reached["estimated"] if reached else None
    print(f"{'loop':<8} {'sentences/s (median)':>22}")
    print(f"{'stmtl':<8} {result['stmtl_sentences_per_s']:>22}")
    print(f"{'bare':<8} {result['bare_sentences_per_s']:>22}")
    print(f"{'stmtl, no length grouping':<8} {result['ungrouped_sentences_per_s']:>5}")
    print(f"train_vs_bare = {result['train_vs_bare']}, length_grouping_gain = {result['length_grouping_gain']}")
    print(
        f"padding: {result['padding_fraction_grouped']:.1%} grouped vs {result['padding_fraction_ungrouped']:.1%} not"
    )
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
