"""The three ways of training the encoder, side by side: a table of finished ``stmtl train`` runs by data size.

Each run folder given is read back (``training_config.json``, ``results.json``; nothing is trained here) and
sorted into a mode: ``adapter`` (``encoder: adapter``: LoRA that only the heads see), ``full`` (fine-tuning the
whole encoder without preservation) or ``full + preservation`` (distillation towards the source embeddings). Runs of
one mode on one data size (rows of the first task's training data) are pooled over their seeds: the table gives
the mean of each figure and, for the test scores, the lowest and highest run. Training time is kept in the file
(``runs``), not shown: the runs shared a loaded machine; ``bench_adapter.py`` measures step time.

The runs come from ``stmtl train`` on bench_small_data.py's samples of SNIPS (k = 16 per intent, 1,000 sentences;
one sample per seed) and on all of SNIPS, each with ``--sts`` on STS-B dev, e.g. (adapter runs with other ranks,
learning rates or targets make rows of their own: the same script tabulates a sweep)::

    stmtl train --data SET --output RUN --sts ../shared/data/stsb/dev.tsv --encoder adapter
    stmtl train --data SET --output RUN --sts ../shared/data/stsb/dev.tsv --encoder full --preserve-embeddings 0
    stmtl train --data SET --output RUN --sts ../shared/data/stsb/dev.tsv --encoder full --preserve-embeddings 1

Usage:
    python examples/benchmarks/encoder_modes.py RUN [RUN ...] [--results encoder_modes.json] [--runs-commit SHA]
        [--runs-how TEXT]

``--results`` writes ``docs/results/<name>`` for the docs' renderer (``docs/render_tables.py``), with every run's
own figures kept under ``runs``; ``--runs-how`` says how the runs were trained when it is not this docstring's
commands (e.g. slot head variants, from a config with ``options`` on the slot task).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from stmtl.adapters import DEFAULT_TARGETS

ROOT = Path(__file__).resolve().parents[2]
SIZE_NAMES = {112: "k = 16 (112 sentences)", 1000: "1,000 sentences"}

COLUMNS = [
    {"key": "data", "label": "training data"},
    {"key": "mode", "label": "encoder"},
    {"key": "seeds", "label": "seeds"},
    {"key": "test_intent", "label": "test intent acc.", "format": ".2f"},
    {"key": "test_intent_range", "label": "(min–max)", "format": ".2f"},
    {"key": "test_slots", "label": "test slot F1", "format": ".2f"},
    {"key": "test_slots_range", "label": "(min–max)", "format": ".2f"},
    {"key": "test_exact", "label": "test exact match", "format": ".2f"},
    {"key": "dev_intent", "label": "dev intent", "format": ".2f"},
    {"key": "dev_slots", "label": "dev slot F1", "format": ".2f"},
    {"key": "sts", "label": "STS-B dev", "format": ".2f"},
    {"key": "cosine", "label": "cosine to source", "format": ".3f"},
    {"key": "parameters", "label": "trainable params", "format": ","},
]


def training_rows(config: dict[str, Any]) -> int:
    """Rows of the first task's training data: a joint folder's ``train/label`` lines, or a file's lines."""
    source = Path(config["tasks"][0]["train"])
    path = source / "train" / "label" if source.is_dir() else source
    with open(path, encoding="utf-8") as lines:
        return sum(1 for line in lines if line.strip())


def read_run(folder: Path) -> dict[str, Any]:
    """One finished run's mode, data size, seed and figures (percentages)."""
    config = json.loads((folder / "training_config.json").read_text())
    results = json.loads((folder / "results.json").read_text())
    if config["encoder"] == "adapter":
        targets = "" if config["adapter_targets"] == ",".join(DEFAULT_TARGETS) else f", {config['adapter_targets']}"
        mode = f"adapter (rank {config['adapter_rank']}, lr {config['lr_adapter']:g}{targets})"
    else:
        mode = "full + preservation" if config["preserve_embeddings"] else "full"
    options = [task.get("options") or {} for task in config["tasks"]]
    if any(option.get("sentence_context") for option in options):
        mode += ", intent-aware slot head"
    token_configs = [json.loads(path.read_text()) for path in folder.glob("*_TokenClassificationHead/config.json")]
    if any(isinstance(token.get("crf"), dict) for token in token_configs):  # the saved head has learned CRF scores
        mode += ", CRF slot head"
    drift = results.get("embedding_drift") or {}
    dev, test = results["dev"], results["test"]
    return {
        "run": str(folder), "mode": mode, "rows": training_rows(config), "seed": config["seed"],
        "data": config["tasks"][0]["train"],
        "dev_intent": 100 * dev["intent"]["accuracy"], "dev_slots": 100 * dev["slots"]["f1"],
        "test_intent": 100 * test["intent"]["accuracy"], "test_slots": 100 * test["slots"]["f1"],
        "test_exact": 100 * test["exact_match"], "sts": drift.get("sts_spearman"), "cosine": drift.get("mean_cosine"),
        "train_seconds": results.get("train_seconds"), "parameters": results.get("trainable_parameters"),
    }  # fmt: skip


def _mean(values: list[Any]) -> float | None:
    values = [value for value in values if value is not None]
    return statistics.fmean(values) if values else None


def table(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (data size, mode): means over the runs, test ranges, the runs' seeds or data samples."""
    order = ["adapter", "full", "full + preservation"]
    groups: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["rows"], run["mode"]), []).append(run)
    rows = []

    def position(group: tuple[int, str]) -> tuple[int, int, str]:
        size, mode = group
        return size, order.index(mode.split(" (")[0].split(", ")[0]), mode

    for (size, mode), members in sorted(groups.items(), key=lambda g: position(g[0])):
        # A sample of SNIPS differs per seed (its data path); all of SNIPS differs only in the training seed.
        samples = sorted({run["data"] for run in members})
        seeds = len(members) if len(samples) == len(members) else len({run["seed"] for run in members})
        row = {"data": SIZE_NAMES.get(size, f"SNIPS, {size:,} sentences"), "mode": mode, "seeds": seeds}
        for key in ("test_intent", "test_slots", "test_exact", "dev_intent", "dev_slots", "sts", "cosine",
                    "train_seconds", "parameters"):  # fmt: skip
            row[key] = _mean([run[key] for run in members])
        for key in ("test_intent", "test_slots"):
            values = [run[key] for run in members]
            row[f"{key}_range"] = [min(values), max(values)] if len(values) > 1 else None
        row["parameters"] = round(row["parameters"]) if row["parameters"] is not None else None
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("runs", nargs="+", help="finished stmtl train run folders")
    parser.add_argument("--results", help="write docs/results/NAME (a .json name) for the docs' renderer")
    parser.add_argument("--runs-commit", help="the commit the runs were trained on, when not the current one")
    parser.add_argument("--runs-how", help="how the runs were trained, when not as this script's docstring says")
    args = parser.parse_args(argv)
    runs = [read_run(Path(folder)) for folder in args.runs]
    rows = table(runs)
    for row in rows:
        print(json.dumps(row))
    if args.results:
        sys.path.insert(0, str(ROOT / "docs"))
        from render_tables import write_result

        how = args.runs_how or "see this script's docstring"
        command = f"python examples/benchmarks/encoder_modes.py RUN ... --results {args.results} (runs: {how})"
        notes = {"runs": runs, "seeds": "k = 16 and 1,000: one SNIPS sample per seed; SNIPS: training seeds"}
        if args.runs_commit:
            notes["data"] = f"runs trained at commit {args.runs_commit}"
        print(write_result(args.results, command, COLUMNS, rows, **notes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
