"""The tasks a data source is labelled for, read from its columns: what ``stmtl train --data/--train`` trains.

Each registered head kind (:mod:`stmtl.heads.registry`) says which tasks a source's columns give
(``TaskHead.tasks_in``): one task of its default name when it has the kind's columns, or, for a kind that reads
columns by their values, one task per such column, named after it. A SNIPS/ATIS joint folder (``text``,
``tokens``, ``tags``, ``label``) thus gives the tasks ``intent`` (sentence) and ``slots`` (token), a CoNLL file
``slots`` alone, a JSONL file of ``{"text", "label"}`` rows or a CSV file with columns ``text,label`` ``intent``
alone, and ``{"text", "score": 0.7}`` rows a regression task ``score``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from stmtl.data.errors import DataError
from stmtl.data.sources import read_task_data

logger = logging.getLogger(__name__)


def infer_tasks(
    train: str | os.PathLike, dev: str | os.PathLike | None = None, test: str | os.PathLike | None = None
) -> list[dict[str, Any]]:
    """One task config per task the training source's columns give, in the registry's order of kinds.

    Sources are opened as streams, so only their first row is read here (the run reads and checks the rest). A task
    whose labels the dev (or test) data lacks gets none from it, with a warning: e.g. a CoNLL dev file evaluates
    the slots of a model trained on a JSONL file with intents and slots, and the intent task has no dev data.

    Args:
        train: Training data: a joint-layout folder (its ``train/`` split), a ``.jsonl``, ``.csv``/``.tsv`` or a
            CoNLL file.
        dev: Development data in any of those forms (a folder gives its ``dev/`` split), or ``None``.
        test: Test data likewise (a folder gives its ``test/`` split), or ``None``.

    Returns:
        ``TaskConfig`` values: ``{"name", "kind", "train", "dev", "test"}``, paths as strings.

    Raises:
        DataError: If a source does not exist or has an unsupported type, the training source carries no label
            columns, or the dev or test source carries the labels of none of the tasks.
    """
    found_tasks = source_tasks(train, "train")
    if not found_tasks:
        from stmtl.data.layout import known_columns

        raise DataError(f"no label columns found (looked for {known_columns()})", train)
    tasks = [{"name": name, "kind": kind, "train": os.fspath(train)} for name, kind in found_tasks]
    for split, source in (("dev", dev), ("test", test)):
        found = source_tasks(source, split) if source is not None else []
        if source is not None and not set(found_tasks) & set(found):
            names = [task["name"] for task in tasks]
            raise DataError(f"{split} data carries the labels of none of the tasks {names}", source)
        for task in tasks:
            present = (task["name"], task["kind"]) in found
            task[split] = os.fspath(source) if present else None
            if source is not None and not present:
                name, kind = task["name"], task["kind"]
                logger.warning("task %r gets no %s data: %s has no %s labels", name, split, source, kind)
    return tasks


def source_tasks(source: Any, split: str) -> list[tuple[str, str]]:
    """The ``(task name, kind)`` of every task a source's columns give, from its first row (read as a stream).

    Raises:
        DataError: If the source cannot be read.
    """
    from stmtl.heads.registry import head_types

    data = read_task_data(source, split=split, streaming=True)
    features = data.features or {}
    types = head_types()
    taken = {column for cls in types.values() for column in cls.columns if column in features}
    return [(name, kind) for kind, cls in types.items() for name in cls.tasks_in(features, taken)]
