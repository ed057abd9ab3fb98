"""``stmtl train`` and ``stmtl compare``: the parsers, the config their arguments describe, and the commands."""

from __future__ import annotations

import argparse
import os
from typing import Any

from stmtl.cli.common import bounded, command, require_model, require_path
from stmtl.cli.config_flags import add_config_flags

COMPARE_KEYS = ("backbone", "epochs", "max_steps", "batch_size", "lr_backbone", "lr_heads", "seed", "cpu")
"""The ``TrainConfig`` keys that ``stmtl compare`` passes to every variant."""

USAGE = (
    "stmtl train (--data DATA | --train TRAIN | --config CONFIG) [--dev DEV] [--test TEST] --output OUTPUT [options]"
)


def register(commands: Any) -> None:
    """Add ``train`` and ``compare`` to the top-level parser's subcommands."""
    from stmtl.config import FLAG_GROUPS
    from stmtl.heads.registry import describe_kinds

    train = command(
        commands, "train", cmd_train, help="train a multi-task model", usage=USAGE,
        description="Train a multi-task model. With --data or --train the tasks come from the data's columns: "
        f"{'; '.join(describe_kinds())}; a SNIPS/ATIS folder gives 'intent' and 'slots'. --config names tasks and "
        "sources itself. The everyday options come first; the other groups are for tuning.",
    )  # fmt: skip
    groups = {name: train.add_argument_group(title) for name, (title, _) in FLAG_GROUPS.items()}
    everyday = groups["everyday"]
    source = everyday.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--data", help="SNIPS/ATIS-style folder (train|dev|test/{seq.in,seq.out,label}: all three splits used) "
        "or one training file (.jsonl, .csv/.tsv, CoNLL)",
    )  # fmt: skip
    source.add_argument("--train", help="training data: a .jsonl, .csv/.tsv or CoNLL file, or a joint folder")
    source.add_argument("--config", help="YAML config with a 'tasks' list (several datasets)")
    everyday.add_argument("--dev", help="dev data for --train/--data: model selection, early stopping, drift texts")
    everyday.add_argument("--test", help="test data for --train/--data, scored once at the end")
    everyday.add_argument(
        "--output", help="run folder; ends up holding the best model (default: config's output_dir); a folder "
        "that holds other files needs --overwrite",
    )  # fmt: skip
    checkpoints = groups["checkpoints"]
    checkpoints.add_argument(
        "--resume", action="store_true",
        help="continue the run in --output from its newest checkpoint; the other flags must be the run's own "
        "(only eval_batch_size, log_every, save_total_limit, nan_patience, early_stopping_patience, report_to, "
        "cpu and sts may change)",
    )  # fmt: skip
    checkpoints.add_argument(
        "--overwrite", action="store_true",
        help="replace the run in --output (it stays in place until this run's first checkpoint exists), or train "
        "into a folder of other files (the files the run writes are replaced, the others kept)",
    )  # fmt: skip
    train.set_defaults(config_keys=add_config_flags(train, groups=groups))

    from stmtl.compare import DEFAULT_VARIANTS, variants
    from stmtl.config import DEFAULT_PRESERVATION, TrainConfig, bounds_of

    compare = command(
        commands, "compare", cmd_compare,
        help="ablation table: single- vs multi-task, freezing, preservation, transfer learning",
    )  # fmt: skip
    compare.add_argument("--data", required=True, help="joint folder with train/dev/test")
    compare.add_argument("--sts", help="STS TSV for embedding quality (e.g. STS-B dev)")
    compare.add_argument("--output", required=True, help="folder for each variant's run and the table")
    compare.add_argument(
        "--overwrite", action="store_true",
        help="train every variant anew (default: a finished run with the same settings is read back)",
    )  # fmt: skip
    compare.add_argument(
        "--variants", default=",".join(DEFAULT_VARIANTS),
        help=f"comma-separated variant keys, or all (default: {','.join(DEFAULT_VARIANTS)}); "
        f"keys: {', '.join(variants('', 0, 0))}",
    )  # fmt: skip
    preserve_bounds = bounds_of(TrainConfig, "preserve_embeddings")
    compare.add_argument(
        "--preserve-weight",
        type=bounded(float, preserve_bounds),
        default=DEFAULT_PRESERVATION,
        help=f"distillation weight (default: {DEFAULT_PRESERVATION:g}, the training default, {preserve_bounds})",
    )
    shared = compare.add_argument_group("training options (every variant)")
    compare.set_defaults(config_keys=add_config_flags(shared, COMPARE_KEYS))


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The config values given as flags."""
    return {key: getattr(args, key) for key in args.config_keys if getattr(args, key) is not None}


def data_tasks(data: str, dev: str | None = None, test: str | None = None) -> list[dict[str, Any]]:
    """The tasks of ``--data``: a joint folder with its own dev/test splits (when present), or one training file;
    ``dev``/``test`` replace the folder's splits. Tasks come from the columns (:mod:`stmtl.data.inferred_tasks`).

    Raises:
        DataError: If ``data`` does not exist, is a folder not in the joint layout, or carries no label columns.
    """
    from stmtl.data import DataError, is_joint_folder
    from stmtl.data.inferred_tasks import infer_tasks

    if os.path.isdir(data):
        if not is_joint_folder(data):
            raise DataError("not a joint folder (train/seq.in, train/seq.out, train/label); use --config", data)
        dev = dev or (data if os.path.isdir(os.path.join(data, "dev")) else None)
        test = test or (data if os.path.isdir(os.path.join(data, "test")) else None)
    elif not os.path.exists(data):
        raise DataError("no such file or folder", data)
    return infer_tasks(data, dev, test)


def snips_config(data: str, output: str, given: dict[str, Any]) -> Any:
    """The tasks of a joint folder (``intent`` + ``slots``) or of one file, with the CLI defaults."""
    from stmtl.config import TrainConfig

    return TrainConfig.from_dict({"output_dir": output, "tasks": data_tasks(data), **given})


def train_config(args: argparse.Namespace) -> Any:
    """The ``TrainConfig`` that ``stmtl train``'s arguments describe.

    Raises:
        ConfigError: If no run folder is given (neither ``--output`` nor the config's ``output_dir``), or
            ``--dev``/``--test`` come with ``--config``.
        DataError: If a data source is missing or carries no label columns.
    """
    from stmtl.config import ConfigError, TrainConfig

    given = overrides(args)
    if args.config:
        if args.dev or args.test:
            raise ConfigError("--dev/--test go with --train or --data; a --config names each task's dev and test")
        try:
            return TrainConfig.from_yaml(args.config, output_dir=args.output, **given)
        except ConfigError as error:
            if args.output is None and str(error) == "missing config key 'output_dir'":
                raise ConfigError(f"--output: no run folder given, and {args.config} sets no output_dir") from None
            raise
    if args.output is None:
        raise ConfigError("--output: give the run folder (only a --config YAML can set output_dir instead)")
    if args.data:
        tasks = data_tasks(args.data, args.dev, args.test)
    else:
        from stmtl.data.inferred_tasks import infer_tasks

        tasks = infer_tasks(args.train, args.dev, args.test)
    return TrainConfig.from_dict({"output_dir": args.output, "tasks": tasks, **given})


def cmd_train(args: argparse.Namespace) -> int:
    """``stmtl train``: arguments, paths and the run folder's claim first (nothing heavy imported), then training."""
    import contextlib
    from pathlib import Path

    from stmtl.config import ConfigError, read_yaml
    from stmtl.position_limit import check_max_seq_length, position_limit
    from stmtl.training.folder_claim import FolderClaim, check_no_user_files, is_main_process

    if args.resume and args.overwrite:
        raise ConfigError("give --resume (continue the run) or --overwrite (replace it), not both")
    for flag in ("config", "data", "train", "dev", "test", "sts"):
        require_path(f"--{flag}", getattr(args, flag))
    require_model("--backbone", args.backbone)
    values = read_yaml(args.config) if args.config else {}
    output = args.output or values.get("output_dir")
    if output is None and args.config:
        raise ConfigError(f"--output: no run folder given, and {args.config} sets no output_dir")
    if output is None:
        raise ConfigError("--output: give the run folder (only a --config YAML can set output_dir instead)")
    if not isinstance(output, str):
        raise ConfigError(f"config key 'output_dir': {output!r} is not of type str")
    backbone = args.backbone or values.get("backbone")
    if isinstance(backbone, (str, type(None))):
        check_max_seq_length(args.max_seq_length, position_limit(backbone), "--max-seq-length")
    # The main process holds the folder until training ends (train() below claims it again); the others only read.
    with FolderClaim(output) if is_main_process() else contextlib.nullcontext():
        if not args.resume and not args.overwrite and is_main_process():
            check_no_user_files(Path(output))
        from stmtl.jsonio import to_json
        from stmtl.training.run import train

        config = train_config(args)
        _, results = train(config, resume=args.resume, overwrite=args.overwrite)
    summary = {key: results.get(key) for key in ("dev", "test", "steps", "train_seconds", "embedding_drift")}
    print(to_json({**summary, "tasks": [task.name for task in config.tasks], "model": config.output_dir}, indent=2))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """``stmtl compare``: every variant trained (or read back), the table printed."""
    require_path("--data", args.data)
    require_path("--sts", args.sts)
    require_model("--backbone", args.backbone)
    from stmtl.compare import compare, markdown_table

    rows = compare(
        args.data, args.sts, args.output, overrides(args), preserve_weight=args.preserve_weight,
        overwrite=args.overwrite, keys=[key.strip() for key in args.variants.split(",") if key.strip()],
    )  # fmt: skip
    print(markdown_table(rows))
    print(f"table, JSON and chart in {args.output}/comparison.{{md,json,png}}")
    return 0
