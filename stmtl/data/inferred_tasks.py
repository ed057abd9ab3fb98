"""The tasks a data source is labelled for, read from its columns: what ``stmtl train --data/--train`` trains.

Each head type (:data:`stmtl.heads.HEAD_TYPES`) names the columns its labels come from; a source gets one task per
head type whose columns it has. A SNIPS/ATIS joint folder (``text``, ``tokens``, ``tags``, ``label``) thus gives
the tasks ``intent`` (sentence) and ``slots`` (token), a CoNLL file ``slots`` alone, a JSONL file of
``{"text", "label"}`` rows or a CSV file with columns ``text,label`` ``intent`` alone.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from stmtl.data.errors import DataError
from stmtl.data.sources import read_task_data

logger = logging.getLogger(__name__)

TASK_NAMES = {"sentence": "intent", "token": "slots", "multilabel": "labels"}
"""The name given to the task of each head type (the key ``predict`` and the results use)."""


def infer_tasks(
    train: str | os.PathLike, dev: str | os.PathLike | None = None, test: str | os.PathLike | None = None
) -> list[dict[str, Any]]:
    """One task config per head type whose label columns the training source carries, in ``HEAD_TYPES`` order.

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
    kinds = _labelled_kinds(train, "train")
    if not kinds:
        wanted = ", ".join(f"{'/'.join(cls.label_columns)} ({kind})" for kind, cls in _head_types().items())
        raise DataError(f"no label columns found (looked for {wanted})", train)
    tasks = [{"name": TASK_NAMES.get(kind, kind), "kind": kind, "train": os.fspath(train)} for kind in kinds]
    for split, source in (("dev", dev), ("test", test)):
        found = _labelled_kinds(source, split) if source is not None else []
        if source is not None and not set(kinds) & set(found):
            names = [task["name"] for task in tasks]
            raise DataError(f"{split} data carries the labels of none of the tasks {names}", source)
        for task in tasks:
            task[split] = os.fspath(source) if task["kind"] in found else None
            if source is not None and task["kind"] not in found:
                name, kind = task["name"], task["kind"]
                logger.warning("task %r gets no %s data: %s has no %s labels", name, split, source, kind)
    return tasks


def _head_types() -> dict[str, Any]:
    from stmtl.heads import HEAD_TYPES  # imported late, as in stmtl.data.sources

    return HEAD_TYPES


def _labelled_kinds(source: str | os.PathLike, split: str) -> list[str]:
    # The head types whose label columns the source has, from its first row.
    data = read_task_data(source, split=split, streaming=True)
    return [kind for kind, cls in _head_types().items() if not cls.missing_columns(data)]
