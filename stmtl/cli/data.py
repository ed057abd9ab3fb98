"""``stmtl check-data`` and ``stmtl fetch-data``: the data before any training."""

from __future__ import annotations

import argparse
from typing import Any

from stmtl.cli.common import bounded, command, require_output_file, require_path


def register(commands: Any) -> None:
    """Add ``check-data`` and ``fetch-data`` to the top-level parser's subcommands."""
    from stmtl.config import TrainConfig, bounds_of

    check = command(
        commands, "check-data", cmd_check_data,
        help="check training data before training: labels, overlap, lengths, errors",
        description="Check the data 'stmtl train' would read, without training: the tasks inferred, label counts "
        "(rare labels flagged), labels of dev/test that training lacks, duplicates, columns no task reads, tag "
        "scheme, train/dev/test overlap and lengths in word pieces. Exit code 2 when training would fail, 0 "
        "otherwise.",
    )  # fmt: skip
    source = check.add_mutually_exclusive_group(required=True)
    source.add_argument("--train", help="training data: a file or a joint folder (which brings its dev/test)")
    source.add_argument("--config", help="YAML config with a 'tasks' list (its backbone and max_seq_length)")
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

    fetch = command(
        commands, "fetch-data", cmd_fetch_data,
        help="download SNIPS and STS-B dev (checksummed) for the README's runs",
    )  # fmt: skip
    fetch.add_argument("--output", default="data", help="data folder: snips/ and stsb/ go in it (default: data)")


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


def cmd_fetch_data(args: argparse.Namespace) -> int:
    """``stmtl fetch-data``: SNIPS and STS-B dev into ``--output``."""
    from stmtl.fetch_data import fetch_data

    fetch_data(args.output)
    print(f"data in {args.output}: snips/ (JointBERT split), stsb/dev.tsv (STS Benchmark dev)")
    return 0
