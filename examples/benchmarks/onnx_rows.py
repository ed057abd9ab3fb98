"""The ONNX rows of ``bench_inference.py``: the exported models, batch-1 latency and the int8 model's accuracy."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from inference_accuracy import snips_scores, sts_spearman

import stmtl

BACKENDS = ("onnx", "onnx-int8")


def onnx_models(model_folder: str | None, multi: Any, threads: int | None = None) -> dict[str, Any]:
    """``{"onnx": ..., "onnx-int8": ...}`` of ``model_folder``'s export (``stmtl export --quantize int8`` first),
    or, without a folder, of ``multi`` saved and exported into a temporary folder; ``threads``: ONNX Runtime's
    intra-op threads (``None``: its default, one per core)."""
    if model_folder is None:
        folder = Path(tempfile.mkdtemp(prefix="bench-onnx-")) / "model"
        multi.save(str(folder))
        stmtl.export_onnx(folder, quantize="int8")
    else:
        folder = Path(model_folder)
        if not (folder / "onnx" / "model_qint8.onnx").is_file():
            raise SystemExit(f"{folder}: no int8 export; run: stmtl export --model {folder} --quantize int8")
    return {backend: stmtl.load(folder, backend=backend, threads=threads) for backend in BACKENDS}


def batch_one_latency(models: dict[str, Any], texts: list[str], warmup: int = 20) -> dict[str, dict[str, float]]:
    """Per model, the median and 95th percentile (ms) of ``predict([text])``, the models alternating per text
    (rotating their order, so none always runs first), after ``warmup`` untimed calls each."""
    names = list(models)
    for name in names:
        for text in texts[:warmup]:
            models[name].predict([text], show_progress_bar=False)
    times: dict[str, list[float]] = {name: [] for name in names}
    for index, text in enumerate(texts):
        order = names[index % len(names) :] + names[: index % len(names)]
        for name in order:
            start = time.perf_counter()
            models[name].predict([text], batch_size=1, show_progress_bar=False)
            times[name].append(time.perf_counter() - start)
    return {
        name: {
            "median_ms": round(1000 * statistics.median(values), 2),
            "p95_ms": round(1000 * statistics.quantiles(values, n=20)[-1], 2),
            "calls": len(values),
        }
        for name, values in times.items()
    }


def accuracy(models: dict[str, Any], data: str, sts: str | None) -> dict[str, dict[str, Any]]:
    """Per model, SNIPS dev and test scores from ``predict`` and the STS Spearman of ``encode``."""
    rows = {}
    for name, model in models.items():
        rows[name] = {split: snips_scores(model, data, split) for split in ("dev", "test")}
        if sts:
            rows[name]["sts_spearman"] = sts_spearman(model, sts)
    return rows


def print_rows(latency: dict[str, dict[str, float]], scores: dict[str, dict[str, Any]] | None) -> None:
    """The latency table, then accuracy per model and the int8 model's differences from PyTorch."""
    print(f"\n{'batch 1':<12} {'median ms':>10} {'p95 ms':>8}")
    for name, row in latency.items():
        print(f"{name:<12} {row['median_ms']:>10.2f} {row['p95_ms']:>8.2f}")
    base = latency["predict"]["median_ms"]
    for name in BACKENDS:
        print(f"{'':<12} latency predict / {name}: {base / latency[name]['median_ms']:.2f}x")
    if not scores:
        return
    print(f"\n{'model':<12} {'split':<6} {'intent':>7} {'slot F1':>8} {'exact':>7}")
    for name, row in scores.items():
        for split in ("dev", "test"):
            values = row[split]
            print(f"{name:<12} {split:<6} {values['intent_accuracy']:>7.2f} {values['slot_f1']:>8.2f} "
                  f"{values['exact_match']:>7.2f}")  # fmt: skip
        if "sts_spearman" in row:
            print(f"{name:<12} STS-B dev Spearman {row['sts_spearman']:.2f}")
    for split in ("dev", "test"):
        gap = {key: round(scores["onnx-int8"][split][key] - scores["predict"][split][key], 2)
               for key in scores["predict"][split]}  # fmt: skip
        print(f"int8 - PyTorch, {split}: {gap}")
    if "sts_spearman" in scores["predict"]:
        drop = scores["onnx-int8"]["sts_spearman"] - scores["predict"]["sts_spearman"]
        print(f"int8 - PyTorch, STS-B dev Spearman: {drop:+.2f}")
