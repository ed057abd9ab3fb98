"""``stmtl predict``, ``encode``, ``export`` and ``serve``: a saved model put to use."""

from __future__ import annotations

import argparse
import os
from typing import Any

from stmtl.cli.common import (
    add_backend_flag,
    bounded,
    command,
    input_lines,
    load_model,
    require_model,
    require_output_file,
    require_path,
)


def register(commands: Any, batch_size: Any) -> None:
    """Add ``predict``, ``encode``, ``export`` and ``serve`` to the top-level parser's subcommands.

    Args:
        commands: The subcommands.
        batch_size: The argparse type of a batch size.
    """
    predict = command(commands, "predict", cmd_predict, help="labels and entities, one JSON line per text")
    predict.add_argument("--model", required=True, help="saved stmtl model folder")
    predict.add_argument("texts", nargs="*", help="texts to label (or use --input)")
    predict.add_argument("--input", help="file with one text per line; '-' reads standard input")
    predict.add_argument("--batch-size", type=batch_size, default=32, help="texts per forward pass (default: 32)")
    add_backend_flag(predict)

    encode = command(commands, "encode", cmd_encode, help="sentence embeddings to a .npy file")
    encode.add_argument("--model", required=True, help="stmtl model or any local sentence-transformers folder")
    encode.add_argument("--input", required=True, help="file with one text per line; '-' reads standard input")
    encode.add_argument(
        "--output", required=True, help="output .npy file ('.npy' is added to a name without it, as NumPy does)"
    )
    encode.add_argument("--batch-size", type=batch_size, default=32, help="texts per forward pass (default: 32)")
    add_backend_flag(encode)

    export = command(
        commands, "export", cmd_export,
        help="write the model's ONNX graphs into MODEL/onnx (for --backend onnx, onnx-int8)",
        description="Export a saved model to ONNX inside its own folder: onnx/model.onnx maps token ids to the "
        "sentence embedding, token embeddings and every head's logits (a model with a task adapter also gets "
        "onnx/encoder.onnx, the source encoder). Each graph is checked against PyTorch on probe texts.",
    )  # fmt: skip
    export.add_argument("--model", required=True, help="saved stmtl model folder")
    export.add_argument(
        "--quantize", choices=["int8"], help="also write int8 graphs (dynamic quantization): onnx/*_qint8.onnx"
    )

    from stmtl.serving.settings import add_serve_flags

    serve = command(
        commands, "serve", cmd_serve, help="HTTP JSON service: /predict, /encode, /health (micro-batched)",
        description="Serve a model over HTTP on this machine: POST /predict and /encode take {\"texts\": [...]}, "
        "GET /health answers when the model is loaded. Concurrent requests are batched together.",
    )  # fmt: skip
    serve.add_argument("--model", required=True, help="saved stmtl model folder")
    add_backend_flag(serve)
    add_serve_flags(serve, bounded)


def cmd_predict(args: argparse.Namespace) -> int:
    """``stmtl predict``: one JSON line per text, with every task's result."""
    if bool(args.texts) == bool(args.input):
        raise ValueError("give texts as arguments or --input FILE (one of the two; '-' reads standard input)")
    require_model("--model", args.model)
    require_path("--input", args.input)

    from stmtl.data.lines import read_lines  # the module, not the package's readers: no datasets import
    from stmtl.jsonio import to_json_line

    # A file is read before the model loads, so that a bad one fails at once; standard input is read as it comes,
    # one batch at a time.
    source = input_lines("-") if args.input == "-" else args.texts or read_lines(args.input)
    model = load_model(args.model, args.backend)
    for result in model.iter_predict(source, batch_size=args.batch_size):  # each result starts with its text
        print(to_json_line(result, ensure_ascii=False), flush=False)
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
    """``stmtl encode``: the embeddings of ``--input``'s lines in a ``.npy`` file."""
    require_model("--model", args.model)
    require_path("--input", args.input)
    output = npy_path(args.output)
    import numpy as np

    texts = list(input_lines(args.input))  # before loading the model: a bad input file fails at once
    if not texts:
        raise ValueError(f"{'standard input' if args.input == '-' else args.input}: no texts to encode (empty input)")
    model = load_model(args.model, args.backend)
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
    from transformers.utils import logging as transformers_logging

    from stmtl.onnx.export import export_onnx

    transformers_logging.disable_progress_bar()  # the model's load: its bar would precede the report's lines
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
