"""Progress bars: stmtl's own (training, prediction) stay; the loaders' bars are turned off where they repeat."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def loader_bars_off() -> Iterator[None]:
    """Turn off transformers' "Loading weights" / "Writing model shards" bars for the block, then restore them.

    A training run saves a checkpoint at every evaluation and loads the best model at the end; each would print
    its own bar between the training bar's lines.
    """
    from transformers.utils import logging as transformers_logging

    enabled = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            transformers_logging.enable_progress_bar()
