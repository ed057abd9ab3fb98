"""What every command shares: bounded number flags, subcommand parsers, path checks, model loading, printing."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any


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


def command(
    commands: Any, name: str, handler: Callable[[argparse.Namespace], int], **kwargs: Any
) -> argparse.ArgumentParser:
    """A subcommand's parser: no prefix matching, ``--debug`` accepted after the command too, and ``handler`` run
    by :func:`stmtl.cli.main.main`.

    Args:
        commands: The top-level parser's subparsers.
        name: The command.
        handler: The function the command runs (parsed arguments → exit code).
        **kwargs: For ``add_parser`` (help, description, usage).
    """
    parser = commands.add_parser(name, allow_abbrev=False, **kwargs)
    # SUPPRESS: without the flag the subcommand sets nothing, so ``stmtl --debug CMD`` keeps the top-level value.
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show full tracebacks")
    parser.set_defaults(handler=handler)
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


def load_model(path: str, backend: str = "torch") -> Any:
    """``stmtl.load`` without transformers' progress bars, so that a failure prints one line and nothing else; the
    ONNX backends import no torch or transformers."""
    from stmtl.loading import load

    if backend != "torch":
        return load(path, backend=backend)
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    return load(path)


def report(values: dict[str, Any], output_json: str | None, indent: int | None = None) -> None:
    """Print ``values`` as JSON, and write the same text to ``output_json`` when given."""
    from stmtl.jsonio import to_json

    text = to_json(values, indent=indent)
    print(text)
    if output_json:
        with open(output_json, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")


def input_lines(path: str) -> Iterator[str]:
    """The lines of ``--input``: a file, or standard input for ``-``; split as every data reader splits (not at
    U+2028 or \\f)."""
    from stmtl.data.lines import iter_lines, iter_stream_lines

    return iter_stream_lines(sys.stdin.buffer, "<stdin>") if path == "-" else iter_lines(path)
