"""The multi-task vs single-task ablation behind the README's answers on freezing and transfer learning.

With one budget and seed, trains on a joint folder (e.g. SNIPS): single-task intent, single-task slots,
multi-task, multi-task with a frozen backbone, and multi-task with embedding preservation; then reports each
variant's dev/test task metrics, STS Spearman of its ``encode()`` embeddings, and inference cost per sentence.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from stmtl.config import TrainConfig
from stmtl.data import read_task_data
from stmtl.jsonio import write_json
from stmtl.sts import evaluate_sts
from stmtl.training.run import train


def variants(data: str, preserve_weight: float, frozen_lr_heads: float) -> dict[str, dict[str, Any]]:
    """Config overrides and tasks of every variant."""
    intent = {"name": "intent", "kind": "sentence", "train": data, "dev": data, "test": data}
    slots = {"name": "slots", "kind": "token", "train": data, "dev": data, "test": data}
    return {
        "single-task intent": {"tasks": [intent], "preserve_embeddings": 0.0},
        "single-task slots": {"tasks": [slots], "preserve_embeddings": 0.0},
        "multi-task": {"tasks": [intent, slots], "preserve_embeddings": 0.0},
        "multi-task, frozen backbone": {"tasks": [intent, slots], "freeze": "backbone", "lr_heads": frozen_lr_heads},
        "multi-task + preservation": {"tasks": [intent, slots], "preserve_embeddings": preserve_weight},
    }


def seconds_per_sentence(model: Any, texts: list[str], repeats: int = 3) -> float:
    """Median wall time of ``predict`` per sentence (after one warm-up call)."""
    model.predict(texts[:64])
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict(texts)
        timings.append((time.perf_counter() - start) / len(texts))
    return sorted(timings)[len(timings) // 2]


def compare(
    data: str,
    sts: str | None,
    output_dir: str,
    overrides: dict[str, Any] | None = None,
    preserve_weight: float = 3.0,
    frozen_lr_heads: float = 1e-2,
    overwrite: bool = False,
) -> list[dict[str, Any]]:
    """Train every variant and collect its row of the comparison table.

    Args:
        data: Joint folder with train/dev/test.
        sts: STS TSV (``sentence1 sentence2 score``) for embedding quality; ``None`` skips it.
        output_dir: Where each variant's run folder and the table go.
        overrides: Shared ``TrainConfig`` values (the budget: epochs, seed, ...).
        preserve_weight: Weight of the preservation variant.
        frozen_lr_heads: Head learning rate when the backbone is frozen (heads alone can take a larger step).
        overwrite: Replace the variants' runs of an earlier call (else their folders refuse a new run).

    Returns:
        One row per variant, plus a first row for the untouched backbone's STS score.
    """
    from stmtl.builder import build

    output = Path(output_dir)
    test_texts = read_task_data(data, split="test")["text"][:512]
    rows: list[dict[str, Any]] = []
    if sts:
        source = build([], backbone=(overrides or {}).get("backbone"))
        rows.append(
            {"variant": "source backbone (no training)", "sts_spearman": evaluate_sts(source, sts)["spearman"]}
        )
    for name, values in variants(data, preserve_weight, frozen_lr_heads).items():
        folder = output / name.replace(" ", "_").replace(",", "").replace("+", "plus")
        config = TrainConfig.from_dict({**(overrides or {}), **values, "output_dir": str(folder)})
        model, results = train(config, overwrite=overwrite)
        row: dict[str, Any] = {"variant": name, "train_seconds": results["train_seconds"]}
        for split in ("dev", "test"):  # train() scored the best checkpoint on both splits already
            for task, value in results[split].items():
                if isinstance(value, dict):
                    row[f"{split}_{task}"] = value[model.heads[task].selection_key]
                else:
                    row[f"{split}_{task}"] = value
        if sts:
            row["sts_spearman"] = evaluate_sts(model, sts)["spearman"]
        row["ms_per_sentence"] = 1000 * seconds_per_sentence(model, test_texts)
        rows.append(row)
    single = [r for r in rows if r["variant"].startswith("single-task")]
    if len(single) == 2:  # two single-task models answer both tasks only by running both
        rows.append(
            {
                "variant": "two single-task models together",
                "ms_per_sentence": sum(r["ms_per_sentence"] for r in single),
            }
        )
    write_json(output / "comparison.json", rows, indent=2)
    (output / "comparison.md").write_text(markdown_table(rows))
    plot_comparison(rows, output / "comparison.png")
    return rows


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The table as Markdown; metrics ×100, missing values as ``–``."""
    columns = [
        ("variant", "variant"), ("dev_intent", "dev intent acc"), ("dev_slots", "dev slot F1"),
        ("test_intent", "test intent acc"), ("test_slots", "test slot F1"), ("test_exact_match", "test exact"),
        ("sts_spearman", "STS-B dev Spearman"), ("ms_per_sentence", "ms / sentence"), ("train_seconds", "train s"),
    ]  # fmt: skip
    lines = ["| " + " | ".join(title for _, title in columns) + " |", "|" + " --- |" * len(columns)]
    for row in rows:
        cells = []
        for key, _ in columns:
            value = row.get(key)
            if value is None:
                cells.append("–")
            elif isinstance(value, str):
                cells.append(value)
            elif key.startswith(("dev_", "test_")):
                cells.append(f"{100 * value:.2f}")
            else:
                cells.append(f"{value:.2f}" if key != "train_seconds" else f"{value:.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_comparison(rows: list[dict[str, Any]], path: Path) -> Path:
    """Grouped bars: test intent accuracy, test slot F1 and STS Spearman per variant."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [
        ("test_intent", "test intent acc", 100),
        ("test_slots", "test slot F1", 100),
        ("sts_spearman", "STS", 1),
    ]
    trained = [row for row in rows if any(key in row for key, _, _ in metrics)]
    figure, axis = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / len(metrics)
    for k, (key, label, scale) in enumerate(metrics):
        values = [scale * row[key] if row.get(key) is not None else 0 for row in trained]
        axis.bar([i + k * width for i in range(len(trained))], values, width, label=label)
    axis.set_xticks(
        [i + width for i in range(len(trained))], [row["variant"] for row in trained], rotation=20, ha="right"
    )
    axis.set_ylabel("score")
    axis.set_ylim(0, 105)
    axis.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    axis.set_title("Multi-task vs single-task, frozen backbone and embedding preservation")
    figure.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(figure)
    return path
