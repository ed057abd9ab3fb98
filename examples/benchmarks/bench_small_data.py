"""Small and imbalanced data: what the CLI defaults learn from k examples per intent, against a frozen-encoder probe.

Builds SNIPS-layout folders from SNIPS train (dev and test kept whole), each in its own temporary folder:

- ``k8``, ``k16``, ``k64``: k training sentences per intent, sampled with seeds 0, 1, 2;
- ``imbalanced``: SNIPS train with three intents (chosen with seed 0) cut to 15 sentences each, the others whole;
- ``1k``: 1,000 training sentences, sampled with seeds 0, 1, 2 (the goals are means over sampling seeds);
- ``full``: all of SNIPS train; its seeds are training seeds (``--seed``; 0 stands for the CLI default, 42);
- ``longtail``: intents cut to 1,500 / 500 / 170 / 50 / 17 / 8 / 5 training sentences (which intent gets which size
  is drawn with seeds 0, 1, 2), with dev and test sets in the same proportions (every SNIPS sentence of an intent is
  pooled, since SNIPS dev and test hold about 100 per intent); its records add macro-F1, per-intent recall and
  the intent scores re-decided at τ = 0, τ = 1 and the τ chosen on dev (the sentence head's prior weight).

For each it trains, in a fresh process and with nothing but the data, an output folder and the method's flags
(:data:`TRAIN_METHODS`) on the command line:

- ``defaults``: ``python -m stmtl train --data D --output O``;
- ``frozen``: the same with ``--freeze backbone`` (the encoder never changes; the heads train on its features);
- ``adapter``, ``full``, ``preserve``: the three ways of training the encoder (``--encoder adapter``: LoRA that only
  the heads see; ``--encoder full`` without and with embedding preservation);
- ``plain``: full fine-tuning with plain cross-entropy (no logit adjustment, τ = 0, no preservation), the recipe a
  new user would write;

and fits ``probe``: a scikit-learn ``LogisticRegression(C=10)`` on the frozen source encoder's embeddings of the
training sentences (intents only: it predicts no slots). When ``setfit`` is importable, ``setfit`` trains SetFit
with its default arguments (intents only).

Reported per method: test intent accuracy, test slot F1 (stmtl's ``predict`` spans, seqeval strict IOB2) and the
training seconds (``train_seconds`` of ``results.json``: the training loop, from the first step to the last
evaluation, without model load and data reading; for the probe and SetFit, their fit). For the imbalanced set also
the test recall of each of the three rare intents. Means over the sampling seeds are printed in a table.

Usage:
    python examples/benchmarks/bench_small_data.py --data ../shared/data/snips
        [--sets k8,k16,k64,imbalanced,1k,longtail] [--seeds 0,1,2]
        [--methods defaults,frozen,adapter,full,preserve,plain,probe,setfit] [--keep DIR [--reuse]]
        [--results NAME.json] [--json]
        [-- EXTRA TRAIN FLAGS]

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
ROOT = Path(__file__).resolve().parents[2]
RARE_INTENTS = 3
RARE_SIZE = 15
LONG_TAIL = (1500, 500, 170, 50, 17, 8, 5)
"""Training rows per intent of the ``longtail`` set, largest first (each about a third of the one before)."""
LONG_TAIL_TEST, LONG_TAIL_DEV = 0.24, 0.12
"""Test and dev rows of an intent of the ``longtail`` set, as a share of its training rows (at least 2 each)."""


def read_split(folder: Path, split: str) -> dict[str, list[str]]:
    """The lines of one split of a SNIPS-layout folder, file name → lines."""
    return {name: (folder / split / name).read_text(encoding="utf-8").splitlines() for name in FILES}


def write_split(split: dict[str, list[str]], rows: list[int], folder: Path) -> None:
    """One split folder holding the ``rows`` of ``split`` (file name → lines), in row order."""
    folder.mkdir(parents=True)
    for name in FILES:
        (folder / name).write_text("".join(split[name][row] + "\n" for row in sorted(rows)), encoding="utf-8")


def write_set(snips: Path, train: dict[str, list[str]], rows: list[int], folder: Path) -> None:
    """A SNIPS-layout folder with the train ``rows`` given and SNIPS dev and test."""
    for split in ("dev", "test"):
        shutil.copytree(snips / split, folder / split)
    write_split(train, rows, folder / "train")


def write_long_tail_set(snips: Path, seed: int, folder: Path) -> dict[str, int]:
    """The ``longtail`` set: intents cut to :data:`LONG_TAIL` training rows (which intent gets which size is drawn
    with ``seed``), and dev and test sets that follow the same proportions.

    SNIPS dev and test have about 100 rows per intent, too few to hold a 1,500-row intent's share, so every row
    SNIPS has of an intent (train, dev and test) is pooled; training rows are drawn from SNIPS train, then test and
    dev rows from the rest of the pool, so no sentence is in two splits.

    Returns:
        Training rows per intent.
    """
    rng = np.random.default_rng(seed)
    splits = {split: read_split(snips, split) for split in ("train", "dev", "test")}
    pooled = {name: [line for split in splits.values() for line in split[name]] for name in FILES}
    train_size = len(splits["train"]["label"])
    by_intent: dict[str, list[int]] = {}
    for row, label in enumerate(pooled["label"]):
        by_intent.setdefault(label, []).append(row)
    intents = [str(intent) for intent in rng.permutation(sorted(by_intent))]
    chosen: dict[str, list[int]] = {"train": [], "dev": [], "test": []}
    sizes = {}
    for intent, size in zip(intents, LONG_TAIL):
        in_train = [row for row in by_intent[intent] if row < train_size]
        train_rows = [int(row) for row in rng.choice(in_train, size, replace=False)]
        rest = [int(row) for row in rng.permutation(sorted(set(by_intent[intent]) - set(train_rows)))]
        n_test, n_dev = (max(2, round(size * share)) for share in (LONG_TAIL_TEST, LONG_TAIL_DEV))
        chosen["train"] += train_rows
        chosen["test"] += rest[:n_test]
        chosen["dev"] += rest[n_test : n_test + n_dev]
        sizes[intent] = size
    for split, rows in chosen.items():
        write_split(pooled, rows, folder / split)
    return sizes


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
    """``stmtl train`` in a fresh process; its ``results.json`` and the process's wall seconds (a finished run kept
    in ``output`` is read back instead)."""
    if (output / "results.json").is_file():
        return {"results": json.loads((output / "results.json").read_text()), "wall_s": None}
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


def prior_weight_scores(model_dir: Path, data: Path, chosen: float) -> dict[str, dict[str, Any]]:
    """Test accuracy, macro-F1 and per-intent recall of the trained intent head decided at τ = 0, 1 and ``chosen``.

    The decisions are re-made from one set of test logits (``logits + τ * log prior``, what ``predict`` computes), so
    the three rows differ in τ alone.
    """
    import torch
    from sklearn.metrics import f1_score, recall_score

    import stmtl

    model = stmtl.load(str(model_dir), device="cpu")
    head, test = model.heads["intent"], read_split(data, "test")
    logits = torch.stack(model.encode(test["seq.in"], output_value=head.logits_key, show_progress_bar=False))
    intents = sorted(set(test["label"]))
    scores = {}
    for name, weight in (("tau=0", 0.0), ("tau=1", 1.0), (f"tau={chosen:g} (dev)", chosen)):
        predicted = [head.labels[i] for i in head.decision_logits(logits.float(), weight).argmax(-1).tolist()]
        recalls = recall_score(test["label"], predicted, labels=intents, average=None, zero_division=0)
        scores[name] = {
            "accuracy": round(100 * float(np.mean(np.array(predicted) == np.array(test["label"]))), 2),
            "macro_f1": round(100 * f1_score(test["label"], predicted, labels=intents, average="macro"), 2),
            "recall": {intent: round(100 * float(r), 1) for intent, r in zip(intents, recalls)},
        }
    return scores


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


TRAIN_METHODS = {
    "defaults": [],
    "frozen": ["--freeze", "backbone"],
    "adapter": ["--encoder", "adapter"],
    "full": ["--encoder", "full", "--preserve-embeddings", "0"],
    "preserve": ["--encoder", "full", "--preserve-embeddings", "1"],
    "plain": ["--encoder", "full", "--preserve-embeddings", "0", "--no-logit-adjustment", "--prior-weight", "0"],
}
"""The ``stmtl train`` flags of each trained method (the extra flags after ``--`` come last)."""


def run_method(
    method: str, data: Path, output: Path, seed: int, rare: list[str], extra: list[str], long_tail: bool = False
) -> dict:
    if method == "probe":
        return fit_probe(data)
    if method == "setfit":
        return fit_setfit(data, seed)
    run = train_stmtl(data, output, [*TRAIN_METHODS[method], *extra])
    results = run["results"]
    test, drift = results["test"], results.get("embedding_drift") or {}
    record = {
        "intent": round(100 * test["intent"]["accuracy"], 2),
        "slots": round(100 * test["slots"]["f1"], 2),
        "exact": round(100 * test["exact_match"], 2),
        "sts": drift.get("sts_spearman"),
        "cosine": drift.get("mean_cosine"),
        "trainable": results.get("trainable_parameters"),
        "train_s": results["train_seconds"],
        "wall_s": run["wall_s"],
        "steps": results["steps"],
    }
    if rare:
        record["rare_recall"] = rare_recall(output, data, rare)
        record["intent_accuracy_all"] = record["intent"]
    calibration = run["results"].get("calibration", {}).get("intent")
    if long_tail and calibration:
        record["macro_f1"] = round(100 * test["intent"]["macro_f1"], 2)
        record["prior_weight"] = calibration["prior_weight"]
        record["by_prior_weight"] = prior_weight_scores(output, data, calibration["prior_weight"])
    return record


def _mean(group: list[dict[str, Any]], key: str, digits: int = 2) -> float | None:
    values = [r[key] for r in group if r.get(key) is not None]
    return round(statistics.mean(values), digits) if values else None


def table(records: list[dict[str, Any]], sets: list[str], methods: list[str]) -> tuple[str, list[dict]]:
    """Markdown table of the means over seeds (and the min..max spread of intent accuracy)."""
    lines = ["| set | method | seeds | test intent acc | test slot F1 | test exact | STS | cosine | trainable | "
             "train s | rare-intent recall |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    means = []
    for name in sets:
        for method in methods:
            group = [r for r in records if r["set"] == name and r["method"] == method]
            if not group:
                continue
            intents = [r["intent"] for r in group]
            mean = {
                "set": name, "method": method, "seeds": len(group), "intent": round(statistics.mean(intents), 2),
                "intent_range": [min(intents), max(intents)], "slots": _mean(group, "slots"),
                "exact": _mean(group, "exact"), "sts": _mean(group, "sts"), "cosine": _mean(group, "cosine", 4),
                "trainable": group[0].get("trainable"), "train_s": _mean(group, "train_s", 1),
            }  # fmt: skip
            if "rare_recall" in group[0]:
                mean["rare_recall"] = group[0]["rare_recall"]
            if "macro_f1" in group[0]:
                mean["macro_f1"] = _mean(group, "macro_f1")
            if "by_prior_weight" in group[0]:
                mean["prior_weights"] = ", ".join(f"{r['prior_weight']:g}" for r in group)
                for tau in ("0", "1"):
                    scores = [r["by_prior_weight"][f"tau={tau}"] for r in group]
                    mean[f"accuracy_tau{tau}"] = round(statistics.mean(s["accuracy"] for s in scores), 2)
                    mean[f"macro_f1_tau{tau}"] = round(statistics.mean(s["macro_f1"] for s in scores), 2)
            means.append(mean)
            spread = f" ({min(intents):.1f}–{max(intents):.1f})" if len(group) > 1 else ""
            rare = ", ".join(f"{k} {v:.1f}" for k, v in mean.get("rare_recall", {}).items()) or "–"
            cells = [f"{mean[key]:.2f}" if mean[key] is not None else "–" for key in ("slots", "exact", "sts")]
            cosine = f"{mean['cosine']:.3f}" if mean["cosine"] is not None else "–"
            trainable = f"{mean['trainable']:,}" if mean["trainable"] else "–"
            lines.append(
                f"| {name} | {method} | {len(group)} | {mean['intent']:.2f}{spread} | {' | '.join(cells)} | "
                f"{cosine} | {trainable} | {mean['train_s']:.0f} | {rare} |"
            )
    return "\n".join(lines), means


def write_results(name: str, means: list[dict[str, Any]], records: list[dict[str, Any]], command: str) -> None:
    """The table of means as ``docs/results/<name>`` (see ``docs/render_tables.py``), with every record."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("render_tables", ROOT / "docs" / "render_tables.py")
    tables = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tables)
    columns = [
        {"key": "set", "label": "set"}, {"key": "method", "label": "method"}, {"key": "seeds", "label": "seeds"},
        {"key": "intent", "label": "test intent acc", "format": ".2f"},
        {"key": "intent_range", "label": "range", "format": ".2f"},
        {"key": "slots", "label": "test slot F1", "format": ".2f"},
        {"key": "exact", "label": "test exact match", "format": ".2f"},
        {"key": "sts", "label": "STS-B dev", "format": ".2f"}, {"key": "cosine", "label": "cosine", "format": ".3f"},
        {"key": "trainable", "label": "trainable parameters", "format": ","},
        {"key": "train_s", "label": "train s", "format": ".0f"},
    ]  # fmt: skip
    if any("macro_f1" in mean for mean in means):  # the long-tail set: macro-F1, and the decision at τ = 0, 1
        columns[5:5] = [{"key": "macro_f1", "label": "test macro-F1", "format": ".2f"}]
        columns += [
            {"key": "prior_weights", "label": "τ chosen on dev (per seed)"},
            {"key": "accuracy_tau0", "label": "acc τ=0", "format": ".2f"},
            {"key": "macro_f1_tau0", "label": "macro-F1 τ=0", "format": ".2f"},
            {"key": "accuracy_tau1", "label": "acc τ=1", "format": ".2f"},
            {"key": "macro_f1_tau1", "label": "macro-F1 τ=1", "format": ".2f"},
        ]
    if all(mean.get("sts") is None for mean in means):  # no --sts: no column of dashes
        columns = [column for column in columns if column["key"] != "sts"]
    seeds = sorted({record["seed"] for record in records})
    tables.write_result(name, command, columns, means, seeds=", ".join(map(str, seeds)), records=records)


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
    parser.add_argument("--reuse", action="store_true", help="with --keep: read back runs that finished there")
    parser.add_argument("--results", help="also write the table as docs/results/RESULTS (rendered into the docs)")
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
                data, flags = root / f"{name}-seed{seed}" / "data", extra
                if name == "full":  # all of SNIPS; the seed is the training seed (0: the CLI default, 42)
                    data, rows, rare = snips, list(range(len(train["label"]))), []
                    flags = [*extra, "--seed", str(seed or 42)]
                elif name == "longtail":
                    rows, rare = list(range(sum(LONG_TAIL))), []
                    shutil.rmtree(data, ignore_errors=True)
                    write_long_tail_set(snips, seed, data)
                else:
                    rows, rare = sample_rows(train["label"], name, seed)
                    shutil.rmtree(data, ignore_errors=True)
                    write_set(snips, train, rows, data)
                for method in methods:
                    output = root / f"{name}-seed{seed}" / method
                    if not (args.reuse and (output / "results.json").is_file()):
                        shutil.rmtree(output, ignore_errors=True)
                    record = {"set": name, "seed": seed, "method": method, "train_rows": len(rows)}
                    record |= run_method(method, data, output, seed, rare, flags, long_tail=name == "longtail")
                    records.append(record)
                    print(json.dumps(record), file=sys.stderr, flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    text, means = table(records, sets, methods)
    print(text)
    if args.results:
        write_results(args.results, means, records, " ".join(["python", "examples/benchmarks/bench_small_data.py",
                                                              *sys.argv[1:]]))  # fmt: skip
    if args.json:
        print(json.dumps({"records": records, "means": means, "extra_flags": extra}))


if __name__ == "__main__":
    main()
