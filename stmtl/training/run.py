"""A whole training run from a :class:`TrainConfig`: data, model, loop, best model, test scores, plots."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import datasets
from accelerate import Accelerator
from accelerate.state import AcceleratorState, GradientState
from accelerate.utils import DistributedDataParallelKwargs, set_seed

from stmtl.builder import build
from stmtl.data import read_task_data
from stmtl.heads import SentenceClassificationHead, TokenClassificationHead
from stmtl.model import MultiTaskSentenceTransformer
from stmtl.training.checkpoint import save_model_into_run
from stmtl.training.config import ConfigError, TaskConfig, TrainConfig
from stmtl.training.evaluation import EvalSet, headline
from stmtl.training.features import TaskSpec, collect_labels, encode_dataset
from stmtl.training.trainer import MultiTaskTrainer, TrainStream, latest_checkpoint

logger = logging.getLogger(__name__)


def check_output_dir(path: str | os.PathLike) -> None:
    """Fail before any work if the run folder cannot be written.

    Raises:
        ConfigError: Naming the folder.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_bytes(b"0" * 4096)
        probe.unlink()
    except OSError as error:
        raise ConfigError(f"{path}: output folder is not writable ({error.strerror})") from None


def _same_source(a: Any, b: Any) -> bool:
    return a is b or (isinstance(a, (str, os.PathLike)) and isinstance(b, (str, os.PathLike)) and str(a) == str(b))


def group_by_source(tasks: list[TaskConfig], key: str, joint: bool) -> list[list[TaskConfig]]:
    """Tasks grouped by identical data source (``key`` = train/dev/test); every task alone unless ``joint``."""
    groups: list[list[TaskConfig]] = []
    for task in tasks:
        if getattr(task, key) is None:
            continue
        for group in groups:
            if joint and _same_source(getattr(group[0], key), getattr(task, key)):
                group.append(task)
                break
        else:
            groups.append([task])
    return groups


def make_heads(config: TrainConfig, specs: list[TaskSpec], dim: int) -> list:
    """One head per task, with the labels found in training data."""
    classes = {"sentence": SentenceClassificationHead, "token": TokenClassificationHead}
    options = {task.name: task for task in config.tasks}
    return [
        classes[spec.kind](
            spec.name,
            spec.labels,
            dim,
            dropout=options[spec.name].dropout,
            hidden_features=options[spec.name].hidden_features,
        )  # fmt: skip
        for spec in specs
    ]


def encode_sets(
    groups: list[list[TaskConfig]], key: str, split: str, specs: dict[str, TaskSpec], tokenizer: Any, max_length: int
) -> list[tuple[list[TaskSpec], datasets.Dataset]]:
    """Read and tokenize every group's data for ``key`` (train/dev/test)."""
    out = []
    for group in groups:
        group_specs = [specs[task.name] for task in group]
        data = read_task_data(getattr(group[0], key), split=split)
        name = f"{split} data of {'+'.join(task.name for task in group)}"
        out.append((group_specs, encode_dataset(data, tokenizer, max_length, group_specs, name)))
    return out


def setup(config: TrainConfig) -> tuple[MultiTaskTrainer, list[TaskSpec], dict[str, TaskSpec]]:
    """Everything before the first step: accelerator, seed, data, label sets, model with heads, trainer.

    Returns:
        The trainer, the task specs in config order, and the specs by task name.
    """
    check_output_dir(config.output_dir)
    if config.report_to == "tensorboard":
        from accelerate.utils import is_tensorboard_available

        if not is_tensorboard_available():
            raise ConfigError("report_to 'tensorboard' needs the tensorboard package: pip install tensorboard")
    # Accelerate keeps its settings in process-wide singletons; one process may run several trainings (compare,
    # notebooks), so each run drops the previous run's precision/accumulation settings. The process group
    # (PartialState) is kept.
    AcceleratorState._reset_state(reset_partial_state=False)
    GradientState._reset_state()
    accelerator = Accelerator(
        mixed_precision=config.mixed_precision,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        cpu=config.cpu,
        log_with=None if config.report_to == "none" else config.report_to,
        project_dir=config.output_dir,
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],
    )
    set_seed(config.seed)
    joint = config.mode == "joint"
    train_groups = group_by_source(config.tasks, "train", joint)
    raw_train = [read_task_data(group[0].train, split="train") for group in train_groups]
    specs: dict[str, TaskSpec] = {}
    for group, data in zip(train_groups, raw_train):
        for task in group:
            _check_columns(task, data)
            specs[task.name] = TaskSpec(task.name, task.kind, task.labels or collect_labels(data, task.kind))
    ordered = [specs[task.name] for task in config.tasks]

    model = build([], backbone=config.backbone, device=str(accelerator.device))
    if config.max_seq_length:
        model.max_seq_length = config.max_seq_length
    dim = model.get_embedding_dimension()
    for head in make_heads(config, ordered, dim):
        model.append(head)
    model.to(accelerator.device)
    tokenizer, max_length = model.tokenizer, model.max_seq_length

    streams = []
    for group, data in zip(train_groups, raw_train):
        group_specs = [specs[task.name] for task in group]
        name = f"train data of {'+'.join(task.name for task in group)}"
        encoded = encode_dataset(data, tokenizer, max_length, group_specs, name)
        columns = ["length", "input_ids", "attention_mask", "token_type_ids", *(s.column for s in group_specs)]
        streams.append(
            TrainStream(
                group_specs, encoded.select_columns([c for c in columns if c in encoded.column_names]).to_list()
            )
        )
    dev_groups = group_by_source(config.tasks, "dev", True)
    dev_sets = [EvalSet(data, s) for s, data in encode_sets(dev_groups, "dev", "dev", specs, tokenizer, max_length)]

    trainer = MultiTaskTrainer(model, config, streams, dev_sets, accelerator)
    return trainer, ordered, specs


def train(config: TrainConfig, resume: bool = False) -> tuple[MultiTaskSentenceTransformer, dict[str, Any]]:
    """Train a multi-task model as ``config`` says; the run folder ends up holding the best model.

    The run folder (``config.output_dir``) gets the best model by dev score at its root (a sentence-transformers
    folder: ``stmtl.load(output_dir)``), ``checkpoints/``, ``metrics.jsonl``, ``training_config.json``,
    ``results.json`` (dev and test metrics) and ``plots/``.

    Args:
        config: The run configuration.
        resume: Continue from the newest checkpoint in the run folder.

    Returns:
        The best model and ``{"dev": ..., "test": ..., "train_seconds": ..., "steps": ...}``.
    """
    run_dir = Path(config.output_dir)
    resume_from = latest_checkpoint(run_dir) if resume else None
    if resume and resume_from is None:
        raise ConfigError(f"{run_dir}: --resume given but the run folder has no complete checkpoint")
    trainer, ordered, specs = setup(config)
    accelerator, dev_sets = trainer.accelerator, trainer.dev_sets
    tokenizer, max_length = trainer.unwrapped.tokenizer, trainer.unwrapped.max_seq_length
    if accelerator.is_main_process:
        (run_dir / "training_config.json").write_text(json.dumps(config.to_dict(), indent=2, default=str))
    if config.report_to != "none":
        accelerator.init_trackers("stmtl")
    state = trainer.train(resume_from=resume_from)

    best = state["best_checkpoint"]
    if best is not None:
        from stmtl.loading import load

        trainer.unwrapped.load_state_dict(load(best, device="cpu").state_dict())
    dev_metrics, dev_pairs = trainer.evaluate(dev_sets) if dev_sets else ({}, {})
    test_groups = group_by_source(config.tasks, "test", True)
    test_sets = [
        EvalSet(data, s) for s, data in encode_sets(test_groups, "test", "test", specs, tokenizer, max_length)
    ]
    test_metrics, _ = trainer.evaluate(test_sets) if test_sets else ({}, {})
    results = {
        "dev": headline(dev_metrics, ordered),
        "test": headline(test_metrics, ordered),
        "dev_full": dev_metrics,
        "test_full": test_metrics,
        "steps": state["step"],
        "train_seconds": state.get("train_seconds"),
        "best_checkpoint": best,
        "skipped_steps": state["skipped_steps"],
        "num_processes": accelerator.num_processes,
    }
    model = trainer.unwrapped
    model.card_info = {
        "training_config": config.to_dict(),
        "metrics": {"dev": results["dev"], "test": results["test"]},
    }
    if accelerator.is_main_process:
        save_model_into_run(model, run_dir)
        (run_dir / "results.json").write_text(json.dumps(results, indent=2, default=float))
        _write_plots(run_dir, ordered, dev_pairs)
    accelerator.wait_for_everyone()
    if config.report_to != "none":
        accelerator.end_training()
    return model, results


def _check_columns(task: TaskConfig, data: datasets.Dataset) -> None:
    needed = ["label"] if task.kind == "sentence" else ["tokens", "tags"]
    missing = [column for column in needed if column not in data.column_names]
    if missing:
        raise ConfigError(
            f"task {task.name!r} ({task.kind}) needs column(s) {missing} in its training data {task.train!r}"
        )


def _write_plots(run_dir: Path, specs: list[TaskSpec], dev_pairs: dict[str, Any]) -> None:
    """Loss, dev metrics, gradient cosine and a dev confusion matrix per sentence task (best model)."""
    from stmtl.training.plots import plot_confusion_matrix, plot_run

    plot_run(run_dir)
    for spec in specs:
        if spec.kind == "sentence" and spec.name in dev_pairs:
            references, predictions = dev_pairs[spec.name]
            path = run_dir / "plots" / f"confusion_{spec.name}.png"
            plot_confusion_matrix(
                references, predictions, spec.labels, path, title=f"{spec.name}: dev confusion matrix"
            )
