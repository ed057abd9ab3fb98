"""Task heads: sentence-transformers modules that add a task's logits to the features dict.

``HEAD_TYPES`` is the one registry of head classes, by ``kind`` (the name a training config uses). A new task
type is one file in this package and one entry here.

Names are imported on first use, so the package's light modules (:mod:`stmtl.heads.validation`) load without
torch, as the ONNX runner needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stmtl.decoding.text_batch import TextBatch
    from stmtl.heads.base import TaskHead
    from stmtl.heads.multilabel_classification import MultiLabelClassificationHead
    from stmtl.heads.sentence_classification import SentenceClassificationHead
    from stmtl.heads.token_classification import TokenClassificationHead

_LAZY = {
    "TaskHead": "stmtl.heads.base",
    "TextBatch": "stmtl.decoding.text_batch",
    "SentenceClassificationHead": "stmtl.heads.sentence_classification",
    "TokenClassificationHead": "stmtl.heads.token_classification",
    "MultiLabelClassificationHead": "stmtl.heads.multilabel_classification",
}
_HEAD_CLASSES = ("SentenceClassificationHead", "TokenClassificationHead", "MultiLabelClassificationHead")

__all__ = [
    "HEAD_TYPES",
    "MultiLabelClassificationHead",
    "SentenceClassificationHead",
    "TaskHead",
    "TextBatch",
    "TokenClassificationHead",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name == "HEAD_TYPES":
        value = {cls.kind: cls for cls in (__getattr__(class_name) for class_name in _HEAD_CLASSES)}
    else:
        raise AttributeError(f"module 'stmtl.heads' has no attribute {name!r}")
    globals()[name] = value  # later lookups find it at once
    return value


def __dir__() -> list[str]:
    return sorted({*__all__, *(name for name in globals() if name.startswith("__"))})
