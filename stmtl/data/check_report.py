"""The report of ``stmtl check-data`` (:mod:`stmtl.data.check`): its structure, and its rendering as text.

The text is what the command prints: the tasks, one table of the sources (rows, duplicates, ignored keys, tag
scheme, lengths in word pieces), one table of label counts per task, then the errors and warnings, each one line.
The same values go to ``--output-json`` through :meth:`DataReport.to_dict`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

RARE_BELOW = 5
"""A label with fewer training examples than this is flagged rare (for a token task: entities of that type). A
handful of examples is what a few-shot setup starts from; below five, a label's dev and test scores rest on one or
two examples and its training signal on as few."""


@dataclass
class SourceReport:
    """One data source of one split, as read.

    Attributes:
        split: ``train``, ``dev`` or ``test``.
        source: The path (or ``"<dataset>"`` for in-memory data).
        tasks: The tasks that read it.
        rows: Rows read (``None`` when it could not be read).
        unknown_columns: Keys or header columns that no task of it reads, with the number of rows carrying them.
        duplicate_rows: Rows equal to an earlier row in text and labels (extra copies).
        conflicting_texts: Texts that occur with different labels.
        tag_conversion: ``{"scheme", "changed", "total"}`` when the tags were not IOB2, else ``None``.
        lengths: Word pieces per text: ``{"p50", "p90", "p95", "p99", "max", "truncated"}``.
        error: Why it could not be read (one line naming the file and line).
    """

    split: str
    source: str
    tasks: list[str]
    rows: int | None = None
    unknown_columns: dict[str, int] = field(default_factory=dict)
    duplicate_rows: int = 0
    conflicting_texts: list[str] = field(default_factory=list)
    tag_conversion: dict[str, Any] | None = None
    lengths: dict[str, int] | None = None
    error: str | None = None


@dataclass
class TaskReport:
    """One task's labels.

    Attributes:
        name: The task name.
        kind: Its head type.
        sources: The source of each split (``None`` where it has none).
        label_counts: Split → label → count (for a token task: entities per type).
        rare: Labels with fewer than :data:`RARE_BELOW` training examples.
        unseen: Split → labels in that split that the training data lacks, with their counts.
        overlap: Split → number of that split's rows whose text also occurs in the training data.
        overlap_examples: Split → a few of those texts.
        unit: What the counts count (its head class's ``count_unit``).
    """

    name: str
    kind: str
    sources: dict[str, str | None]
    unit: str = "examples per label"
    label_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    rare: list[str] = field(default_factory=list)
    unseen: dict[str, dict[str, int]] = field(default_factory=dict)
    overlap: dict[str, int] = field(default_factory=dict)
    overlap_examples: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class DataReport:
    """Everything :func:`check_tasks` found.

    Attributes:
        tasks: One report per task.
        sources: One report per distinct source of each split.
        tokenizer: The backbone whose tokenizer measured the lengths (``None`` when not measured).
        max_seq_length: The truncation length the lengths are compared with.
        rare_below: The rare-label threshold used.
        errors: What would make training fail or learn nothing.
        warnings: What training would survive but the user should look at.
    """

    tasks: list[TaskReport] = field(default_factory=list)
    sources: list[SourceReport] = field(default_factory=list)
    tokenizer: str | None = None
    max_seq_length: int | None = None
    rare_below: int = RARE_BELOW
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """2 with errors, else 0."""
        return 2 if self.errors else 0

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {**asdict(self), "exit_code": self.exit_code}


def render(report: DataReport) -> str:
    """The report as text: tasks, sources, label counts, then errors, warnings and the verdict."""
    lines: list[str] = []
    if report.tasks:
        lines += ["Tasks", *_table(["task", "kind", "train", "dev", "test"], [
            [task.name, task.kind, *(task.sources[split] or "-" for split in ("train", "dev", "test"))]
            for task in report.tasks
        ]), ""]  # fmt: skip
    if report.sources:
        measured = (
            f" (lengths in word pieces of {report.tokenizer}'s tokenizer; cut: longer than max_seq_length "
            f"{report.max_seq_length})"
            if report.tokenizer
            else ""
        )
        lines += [f"Data{measured}", *_table(
            ["split", "source", "rows", "duplicates", "two labels", "ignored keys", "tags", "p50/p95/max", "cut"],
            [_source_row(entry) for entry in report.sources],
        ), ""]  # fmt: skip
    for task in report.tasks:
        splits = [split for split in ("train", "dev", "test") if split in task.label_counts]
        if not splits:
            continue
        labels = list(dict.fromkeys(label for split in splits for label in task.label_counts[split]))
        if not labels:  # a kind without labels (e.g. regression)
            continue
        unit = task.unit
        rows = [
            [label, *(str(task.label_counts[split].get(label, 0)) for split in splits), _note(task, label)]
            for label in labels
        ]
        lines += [f"Labels of {task.name!r} ({task.kind}: {unit})", *_table(["label", *splits, ""], rows), ""]
    lines += [f"error: {error}" for error in report.errors]
    lines += [f"warning: {warning}" for warning in report.warnings]
    verdict = (
        f"{len(report.errors)} error(s): training would fail or learn nothing"
        if report.errors
        else "no errors: the data can be trained on"
    )
    lines.append(f"{verdict}; {len(report.warnings)} warning(s). Rare: fewer than {report.rare_below} training "
                 "examples (entities for a token task).")  # fmt: skip
    return "\n".join(lines)


def _source_row(entry: SourceReport) -> list[str]:
    if entry.error is not None:
        return [entry.split, entry.source, "unreadable", "", "", "", "", "", ""]
    conversion = entry.tag_conversion
    tags = f"{conversion['scheme']}→IOB2 ({conversion['changed']:,} changed)" if conversion else ""
    lengths = entry.lengths
    shown = f"{lengths['p50']}/{lengths['p95']}/{lengths['max']}" if lengths else ""
    return [
        entry.split, entry.source, f"{entry.rows:,}", str(entry.duplicate_rows), str(len(entry.conflicting_texts)),
        ", ".join(sorted(entry.unknown_columns)) or "-", tags or "-", shown or "-",
        str(lengths["truncated"]) if lengths else "-",
    ]  # fmt: skip


def _note(task: TaskReport, label: str) -> str:
    notes = ["rare"] if label in task.rare else []
    notes += [f"not in train ({split})" for split, unseen in task.unseen.items() if label in unseen]
    return ", ".join(notes)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    # Left-aligned text columns, right-aligned numbers, two spaces between columns.
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    numeric = [all(str(row[i]).replace(",", "").isdigit() for row in rows) and rows for i in range(len(header))]

    def line(cells: list[str]) -> str:
        parts = [str(c).rjust(w) if numeric[i] else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths))]
        return "  " + "  ".join(parts).rstrip()

    return [line(header), *(line(row) for row in rows)]
