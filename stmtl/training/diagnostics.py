"""Gradient diagnostics: do the tasks pull the shared encoder in the same direction, and what do they reach?"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import torch

from stmtl.features import task_losses


def task_gradient_cosines(model: Any, probes: dict[str, dict[str, list]], device: torch.device) -> dict[str, float]:
    """Cosine between the tasks' loss gradients on the shared encoder parameters.

    Each task's gradient is taken on its fixed probe batch, in eval mode (no dropout, so no random numbers are
    drawn and a resumed run stays identical), with ``torch.autograd.grad``, which leaves ``.grad`` and DDP's
    hooks untouched. A negative cosine means the tasks' updates conflict on the encoder.

    Args:
        model: The unwrapped multi-task model.
        probes: Task name → a probe batch of encoded rows (column → values) labelled for it.
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
    for task, rows in probes.items():
        losses, _ = task_losses(model, [model.heads[task]], rows, device)
        grads = torch.autograd.grad(losses[task], shared, allow_unused=True)
        gradients[task] = torch.cat(
            [(g if g is not None else torch.zeros_like(p)).flatten() for g, p in zip(grads, shared)]
        )
    model.train(was_training)
    return {
        f"{a}/{b}": float(torch.nn.functional.cosine_similarity(gradients[a], gradients[b], dim=0))
        for a, b in combinations(gradients, 2)
    }


def unreached_parameters(model: Any, streams: list[Any], device: torch.device, batch_size: int) -> dict[int, set]:
    """Per training stream, the trainable parameters that its tasks' losses do not reach.

    One probe batch per stream (its first ``batch_size`` rows), in eval mode so that no random numbers are drawn;
    ``torch.autograd.grad`` leaves ``.grad`` untouched.

    Args:
        model: The unwrapped multi-task model.
        streams: Training streams (:class:`stmtl.training.train_data.TrainStream`).
        device: Where the model is.
        batch_size: Rows of the probe batch.

    Returns:
        Stream index → ids of the parameters that get no gradient from that stream's batches.
    """
    trainable = [p for p in model.parameters() if p.requires_grad]
    was_training = model.training
    model.eval()
    unreached: dict[int, set] = {}
    for index, stream in enumerate(streams):
        probe = stream.probe(batch_size)
        losses, _ = task_losses(model, [model.heads[t] for t in stream.tasks], probe, device)
        total = sum(losses.values())
        if not total.requires_grad:  # this stream's head frozen on a frozen encoder
            unreached[index] = {id(p) for p in trainable}
            continue
        grads = torch.autograd.grad(total, trainable, allow_unused=True)
        unreached[index] = {id(p) for p, g in zip(trainable, grads) if g is None}
    model.train(was_training)
    return unreached


def stop_unreached_parameters(model: Any, streams: list[Any], device: torch.device, config: Any) -> bool:
    """Stop training the parameters no task's loss reaches; tell whether some batches skip some parameters.

    A parameter that no stream's loss reaches (e.g. BERT's pooler, which sentence-transformers never reads) gets
    ``requires_grad=False``: it would not change anyway. Parameters reached by some streams only (each head in
    ``interleave`` mode) are why DDP must look for unused parameters at every step.

    Args:
        model: The unwrapped multi-task model, freeze policy applied.
        streams: Training streams (:class:`stmtl.training.train_data.TrainStream`).
        device: Where the model is.
        config: The run's ``TrainConfig`` (batch size of the probes, freeze policy for the error message).

    Returns:
        Whether some stream's batches leave trainable parameters without a gradient.

    Raises:
        ValueError: If a stream's batches reach no trainable parameter at all (its task is frozen on a frozen
            encoder): its steps would train nothing.
    """
    unreached = unreached_parameters(model, streams, device, config.batch_size)
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    for index, ids in unreached.items():
        if ids >= trainable:
            raise ValueError(
                f"freeze policy {config.freeze!r} leaves the batches of task {'+'.join(streams[index].tasks)!r} "
                "nothing to train: freeze less, or train that task in joint mode with another"
            )
    never = set.intersection(*unreached.values())
    for parameter in model.parameters():
        if id(parameter) in never:
            parameter.requires_grad_(False)
    return any(ids - never for ids in unreached.values())
