"""Checks of a head's config values, before any layer is allocated: types, distinct string labels, size caps.

A head's ``config.json`` is data read from disk: a string where a list belongs, a number written as text or a
size of ``1e12`` must end in one error naming the key, never in a deep ``TypeError`` or a huge allocation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

MAX_LABELS = 100_000
"""Most labels a head may have."""
MAX_FEATURES = 65_536
"""Largest ``in_features`` and ``hidden_features``."""
MAX_PARAMETERS = 100_000_000
"""Most parameters a head may have (400 MB in float32)."""
RESERVED_TASK_NAMES = frozenset({"sentence_embedding", "token_embeddings", "embedding"})
_TASK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class HeadConfigError(ValueError):
    """A head config value is wrong; ``key`` names it and the message says why."""

    def __init__(self, key: str, message: str) -> None:
        self.key, self.message = key, message
        super().__init__(f"key {key!r}: {message}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_task(value: Any) -> None:
    if not isinstance(value, str) or not _TASK_NAME.match(value) or value in RESERVED_TASK_NAMES:
        raise HeadConfigError("task", f"{value!r} must be an identifier (letters, digits, _) and not reserved")


def _check_labels(value: Any) -> None:
    if not isinstance(value, (list, tuple)):
        raise HeadConfigError("labels", f"must be a list of strings, got {type(value).__name__}")
    if not 1 <= len(value) <= MAX_LABELS:
        raise HeadConfigError("labels", f"must hold 1 to {MAX_LABELS:,} labels, got {len(value):,}")
    wrong = next((label for label in value if not isinstance(label, str)), None)
    if wrong is not None:
        raise HeadConfigError("labels", f"must be strings, got {wrong!r}")
    seen: set[str] = set()
    for label in value:
        if label in seen:
            raise HeadConfigError("labels", f"must be distinct, {label!r} is repeated")
        seen.add(label)


def _check_size(key: str, value: Any, optional: bool = False) -> None:
    if optional and value is None:
        return
    if not _is_int(value) or not 1 <= value <= MAX_FEATURES:
        raise HeadConfigError(key, f"must be an integer from 1 to {MAX_FEATURES:,}, got {value!r}")


def _check_dropout(value: Any) -> None:
    if not _is_number(value) or not 0.0 <= value < 1.0:
        raise HeadConfigError("dropout", f"must be a number in [0, 1), got {value!r}")


def _check_input_name(value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not value):
        raise HeadConfigError("module_input_name", f"must be a feature name or null, got {value!r}")


def check_threshold(value: Any) -> None:
    """A multi-label decision threshold: a number in (0, 1)."""
    if not _is_number(value) or not 0.0 < value < 1.0:
        raise HeadConfigError("threshold", f"must be a number in (0, 1), got {value!r}")


def check_prior(value: Any) -> None:
    """A label prior: ``null`` or a list of positive numbers summing to 1 (one per label)."""
    if value is None:
        return
    if not isinstance(value, (list, tuple)) or not value or not all(_is_number(v) and v > 0 for v in value):
        raise HeadConfigError("prior", f"must be null or a list of positive numbers, got {value!r}"[:200])
    if abs(sum(value) - 1.0) > 1e-4:
        raise HeadConfigError("prior", f"must sum to 1, got {sum(value):.6f}")


def check_prior_weight(value: Any) -> None:
    """τ, the weight of the log prior in a sentence head's decisions: a number in [0, 1]."""
    if not _is_number(value) or not 0.0 <= value <= 1.0:
        raise HeadConfigError("prior_weight", f"must be a number in [0, 1], got {value!r}")


CHECKS: dict[str, Callable[[Any], None]] = {
    "task": _check_task,
    "labels": _check_labels,
    "in_features": lambda value: _check_size("in_features", value),
    "dropout": _check_dropout,
    "hidden_features": lambda value: _check_size("hidden_features", value, optional=True),
    "module_input_name": _check_input_name,
}
"""The check of every key of :class:`~stmtl.heads.base.TaskHead`'s config."""
REQUIRED = ("task", "labels", "in_features")


def check_head_config(
    config: Mapping[str, Any], extra: Mapping[str, Callable[[Any], None]] | None = None, complete: bool = False
) -> None:
    """Check a head's config values and its parameter count.

    Args:
        config: The values, e.g. a parsed ``config.json`` or a constructor's arguments.
        extra: Checks of a head type's own keys (e.g. ``threshold``).
        complete: ``config`` is a whole saved config: refuse unknown keys and require the constructor's
            required ones.

    Raises:
        HeadConfigError: Naming the first wrong key.
    """
    checks = {**CHECKS, **(extra or {})}
    if complete:
        for key in config:
            if key not in checks:
                raise HeadConfigError(key, f"unknown key (valid keys: {', '.join(checks)})")
        for key in REQUIRED:
            if key not in config:
                raise HeadConfigError(key, "missing")
    for key, value in config.items():
        checks[key](value)
    width = config.get("in_features", 1)
    hidden = config.get("hidden_features")
    labels = len(config.get("labels", ()))
    parameters = (width + 1) * hidden + (hidden + 1) * labels if hidden else (width + 1) * labels
    if parameters > MAX_PARAMETERS:
        key = "hidden_features" if hidden else "labels"
        raise HeadConfigError(key, f"the head would have {parameters:,} parameters, over {MAX_PARAMETERS:,}")
