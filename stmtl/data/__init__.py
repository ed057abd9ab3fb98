"""Dataset readers: joint SNIPS/ATIS folders, JSON Lines, CSV/TSV and CoNLL files, returning ``datasets.Dataset``."""

from __future__ import annotations

from stmtl.bio import validate_tag
from stmtl.data.conll import read_conll
from stmtl.data.delimited import read_delimited
from stmtl.data.errors import DataError
from stmtl.data.joint_folder import is_joint_folder, read_joint_folder
from stmtl.data.jsonl import read_jsonl
from stmtl.data.lines import read_lines
from stmtl.data.sources import read_task_data

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
