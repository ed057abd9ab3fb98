"""The ``stmtl`` parser, assembled from the command modules, and :func:`main`, the entry point."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from stmtl.cli import data, evaluate, inference, train
from stmtl.cli.common import bounded


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand (importing nothing heavy)."""
    from stmtl import __version__
    from stmtl.config import TrainConfig, bounds_of

    batch_size = bounded(int, bounds_of(TrainConfig, "eval_batch_size"))  # texts per forward pass, as in evaluation
    parser = argparse.ArgumentParser(
        prog="stmtl", description="Multi-task sentence-transformers: train and use.", allow_abbrev=False
    )
    parser.add_argument("--version", action="version", version=f"stmtl {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    commands = parser.add_subparsers(dest="command", required=True)
    train.register(commands)
    evaluate.register(commands, batch_size)
    data.register(commands)
    inference.register(commands, batch_size)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``stmtl`` and ``python -m stmtl``; returns the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("stmtl: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError, RuntimeError, KeyError) as error:
        if args.debug:
            raise
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        print(f"stmtl: error: {message}", file=sys.stderr)
        return 2
