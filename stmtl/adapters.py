"""Task adapters: low-rank adapters (LoRA, through ``peft``) on the shared encoder that only the task heads see.

In adapter mode the source encoder's weights never change. LoRA layers wrap its attention and feed-forward
projections; the heads read the features of the adapted encoder, while ``encode()`` runs with the adapters
switched off and returns the source model's embeddings bit for bit: a disabled ``peft`` LoRA layer calls the
wrapped ``nn.Linear`` exactly as the unwrapped model does. A user's vector index stays valid however long the heads
train.

Saving keeps the sentence-transformers promise: the encoder is written with the LoRA wrappers taken out
(:func:`bare_encoder`), so its folder is the source model's and plain ``SentenceTransformer(path)`` loads exactly
the source encoder; the adapter goes into its own folder (:data:`ADAPTER_FOLDER`: ``adapter_config.json`` +
``adapter_model.safetensors``), which only stmtl reads. ``peft``'s own layout (adapter files at the model root)
is avoided on purpose: sentence-transformers would load it as part of the encoder.

Switching the adapters off is a property of the encoder's layers, so a model with an adapter guards every forward
pass with one lock (:attr:`TaskAdapter.lock`): a thread's ``encode`` never sees another thread's adapted pass.

Inference does not need the LoRA layers' extra matrix products: :meth:`TaskAdapter.merged` gives a copy of the
encoder whose adapted projections hold ``W + (alpha / rank) * B @ A`` (the other weights shared, not copied), rebuilt
only when the adapter's weights change. ``predict`` runs the heads on it, so its adapted pass costs what a plain
``encode`` pass costs.
"""

from __future__ import annotations

import copy
import json
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch is imported where it is used: the config (and so the CLI) reads this module's constants
    import torch
    from torch import nn

ADAPTER_NAME = "tasks"
"""The adapter's name inside ``peft``'s layers."""
ADAPTER_FOLDER = "task_adapter"
"""Where a saved model keeps its adapter, beside the heads' folders."""
CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapter_model.safetensors"
DEFAULT_TARGETS = ("query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense")
"""Every linear projection of a BERT layer: attention (query, key, value, output) and feed-forward (in, out)."""
MAX_RANK = 1024


@dataclass
class AdapterConfig:
    """What a task adapter is: its saved config (``adapter_config.json``).

    Args:
        rank: LoRA rank ``r`` of every adapted projection.
        alpha: LoRA scaling numerator: the update is ``(alpha / rank) * B @ A``; ``None`` gives ``2 * rank``.
        dropout: Dropout on the adapter's input in training.
        targets: Names (suffixes) of the encoder's ``nn.Linear`` modules to adapt.
    """

    rank: int = 8
    alpha: float | None = None
    dropout: float = 0.1
    targets: list[str] = field(default_factory=lambda: list(DEFAULT_TARGETS))

    def __post_init__(self) -> None:
        if isinstance(self.rank, bool) or not isinstance(self.rank, int) or not 1 <= self.rank <= MAX_RANK:
            raise ValueError(f"adapter rank must be an integer from 1 to {MAX_RANK}, got {self.rank!r}")
        if self.alpha is None:
            self.alpha = float(2 * self.rank)
        if isinstance(self.alpha, bool) or not isinstance(self.alpha, (int, float)) or not self.alpha > 0:
            raise ValueError(f"adapter alpha must be a positive number, got {self.alpha!r}")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            raise ValueError(f"adapter dropout must be a number in [0, 1), got {self.dropout!r}")
        targets = self.targets
        if not isinstance(targets, list) or not targets or not all(isinstance(t, str) and t for t in targets):
            raise ValueError(f"adapter targets must be a non-empty list of module names, got {targets!r}")

    @classmethod
    def from_dict(cls, values: Any, source: str) -> AdapterConfig:
        """A config from parsed JSON, every key checked; ``source`` names the file in errors."""
        if not isinstance(values, dict):
            raise ValueError(f"{source}: must be a JSON object")
        unknown = sorted(set(values) - {"rank", "alpha", "dropout", "targets"})
        if unknown:
            raise ValueError(f"{source}: unknown key {unknown[0]!r} (valid keys: rank, alpha, dropout, targets)")
        try:
            return cls(**values)
        except ValueError as error:
            raise ValueError(f"{source}: {error}") from None


class TaskAdapter:
    """The LoRA layers put into one encoder (``Transformer.auto_model``), and the switch between the two encoders.

    Args:
        auto_model: The Hugging Face model inside the ``Transformer`` module; its weights are frozen here.
        config: Rank, scaling, dropout and target modules.

    Raises:
        ValueError: If no module of ``auto_model`` matches ``config.targets``.
    """

    def __init__(self, auto_model: nn.Module, config: AdapterConfig) -> None:
        from peft import LoraConfig, inject_adapter_in_model

        self.config = config
        self.lock = threading.RLock()
        for parameter in auto_model.parameters():
            parameter.requires_grad_(False)
        lora = LoraConfig(
            r=config.rank, lora_alpha=config.alpha, lora_dropout=config.dropout, target_modules=list(config.targets)
        )
        try:
            inject_adapter_in_model(lora, auto_model, adapter_name=ADAPTER_NAME)
        except ValueError as error:
            raise ValueError(f"task adapter: {str(error).splitlines()[0]}") from None
        self.auto_model = auto_model
        self.layers = wrapped_layers(auto_model)
        if config.dropout > 0:  # the same dropout as peft's nn.Dropout, with a cheaper mask (stmtl.uniform_dropout)
            from stmtl.uniform_dropout import UniformDropout

            for _, _, layer in self.layers:
                layer.lora_dropout[ADAPTER_NAME] = UniformDropout(config.dropout)
        for name, parameter in auto_model.named_parameters():
            parameter.requires_grad_("lora_" in name)

    def parameters(self) -> list[nn.Parameter]:
        """The adapter's own parameters (the only trainable ones of the encoder)."""
        return [p for name, p in self.auto_model.named_parameters() if "lora_" in name]

    def num_parameters(self) -> int:
        return sum(parameter.numel() for parameter in self.parameters())

    @contextmanager
    def disabled(self) -> Iterator[None]:
        """Run the source encoder: every LoRA layer calls only its wrapped ``nn.Linear`` (hold :attr:`lock`)."""
        with self.lock:
            for _, _, layer in self.layers:
                layer.enable_adapters(False)
            try:
                yield
            finally:
                for _, _, layer in self.layers:
                    layer.enable_adapters(True)

    @contextmanager
    def removed(self) -> Iterator[None]:
        """Take the LoRA wrappers out of the encoder (its modules are then the source model's), put them back after.

        Used to save the encoder: its state dict then has the source model's keys and nothing of the adapter.
        """
        with self.lock:
            for parent, name, layer in self.layers:
                setattr(parent, name, layer.base_layer)
            try:
                yield
            finally:
                for parent, name, layer in self.layers:
                    setattr(parent, name, layer)

    def merged(self, transformer: nn.Module) -> nn.Module:
        """A copy of ``transformer`` (the ``Transformer`` module whose ``auto_model`` holds this adapter) with LoRA
        merged into its projections: the adapted encoder for inference, without the adapter's extra products.

        Parameters that the adapter does not touch are shared with ``transformer``; the merged projections are new
        tensors. The copy is cached and rebuilt when the adapter's or the encoder's weights changed since (their
        tensors' version counters), so training and inference can alternate. It carries no gradient.
        """
        import torch

        parameters = [p for _, _, layer in self.layers for p in layer.parameters()]
        version = tuple(p._version for p in parameters) + tuple(p.data_ptr() for p in parameters)
        with self.lock:
            cached = getattr(self, "_merged", None)
            if cached is not None and cached[0] == version and cached[1] is transformer:
                return cached[2]
            shared = {id(p): p for p in transformer.parameters()}
            copied = copy.deepcopy(transformer, memo=shared)  # new modules, the same parameter tensors
            with torch.no_grad():
                for parent, name, layer in wrapped_layers(copied):
                    parent._modules[name] = _merged_linear(layer)
            self._merged = (version, transformer, copied)
            return copied

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The adapter's weights by their name in ``auto_model``."""
        return {name: p.detach().contiguous() for name, p in self.auto_model.named_parameters() if "lora_" in name}

    def save(self, folder: str | os.PathLike) -> None:
        """Write ``adapter_config.json`` and ``adapter_model.safetensors`` into ``folder``."""
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / CONFIG_FILE).write_text(json.dumps(asdict(self.config), indent=2) + "\n", encoding="utf-8")
        save_file({name: tensor.cpu() for name, tensor in self.state_dict().items()}, str(folder / WEIGHTS_FILE))

    def load_weights(self, path: str | os.PathLike) -> None:
        """Read adapter weights saved by :meth:`save` (:meth:`load_state_dict` checks them).

        Raises:
            ValueError: Naming the file, if it is unreadable, misses a weight, has an extra one, a wrong shape or a
                non-finite value.
        """
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            saved = load_file(str(path))
        except (SafetensorError, OSError) as error:
            raise ValueError(f"{path}: unreadable adapter weights ({str(error).splitlines()[0]})") from None
        try:
            self.load_state_dict(saved)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Copy adapter weights (as :meth:`state_dict` names them) into this adapter; names and shapes must match.

        Raises:
            ValueError: If a weight is missing, extra, of another shape or not finite.
        """
        import torch

        own = dict(self.auto_model.named_parameters())
        expected = {name for name in own if "lora_" in name}
        if missing := sorted(expected - set(state)):
            raise ValueError(f"adapter weight {missing[0]!r} is missing ({len(missing)} in all)")
        if extra := sorted(set(state) - expected):
            raise ValueError(f"unexpected adapter weight {extra[0]!r} (saved with other targets?)")
        for name, tensor in state.items():
            if tensor.shape != own[name].shape:
                raise ValueError(
                    f"adapter weight {name!r} has shape {tuple(tensor.shape)}, the adapter expects "
                    f"{tuple(own[name].shape)}"
                )
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                raise ValueError(f"adapter weight {name!r} holds NaN or infinite values")
        with torch.no_grad():
            for name, tensor in state.items():
                own[name].copy_(tensor)


def _merged_linear(layer: nn.Module) -> nn.Module:
    """A plain ``nn.Linear`` computing what the LoRA ``layer`` computes with its adapter on: ``W + s * B @ A``."""
    import torch

    base = layer.base_layer
    delta = layer.get_delta_weight(ADAPTER_NAME)  # (out_features, in_features), already scaled
    merged = torch.nn.Linear(base.in_features, base.out_features, bias=base.bias is not None)
    merged = merged.to(device=base.weight.device, dtype=base.weight.dtype)
    merged.weight.copy_(base.weight + delta.to(base.weight.dtype))
    if base.bias is not None:
        merged.bias = base.bias  # shared: the adapter does not change it
    return merged


def wrapped_layers(auto_model: nn.Module) -> list[tuple[nn.Module, str, nn.Module]]:
    """Every LoRA layer of ``auto_model`` as ``(parent module, attribute name, layer)``."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    found = []
    for parent in auto_model.modules():
        for name, child in parent.named_children():
            if isinstance(child, BaseTunerLayer):
                found.append((parent, name, child))
    return found


def read_adapter_config(folder: str | os.PathLike) -> AdapterConfig:
    """The checked ``adapter_config.json`` of a saved adapter folder.

    Raises:
        FileNotFoundError: If the config or the weights are missing.
        ValueError: Naming the file, if the config is not valid JSON or a value is wrong.
    """
    folder = Path(folder)
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder / name}: missing file of the task adapter")
    try:
        values = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ValueError(f"{folder / CONFIG_FILE}: not valid JSON ({str(error).splitlines()[0]})") from None
    return AdapterConfig.from_dict(values, str(folder / CONFIG_FILE))


def targets_of(value: str | Sequence[str] | None) -> list[str]:
    """Adapter targets from a comma-separated string (the CLI's form), a list, or ``None`` (the defaults)."""
    if value is None:
        return list(DEFAULT_TARGETS)
    items = value.split(",") if isinstance(value, str) else list(value)
    return [item.strip() for item in items if item.strip()]
