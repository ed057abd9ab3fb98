"""Gradient-conflict diagnostics: do the tasks pull the shared encoder in the same direction?"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import torch

from stmtl.training.features import MODEL_INPUTS, TaskSpec, collate


def task_gradient_cosines(
    model: Any, probes: dict[str, tuple[TaskSpec, list[dict[str, Any]]]], device: torch.device
) -> dict[str, float]:
    """Cosine between the tasks' loss gradients on the shared encoder parameters.

    Each task's gradient is taken on its fixed probe batch, in eval mode (no dropout, so no random numbers are
    drawn and a resumed run stays identical), with ``torch.autograd.grad``, which leaves ``.grad`` and DDP's
    hooks untouched. A negative cosine means the tasks' updates conflict on the encoder.

    Args:
        model: The unwrapped multi-task model.
        probes: Task name → (spec, rows of a probe batch).
        device: Where the model is.

    Returns:
        ``{"taskA/taskB": cosine}`` for every pair of tasks.
    """
    shared = [p for module in model.shared_modules for p in module.parameters() if p.requires_grad]
    if not shared:
        return {}
    was_training = model.training
    model.eval()
    gradients: dict[str, torch.Tensor] = {}
    for task, (spec, rows) in probes.items():
        batch = {k: v.to(device) for k, v in collate(rows, model.tokenizer, [spec]).items()}
        features = model({k: batch[k] for k in MODEL_INPUTS if k in batch})
        loss = model.heads[task].loss(features[f"{task}_logits"], batch[spec.column])
        grads = torch.autograd.grad(loss, shared, allow_unused=True)
        gradients[task] = torch.cat(
            [(g if g is not None else torch.zeros_like(p)).flatten() for g, p in zip(grads, shared)]
        )
    model.train(was_training)
    return {
        f"{a}/{b}": float(torch.nn.functional.cosine_similarity(gradients[a], gradients[b], dim=0))
        for a, b in combinations(gradients, 2)
    }
