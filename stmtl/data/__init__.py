"""Dataset readers: joint SNIPS/ATIS folders, JSON Lines, CSV/TSV files, and the formats head kinds bring (CoNLL
files, the token kind's), returning ``datasets.Dataset``; which columns a file may have, the registered kinds say
(:mod:`stmtl.data.layout`).

Names are imported on first use, so the light modules (:mod:`stmtl.data.lines`, :mod:`stmtl.data.errors`) load
without ``datasets``: ``stmtl predict --backend onnx`` reads its input lines in a process without it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stmtl.data.delimited import read_delimited
    from stmtl.data.errors import DataError
    from stmtl.data.joint_folder import is_joint_folder, read_joint_folder
    from stmtl.data.jsonl import read_jsonl
    from stmtl.data.lines import read_lines
    from stmtl.data.sources import read_task_data
    from stmtl.heads.token.bio import validate_tag
    from stmtl.heads.token.conll import read_conll

_LAZY = {
    "DataError": "stmtl.data.errors",
    "is_joint_folder": "stmtl.data.joint_folder",
    "read_conll": "stmtl.heads.token.conll",
    "read_delimited": "stmtl.data.delimited",
    "read_joint_folder": "stmtl.data.joint_folder",
    "read_jsonl": "stmtl.data.jsonl",
    "read_lines": "stmtl.data.lines",
    "read_task_data": "stmtl.data.sources",
    "validate_tag": "stmtl.heads.token.bio",
}

__all__ = [
    "DataError",
    "is_joint_folder",
    "read_conll",
    "read_delimited",
    "read_joint_folder",
    "read_jsonl",
    "read_lines",
    "read_task_data",
    "validate_tag",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'stmtl.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*__all__, *(name for name in globals() if name.startswith("__"))})
