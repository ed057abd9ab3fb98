"""Small and imbalanced data: what the CLI defaults learn from k examples per intent, against a frozen-encoder probe.

Builds SNIPS-layout folders from SNIPS train (dev and test kept whole), each in its own temporary folder:

- ``k8``, ``k16``, ``k64``: k training sentences per intent, sampled with seeds 0, 1, 2;
- ``imbalanced``: SNIPS train with three intents (chosen with seed 0) cut to 15 sentences each, the others whole;
- ``1k``: 1,000 training sentences, sampled with seeds 0, 1, 2 (the goals are means over sampling seeds).

For each it trains, in a fresh process and with nothing but the data and an output folder on the command line:

- ``defaults``: ``python -m stmtl train --data D --output O``;
- ``frozen``: the same with ``--freeze backbone`` (the encoder never changes; the heads train on its features);

and fits ``probe``: a scikit-learn ``LogisticRegression(C=10)`` on the frozen source encoder's embeddings of the
training sentences (intents only: it predicts no slots). When ``setfit`` is importable, ``setfit`` trains SetFit
with its default arguments (intents only).

Reported per method: test intent accuracy, test slot F1 (stmtl's ``predict`` spans, seqeval strict IOB2) and the
training seconds (``train_seconds`` of ``results.json``: the training loop, from the first step to the last
evaluation, without model load and data reading; for the probe and SetFit, their fit). For the imbalanced set also
the test recall of each of the three rare intents. Means over the sampling seeds are printed in a table.

Usage:
    python examples/benchmarks/bench_small_data.py --data ../shared/data/snips [--sets k8,k16,k64,imbalanced,1k]
        [--seeds 0,1,2] [--methods defaults,frozen,probe,setfit] [--keep DIR] [--json] [-- EXTRA TRAIN FLAGS]

Flags after ``--`` go to every ``stmtl train`` command (to compare a variant with the defaults).
JSON (last line with ``--json``): one record per set, seed and method, and the table's means.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

FILES = ("seq.in", "seq.out", "label")
RARE_INTENTS = 3
RARE_SIZE = 15


def read_split(folder: Path, split: str) -> dict[str, list[str]]:
    """The lines of one split of a SNIPS-layout folder, file name → lines."""
    return {name: (folder / split / name).read_text(encoding="utf-8").splitlines() for name in FILES}


def write_set(snips: Path, train: dict[str, list[str]], rows: list[int], folder: Path) -> None:
    """A SNIPS-layout folder with the train ``rows`` given and SNIPS dev and test."""
    for split in ("dev", "test"):
        shutil.copytree(snips / split, folder / split)
    (folder / "train").mkdir(parents=True)
    for name in FILES:
        lines = [train[name][row] + "\n" for row in sorted(rows)]
        (folder / "train" / name).write_text("".join(lines), encoding="utf-8")


def sample_rows(labels: list[str], name: str, seed: int) -> tuple[list[int], list[str]]:
    """The train rows of set ``name`` (``k16``, ``imbalanced``, ``1k``) and, for ``imbalanced``, the rare intents."""
    rng = np.random.default_rng(seed)
    by_intent: dict[str, list[int]] = {}
    for row, label in enumerate(labels):
        by_intent.setdefault(label, []).append(row)
    intents = sorted(by_intent)
    if name.startswith("k"):
        k = int(name[1:])
        return [int(row) for intent in intents for row in rng.choice(by_intent[intent], k, replace=False)], []
    if name == "imbalanced":
        rare = sorted(str(intent) for intent in rng.choice(intents, RARE_INTENTS, replace=False))
        rows = [row for intent in intents if intent not in rare for row in by_intent[intent]]
        rows += [int(row) for intent in rare for row in rng.choice(by_intent[intent], RARE_SIZE, replace=False)]
        return rows, rare
    if name == "1k":
        return [int(row) for row in rng.choice(len(labels), 1000, replace=False)], []
    raise ValueError(f"unknown set {name!r}")


def train_stmtl(data: Path, output: Path, extra: list[str]) -> dict[str, Any]:
    """``stmtl train`` in a fresh process; its ``results.json`` and the process's wall seconds."""
    command = [sys.executable, "-m", "stmtl", "train", "--data", str(data), "--output", str(output), *extra]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    results = json.loads((output / "results.json").read_text())
    return {"results": results, "wall_s": round(wall, 1)}


def rare_recall(model_dir: Path, data: Path, rare: list[str]) -> dict[str, float]:
    """Test recall of each rare intent, from the trained model's ``predict``."""
    import stmtl

    model = stmtl.load(str(model_dir), device="cpu")
    test = read_split(data, "test")
    predicted = [result["intent"]["label"] for result in model.predict(test["seq.in"])]
    recall = {}
    for intent in rare:
        rows = [i for i, label in enumerate(test["label"]) if label == intent]
        recall[intent] = round(100 * sum(predicted[i] == intent for i in rows) / len(rows), 2)
    return recall


def fit_probe(data: Path) -> dict[str, Any]:
    """Logistic regression (C=10) on the frozen default encoder's embeddings; test intent accuracy."""
    from sklearn.linear_model import LogisticRegression

    import stmtl

    encoder = stmtl.build([], device="cpu")
    train, test = read_split(data, "train"), read_split(data, "test")
    start = time.perf_counter()
    features = encoder.encode(train["seq.in"], batch_size=64)
    probe = LogisticRegression(C=10, max_iter=2000).fit(features, train["label"])
    seconds = time.perf_counter() - start
    accuracy = float(np.mean(probe.predict(encoder.encode(test["seq.in"], batch_size=64)) == test["label"]))
    return {"intent": round(100 * accuracy, 2), "slots": None, "train_s": round(seconds, 1)}


def fit_setfit(data: Path, seed: int) -> dict[str, Any]:
    """SetFit with its default arguments on the default encoder; test intent accuracy."""
    from datasets import Dataset
    from setfit import SetFitModel, Trainer

    import stmtl

    train, test = read_split(data, "train"), read_split(data, "test")
    model = SetFitModel.from_pretrained(stmtl.default_backbone())
    trainer = Trainer(model=model, train_dataset=Dataset.from_dict({"text": train["seq.in"], "label": train["label"]}))
    trainer.args.seed = seed
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    accuracy = float(np.mean(np.array(model.predict(test["seq.in"])) == np.array(test["label"])))
    return {"intent": round(100 * accuracy, 2), "slots": None, "train_s": round(seconds, 1)}


def run_method(method: str, data: Path, output: Path, seed: int, rare: list[str], extra: list[str]) -> dict:
    if method == "probe":
        return fit_probe(data)
    if method == "setfit":
        return fit_setfit(data, seed)
    flags = ["--freeze", "backbone", *extra] if method == "frozen" else extra
    run = train_stmtl(data, output, flags)
    test = run["results"]["test"]
    record = {
        "intent": round(100 * test["intent"]["accuracy"], 2),
        "slots": round(100 * test["slots"]["f1"], 2),
        "train_s": run["results"]["train_seconds"],
        "wall_s": run["wall_s"],
        "steps": run["results"]["steps"],
    }
    if rare:
        record["rare_recall"] = rare_recall(output, data, rare)
        record["intent_accuracy_all"] = record["intent"]
    return record


def table(records: list[dict[str, Any]], sets: list[str], methods: list[str]) -> tuple[str, list[dict]]:
    """Markdown table of the means over seeds (and the min..max spread of intent accuracy)."""
    lines = ["| set | method | seeds | test intent acc | test slot F1 | train s | rare-intent recall |",
             "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    means = []
    for name in sets:
        for method in methods:
            group = [r for r in records if r["set"] == name and r["method"] == method]
            if not group:
                continue
            intents = [r["intent"] for r in group]
            slots = [r["slots"] for r in group if r["slots"] is not None]
            mean = {
                "set": name, "method": method, "seeds": len(group), "intent": round(statistics.mean(intents), 2),
                "intent_range": [min(intents), max(intents)],
                "slots": round(statistics.mean(slots), 2) if slots else None,
                "train_s": round(statistics.mean(r["train_s"] for r in group), 1),
            }  # fmt: skip
            if "rare_recall" in group[0]:
                mean["rare_recall"] = group[0]["rare_recall"]
            means.append(mean)
            spread = f" ({min(intents):.1f}–{max(intents):.1f})" if len(group) > 1 else ""
            slot_text = f"{mean['slots']:.2f}" if mean["slots"] is not None else "–"
            rare = ", ".join(f"{k} {v:.1f}" for k, v in mean.get("rare_recall", {}).items()) or "–"
            lines.append(
                f"| {name} | {method} | {len(group)} | {mean['intent']:.2f}{spread} | {slot_text} | "
                f"{mean['train_s']:.0f} | {rare} |"
            )
    return "\n".join(lines), means


def main() -> None:
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="SNIPS folder (train|dev|test/{seq.in,seq.out,label})")
    parser.add_argument("--sets", default="k8,k16,k64,imbalanced,1k")
    parser.add_argument("--seeds", default="0,1,2", help="sampling seeds of the k-per-intent and 1k sets")
    parser.add_argument("--methods", default="defaults,frozen,probe,setfit")
    parser.add_argument("--keep", help="write the sets and runs here instead of a temporary folder")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    snips = Path(args.data)
    sets, seeds = args.sets.split(","), [int(seed) for seed in args.seeds.split(",")]
    methods = args.methods.split(",")
    if "setfit" in methods:
        try:
            import setfit  # noqa: F401
        except ImportError:
            methods.remove("setfit")
            print("setfit is not installed: no SetFit column", file=sys.stderr)
    train = read_split(snips, "train")
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="stmtl-small-"))
    records = []
    try:
        for name in sets:
            for seed in [0] if name == "imbalanced" else seeds:
                rows, rare = sample_rows(train["label"], name, seed)
                data = root / f"{name}-seed{seed}" / "data"
                if not data.exists():
                    write_set(snips, train, rows, data)
                for method in methods:
                    output = root / f"{name}-seed{seed}" / method
                    shutil.rmtree(output, ignore_errors=True)
                    record = {"set": name, "seed": seed, "method": method, "train_rows": len(rows)}
                    record |= run_method(method, data, output, seed, rare, extra)
                    records.append(record)
                    print(json.dumps(record), file=sys.stderr, flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    text, means = table(records, sets, methods)
    print(text)
    if args.json:
        print(json.dumps({"records": records, "means": means, "extra_flags": extra}))


if __name__ == "__main__":
    main()
