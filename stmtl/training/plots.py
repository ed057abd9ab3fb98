"""Training plots built from a run's ``metrics.jsonl``, and plots of what the dev set gets wrong, drawn from the
heads' error analyses (:meth:`stmtl.heads.base.TaskHead.error_analysis`): heads hold no plotting code."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from stmtl.jsonio import read_metrics  # noqa: E402

OTHER_LABEL = "(other)"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _save(fig: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fig.savefig(path, dpi=120, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


def _of_type(records: list[dict], kind: str) -> list[dict]:
    return [r for r in records if r.get("type") == kind and _is_number(r.get("step"))]


def _plot_lines(ax: Any, series: dict[str, list[tuple[float, float]]], **kwargs: Any) -> None:
    for name, points in sorted(series.items()):
        steps, values = zip(*sorted(points))
        ax.plot(steps, values, label=name, **kwargs)
    ax.set_xlabel("step")
    ax.grid(True, alpha=0.3)


def plot_losses(records: list[dict], path: str | Path) -> Path:
    """Plot the running training loss of each task against the step.

    Args:
        records: Records from :func:`read_metrics`.
        path: Output image path.

    Returns:
        The written path. The y axis is log-scaled when positive losses span more than two decades.
    """
    series: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for r in _of_type(records, "train"):
        losses = r.get("loss")
        if _is_number(losses):
            losses = {"loss": losses}
        if isinstance(losses, dict):
            for task, value in losses.items():
                if _is_number(value):
                    series[str(task)].append((r["step"], value))
    fig, ax = plt.subplots(figsize=(8, 5))
    few = any(len(points) < 20 for points in series.values())  # a short run: show the points, a line may be one
    _plot_lines(ax, series, linewidth=1.2, **({"marker": "o", "markersize": 3} if few else {}))
    positive = [v for points in series.values() for _, v in points if v > 0]
    if positive and max(positive) / min(positive) > 100:
        ax.set_yscale("log")
    ax.set_title("Training loss")
    ax.set_ylabel("loss")
    if series:
        ax.legend()
    else:
        ax.text(0.5, 0.5, "no training records", ha="center", va="center", transform=ax.transAxes)
    return _save(fig, path)


def plot_eval_metrics(records: list[dict], path: str | Path, split: str = "dev") -> Path | None:
    """Plot each numeric evaluation metric against the step, one subplot per task.

    Args:
        records: Records from :func:`read_metrics`.
        path: Output image path.
        split: Evaluation split to plot (records without a ``split`` key are included).

    Returns:
        The written path, or None when there are no eval records for the split.
    """
    evals = [r for r in _of_type(records, "eval") if r.get("split", split) == split]
    # panel -> metric -> [(step, value)]
    panels: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    for r in evals:
        metrics = r.get("metrics")
        for key, value in metrics.items() if isinstance(metrics, dict) else ():
            if isinstance(value, dict):
                for metric, v in value.items():
                    if _is_number(v):
                        panels[str(key)][str(metric)].append((r["step"], v))
            elif _is_number(value):
                panels[str(key)][str(key)].append((r["step"], value))
    if not panels:
        return None
    names = sorted(k for k in panels if k != "exact_match") + (["exact_match"] if "exact_match" in panels else [])
    ncols = min(3, len(names))
    nrows = math.ceil(len(names) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5 * ncols, 3.8 * nrows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        _plot_lines(ax, panels[name], marker="o", markersize=3)
        ax.set_title(name)
        ax.set_ylabel("score")
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    fig.suptitle(f"Evaluation metrics ({split})")
    fig.tight_layout()
    return _save(fig, path)


def plot_grad_cosine(records: list[dict], path: str | Path) -> Path | None:
    """Plot the cosine similarity between task gradients on the shared encoder.

    Args:
        records: Records from :func:`read_metrics`.
        path: Output image path.

    Returns:
        The written path, or None when there are no ``grad_cosine`` records.
    """
    series: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for r in _of_type(records, "grad_cosine"):
        pairs = r.get("pairs")
        if isinstance(pairs, dict):
            for pair, value in pairs.items():
                if _is_number(value):
                    series[str(pair)].append((r["step"], value))
    if not series:
        return None
    fig, ax = plt.subplots(figsize=(8, 5))
    _plot_lines(ax, series, marker="o", markersize=3)
    ax.axhline(0.0, color="black", linewidth=0.8, linestyle="--")
    ax.set_ylim(-1.05, 1.05)
    ax.set_title("Gradient cosine similarity (shared encoder)")
    ax.set_ylabel("cosine")
    ax.legend()
    return _save(fig, path)


def plot_confusion_matrix(
    references: list[str], predictions: list[str], labels: list[str], path: str | Path, title: str = "Confusion matrix"
) -> Path:
    """Plot a row-normalised confusion matrix (rows are gold labels, columns predictions).

    Args:
        references: Gold labels.
        predictions: Predicted labels, aligned with ``references``.
        labels: Label order; labels seen in the data but not listed here are grouped as ``"(other)"``.
        path: Output image path.
        title: Figure title.

    Returns:
        The written path. Cells are annotated with raw counts when there are at most 20 labels.
    """
    if len(references) != len(predictions):
        raise ValueError(f"got {len(references)} references but {len(predictions)} predictions")
    names = list(dict.fromkeys(str(label) for label in labels))
    index = {name: i for i, name in enumerate(names)}
    if any(str(x) not in index for x in [*references, *predictions]):
        names.append(OTHER_LABEL)
    other = len(names) - 1
    counts = np.zeros((len(names), len(names)), dtype=int)
    for gold, pred in zip(references, predictions):
        counts[index.get(str(gold), other), index.get(str(pred), other)] += 1
    return _draw_confusion(counts, names, path, title)


def _draw_confusion(counts: np.ndarray, names: list[str], path: str | Path, title: str) -> Path:
    # A row-normalised heatmap of ``counts`` (rows gold, columns predicted), annotated up to 20 labels.
    totals = counts.sum(axis=1, keepdims=True)
    normalised = np.divide(counts, totals, out=np.zeros(counts.shape, dtype=float), where=totals > 0)
    size = max(4.0, 0.45 * len(names) + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(normalised, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="fraction of gold row")
    ticks = np.arange(len(names))
    ax.set_xticks(ticks, labels=names, rotation=45, ha="right", rotation_mode="anchor")
    ax.set_yticks(ticks, labels=names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title)
    if len(names) <= 20:
        for i in range(len(names)):
            for j in range(len(names)):
                if counts[i, j]:
                    color = "white" if normalised[i, j] > 0.5 else "black"
                    ax.text(j, i, str(counts[i, j]), ha="center", va="center", color=color, fontsize=8)
    return _save(fig, path)


def plot_errors(task: str, analysis: dict[str, Any], folder: str | Path) -> list[Path]:
    """The plots a task's dev error analysis allows: its confusion matrix (``confusion_{task}.png``), when it has
    one (a sentence task's).

    Args:
        task: The task name.
        analysis: What its head's ``error_analysis`` returned for the dev set.
        folder: Where the images go.

    Returns:
        The written paths.
    """
    confusion = analysis.get("confusion_matrix")
    if not confusion or not confusion.get("labels"):
        return []
    counts = np.array(confusion["matrix"], dtype=int)
    names = [str(label) for label in confusion["labels"]]
    return [_draw_confusion(counts, names, Path(folder) / f"confusion_{task}.png", f"{task}: dev confusion matrix")]


def plot_run(run_dir: str | Path) -> list[Path]:
    """Write the standard plots of a run to ``run_dir/plots``.

    Args:
        run_dir: Run directory containing ``metrics.jsonl``.

    Returns:
        Paths of the written images (``loss.png``, ``eval_metrics.png``, ``grad_cosine.png``, those that apply).
    """
    run_dir = Path(run_dir)
    if not (run_dir / "metrics.jsonl").is_file():
        return []
    records = read_metrics(run_dir / "metrics.jsonl")
    out = run_dir / "plots"
    written: list[Path] = []
    if _of_type(records, "train"):
        written.append(plot_losses(records, out / "loss.png"))
    for func, name in ((plot_eval_metrics, "eval_metrics.png"), (plot_grad_cosine, "grad_cosine.png")):
        result = func(records, out / name)
        if result is not None:
            written.append(result)
    return written
