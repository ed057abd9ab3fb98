"""A whole training run from a :class:`TrainConfig`: data, model, loop, best model, test scores, plots."""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import datasets
from accelerate import Accelerator
from accelerate.state import AcceleratorState, GradientState
from accelerate.utils import DistributedDataParallelKwargs, set_seed

from stmtl.adapters import AdapterConfig, TaskAdapter, targets_of
from stmtl.backbone import saved_task_parts
from stmtl.builder import build
from stmtl.config import ConfigError, TaskConfig, TrainConfig
from stmtl.data import read_task_data
from stmtl.data.check import warn_data_findings
from stmtl.evaluation import EvalSet, headline
from stmtl.features import TRAIN_COLUMNS, encode_dataset
from stmtl.heads import TaskHead
from stmtl.heads.registry import head_class
from stmtl.jsonio import write_json
from stmtl.model import MultiTaskSentenceTransformer
from stmtl.model_card import run_summary
from stmtl.position_limit import check_max_seq_length, loaded_position_limit, position_limit
from stmtl.progress import loader_bars_off
from stmtl.training.checkpoint import checkpoint_path, save_model_into_run
from stmtl.training.drift import check_sts_file, describe, measure_run_drift
from stmtl.training.folder_claim import TRACKER_NAME, WRITE_PROBE
from stmtl.training.health import run_warnings
from stmtl.training.resolve import encoder_mode, resolve_config
from stmtl.training.run_folder import RunFolder
from stmtl.training.streaming import StreamingTrainData, streaming_stream
from stmtl.training.train_data import TrainData, TrainStream
from stmtl.training.trainer import MultiTaskTrainer

logger = logging.getLogger(__name__)


def check_output_dir(path: str | os.PathLike) -> None:
    """Fail before any work if the run folder cannot be written.

    Raises:
        ConfigError: Naming the folder.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        # A name of its own: every rank of a launch checks the same folder at the same moment.
        handle, probe = tempfile.mkstemp(prefix=WRITE_PROBE + "-", dir=path)
        with os.fdopen(handle, "wb") as file:
            file.write(b"0" * 4096)
        os.unlink(probe)
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


def make_heads(
    config: TrainConfig, train_data: dict[str, datasets.Dataset], dim: int, saved: dict[str, TaskHead] | None = None
) -> list[TaskHead]:
    """One head per task, in config order, shaped by its training data (e.g. its label set, unless the config fixes
    it): :meth:`TaskHead.for_task` of the task's kind.

    A task with a head in ``saved`` (the backbone is a saved stmtl model) continues that head: same kind, weights
    and label set.

    Raises:
        ConfigError: If a task's training data lacks the columns its head reads, an option does not apply to its
            kind, or a saved head does not fit its task (another kind, or labels it lacks).
    """
    heads = []
    for task in config.tasks:
        cls = head_class(task.kind)
        data = train_data[task.name]
        if missing := cls.missing_columns(data, task.name):
            raise ConfigError(
                f"task {task.name!r} ({task.kind}) needs column(s) {missing} in its training data {task.train!r}"
            )
        if task.name in (saved or {}):
            heads.append(continued_head(saved[task.name], task, cls, data))
        else:
            fields = ("task", "labels", "in_features", "dropout", "hidden_features")  # the task's own config keys
            allowed = [key for key in cls.config_keys if key not in fields]
            if unknown := sorted(set(task.options or {}) - set(allowed)):
                raise ConfigError(
                    f"task {task.name!r}: option(s) {unknown} are not settings of a {task.kind} head "
                    f"({', '.join(allowed)})"
                )
            options = {**(task.options or {}), "dropout": task.dropout, "hidden_features": task.hidden_features}
            if task.labels is not None:
                options["labels"] = task.labels
            try:
                heads.append(cls.for_task(task.name, data, dim, **options))
            except (TypeError, ValueError) as error:
                raise ConfigError(f"task {task.name!r} ({task.kind}): {error}") from None
        heads[-1].prepare_training(data, logit_adjustment=config.logit_adjustment)
    return heads


def continued_head(head: TaskHead, task: TaskConfig, cls: type[TaskHead], data: datasets.Dataset) -> TaskHead:
    """A saved head that goes on training for ``task``, checked against the task's kind and data."""
    if type(head) is not cls:
        raise ConfigError(
            f"task {task.name!r} is of kind {task.kind!r}, but the backbone's head {task.name!r} is a "
            f"{type(head).__name__}; give the task another name to train a new head"
        )
    if (problem := head.check_continuation(data, task.labels)) is not None:
        raise ConfigError(
            f"task {task.name!r}: {problem} (training data {task.train!r}); give the task another name to train a "
            "new head"
        )
    return head


def eval_sets(
    config: TrainConfig, key: str, model: MultiTaskSentenceTransformer, accelerator: Accelerator
) -> list[EvalSet]:
    """Read and tokenize (cached) the ``key`` (dev/test) data of every task; tasks with the same source share a set."""
    out = []
    for group in group_by_source(config.tasks, key, True):
        tasks = [task.name for task in group]
        name = f"{key} data of {'+'.join(tasks)}"
        with accelerator.main_process_first():
            data = read_task_data(getattr(group[0], key), split=key)
            encoded = encode_dataset(data, model.tokenizer, model.max_seq_length, [], name)
        out.append(EvalSet(encoded, tasks))
    return out


def setup(config: TrainConfig) -> MultiTaskTrainer:
    """Everything before the first step: accelerator, seed, data, label sets, model with heads, the config's
    data-dependent defaults resolved (:func:`~stmtl.training.resolve.resolve_config`), trainer."""
    check_output_dir(config.output_dir)
    check_sts_file(config.sts)
    if config.report_to == "tensorboard":
        from accelerate.utils import is_tensorboard_available

        if not is_tensorboard_available():
            raise ConfigError("report_to 'tensorboard' needs the tensorboard package: pip install tensorboard")
    # Accelerate keeps its settings in process-wide singletons; one process may run several trainings (compare,
    # notebooks), so each run drops the previous run's precision/accumulation settings. The process group
    # (PartialState) is kept. Accelerate has no public call for this: these are the resets its own test utilities
    # make between runs.
    AcceleratorState._reset_state(reset_partial_state=False)
    GradientState._reset_state()
    ddp_kwargs = DistributedDataParallelKwargs()  # find_unused_parameters is set by the trainer, before prepare()
    accelerator = Accelerator(
        mixed_precision=config.mixed_precision,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        cpu=config.cpu,
        log_with=None if config.report_to == "none" else config.report_to,
        project_dir=config.output_dir,
        kwargs_handlers=[ddp_kwargs],
    )
    set_seed(config.seed)
    if accelerator.is_main_process and not config.streaming:
        warn_data_findings(config.tasks)  # what `stmtl check-data` warns about, before any work
    train_groups = group_by_source(config.tasks, "train", config.mode == "joint")
    raw_train = {}
    for group in train_groups:
        with accelerator.main_process_first():  # the main process writes the Arrow cache, the others map it
            data = read_task_data(group[0].train, split="train", streaming=config.streaming)
        raw_train.update({task.name: data for task in group})
    rows = 0 if config.streaming else sum(len(raw_train[group[0].name]) for group in train_groups)

    trust = config.trust_remote_code
    model = build([], backbone=config.backbone, device=str(accelerator.device), trust_remote_code=trust)
    if config.max_seq_length:  # a hub id's limit is known only now; a local backbone's was checked before
        check_max_seq_length(config.max_seq_length, loaded_position_limit(model[0]), "config key 'max_seq_length'")
        model.max_seq_length = config.max_seq_length
    saved, saved_adapter = saved_task_parts(config.backbone, trust)
    config = add_adapter(config, model, saved_adapter)
    for head in make_heads(config, raw_train, model.get_embedding_dimension(), saved):
        model.append(head)
    continued = [task.name for task in config.tasks if task.name in saved]
    if continued:
        logger.info("continuing the saved head(s) of %s from %s", ", ".join(continued), config.backbone)
    model.to(accelerator.device)
    dev_sets = eval_sets(config, "dev", model, accelerator)
    data = train_data(config, train_groups, raw_train, model, accelerator)
    resolved = resolve_config(config, rows, data)
    return MultiTaskTrainer(model, resolved, data, dev_sets, accelerator, ddp_kwargs, fitted_heads=continued)


def add_adapter(config: TrainConfig, model: MultiTaskSentenceTransformer, saved: TaskAdapter | None) -> TrainConfig:
    """Put the task adapter on the encoder when the run trains one (:func:`~stmtl.training.resolve.encoder_mode`):
    the backbone's own, when it is a saved stmtl model that has one (its heads were trained on it), else a new one
    from the config's rank, targets and dropout. Returns the config with ``encoder`` decided.

    Raises:
        ConfigError: If the backbone carries an adapter but the run fine-tunes the whole encoder (its heads would
            lose the features they were trained on), or ``adapter_targets`` names no projection of the backbone.
    """
    mode, reason = encoder_mode(config, saved is not None)
    if saved is not None and mode != "adapter":
        raise ConfigError(
            f"backbone {config.backbone!r} carries a task adapter its heads were trained with: continue it with "
            "encoder 'adapter' (--encoder adapter)"
        )
    if mode != "adapter":
        logger.info("encoder: full fine-tuning (%s)", reason)
        return dataclasses.replace(config, encoder="full")
    if saved is not None:
        adapter = model.add_task_adapter(saved.config)
        adapter.load_state_dict(saved.state_dict())
        logger.info("continuing the task adapter of %s", config.backbone)
        return dataclasses.replace(config, encoder="adapter")
    try:
        settings = AdapterConfig(
            config.adapter_rank, dropout=config.adapter_dropout, targets=targets_of(config.adapter_targets)
        )
        adapter = model.add_task_adapter(settings)
    except ValueError as error:
        if config.encoder is None:  # the default, on a backbone whose projections have other names
            logger.warning("encoder: full fine-tuning, as the task adapter cannot wrap this backbone (%s)", error)
            return dataclasses.replace(config, encoder="full")
        raise ConfigError(f"config key 'adapter_targets': {error}") from None
    logger.info("encoder: task adapter (%s): LoRA rank %d on %d projections, %s trainable parameters", reason,
                config.adapter_rank, len(adapter.layers), f"{adapter.num_parameters():,}")  # fmt: skip
    return dataclasses.replace(config, encoder="adapter")


def train_data(
    config: TrainConfig,
    groups: list[list[TaskConfig]],
    raw: dict[str, datasets.Dataset | datasets.IterableDataset],
    model: MultiTaskSentenceTransformer,
    accelerator: Accelerator,
) -> TrainData | StreamingTrainData:
    """One training stream per group of tasks: tokenized once and cached, or (``streaming``) as it is read."""
    rank, world = accelerator.process_index, accelerator.num_processes
    streams: list[Any] = []
    for group in groups:
        tasks = [task.name for task in group]
        heads = [model.heads[task] for task in tasks]
        if config.streaming:
            streams.append(streaming_stream(tasks, raw[tasks[0]], model.tokenizer, model.max_seq_length, heads))
            continue
        with accelerator.main_process_first():
            name = f"train data of {'+'.join(tasks)}"
            encoded = encode_dataset(raw[tasks[0]], model.tokenizer, model.max_seq_length, heads, name)
        streams.append(TrainStream(tasks, encoded.select_columns(TRAIN_COLUMNS + [h.target_column for h in heads])))
    return StreamingTrainData(streams, config, rank, world) if config.streaming else TrainData(streams, config, world)


def train(
    config: TrainConfig, resume: bool = False, overwrite: bool = False
) -> tuple[MultiTaskSentenceTransformer, dict[str, Any]]:
    """Train a multi-task model as ``config`` says; the run folder ends up holding the best model.

    The run folder (``config.output_dir``) gets the best model by dev score at its root (a sentence-transformers
    folder: ``stmtl.load(output_dir)``), ``checkpoints/``, ``metrics.jsonl``, ``training_config.json``,
    ``run.json``, ``results.json`` (dev and test metrics, and the embedding drift: see
    :mod:`stmtl.training.drift`) and ``plots/``. The folder belongs to this run while it
    trains (see :mod:`stmtl.training.run_folder`).

    Args:
        config: The run configuration.
        resume: Continue from the newest checkpoint of the run in the folder, with the same settings.
        overwrite: Replace the run in the folder; it is removed once this run's first checkpoint exists. In a
            folder that holds no run but other files, train there anyway: the files the run writes are replaced,
            the others kept.

    Returns:
        The best model and ``{"dev": ..., "test": ..., "train_seconds": ..., "steps": ..., "embedding_drift": ...}``
        (``embedding_drift`` on the main process only).

    Raises:
        ConfigError: If a config value is out of range (``max_seq_length`` also against the backbone's position
            limit, :mod:`stmtl.position_limit`), the folder is locked by a running ``train``, holds another run or
            files that are not a run's (and neither ``resume`` nor ``overwrite`` is given), or ``resume`` finds no
            checkpoint or changed settings. A folder that ``train`` created is removed when the run fails before
            writing anything worth keeping (:func:`stmtl.training.folder_claim.removable`).
    """
    config.validate()  # a config built in Python (TrainConfig(...)) gets the checks from_dict/from_yaml make
    check_max_seq_length(config.max_seq_length, position_limit(config.backbone), "config key 'max_seq_length'")
    with RunFolder(config, resume=resume, overwrite=overwrite) as run, loader_bars_off():
        return _train_claimed(config, run)


def calibration_settings(config: TrainConfig) -> dict[str, Any]:
    """What the run's config says of the heads' dev-time decision settings (see ``TaskHead.calibrate``)."""
    return {"prior_weight": config.prior_weight, "objective": config.prior_objective}


def _train_claimed(config: TrainConfig, run: RunFolder) -> tuple[MultiTaskSentenceTransformer, dict[str, Any]]:
    """:func:`train` in a folder that ``run`` has claimed; ``training_config.json`` gets the resolved config."""
    run_dir = Path(config.output_dir)
    trainer = setup(config)
    config = trainer.config  # resolved: what the run trains with
    trainer.state["run_id"] = run.run_id
    accelerator, dev_sets, model = trainer.accelerator, trainer.dev_sets, trainer.unwrapped
    run.started(config.to_dict())
    if config.report_to != "none":
        accelerator.init_trackers(TRACKER_NAME)
    state = trainer.train(resume_from=run.resume_from)

    best = state["best_checkpoint"]
    if best is not None:
        from stmtl.loading import load

        model.load_state_dict(load(checkpoint_path(run_dir, best), device="cpu").state_dict())
    calibration = {
        task: settings
        for eval_set in dev_sets
        for task in eval_set.tasks
        if (settings := model.heads[task].calibrate(model, eval_set.dataset, **calibration_settings(config)))
        is not None
    }
    dev_metrics, dev_pairs = trainer.evaluate(dev_sets) if dev_sets else ({}, {})
    warnings = run_warnings(model, dev_metrics, run_dir / "metrics.jsonl") if accelerator.is_main_process else []
    for warning in warnings:
        logger.warning(warning)
    test_sets = eval_sets(config, "test", model, accelerator)
    test_metrics, _ = trainer.evaluate(test_sets) if test_sets else ({}, {})
    results = {
        "dev": headline(model, dev_metrics),
        "test": headline(model, test_metrics),
        "dev_full": dev_metrics,
        "test_full": test_metrics,
        "steps": state["step"],
        "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "train_seconds": state.get("train_seconds"),
        "best_checkpoint": best,
        "skipped_steps": state["skipped_steps"],
        "num_processes": accelerator.num_processes,
        "calibration": calibration,
        "warnings": warnings,
    }
    model.card_info = {
        "training_config": config.to_dict(),
        "example_texts": dev_sets[0].dataset[:3]["text"] if dev_sets else [],
        "metrics": {"dev": results["dev"], "test": results["test"]},
        "warnings": warnings,
        "run": run_summary(state, trainer.epoch_lengths, config.epochs, trainer.total_steps, calibration),
    }
    if accelerator.is_main_process:
        drift, split = measure_run_drift(config, model, dev_sets, test_sets)
        results["embedding_drift"] = model.card_info["embedding_drift"] = drift
        trainer._log({"type": "embedding_drift", "split": split, **drift})
        if drift["warning"]:
            logger.warning(drift["warning"])
        print(describe(drift, split), file=sys.stderr)
        save_model_into_run(model, run_dir)
        write_json(run_dir / "results.json", results, indent=2, default=float)
        from stmtl.training.plots import plot_errors, plot_run

        plot_run(run_dir)
        for task, (references, predictions) in dev_pairs.items():
            plot_errors(task, model.heads[task].error_analysis(references, predictions), run_dir / "plots")
    accelerator.wait_for_everyone()
    if config.report_to != "none":
        accelerator.end_training()
    return model, results
