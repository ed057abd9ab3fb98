"""stmtl: one shared sentence-transformers encoder, several task heads, one forward pass.

Public names are imported lazily, so ``python -m stmtl --help`` starts without importing torch; ``dir(stmtl)``
lists them all the same.

Example:
    >>> import stmtl
    >>> config = stmtl.TrainConfig(output_dir="runs/mine", tasks=[stmtl.TaskConfig("intent", "sentence", "a.jsonl")])
    >>> model, results = stmtl.train(config)

A model (from ``train``, :func:`load` or :func:`build`) is a :class:`MultiTaskSentenceTransformer`:

- ``model.encode(texts)``: the encoder's sentence embeddings, as sentence-transformers gives them;
- ``model.predict(texts)`` (``iter_predict`` for a stream): per text, each task's label and score, or its entities;
- ``model.heads``: a dict of task name to head (a :class:`TaskHead`), in model order, e.g.
  ``model.heads["intent"].labels``. Each head has ``task``, ``kind`` (``"sentence"``, ``"token"``,
  ``"multilabel"``, or a kind registered with :func:`register_head`), a classification head its ``labels`` (in the
  order of its logits, ``encode(output_value=f"{task}_logits")``), and its decision settings (``prior_weight`` of a
  sentence head, ``threshold`` of a multi-label head). The dict is built on each access: adding or removing entries
  does not change the model (``model.append(head)`` adds a head).

A head kind defined outside stmtl (a ``TaskHead`` subclass) is registered with ``stmtl.register_head(cls)`` (or as
a decorator) before training or loading a model that has one.

For deployment, ``stmtl.export_onnx(folder, quantize="int8")`` writes a saved model's ONNX graphs into
``folder/onnx``, and ``stmtl.load(folder, backend="onnx-int8")`` (or ``"onnx"``) runs them without torch, with the
same ``predict``, ``iter_predict`` and ``encode``.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "MultiTaskSentenceTransformer": "stmtl.model",
    "build": "stmtl.builder",
    "load": "stmtl.loading",
    "export_onnx": "stmtl.onnx.export",
    "default_backbone": "stmtl.backbone",
    "train": "stmtl.training.run",
    "TrainConfig": "stmtl.config",
    "TaskConfig": "stmtl.config",
    "TaskHead": "stmtl.heads",
    "register_head": "stmtl.heads.registry",
}


def _head_class_names() -> list[str]:
    # The class of every builtin kind, by name, from the registry's constants (no torch): stmtl.<Name>.
    from stmtl.heads.registry import head_class_names

    return head_class_names()


__all__ = ["__version__", *_LAZY, *_head_class_names()]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name == "heads":
        return importlib.import_module("stmtl.heads")
    if name.endswith("Head"):  # a registered kind's class
        try:
            return getattr(importlib.import_module("stmtl.heads"), name)
        except AttributeError:
            pass
    raise AttributeError(f"module 'stmtl' has no attribute {name!r}")


def __dir__() -> list[str]:
    # The public names and the module's dunders; not the helpers imported above or the submodules loaded so far.
    return sorted({*__all__, "heads", *(name for name in globals() if name.startswith("__"))})
