"""Finds evaluation labels the model cannot predict, which are scored as wrong rather than dropped."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable

_LOGGER = logging.getLogger(__name__)


def count_unknown_labels(references: Iterable[str], known_labels: Iterable[str]) -> Counter[str]:
    """Counts the references whose label string is not in the model's label set.

    Args:
        references: Gold labels; for token tasks, the flattened tags of every example.
        known_labels: The labels (or tags) the model can predict.

    Returns:
        Occurrences of each unknown label; empty when every label is known.
    """
    known = set(known_labels)
    return Counter(label for label in references if label not in known)


def warn_unknown_labels(
    task: str,
    references: Iterable[str],
    known_labels: Iterable[str],
    logger: logging.Logger | None = None,
) -> Counter[str]:
    """Logs one warning listing the evaluation labels the model cannot predict, if there are any.

    Args:
        task: Task name shown in the message.
        references: Gold labels; for token tasks, the flattened tags of every example.
        known_labels: The labels (or tags) the model can predict.
        logger: Logger to warn on; defaults to this module's logger.

    Returns:
        Occurrences of each unknown label, as from :func:`count_unknown_labels`.
    """
    unknown = count_unknown_labels(references, known_labels)
    if unknown:
        # Most frequent first, as a plain dict so the message reads ``{'a#b': 2, 'Foo': 1}``.
        counts = dict(unknown.most_common())
        (logger or _LOGGER).warning(
            "task %r: %d evaluation labels are not in the model's label set and count as wrong: %s",
            task,
            unknown.total(),
            counts,
        )
    return unknown
