"""Task heads: sentence-transformers modules that add a task's logits to the features dict, one folder per kind.

:mod:`stmtl.heads.registry` is the one registry of head kinds (``sentence``, ``token``, ``multilabel``, and any
registered with :func:`register_head`); ``HEAD_TYPES`` is a live view of it, kind → class. Adding a kind to the
package is one folder (``stmtl/heads/<kind>/``) and one line in :data:`stmtl.heads.registry.BUILTIN_KINDS`.

Names are imported on first use, so the package's light modules (the registry, :mod:`stmtl.heads.validation`,
every kind's ``decoding`` module) load without torch, as the ONNX runner needs them. A head class is found by its
name among the registered kinds (``stmtl.heads.SentenceClassificationHead``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stmtl.decoding.text_batch import TextBatch
    from stmtl.heads.base import TaskHead
    from stmtl.heads.classification import ClassificationHead
    from stmtl.heads.multilabel.head import MultiLabelClassificationHead
    from stmtl.heads.registry import register_head, unregister_head
    from stmtl.heads.sentence.head import SentenceClassificationHead
    from stmtl.heads.token.head import TokenClassificationHead

_LAZY = {
    "TaskHead": "stmtl.heads.base",
    "ClassificationHead": "stmtl.heads.classification",
    "TextBatch": "stmtl.decoding.text_batch",
    "register_head": "stmtl.heads.registry",
    "unregister_head": "stmtl.heads.registry",
}

__all__ = [
    "HEAD_TYPES",
    "ClassificationHead",
    "MultiLabelClassificationHead",
    "SentenceClassificationHead",
    "TaskHead",
    "TextBatch",
    "TokenClassificationHead",
    "register_head",
    "unregister_head",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later lookups find it at once
        return value
    if name == "HEAD_TYPES":
        return importlib.import_module("stmtl.heads.registry").HeadTypes()
    if name.endswith("Head"):  # a registered kind's class (subpackages and modules are never looked up here)
        for cls in importlib.import_module("stmtl.heads.registry").head_types().values():
            if cls.__name__ == name:
                return cls
    raise AttributeError(f"module 'stmtl.heads' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*__all__, *(name for name in globals() if name.startswith("__"))})
