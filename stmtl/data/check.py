"""What ``stmtl check-data`` finds in training data before any training: the checks, as a structured report.

:func:`check_data` takes the paths ``stmtl train`` takes (``--train``/``--dev``/``--test`` or a ``--config``);
:func:`check_tasks` takes a run's task list, so that ``train`` can run the same checks first. For every task: its
label counts per split, rare labels (fewer than :data:`RARE_BELOW` training examples), labels in dev or test that
training lacks; for every source: rows, duplicate rows and texts labelled two ways, columns no task of the run
reads, what its kinds' readers recorded (the tag scheme found and the conversion to IOB2); between splits: texts
both in training and in dev or test; and the length of every text in word pieces of the backbone's tokenizer,
against ``max_seq_length``.

Findings are errors when training would fail or learn nothing (a source that cannot be read, e.g. a bad row or
mixed tag schemes; no label columns; a task with fewer labels than its head needs) and warnings otherwise.
The report and its text rendering live in :mod:`stmtl.data.check_report`.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import fields
from pathlib import Path
from typing import Any

from stmtl.data.check_lengths import load_tokenizer, piece_lengths
from stmtl.data.check_report import RARE_BELOW, DataReport, SourceReport, TaskReport
from stmtl.data.errors import DataError
from stmtl.data.layout import TEXT
from stmtl.data.sources import read_task_data
from stmtl.heads.columns import column_values
from stmtl.heads.registry import head_class, head_types

logger = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test")
EXAMPLES = 3
"""Example texts quoted per finding."""


def check_data(
    train: str | os.PathLike | None = None,
    dev: str | os.PathLike | None = None,
    test: str | os.PathLike | None = None,
    config: str | os.PathLike | None = None,
    rare_below: int = RARE_BELOW,
    backbone: str | None = None,
    max_seq_length: int | None = None,
) -> DataReport:
    """Check the data that ``stmtl train --train/--dev/--test`` (or ``--config``) would read.

    A joint folder given as ``train`` brings its own ``dev`` and ``test`` splits when present (as ``--data`` does),
    unless ``dev``/``test`` are given. Without ``config`` the tasks are inferred from the columns
    (:mod:`stmtl.data.inferred_tasks`) and the lengths measured with the default backbone's tokenizer.

    Args:
        train: Training data (a file or a joint folder).
        dev: Dev data.
        test: Test data.
        config: A YAML config naming tasks, sources, ``backbone`` and ``max_seq_length`` (instead of ``train``).
        rare_below: Rare-label threshold.
        backbone: Whose tokenizer measures lengths, instead of the config's (or the default backbone).
        max_seq_length: The truncation length, instead of the config's (or the backbone's own).

    Returns:
        The report; a training source without label columns (or a dev/test source carrying none of the tasks'
        labels) is an error in it.

    Raises:
        ConfigError: If ``config`` cannot be read or is invalid.
        ValueError: If neither or both of ``train`` and ``config`` are given.
    """
    if (train is None) == (config is None):
        raise ValueError("give the training data or a config (one of the two)")
    if config is not None:
        from stmtl.config import TrainConfig, read_yaml

        values = read_yaml(config)
        values.setdefault("output_dir", ".")  # not used here; a config for check-data need not name one
        loaded = TrainConfig.from_dict(values)
        backbone, max_seq_length = backbone or loaded.backbone, max_seq_length or loaded.max_seq_length
        return check_tasks(loaded.tasks, backbone, max_seq_length, rare_below=rare_below)
    from stmtl.data.inferred_tasks import infer_tasks
    from stmtl.data.joint_folder import is_joint_folder

    if os.path.isdir(train) and is_joint_folder(train):
        dev = dev or (train if os.path.isdir(os.path.join(train, "dev")) else None)
        test = test or (train if os.path.isdir(os.path.join(train, "test")) else None)
    try:
        tasks = infer_tasks(train, dev, test)
    except DataError as error:
        return DataReport(rare_below=rare_below, errors=[str(error)])
    return check_tasks(tasks, backbone, max_seq_length, rare_below=rare_below)


def check_tasks(
    tasks: list[Any],
    backbone: str | None = None,
    max_seq_length: int | None = None,
    lengths: bool = True,
    rare_below: int = RARE_BELOW,
) -> DataReport:
    """Check the data of a run's tasks (``TaskConfig`` values or ``{"name", "kind", "train", "dev", "test"}``).

    Args:
        tasks: The tasks.
        backbone: Whose tokenizer measures lengths (``None``: the default backbone).
        max_seq_length: The truncation length (``None``: the backbone's own).
        lengths: Measure lengths (loads the tokenizer only, not the model).
        rare_below: Rare-label threshold.

    Returns:
        The report.
    """
    report = DataReport(rare_below=rare_below)
    tasks = [task if isinstance(task, dict) else _task_values(task) for task in tasks]
    data: dict[tuple[str, int], Any] = {}
    for split in SPLITS:
        for source, names in _sources(tasks, split):
            entry = SourceReport(split, _name(source), names)
            report.sources.append(entry)
            try:
                data[(split, id(source))] = read_task_data(source, split=split)
            except DataError as error:
                entry.error = str(error)
                report.errors.append(f"{split} data cannot be read: {error}")
                continue
            heads = [(head_class(task["kind"]), task["name"]) for task in tasks if task["name"] in names]
            _describe_source(entry, data[(split, id(source))], source, split, heads)
    train_texts: dict[int, set[str]] = {}  # normalised training texts per source, read once
    for task in tasks:
        cls = head_class(task["kind"])
        entry = TaskReport(task["name"], task["kind"], {split: _optional_name(task.get(split)) for split in SPLITS})
        entry.unit = cls.count_unit
        report.tasks.append(entry)
        readable = {split: data.get((split, id(task.get(split)))) for split in SPLITS if task.get(split) is not None}
        for split, dataset in readable.items():
            if dataset is not None and (missing := cls.missing_columns(dataset, task["name"])):
                report.errors.append(
                    f"task {entry.name!r} ({entry.kind}) needs column(s) {missing} in its {split} data "
                    f"{entry.sources[split]}"
                )
                readable[split] = None
            elif dataset is not None:
                entry.label_counts[split] = cls.label_counts(dataset, task["name"])
        train_data = readable.get("train")
        if train_data is not None:
            _label_findings(report, entry, cls, train_data, rare_below)
            for split in ("dev", "test"):
                if readable.get(split) is not None:
                    same = _same_data(task[split], task["train"])
                    if not same and id(train_data) not in train_texts:  # tasks sharing a source share its texts
                        train_texts[id(train_data)] = {_normal(text) for text in _texts(train_data)}
                    texts = train_texts.get(id(train_data), set())
                    _split_findings(report, entry, split, texts, readable[split], same)
    _source_findings(report)
    if lengths and any(entry.rows for entry in report.sources):
        _measure_lengths(report, data, tasks, backbone, max_seq_length)
    return report


def label_counts(dataset: Any, kind: str, task: str = "") -> dict[str, int]:
    """Examples per label of a task of ``kind``, most frequent first, as its head class counts them (e.g. entities
    per type for a token task); ``{}`` for a kind without labels."""
    return head_class(kind).label_counts(dataset, task)


def _task_values(task: Any) -> dict[str, Any]:
    # A TaskConfig's fields, copied by hand: dataclasses.asdict would deep-copy an in-memory dataset.
    return {item.name: getattr(task, item.name) for item in fields(task)}


def _sources(tasks: list[dict[str, Any]], split: str) -> list[tuple[Any, list[str]]]:
    # The distinct sources of a split, each with the tasks that read it, in task order.
    found: list[tuple[Any, list[str]]] = []
    for task in tasks:
        source = task.get(split)
        if source is None:
            continue
        for known, names in found:
            if known is source or (_is_path(known) and _is_path(source) and os.fspath(known) == os.fspath(source)):
                names.append(task["name"])
                break
        else:
            found.append((source, [task["name"]]))
    return found


def _same_data(source: Any, train: Any) -> bool:
    # The very training data: the same dataset object or file (a joint folder's splits share its path only).
    if _is_path(source) and _is_path(train):
        return not os.path.isdir(source) and os.fspath(source) == os.fspath(train)
    return source is train


def _is_path(source: Any) -> bool:
    return isinstance(source, (str, os.PathLike))


def _name(source: Any) -> str:
    return os.fspath(source) if _is_path(source) else "<dataset>"


def _optional_name(source: Any) -> str | None:
    return None if source is None else _name(source)


def _describe_source(entry: SourceReport, dataset: Any, source: Any, split: str, heads: list[tuple[Any, str]]) -> None:
    # Rows, duplicates, texts labelled two ways, columns no task reads and what the kinds' readers recorded.
    entry.rows = len(dataset)
    read = {column for cls, task in heads for column in cls.task_features(task)}
    columns = sorted(column for column in read if column in dataset.column_names)
    texts = _texts(dataset)
    values = list(zip(*(column_values(dataset, column) for column in columns))) if columns else [()] * len(texts)
    keys = [json.dumps([text, *row]) for text, row in zip(texts, values)]
    entry.duplicate_rows = len(keys) - len(set(keys))
    # The same text (ignoring case and spacing) with other labels; words may differ in case, labels may not.
    words = {cls.words_column for cls, _ in heads}
    compared = [index for index, column in enumerate(columns) if column not in words]
    seen: dict[str, tuple[str, str]] = {}
    conflicting: dict[str, None] = {}
    for text, row in zip(texts, values):
        labels = json.dumps([row[index] for index in compared])
        first_text, first_labels = seen.setdefault(_normal(text), (text, labels))
        if first_labels != labels:
            conflicting.setdefault(first_text, None)
    entry.conflicting_texts = list(conflicting)
    entry.unknown_columns = {column: len(dataset) for column in dataset.column_names if column not in {TEXT, *read}}
    if _is_path(source):
        for cls in dict.fromkeys(cls for cls, _ in heads):
            for file in _files_of(source, split, cls):
                if (note := cls.column_reader_class.note(file)) is not None:
                    entry.tag_conversion = note


def _files_of(source: str | os.PathLike, split: str, cls: Any) -> list[Path]:
    # The files a kind's columns come from: the source itself, or a joint folder's files the kind reads.
    path = Path(source)
    return [path / split / name for name in cls.joint_files] if path.is_dir() else [path]


def _label_findings(report: DataReport, entry: TaskReport, cls: type, train: Any, rare_below: int) -> None:
    # Training data its head learns nothing from (an error), rare labels (a warning).
    for problem in cls.training_errors(train, entry.name):
        report.errors.append(f"task {entry.name!r} ({entry.kind}): {problem}")
    counts = entry.label_counts.get("train", {})
    entry.rare = sorted(label for label, count in counts.items() if count < rare_below)
    if entry.rare:
        shown = ", ".join(f"{label} ({counts[label]})" for label in entry.rare[:10])
        more = f" and {len(entry.rare) - 10} more" if len(entry.rare) > 10 else ""
        unit = entry.unit.split()[0]  # "examples", "entities"
        report.warnings.append(
            f"task {entry.name!r}: {len(entry.rare)} rare label(s) with fewer than {rare_below} training {unit}: "
            f"{shown}{more}"
        )


def _split_findings(
    report: DataReport, entry: TaskReport, split: str, train_texts: set[str], other: Any, same: bool = False
) -> None:
    # Labels of dev/test that training lacks, and dev/test texts that occur in training (train_texts: normalised).
    known = set(entry.label_counts.get("train", {}))
    unseen = {label: n for label, n in entry.label_counts.get(split, {}).items() if label not in known}
    if unseen:
        entry.unseen[split] = unseen
        shown = ", ".join(f"{label} ({n})" for label, n in list(unseen.items())[:10])
        report.warnings.append(
            f"task {entry.name!r}: {split} has label(s) the training data lacks, which the model cannot predict "
            f"and which count as wrong: {shown}"
        )
    source, train_source = entry.sources[split], entry.sources["train"]
    if same:  # a joint folder's splits share its path but not their rows: those are compared below
        warning = f"the {split} data is the training data itself ({source}): its scores overstate unseen text"
        if warning not in report.warnings:
            report.warnings.append(warning)
        return
    both = [text for text in _texts(other) if _normal(text) in train_texts]
    if both:
        entry.overlap[split] = len(both)
        entry.overlap_examples[split] = list(dict.fromkeys(both))[:EXAMPLES]
        warning = (
            f"{split} data {source}: {len(both)} of {len(other)} rows have a text that is also in the training data "
            f"{train_source} (ignoring case and spacing), e.g. {both[0]!r}; their scores overstate unseen text"
        )
        if warning not in report.warnings:  # tasks that share both sources share the finding
            report.warnings.append(warning)


def _texts(dataset: Any) -> list[str]:
    # The text of every row; an in-memory dataset of words only (a token task's) gets them joined, as training does.
    if TEXT in dataset.column_names:
        return column_values(dataset, TEXT)
    words = next(cls.words_column for cls in head_types().values() if cls.words_column in dataset.column_names)
    return [" ".join(row) for row in column_values(dataset, words)]


def _normal(text: str) -> str:
    return " ".join(text.split()).casefold()


def _source_findings(report: DataReport) -> None:
    # Duplicates, texts labelled two ways and keys no task reads, one warning each per source.
    for entry in report.sources:
        where = f"{entry.split} data {entry.source}"
        if entry.duplicate_rows:
            report.warnings.append(f"{where}: {entry.duplicate_rows} duplicate row(s) (same text and labels)")
        if entry.conflicting_texts:
            shown = ", ".join(repr(text) for text in entry.conflicting_texts[:EXAMPLES])
            report.warnings.append(
                f"{where}: {len(entry.conflicting_texts)} text(s) occur with different labels, e.g. {shown}"
            )
        if entry.unknown_columns:
            report.warnings.append(
                f"{where}: column(s) {sorted(entry.unknown_columns)} are ignored: no task of this run "
                f"({', '.join(entry.tasks)}) reads them"
            )


def _measure_lengths(
    report: DataReport, data: dict[tuple[str, int], Any], tasks: list[dict[str, Any]], backbone: str | None,
    max_seq_length: int | None,
) -> None:  # fmt: skip
    # Word pieces per text (special tokens included) with the backbone's tokenizer, against max_seq_length.
    try:
        tokenizer, default_length, name = load_tokenizer(backbone)
    except (OSError, ValueError) as error:
        report.warnings.append(f"lengths not measured: the tokenizer of {backbone!r} cannot be loaded ({error})")
        return
    report.tokenizer, report.max_seq_length = name, max_seq_length or default_length
    for entry in report.sources:
        if entry.rows is None:
            continue
        source = next(task[entry.split] for task in tasks if task["name"] in entry.tasks)
        entry.lengths = piece_lengths(_texts(data[(entry.split, id(source))]), tokenizer, report.max_seq_length)
        if entry.lengths["truncated"]:
            report.warnings.append(
                f"{entry.split} data {entry.source}: {entry.lengths['truncated']} of {entry.rows} texts are longer "
                f"than max_seq_length={report.max_seq_length} word pieces (longest: {entry.lengths['max']}); "
                "words past the limit are cut (no label learned or predicted for them)"
            )


def warn_data_findings(tasks: list[Any]) -> DataReport:
    """Log the warnings :func:`check_tasks` finds in a run's data (lengths aside: training counts its own cut
    texts), as ``train`` does before any work; its errors are left to the readers and heads, which raise them.

    Args:
        tasks: The run's ``TaskConfig`` values.

    Returns:
        The report.
    """
    try:
        report = check_tasks(tasks, lengths=False)
    except Exception as error:  # noqa: BLE001 - a check must never stop the run: training reads and checks its data
        logger.debug("data check skipped: %s", error)
        return DataReport()
    for warning in report.warnings:
        logger.warning(warning)
    return report
