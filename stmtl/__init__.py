"""stmtl: one shared sentence-transformers encoder, several task heads, one forward pass.

Public names are imported lazily, so ``python -m stmtl --help`` starts without importing torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "MultiTaskSentenceTransformer": "stmtl.model",
    "build": "stmtl.builder",
    "load": "stmtl.loading",
    "default_backbone": "stmtl.backbone",
    "SentenceClassificationHead": "stmtl.heads",
    "TokenClassificationHead": "stmtl.heads",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name == "heads":
        return importlib.import_module("stmtl.heads")
    raise AttributeError(f"module 'stmtl' has no attribute {name!r}")
