"""The ``stmtl`` command line: check-data, train, evaluate, evaluate-sts, compare, predict, encode, export, serve,
fetch-data.

Bad input ends with a one-line ``stmtl: error: ...`` and exit code 2; ``--debug`` (before or after the command)
shows the traceback instead. Every command checks its arguments and paths before torch, transformers or datasets
are imported, so help, version, a bad flag value, a missing file and a busy run folder are answered at once:
numbers are checked against their config field's :class:`stmtl.config.Bounds` by argparse, paths exist,
``train``'s ``--max-seq-length`` is within the backbone's position limit (:mod:`stmtl.position_limit`) and
``train`` claims its run folder (:class:`stmtl.training.folder_claim.FolderClaim`) before loading anything.
Flags must be spelt out in full (no prefix matching: ``--encoder`` is not ``--encoder-dropout``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

COMPARE_KEYS = ("backbone", "epochs", "max_steps", "batch_size", "lr_backbone", "lr_heads", "seed", "cpu")
"""The ``TrainConfig`` keys that ``stmtl compare`` passes to every variant."""


def bounded(kind: type, bounds: Any | None) -> Callable[[str], Any]:
    """An argparse ``type``: ``kind(text)``, refused unless within ``bounds`` (a :class:`stmtl.config.Bounds`).

    Argparse then reports ``argument --flag: must be >= 1, got 0`` and exits with code 2.
    """

    def parse(text: str) -> Any:
        value = kind(text)
        if bounds is not None and not bounds.contains(value):
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names it in "invalid int value: 'x'"
    return parse


def add_config_flags(parser: argparse.ArgumentParser, keys: Sequence[str] | None = None) -> list[str]:
    """Add one flag per ``TrainConfig`` field (or per field in ``keys``), generated from the dataclass.

    Each flag gets the field's help text, its config default, its :class:`stmtl.config.Bounds` for a number and,
    for ``Literal`` fields, the allowed values, so that argparse refuses a bad value before anything heavy is
    imported. Flags default to ``None``: only the flags given override a YAML config.

    Returns:
        The config keys added, in field order.
    """
    import dataclasses
    import typing

    from stmtl.config import TrainConfig

    hints = typing.get_type_hints(TrainConfig)
    added = []
    for field in dataclasses.fields(TrainConfig):
        if "help" not in field.metadata or (keys is not None and field.name not in keys):
            continue
        hint, bounds = hints[field.name], field.metadata.get("bounds")
        shown = f"{field.default}, {bounds}" if bounds is not None else field.default
        options: dict[str, Any] = {"default": None, "help": f"{field.metadata['help']} (default: {shown})"}
        args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if typing.get_origin(hint) is typing.Literal:
            options.update(choices=args, type=type(args[0]))
        elif hint is bool:
            options["action"] = argparse.BooleanOptionalAction
        else:
            options["type"] = bounded(args[0] if args else hint, bounds)
        parser.add_argument("--" + field.name.replace("_", "-"), **options)
        added.append(field.name)
    return added


def _command(commands: Any, name: str, **kwargs: Any) -> argparse.ArgumentParser:
    """A subcommand's parser: no prefix matching, and ``--debug`` accepted after the command too."""
    parser = commands.add_parser(name, allow_abbrev=False, **kwargs)
    # SUPPRESS: without the flag the subcommand sets nothing, so ``stmtl --debug CMD`` keeps the top-level value.
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show full tracebacks")
    return parser


def build_parser() -> argparse.ArgumentParser:
    from stmtl import __version__
    from stmtl.config import TrainConfig, bounds_of
    from stmtl.heads.registry import describe_kinds

    batch_size = bounded(int, bounds_of(TrainConfig, "eval_batch_size"))  # texts per forward pass, as in evaluation
    parser = argparse.ArgumentParser(
        prog="stmtl", description="Multi-task sentence-transformers: train and use.", allow_abbrev=False
    )
    parser.add_argument("--version", action="version", version=f"stmtl {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    commands = parser.add_subparsers(dest="command", required=True)

    train = _command(
        commands, "train", help="train a multi-task model",
        description="Train a multi-task model. With --data or --train the tasks come from the data's columns: "
        f"{'; '.join(describe_kinds())}; a SNIPS/ATIS folder gives 'intent' and 'slots'. --config names tasks and "
        "sources itself.",
    )  # fmt: skip
    source = train.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--data", help="SNIPS/ATIS-style folder (train|dev|test/{seq.in,seq.out,label}: all three splits used) "
        "or one training file (.jsonl, CoNLL)",
    )  # fmt: skip
    source.add_argument("--train", help="training data: .jsonl or CoNLL file, or a joint folder (its train split)")
    source.add_argument("--config", help="YAML config with a 'tasks' list (several datasets)")
    train.add_argument("--dev", help="dev data for --train/--data: model selection, early stopping, drift texts")
    train.add_argument("--test", help="test data for --train/--data, scored once at the end")
    train.add_argument(
        "--output", help="run folder; ends up holding the best model (default: config's output_dir); a folder "
        "that holds other files needs --overwrite",
    )  # fmt: skip
    train.add_argument(
        "--resume", action="store_true",
        help="continue the run in --output from its newest checkpoint; the other flags must be the run's own "
        "(only eval_batch_size, log_every, save_total_limit, nan_patience, early_stopping_patience, report_to, "
        "cpu and sts may change)",
    )  # fmt: skip
    train.add_argument(
        "--overwrite", action="store_true",
        help="replace the run in --output (it stays in place until this run's first checkpoint exists), or train "
        "into a folder of other files (the files the run writes are replaced, the others kept)",
    )  # fmt: skip
    train.set_defaults(config_keys=add_config_flags(train))

    evaluate = _command(commands, "evaluate", help="score a model on labelled data")
    evaluate.add_argument("--model", required=True, help="saved stmtl model folder")
    evaluate.add_argument("--data", required=True, help="joint folder, .jsonl or CoNLL file")
    evaluate.add_argument("--split", default="test", help="split of a joint folder (default: test)")
    evaluate.add_argument("--batch-size", type=batch_size, default=128, help="texts per forward pass (default: 128)")
    evaluate.add_argument(
        "--output-json", help="also write the full report (per label, confusions, entity errors) to this JSON file"
    )
    evaluate.add_argument("--report", help="also write the report's tables to this Markdown file")

    check = _command(
        commands, "check-data", help="check training data before training: labels, overlap, lengths, errors",
        description="Check the data 'stmtl train' would read, without training: the tasks inferred, label counts "
        "(rare labels flagged), labels of dev/test that training lacks, duplicates, ignored keys, tag scheme, "
        "train/dev/test overlap and lengths in word pieces. Exit code 2 when training would fail, 0 otherwise.",
    )  # fmt: skip
    check_source = check.add_mutually_exclusive_group(required=True)
    check_source.add_argument("--train", help="training data: a file or a joint folder (which brings its dev/test)")
    check_source.add_argument("--config", help="YAML config with a 'tasks' list (its backbone and max_seq_length)")
    check.add_argument("--dev", help="dev data for --train")
    check.add_argument("--test", help="test data for --train")
    check.add_argument(
        "--backbone", help="whose tokenizer measures lengths (default: the config's or all-MiniLM-L6-v2)"
    )
    check.add_argument(
        "--max-seq-length", type=bounded(int, bounds_of(TrainConfig, "max_seq_length")),
        help="truncation length the lengths are compared with (default: the config's or the backbone's)",
    )  # fmt: skip
    check.add_argument("--output-json", help="also write the report to this JSON file")

    predict = _command(commands, "predict", help="labels and entities, one JSON line per text")
    predict.add_argument("--model", required=True, help="saved stmtl model folder")
    predict.add_argument("texts", nargs="*", help="texts to label (or use --input)")
    predict.add_argument("--input", help="file with one text per line; '-' reads standard input")
    predict.add_argument("--batch-size", type=batch_size, default=32, help="texts per forward pass (default: 32)")
    add_backend_flag(predict)

    sts = _command(commands, "evaluate-sts", help="STS Spearman of cosine similarity of encode() embeddings")
    sts.add_argument("--model", required=True, help="stmtl model or any local sentence-transformers folder")
    sts.add_argument("--data", required=True, help="TSV with header sentence1, sentence2, score")
    sts.add_argument("--batch-size", type=batch_size, default=64, help="texts per forward pass (default: 64)")
    sts.add_argument("--output-json", help="also write the scores to this JSON file")

    from stmtl.compare import DEFAULT_VARIANTS, variants
    from stmtl.config import DEFAULT_PRESERVATION

    compare = _command(
        commands, "compare", help="ablation table: single- vs multi-task, freezing, preservation, transfer learning"
    )
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
    compare.set_defaults(config_keys=add_config_flags(compare, COMPARE_KEYS))

    encode = _command(commands, "encode", help="sentence embeddings to a .npy file")
    encode.add_argument("--model", required=True, help="stmtl model or any local sentence-transformers folder")
    encode.add_argument("--input", required=True, help="file with one text per line; '-' reads standard input")
    encode.add_argument(
        "--output", required=True, help="output .npy file ('.npy' is added to a name without it, as NumPy does)"
    )
    encode.add_argument("--batch-size", type=batch_size, default=32, help="texts per forward pass (default: 32)")
    add_backend_flag(encode)

    export = _command(
        commands, "export", help="write the model's ONNX graphs into MODEL/onnx (for --backend onnx, onnx-int8)",
        description="Export a saved model to ONNX inside its own folder: onnx/model.onnx maps token ids to the "
        "sentence embedding, token embeddings and every head's logits (a model with a task adapter also gets "
        "onnx/encoder.onnx, the source encoder). Each graph is checked against PyTorch on probe texts.",
    )  # fmt: skip
    export.add_argument("--model", required=True, help="saved stmtl model folder")
    export.add_argument(
        "--quantize", choices=["int8"], help="also write int8 graphs (dynamic quantization): onnx/*_qint8.onnx"
    )

    from stmtl.serving.settings import add_serve_flags

    serve = _command(
        commands, "serve", help="HTTP JSON service: /predict, /encode, /health (micro-batched)",
        description="Serve a model over HTTP on this machine: POST /predict and /encode take {\"texts\": [...]}, "
        "GET /health answers when the model is loaded. Concurrent requests are batched together.",
    )  # fmt: skip
    serve.add_argument("--model", required=True, help="saved stmtl model folder")
    add_backend_flag(serve)
    add_serve_flags(serve, bounded)

    fetch = _command(commands, "fetch-data", help="download SNIPS and STS-B dev (checksummed) for the README's runs")
    fetch.add_argument("--output", default="data", help="data folder: snips/ and stsb/ go in it (default: data)")
    return parser


def add_backend_flag(parser: argparse.ArgumentParser) -> None:
    """``--backend``: PyTorch, or the model's exported float32 or int8 ONNX graphs (``stmtl export``)."""
    parser.add_argument(
        "--backend", choices=["torch", "onnx", "onnx-int8"], default="torch",
        help="run the model with PyTorch (default) or its exported ONNX graphs, float32 or int8 (stmtl export); "
        "the ONNX backends need no torch",
    )  # fmt: skip


def require_path(flag: str, path: str | None) -> None:
    """Refuse an input path that does not exist (``None`` and ``-``, standard input, pass).

    Raises:
        ValueError: Naming the flag and the path.
    """
    if path is not None and path != "-" and not os.path.exists(path):
        raise ValueError(f"{flag} {path}: no such file or folder")


def require_model(flag: str, path: str | None) -> None:
    """Refuse a model path that does not exist; a name that reads as a hub id (``org/name``) is left to the loader.

    Raises:
        ValueError: Naming the flag and the path.
    """
    from stmtl.hub import is_hub_id

    if path is not None and not os.path.exists(path) and not is_hub_id(path):
        raise ValueError(f"{flag} {path}: no such model folder")


def require_output_file(flag: str, path: str | None) -> None:
    """Refuse an output file path that is a folder or whose folder does not exist, before any work.

    Raises:
        ValueError: Naming the flag and the path.
    """
    if path is None:
        return
    if os.path.isdir(path):
        raise ValueError(f"{flag} {path}: is a folder; give a file name")
    if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise ValueError(f"{flag} {path}: its folder does not exist")


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
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


def snips_config(data: str, output: str, overrides: dict[str, Any]) -> Any:
    """Tasks ``intent`` + ``slots`` on a joint folder (or the tasks of one file), with the CLI defaults."""
    from stmtl.config import TrainConfig

    return TrainConfig.from_dict({"output_dir": output, "tasks": data_tasks(data), **overrides})


def train_config(args: argparse.Namespace) -> Any:
    """The ``TrainConfig`` that ``stmtl train``'s arguments describe.

    Raises:
        ConfigError: If no run folder is given (neither ``--output`` nor the config's ``output_dir``), or
            ``--dev``/``--test`` come with ``--config``.
        DataError: If a data source is missing or carries no label columns.
    """
    from stmtl.config import ConfigError, TrainConfig

    overrides = _overrides(args)
    if args.config:
        if args.dev or args.test:
            raise ConfigError("--dev/--test go with --train or --data; a --config names each task's dev and test")
        try:
            return TrainConfig.from_yaml(args.config, output_dir=args.output, **overrides)
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
    return TrainConfig.from_dict({"output_dir": args.output, "tasks": tasks, **overrides})


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


def _load_model(path: str, backend: str = "torch") -> Any:
    """``stmtl.load`` without transformers' progress bars, so that a failure prints one line and nothing else; the
    ONNX backends import no torch or transformers."""
    from stmtl.loading import load

    if backend != "torch":
        return load(path, backend=backend)
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    return load(path)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """``stmtl evaluate``: the report's tables on standard output, the full report in ``--output-json``."""
    require_model("--model", args.model)
    require_path("--data", args.data)
    require_output_file("--output-json", args.output_json)
    require_output_file("--report", args.report)
    from stmtl.data import read_task_data
    from stmtl.evaluation import evaluation_report
    from stmtl.evaluation_report import render_markdown, render_text
    from stmtl.jsonio import write_json

    model = _load_model(args.model)
    report = evaluation_report(model, read_task_data(args.data, split=args.split), args.batch_size)
    print(render_text(report), end="")
    if args.output_json:
        write_json(args.output_json, report, indent=2)
    if args.report:
        with open(args.report, "w", encoding="utf-8") as handle:
            handle.write(render_markdown(report, f"{args.model} on {args.data} ({args.split})"))
    return 0


def cmd_check_data(args: argparse.Namespace) -> int:
    """``stmtl check-data``: the report on standard output; exit code 2 when training would fail."""
    for flag in ("train", "dev", "test", "config"):
        require_path(f"--{flag}", getattr(args, flag))
    if args.config and (args.dev or args.test):
        raise ValueError("--dev/--test go with --train; a --config names each task's dev and test")
    require_output_file("--output-json", args.output_json)
    from stmtl.data.check import check_data
    from stmtl.data.check_report import render
    from stmtl.jsonio import write_json

    report = check_data(args.train, args.dev, args.test, args.config, backbone=args.backbone,
                        max_seq_length=args.max_seq_length)  # fmt: skip
    print(render(report))
    if args.output_json:
        write_json(args.output_json, report.to_dict(), indent=2)
    return report.exit_code


def cmd_evaluate_sts(args: argparse.Namespace) -> int:
    require_model("--model", args.model)
    require_path("--data", args.data)
    require_output_file("--output-json", args.output_json)
    from stmtl.sts import evaluate_sts

    _report(evaluate_sts(_load_model(args.model), args.data, args.batch_size), args.output_json)
    return 0


def _report(values: dict[str, Any], output_json: str | None, indent: int | None = None) -> None:
    """Print ``values`` as JSON, and write the same text to ``output_json`` when given."""
    from stmtl.jsonio import to_json

    text = to_json(values, indent=indent)
    print(text)
    if output_json:
        with open(output_json, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")


def cmd_compare(args: argparse.Namespace) -> int:
    require_path("--data", args.data)
    require_path("--sts", args.sts)
    require_model("--backbone", args.backbone)
    from stmtl.compare import compare, markdown_table

    rows = compare(
        args.data, args.sts, args.output, _overrides(args), preserve_weight=args.preserve_weight,
        overwrite=args.overwrite, keys=[key.strip() for key in args.variants.split(",") if key.strip()],
    )  # fmt: skip
    print(markdown_table(rows))
    print(f"table, JSON and chart in {args.output}/comparison.{{md,json,png}}")
    return 0


def _input_lines(path: str) -> Iterator[str]:
    """The lines of ``--input``: a file, or standard input for ``-``; split as every data reader splits (not at
    U+2028 or \\f)."""
    from stmtl.data.lines import iter_lines, iter_stream_lines

    return iter_stream_lines(sys.stdin.buffer, "<stdin>") if path == "-" else iter_lines(path)


def cmd_predict(args: argparse.Namespace) -> int:
    if bool(args.texts) == bool(args.input):
        raise ValueError("give texts as arguments or --input FILE (one of the two; '-' reads standard input)")
    require_model("--model", args.model)
    require_path("--input", args.input)
    import itertools

    from stmtl.data.lines import read_lines  # the module, not the package's readers: no datasets import
    from stmtl.jsonio import to_json_line

    # A file is read before the model loads, so that a bad one fails at once; standard input is read as it comes,
    # one batch at a time (the tee keeps each batch's texts for printing).
    source = _input_lines("-") if args.input == "-" else args.texts or read_lines(args.input)
    model = _load_model(args.model, args.backend)
    texts, to_predict = itertools.tee(source)
    for text, result in zip(texts, model.iter_predict(to_predict, batch_size=args.batch_size)):
        print(to_json_line({"text": text, **result}, ensure_ascii=False), flush=False)
    return 0


def npy_path(path: str) -> str:
    """Where ``numpy.save(path)`` writes: ``path``, with ``.npy`` added when it lacks it.

    Raises:
        ValueError: If ``path`` is a folder (or the ``.npy`` path is) or its folder does not exist.
    """
    require_output_file("--output", path)
    real = path if path.endswith(".npy") else path + ".npy"
    require_output_file("--output", real)
    return real


def cmd_encode(args: argparse.Namespace) -> int:
    require_model("--model", args.model)
    require_path("--input", args.input)
    output = npy_path(args.output)
    import numpy as np

    texts = list(_input_lines(args.input))  # before loading the model: a bad input file fails at once
    if not texts:
        raise ValueError(f"{'standard input' if args.input == '-' else args.input}: no texts to encode (empty input)")
    model = _load_model(args.model, args.backend)
    embeddings = model.encode(texts, batch_size=args.batch_size, show_progress_bar=True)
    np.save(output, embeddings)
    print(f"{output}: {embeddings.shape[0]} embeddings of dimension {embeddings.shape[1]}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """``stmtl export``: the graphs, their sizes and how far each is from PyTorch on the probe texts."""
    require_model("--model", args.model)
    if not os.path.isdir(args.model):
        raise ValueError(f"--model {args.model}: export writes into the model folder; give a local folder")
    if not os.path.isfile(os.path.join(args.model, "modules.json")):
        raise ValueError(f"--model {args.model}: not a saved model (no modules.json)")
    from stmtl.onnx.export import export_onnx

    manifest = export_onnx(args.model, quantize=args.quantize)
    for name, graph in manifest["graphs"].items():
        for backend, entry in graph["files"].items():
            worst = max(graph["max_abs_diff"][backend].values())
            print(
                f"{os.path.join(args.model, 'onnx', entry['file'])}: {entry['bytes'] / 1e6:.1f} MB, {name} graph "
                f"({', '.join(graph['outputs'])}); largest difference from PyTorch {worst:.2e} ({backend})"
            )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """``stmtl serve``: settings and paths first, then the model, then the server until interrupted."""
    require_model("--model", args.model)
    from stmtl.serving.settings import ServeSettings

    settings = ServeSettings.from_args(args)
    from stmtl.serving.app import serve

    serve(args.model, args.backend, settings)
    return 0


def cmd_fetch_data(args: argparse.Namespace) -> int:
    from stmtl.fetch_data import fetch_data

    fetch_data(args.output)
    print(f"data in {args.output}: snips/ (JointBERT split), stsb/dev.tsv (STS Benchmark dev)")
    return 0


COMMANDS = {
    "check-data": cmd_check_data,
    "train": cmd_train,
    "evaluate": cmd_evaluate,
    "evaluate-sts": cmd_evaluate_sts,
    "compare": cmd_compare,
    "predict": cmd_predict,
    "encode": cmd_encode,
    "export": cmd_export,
    "serve": cmd_serve,
    "fetch-data": cmd_fetch_data,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``stmtl`` and ``python -m stmtl``; returns the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("stmtl: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError, RuntimeError, KeyError) as error:
        if args.debug:
            raise
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        print(f"stmtl: error: {message}", file=sys.stderr)
        return 2
