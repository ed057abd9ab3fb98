"""Gradient accumulation that ends every epoch with an optimizer step.

Accelerate's ``accumulate`` syncs every ``gradient_accumulation_steps`` batches, counted across epochs, unless a
prepared dataloader reports its end; the trainer reads its own batch plans instead of a dataloader. Without help,
an epoch whose batch count is not a multiple of the accumulation steps would end without a step, so its
end-of-epoch evaluation (which happens on steps) would be skipped and its last gradients carried into the next
epoch. This helper makes the last batch of an epoch a sync point, as the end of a dataloader would, which also
makes every epoch start a new accumulation group (a resumed run counts as the original did).
"""

from __future__ import annotations

import math

from accelerate import Accelerator


def end_epoch_with_step(accelerator: Accelerator, last_batch: bool) -> None:
    """Call before the batch's ``accumulate``; on the epoch's last batch, that call then syncs and steps.

    Args:
        accelerator: The run's accelerator.
        last_batch: Whether the coming batch is the last of its epoch.
    """
    if last_batch:
        # accumulate() increments the counter first and syncs when it is a multiple of the accumulation steps.
        accelerator.step = accelerator.gradient_accumulation_steps - 1


def steps_in_epochs(batches_per_epoch: list[int], accumulation_steps: int) -> int:
    """Optimizer steps of epochs of the given batch counts, each ending with a step."""
    return sum(math.ceil(batches / accumulation_steps) for batches in batches_per_epoch)
