"""An :func:`stmtl.evaluation.evaluation_report` as readable tables: plain text for the terminal, Markdown for a file.

Both renderings hold the same blocks: per task, its headline scores, one row per label (precision, recall, F1,
support; worst F1 first, so the labels to look at come first), and what goes wrong: the most confused label pairs
and the confusion matrix (up to :data:`MAX_MATRIX_LABELS` labels) of a sentence task, the entity errors of a token
task (per type: missed, spurious, wrong boundaries; and the entity types predicted for each other on the right
span). Fractions are shown as percentages with one decimal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_MATRIX_LABELS = 20
"""A sentence task with more labels shows its most confused pairs only (the JSON always has the whole matrix)."""
TOP_CONFUSIONS = 10
"""Confused pairs shown per task."""


@dataclass
class Block:
    """A titled table with optional lines of text under it."""

    title: str
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def render_text(report: dict[str, Any]) -> str:
    """The report as aligned plain-text tables."""
    out: list[str] = []
    for block in blocks(report):
        out.append(block.title)
        if block.header:
            widths = [max(len(cell) for cell in column) for column in zip(block.header, *block.rows)]
            numeric = _numeric_columns(block)
            for row in [block.header, *block.rows]:
                cells = [cell.rjust(w) if n else cell.ljust(w) for cell, w, n in zip(row, widths, numeric)]
                out.append("  " + "  ".join(cells).rstrip())
        out += [f"  {note}" for note in block.notes]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def render_markdown(report: dict[str, Any], title: str = "Evaluation") -> str:
    """The report as a Markdown document: one section per block, GitHub tables."""
    out = [f"# {title}", ""]
    for block in blocks(report):
        out += [f"## {block.title}", ""]
        if block.header:
            out.append("| " + " | ".join(_escape(cell) for cell in block.header) + " |")
            out.append("|" + "|".join(" ---: " if n else " --- " for n in _numeric_columns(block)) + "|")
            out += ["| " + " | ".join(_escape(cell) for cell in row) + " |" for row in block.rows]
            out.append("")
        out += [f"{note}  " for note in block.notes]
        if block.notes:
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def blocks(report: dict[str, Any]) -> list[Block]:
    """The report's tables, in order: a summary, then each task's."""
    summary = Block(f"Scores on {report['rows']:,} rows")
    for task, values in report["headline"].items():
        if isinstance(values, dict):
            raw = set(report["tasks"].get(task, {}).get("raw_metric_keys", ()))  # e.g. an error in the target's unit
            shown = [f"{key} {f'{value:.4g}' if key in raw else _percent(value)}" for key, value in values.items()]
            summary.notes.append(f"{task}: " + ", ".join(shown))
        else:
            summary.notes.append(f"{task} (every task right): {_percent(values)}")
    out = [summary]
    for task, values in report["tasks"].items():  # each task's blocks by the scores its head reports
        if "per_class" in values:
            out += _sentence_blocks(task, values)
        elif "per_entity" in values:
            out += _token_blocks(task, values)
        elif "per_label" in values:
            out.append(_per_label_block(f"{task}: per label", "label", values["per_label"]))
    return out


def _sentence_blocks(task: str, values: dict[str, Any]) -> list[Block]:
    out = [_per_label_block(f"{task}: per class", "class", values["per_class"])]
    title = f"{task}: most confused (gold → predicted)"
    out.append(_pairs_block(title, values.get("most_confused", []), "none: every example right"))
    matrix = values.get("confusion_matrix")
    if matrix and len(matrix["labels"]) <= MAX_MATRIX_LABELS:
        labels = matrix["labels"]
        block = Block(f"{task}: confusion matrix (rows: gold, columns: predicted)")
        block.header = ["gold \\ predicted", *(str(i + 1) for i in range(len(labels)))]
        block.rows = [
            [f"{i + 1} {label}", *map(str, row)] for i, (label, row) in enumerate(zip(labels, matrix["matrix"]))
        ]
        out.append(block)
    return out


def _token_blocks(task: str, values: dict[str, Any]) -> list[Block]:
    errors = values.get("entity_errors", {})
    block = _per_label_block(f"{task}: per entity type", "type", values["per_entity"])
    extra = ("missed", "spurious", "wrong_span")
    block.header += ["missed", "spurious", "wrong span"]
    for row in block.rows:
        row += [str(errors.get(key, {}).get(row[0], 0)) for key in extra]
    block.notes.append(
        "missed: no predicted entity overlaps it; spurious: a predicted entity overlapping no gold one; wrong span: "
        "overlapped, not matched; seqeval strict IOB2 (equal to its default mode on this well-formed IOB2)"
    )
    out = [block]
    title = f"{task}: most confused entity types (right span, gold → predicted)"
    out.append(
        _pairs_block(title, errors.get("wrong_type", []), "none: no entity found with its span but another type")
    )
    return out


def _pairs_block(title: str, pairs: list[dict[str, Any]], none: str) -> Block:
    # The first TOP_CONFUSIONS (gold, predicted, count) pairs.
    if not pairs:
        return Block(title, notes=[none])
    rows = [[pair["gold"], pair["predicted"], str(pair["count"])] for pair in pairs[:TOP_CONFUSIONS]]
    block = Block(title, ["gold", "predicted", "count"], rows)
    if len(pairs) > TOP_CONFUSIONS:
        block.notes.append(f"{len(pairs) - TOP_CONFUSIONS} more pair(s) in the JSON report")
    return block


def _per_label_block(title: str, name: str, per_label: dict[str, dict[str, Any]]) -> Block:
    # One row per label, worst F1 first (then the larger support, then the name).
    order = sorted(per_label.items(), key=lambda item: (item[1]["f1"], -item[1]["support"], item[0]))
    rows = [
        [label, _percent(v["precision"]), _percent(v["recall"]), _percent(v["f1"]), f"{v['support']:,}"]
        for label, v in order
    ]
    return Block(title, [name, "precision", "recall", "F1", "support"], rows)


def _numeric_columns(block: Block) -> list[bool]:
    # A column of numbers (in every row) is right-aligned.
    return [bool(block.rows) and all(_is_number(row[i]) for row in block.rows) for i in range(len(block.header))]


def _is_number(cell: str) -> bool:
    try:
        float(cell.replace(",", ""))
    except ValueError:
        return False
    return True


def _percent(value: Any) -> str:
    return f"{100 * value:.1f}" if isinstance(value, (int, float)) else str(value)


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|")
