"""Which parameters train: freeze policies and ULMFiT-style gradual unfreezing of the encoder."""

from __future__ import annotations

import re
from typing import Any

from sentence_transformers import SentenceTransformer
from torch import nn

from stmtl.config import ConfigError
from stmtl.model import MultiTaskSentenceTransformer

_LAYERS = re.compile(r"^layers:(\d+)(?:-(\d+))?$")
POLICY_HELP = "none, all, backbone, embeddings, layers:A-B, layers:N, head:<task>, or a comma-separated combination"


def _auto_model(model: SentenceTransformer) -> nn.Module:
    """The Hugging Face model inside the first (``Transformer``) module."""
    auto_model = getattr(model[0], "auto_model", None)
    if not isinstance(auto_model, nn.Module):
        raise ValueError(f"model[0] is a {type(model[0]).__name__} without an auto_model: expected a Transformer")
    return auto_model


def encoder_layers(model: SentenceTransformer) -> list[nn.Module]:
    """The transformer blocks of the encoder, bottom to top.

    Found generically as the ``nn.ModuleList`` of same-class children holding the most parameters (BERT
    ``encoder.layer``, DistilBERT ``transformer.layer``, MPNet, RoBERTa, ...). Ranking by parameter count rather than
    length keeps lists nested inside a block (e.g. mixture-of-experts) from winning over the block stack.

    Args:
        model: A sentence-transformers model whose ``model[0]`` is a ``Transformer``.

    Returns:
        The blocks, index 0 = bottom (closest to the embeddings).

    Raises:
        ValueError: If the encoder has no such ``nn.ModuleList``.
    """
    auto_model = _auto_model(model)
    candidates = [
        module
        for module in auto_model.modules()
        if isinstance(module, nn.ModuleList) and len(module) > 0 and len({type(child) for child in module}) == 1
    ]
    if not candidates:
        raise ValueError(
            f"found no stack of transformer layers (an nn.ModuleList of same-class blocks) in "
            f"{type(auto_model).__name__}"
        )
    best = max(candidates, key=lambda module: (sum(p.numel() for p in module.parameters()), len(module)))
    return list(best)


def embedding_module(model: SentenceTransformer) -> nn.Module:
    """The encoder's embedding module: ``auto_model.embeddings`` (word + position + LayerNorm for BERT) if present,
    else the input embeddings."""
    auto_model = _auto_model(model)
    embeddings = getattr(auto_model, "embeddings", None)
    if isinstance(embeddings, nn.Module):
        return embeddings
    return auto_model.get_input_embeddings()


def _selected(model: MultiTaskSentenceTransformer, policy: str) -> set[int]:
    """Ids of the parameters that ``policy`` freezes; raises ValueError naming the policy on any problem."""
    every = {id(p) for p in model.parameters()}
    heads = model.heads
    frozen: set[int] = set()
    for part in (part.strip() for part in policy.split(",")):
        if part == "none":
            continue
        if part == "all":
            frozen |= every
        elif part == "backbone":
            frozen |= {id(p) for module in model.shared_modules for p in module.parameters()}
        elif part == "embeddings":
            frozen |= {id(p) for p in embedding_module(model).parameters()}
        elif part.startswith("head:"):
            task = part[len("head:") :]
            if task not in heads:
                raise ValueError(f"freeze policy {policy!r}: unknown task {task!r}, the model has {sorted(heads)}")
            frozen |= {id(p) for p in heads[task].parameters()}
        elif match := _LAYERS.match(part):
            layers = encoder_layers(model)
            low = int(match.group(1))
            high = int(match.group(2)) if match.group(2) is not None else low
            if low > high or high >= len(layers):
                raise ValueError(
                    f"freeze policy {policy!r}: layers {low}-{high} out of range, the encoder has {len(layers)} "
                    f"layers (0-{len(layers) - 1}, 0 = bottom)"
                )
            frozen |= {id(p) for layer in layers[low : high + 1] for p in layer.parameters()}
        else:
            raise ValueError(f"freeze policy {policy!r}: cannot parse {part!r}; expected {POLICY_HELP}")
    return frozen


def apply_freeze(model: MultiTaskSentenceTransformer, policy: str) -> list[str]:
    """Freeze the parameters named by ``policy`` (``requires_grad=False``); every other parameter is made trainable,
    except the source encoder's weights under a task adapter, which stay frozen.

    Policies: ``none``; ``backbone`` (every parameter outside the task heads); ``embeddings``; ``layers:A-B``
    (encoder layers A..B inclusive, 0 = bottom) or ``layers:N``; ``head:<task>``; ``all``. Each one freezes exactly
    what it names: ``layers:0-3`` leaves the embeddings trainable, so give combinations as a comma-separated list,
    e.g. ``embeddings,layers:0-3`` or ``backbone,head:intent``.

    Args:
        model: A (multi-task) sentence-transformers model.
        policy: The policy string.

    Returns:
        Names (as in ``model.named_parameters()``) of the frozen parameters, in model order.

    Raises:
        ValueError: On bad syntax, an unknown task or an out-of-range layer (one line naming the policy), or when
            the policy leaves nothing to train (``all`` included); the model is left unchanged then.
    """
    if not isinstance(policy, str) or not policy.strip():
        raise ValueError(f"freeze policy {policy!r}: empty; expected {POLICY_HELP}")
    frozen = _selected(model, policy)
    named = list(model.named_parameters())
    if all(id(p) in frozen for _, p in named):
        raise ValueError(
            f"freeze policy {policy!r} leaves nothing to train: a fully frozen network is only used for inference "
            "or feature extraction (model.encode / model.predict) and needs no training; freeze less, or skip training"
        )
    # A task adapter holds the source encoder's own weights frozen (encode() stays the source model's): they stay so.
    adapter = getattr(model, "task_adapter", None)
    held = {id(p) for p in model[0].parameters()} - {id(p) for p in adapter.parameters()} if adapter else set()
    for _, parameter in named:
        parameter.requires_grad_(id(parameter) not in frozen | held)
    return [name for name, parameter in named if id(parameter) in frozen]


def loss_tasks(model: MultiTaskSentenceTransformer, streams: list[Any], frozen_head_loss: str) -> dict[int, list[str]]:
    """Per stream (by ``id``), the tasks whose losses train the model.

    A head frozen by ``head:<task>`` keeps its loss by default (``"keep"``): its weights stay fixed and the encoder
    learns to keep serving them, which is what holds the frozen task's accuracy while other tasks move the encoder.
    Under ``"drop"`` its loss is not computed: the task is only evaluated, and its accuracy follows the encoder.

    Raises:
        ConfigError: If dropping the frozen heads' losses leaves a stream with no loss at all.
    """
    out = {}
    for stream in streams:
        tasks = list(stream.tasks)
        if frozen_head_loss == "drop":
            tasks = [task for task in tasks if any(p.requires_grad for p in model.heads[task].parameters())]
            if not tasks:
                raise ConfigError(
                    f"frozen_head_loss 'drop': the training data of {'+'.join(stream.tasks)} has only frozen heads, "
                    "so it would train nothing; keep their loss, or unfreeze a head"
                )
        out[id(stream)] = tasks
    return out


class GradualUnfreezer:
    """ULMFiT-style gradual unfreezing of the encoder, from the top down.

    At step 0 the heads, the top encoder layer and any encoder parameter outside the layers and embeddings (e.g. a
    pooler or final norm, which sit above the layers) train; every ``every_n_steps`` optimizer steps one more layer
    below is unfrozen, and after the bottom layer the embeddings. Training the new heads first on a fixed encoder
    keeps their large, random early gradients from wrecking the pretrained lower layers.

    Parameters keep ``requires_grad=True``: call :meth:`drop_frozen_grads` between ``backward()`` and
    ``optimizer.step()``, which sets ``grad = None`` on the still-frozen ones. This works under
    DistributedDataParallel, where ``requires_grad`` must not change after wrapping, and AdamW skips parameters
    whose grad is ``None`` (no update, no weight decay, no state), so they stay bit-identical until unfrozen.

    Args:
        model: A sentence-transformers model whose ``model[0]`` is a ``Transformer``.
        every_n_steps: Optimizer steps between two unfreezing stages.

    Raises:
        ValueError: If ``every_n_steps`` is not positive or the encoder has no layer stack.
    """

    def __init__(self, model: SentenceTransformer, every_n_steps: int) -> None:
        if not isinstance(every_n_steps, int) or every_n_steps <= 0:
            raise ValueError(f"every_n_steps must be a positive integer, got {every_n_steps!r}")
        self.every_n_steps = every_n_steps
        self.layers = [list(layer.parameters()) for layer in encoder_layers(model)]
        self.embeddings = list(embedding_module(model).parameters())

    def num_unfrozen_layers(self, step: int) -> int:
        """How many encoder layers (counted from the top) train at optimizer step ``step`` (0-based)."""
        return min(len(self.layers), 1 + step // self.every_n_steps)

    def embeddings_unfrozen(self, step: int) -> bool:
        """Whether the embeddings train at ``step``: one stage after the bottom layer was unfrozen."""
        return step // self.every_n_steps >= len(self.layers)

    def frozen_parameters(self, step: int) -> list[nn.Parameter]:
        """The parameters still frozen at optimizer step ``step``: lower layers, then the embeddings."""
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        still_frozen = len(self.layers) - self.num_unfrozen_layers(step)
        frozen = [p for layer in self.layers[:still_frozen] for p in layer]
        return frozen if self.embeddings_unfrozen(step) else frozen + self.embeddings

    def drop_frozen_grads(self, step: int) -> None:
        """Set ``grad = None`` on every parameter still frozen at ``step``; call after backward, before step."""
        for parameter in self.frozen_parameters(step):
            parameter.grad = None
