"""End-of-run warnings: a task that ended near chance, or whose loss hardly moved, is named with its likely cause.

A run that was too short for its data (or whose learning rate was far too small) still writes a model and scores;
without a warning a user reads "accuracy 0.34" as what the model can do. The checks use what the run already has:
the dev scores of the best model and the training losses of ``metrics.jsonl``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stmtl.jsonio import read_metrics

NEAR_CHANCE = 0.25
"""A task is near chance when its dev score covers less than this share of the way from chance to perfect."""
STUCK_LOSS = 0.1
"""A task's loss hardly moved when its last training records are within this share of its first."""
SMALL_LOSS = 0.1
"""A loss below this at the start (e.g. after the head probe) needs no further movement to count as learning."""


def task_losses(metrics_file: str | Path) -> dict[str, tuple[float, float, int]]:
    """Per task, the first loss of the run, the last logged training loss and the last step, from ``metrics.jsonl``.

    The first loss is the probe's loss of the untrained head when that head was probed, else the first training
    record's.
    """
    first: dict[str, float] = {}
    last: dict[str, tuple[float, int]] = {}
    path = Path(metrics_file)
    for record in read_metrics(path) if path.is_file() else []:
        if record.get("type") == "probe":
            for task, losses in record["loss"].items():
                first.setdefault(task, losses["loss_start"])
        if record.get("type") == "train":
            for task, loss in record["loss"].items():
                if task == "preserve" or loss is None:
                    continue
                first.setdefault(task, loss)
                last[task] = (loss, record["step"])
    return {task: (first[task], loss, step) for task, (loss, step) in last.items()}


def run_warnings(model: Any, dev_metrics: dict[str, Any], metrics_file: str | Path) -> list[str]:
    """The warnings of a finished run, one line each, naming the task, the evidence and the flag to change.

    Args:
        model: The trained multi-task model (its heads give each task's selection metric and chance level).
        dev_metrics: Dev metrics of the best model, by task.
        metrics_file: The run's ``metrics.jsonl``.

    Returns:
        Warning lines; empty when every task learned.
    """
    losses = task_losses(metrics_file)
    warnings = []
    for task, head in model.heads.items():
        problems = []
        score = (dev_metrics.get(task) or {}).get(head.selection_key)
        chance = head.chance_level()
        # Only a score that is better when larger has a chance level to compare with (an error's depends on the data).
        if head.greater_is_better and score is not None and score < chance + NEAR_CHANCE * (1.0 - chance):
            problems.append(f"dev {head.selection_key} {score:.3f} is near chance ({chance:.3f})")
        if task in losses:
            start, end, step = losses[task]
            if start >= SMALL_LOSS and end > (1.0 - STUCK_LOSS) * start:
                problems.append(f"its training loss hardly moved ({start:.3f} -> {end:.3f} in {step} steps)")
        if problems:
            warnings.append(
                f"task {task!r}: {' and '.join(problems)}; the run was probably too short or its learning rate too "
                "small for this data: raise --min-steps (or --epochs), or --lr-heads / --lr-backbone"
            )
    return warnings
