"""``iter_predict``'s loop, shared by every backend: texts checked and read in windows, batched by length.

Texts are read ``batch_size * SORT_WINDOW_BATCHES`` at a time, so memory stays flat for a stream of any length;
within a window they are sorted by length (longest first) so each batch pads little, and results come back in input
order.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

SORT_WINDOW_BATCHES = 16
"""``predict`` and ``encode`` of an iterator read this many batches of texts at a time."""
_SURROGATE = re.compile("[\ud800-\udfff]")
Result = TypeVar("Result")


def check_unicode(text: str, where: str) -> None:
    """Refuse a string with a lone surrogate (not valid Unicode), naming ``where`` and the character.

    Raises:
        ValueError: If ``text`` holds a lone surrogate.
    """
    if match := _SURROGATE.search(text):
        raise ValueError(
            f"{where} is not valid Unicode: lone surrogate {match.group()!r} at character {match.start()} "
            "(decode input with errors='replace' or fix it)"
        )


def check_texts(items: Iterable[Any], name: str, offset: int = 0) -> None:
    """Raise ``TypeError`` naming the first non-string item, ``ValueError`` the first with a lone surrogate."""
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise TypeError(f"{name}[{offset + index}] is {type(item).__name__}, expected str")
        check_unicode(item, f"{name}[{offset + index}]")


def check_predict_arguments(texts: Any, batch_size: int) -> None:
    """Refuse a single string as ``texts`` and a batch size below 1.

    Raises:
        TypeError: If ``texts`` is a string.
        ValueError: If ``batch_size`` is not positive.
    """
    if isinstance(texts, str):
        raise TypeError("texts must be an iterable of strings, not a single string: wrap it in a list")
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")


def iter_in_windows(
    texts: Iterable[str],
    batch_size: int,
    run_batch: Callable[[list[str]], list[Result]],
    on_batch: Callable[[int], None] | None = None,
) -> Iterator[Result]:
    """Yield ``run_batch``'s result for every text, in input order, running batches of similar length.

    Args:
        texts: Strings, read lazily (each window is checked with :func:`check_texts` before it runs).
        batch_size: Texts per ``run_batch`` call.
        run_batch: Results for one batch of texts, one per text.
        on_batch: Called with the size of each batch once it ran (a progress bar's ``update``).
    """
    iterator = iter(texts)
    offset = 0
    while window := list(islice(iterator, batch_size * SORT_WINDOW_BATCHES)):
        check_texts(window, "texts", offset)
        order = sorted(range(len(window)), key=lambda index: -len(window[index]))  # stable: ties keep input order
        results: list[Any] = [None] * len(window)
        for start in range(0, len(window), batch_size):
            indices = order[start : start + batch_size]
            for index, result in zip(indices, run_batch([window[i] for i in indices])):
                results[index] = result
            if on_batch is not None:
                on_batch(len(indices))
        offset += len(window)
        yield from results


def predict_in_windows(
    texts: Iterable[str],
    batch_size: int,
    predict_batch: Callable[[list[str]], tuple[list[dict[str, Any]], int]],
    max_seq_length: int | None,
    on_batch: Callable[[int], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """``iter_predict`` of every backend: :func:`iter_in_windows` over ``predict_batch`` (results and the number of
    truncated texts of one batch), then one warning for all the texts truncated at ``max_seq_length``."""
    truncated = 0

    def run_batch(batch: list[str]) -> list[dict[str, Any]]:
        nonlocal truncated
        results, batch_truncated = predict_batch(batch)
        truncated += batch_truncated
        return results

    yield from iter_in_windows(texts, batch_size, run_batch, on_batch)
    if truncated:
        logger.warning(
            f"{truncated} text(s) exceeded max_seq_length={max_seq_length} tokens and were truncated; "
            "words past the limit get no entities"
        )


def predict_results(
    texts: Sequence[str], decoded: Mapping[str, Sequence[Any]], embeddings: Sequence[Any] | None = None
) -> list[dict[str, Any]]:
    """One ``predict`` result per text: ``"text"``, each task's decoded answer, and ``"sentence_embedding"`` when
    ``embeddings`` are given."""
    results = [{"text": text, **{task: rows[row] for task, rows in decoded.items()}} for row, text in enumerate(texts)]
    if embeddings is not None:
        for result, embedding in zip(results, embeddings):
            result["sentence_embedding"] = embedding
    return results
