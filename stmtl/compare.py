"""The ablations behind the README's answers on multi-task learning, freezing and transfer learning.

With one budget and seed, trains variants on a joint folder (e.g. SNIPS) and reports each one's dev/test task
metrics, STS Spearman of its ``encode()`` embeddings, and inference cost per sentence. Variants
(:func:`variants`, by key):

- ``intent``, ``slots``, ``multi``: single-task intent, single-task slots, multi-task (full fine-tuning, no
  preservation); ``adapter``: multi-task with a task adapter (the training default: ``encode()`` stays the source
  model's); every other variant fine-tunes the whole encoder (``encoder: full``);
- ``frozen``: multi-task on a frozen backbone (whose dropout stays on in training, as any module's does);
  ``frozen-dropout0``: the same with the encoder's dropout off, so the heads see the fixed features they get at
  inference; ``preserve``: multi-task with embedding preservation;
- ``dropout0``: multi-task with encoder dropout 0, the like-for-like baseline of ``preserve`` (distillation turns
  the encoder's dropout off);
- transfer-learning recipes, all multi-task: ``random-heads`` (no LP-FT head probe), ``bottom-frozen``
  (embeddings and layers 0-3 frozen), ``llrd`` (layer-wise learning-rate decay 0.9);
- adding a task to a finished single-task model (the ``intent`` or ``slots`` run is the backbone, its head goes
  on training): ``add-slots`` / ``add-intent`` with nothing frozen, ``add-slots-keep`` / ``add-slots-drop`` with
  ``head:intent`` frozen and its loss kept / dropped, ``add-intent-keep`` / ``add-intent-drop`` likewise for
  ``head:slots``.

A variant whose folder holds a finished run with the same settings is read back, not trained again, so a later
call with more variants adds rows to the same table.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from stmtl.config import TrainConfig

DEFAULT_VARIANTS = ("intent", "slots", "multi", "adapter", "frozen", "preserve")
"""What ``stmtl compare`` runs without ``--variants``."""


def variants(data: str, preserve_weight: float, frozen_lr_heads: float) -> dict[str, dict[str, Any]]:
    """Every variant by key: its row name, ``TrainConfig`` overrides, and ``start_from``, the key of the variant
    whose trained model it starts from (its backbone), if any. Tasks are named, not typed: their kinds come from
    the data (:func:`with_kinds`)."""
    intent = {"name": "intent", "train": data, "dev": data, "test": data}
    slots = {"name": "slots", "train": data, "dev": data, "test": data}
    full = {"encoder": "full", "preserve_embeddings": 0.0}
    both = {"tasks": [intent, slots], **full}
    table = {
        "intent": {"name": "single-task intent", "tasks": [intent], **full},
        "slots": {"name": "single-task slots", "tasks": [slots], **full},
        "multi": {"name": "multi-task", **both},
        "adapter": {"name": "multi-task, task adapter", "tasks": [intent, slots], "encoder": "adapter"},
        "frozen": {"name": "multi-task, frozen backbone", **both, "freeze": "backbone", "lr_heads": frozen_lr_heads},
        "frozen-dropout0": {
            "name": "multi-task, frozen backbone, encoder dropout 0", **both, "freeze": "backbone",
            "lr_heads": frozen_lr_heads, "encoder_dropout": 0.0,
        },
        "preserve": {"name": "multi-task + preservation", **both, "preserve_embeddings": preserve_weight},
        "dropout0": {"name": "multi-task, encoder dropout 0", **both, "encoder_dropout": 0.0},
        "random-heads": {"name": "multi-task, random heads (no LP-FT probe)", **both, "head_init": "random"},
        "bottom-frozen": {
            "name": "multi-task, embeddings + layers 0-3 frozen", **both, "freeze": "embeddings,layers:0-3"
        },
        "llrd": {"name": "multi-task, layer-wise LR decay 0.9", **both, "layer_lr_decay": 0.9},
    }  # fmt: skip
    for first, added in (("intent", "slots"), ("slots", "intent")):
        start = {**both, "start_from": first}
        table[f"add-{added}"] = {"name": f"{first} model + {added}", **start}
        for loss in ("keep", "drop"):
            kept = "kept" if loss == "keep" else "dropped"
            table[f"add-{added}-{loss}"] = {
                "name": f"{first} model + {added}, head:{first} frozen, its loss {kept}",
                **start, "freeze": f"head:{first}", "frozen_head_loss": loss,
            }  # fmt: skip
    return table


def with_kinds(tasks: list[dict[str, Any]], data: str) -> list[dict[str, Any]]:
    """The variant's tasks with the kind task inference gives each name on ``data`` (:mod:`stmtl.data.inferred_tasks`).

    Raises:
        ValueError: If the data gives no task of a variant's name.
    """
    from stmtl.data.inferred_tasks import infer_tasks

    kinds = {task["name"]: task["kind"] for task in infer_tasks(data)}
    missing = [task["name"] for task in tasks if task["name"] not in kinds]
    if missing:
        raise ValueError(f"--data {data}: gives no task {missing} (its tasks: {sorted(kinds)})")
    return [{**task, "kind": kinds[task["name"]]} for task in tasks]


def selected_variants(table: dict[str, dict[str, Any]], keys: list[str] | None) -> list[str]:
    """The keys to run, in table order, with the variants they start from added.

    Raises:
        ValueError: Naming an unknown key and the known ones.
    """
    wanted = set(table) if keys == ["all"] else set(keys or DEFAULT_VARIANTS)
    if unknown := sorted(wanted - set(table)):
        raise ValueError(f"--variants: unknown {unknown}; known: all, {', '.join(table)}")
    wanted |= {table[key]["start_from"] for key in wanted if "start_from" in table[key]}
    return [key for key in table if key in wanted]


def finished_results(folder: Path, config: TrainConfig) -> dict[str, Any] | None:
    """The results of a finished run in ``folder`` with the same settings as ``config``, else ``None``."""
    from stmtl.training.run_folder import changed_keys, comparable_config

    try:
        saved = json.loads((folder / "run.json").read_text(encoding="utf-8"))["config"]
        results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return None if changed_keys(saved, comparable_config(config.to_dict())) else results


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
    keys: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Train every variant and collect its row of the comparison table.

    Args:
        data: Joint folder with train/dev/test.
        sts: STS TSV (``sentence1 sentence2 score``) for embedding quality; ``None`` skips it.
        output_dir: Where each variant's run folder and the table go.
        overrides: Shared ``TrainConfig`` values (the budget: epochs, seed, ...).
        preserve_weight: Weight of the preservation variant.
        frozen_lr_heads: Head learning rate when the backbone is frozen (heads alone can take a larger step).
        overwrite: Train every variant anew, replacing the runs of an earlier call (else a finished run with the
            same settings is read back, and one with other settings refuses a new run).
        keys: Variant keys (see :func:`variants`), ``["all"]``, or ``None`` for :data:`DEFAULT_VARIANTS`.

    Returns:
        One row per variant, plus a first row for the untouched backbone's STS score.
    """
    from stmtl.builder import build
    from stmtl.data import read_task_data
    from stmtl.jsonio import write_json
    from stmtl.loading import load
    from stmtl.sts import evaluate_sts
    from stmtl.training.run import train

    table = variants(data, preserve_weight, frozen_lr_heads)
    chosen = selected_variants(table, keys)
    output = Path(output_dir)
    test_texts = read_task_data(data, split="test")["text"][:512]
    rows: list[dict[str, Any]] = []
    if sts:
        source = build([], backbone=(overrides or {}).get("backbone"))
        rows.append(
            {"variant": "source backbone (no training)", "sts_spearman": evaluate_sts(source, sts)["spearman"]}
        )
    for key in chosen:
        values = dict(table[key])
        name = values.pop("name")
        if "start_from" in values:
            values["backbone"] = str(output / values.pop("start_from"))
        values["tasks"] = with_kinds(values["tasks"], data)
        folder = output / key
        config = TrainConfig.from_dict({**(overrides or {}), **values, "output_dir": str(folder)})
        results = None if overwrite else finished_results(folder, config)
        if results is None:
            model, results = train(config, overwrite=overwrite)
        else:
            model = load(folder)
        row: dict[str, Any] = {"variant": name, "key": key, "train_seconds": results["train_seconds"]}
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
