"""How per-task losses add up: static weights, or learned uncertainty weighting (Kendall et al., 2018)."""

from __future__ import annotations

import torch
from torch import nn


class TaskWeighting(nn.Module):
    """Combine per-task losses into one training loss.

    ``static``: ``sum_t w_t * L_t`` with fixed weights. ``uncertainty``: each task learns a log-variance
    ``s_t`` and contributes ``exp(-s_t) * L_t + s_t / 2`` (the classification form of Kendall, Gal & Cipolla,
    "Multi-Task Learning Using Uncertainty to Weigh Losses", CVPR 2018): a task whose loss stays high is
    down-weighted, the ``s_t / 2`` term keeps the weights from collapsing to zero. Static weights still
    multiply each term. The ``s_t`` are trained with the heads' learning rate and kept in the training state,
    not in the saved model.

    Args:
        tasks: Task names.
        weights: Static weight per task (default 1).
        learned: Use uncertainty weighting.
    """

    def __init__(self, tasks: list[str], weights: dict[str, float] | None = None, learned: bool = False) -> None:
        super().__init__()
        self.tasks = list(tasks)
        self.static = {task: float((weights or {}).get(task, 1.0)) for task in self.tasks}
        self.learned = learned
        self.log_variance = nn.Parameter(torch.zeros(len(self.tasks)), requires_grad=learned)

    def forward(self, losses: dict[str, torch.Tensor]) -> torch.Tensor:
        """Total loss over the tasks present in ``losses``."""
        total = torch.zeros((), device=self.log_variance.device)
        for task, loss in losses.items():
            term = self.static[task] * loss
            if self.learned:
                s = self.log_variance[self.tasks.index(task)]
                term = torch.exp(-s) * term + 0.5 * s
            total = total + term
        return total

    def current_weights(self) -> dict[str, float]:
        """Effective weight of each task's loss (for logging)."""
        factors = torch.exp(-self.log_variance.detach()) if self.learned else torch.ones(len(self.tasks))
        return {task: self.static[task] * float(f) for task, f in zip(self.tasks, factors)}
