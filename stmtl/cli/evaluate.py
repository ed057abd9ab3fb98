"""``stmtl evaluate`` and ``stmtl evaluate-sts``: a saved model scored on labelled data."""

from __future__ import annotations

import argparse
from typing import Any

from stmtl.cli.common import command, load_model, report, require_model, require_output_file, require_path


def register(commands: Any, batch_size: Any) -> None:
    """Add ``evaluate`` and ``evaluate-sts`` to the top-level parser's subcommands.

    Args:
        commands: The subcommands.
        batch_size: The argparse type of a batch size.
    """
    evaluate = command(commands, "evaluate", cmd_evaluate, help="score a model on labelled data")
    evaluate.add_argument("--model", required=True, help="saved stmtl model folder")
    evaluate.add_argument("--data", required=True, help="joint folder, .jsonl, .csv/.tsv or CoNLL file")
    evaluate.add_argument("--split", default="test", help="split of a joint folder (default: test)")
    evaluate.add_argument("--batch-size", type=batch_size, default=128, help="texts per forward pass (default: 128)")
    evaluate.add_argument(
        "--output-json", help="also write the full report (per label, confusions, entity errors) to this JSON file"
    )
    evaluate.add_argument("--report", help="also write the report's tables to this Markdown file")

    sts = command(
        commands, "evaluate-sts", cmd_evaluate_sts, help="STS Spearman of cosine similarity of encode() embeddings"
    )
    sts.add_argument("--model", required=True, help="stmtl model or any local sentence-transformers folder")
    sts.add_argument("--data", required=True, help="TSV with header sentence1, sentence2, score")
    sts.add_argument("--batch-size", type=batch_size, default=64, help="texts per forward pass (default: 64)")
    sts.add_argument("--output-json", help="also write the scores to this JSON file")


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

    model = load_model(args.model)
    values = evaluation_report(model, read_task_data(args.data, split=args.split), args.batch_size)
    print(render_text(values), end="")
    if args.output_json:
        write_json(args.output_json, values, indent=2)
    if args.report:
        with open(args.report, "w", encoding="utf-8") as handle:
            handle.write(render_markdown(values, f"{args.model} on {args.data} ({args.split})"))
    return 0


def cmd_evaluate_sts(args: argparse.Namespace) -> int:
    """``stmtl evaluate-sts``: Spearman and Pearson of the embeddings' cosine similarity."""
    require_model("--model", args.model)
    require_path("--data", args.data)
    require_output_file("--output-json", args.output_json)
    from stmtl.sts import evaluate_sts

    report(evaluate_sts(load_model(args.model), args.data, args.batch_size), args.output_json)
    return 0
