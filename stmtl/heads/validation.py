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
RESERVED_TASK_NAMES = frozenset({"sentence_embedding", "token_embeddings", "embedding", "text"})
_TASK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class HeadConfigError(ValueError):
    """A head config value is wrong; ``key`` names it and the message says why."""

    def __init__(self, key: str, message: str) -> None:
        self.key, self.message = key, message
        super().__init__(f"key {key!r}: {message}")


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_task(value: Any) -> None:
    if not isinstance(value, str) or not _TASK_NAME.match(value) or value in RESERVED_TASK_NAMES:
        raise HeadConfigError("task", f"{value!r} must be an identifier (letters, digits, _) and not reserved")


def check_labels(value: Any) -> None:
    """A classification head's labels: 1 to :data:`MAX_LABELS` distinct strings."""
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
    if not is_int(value) or not 1 <= value <= MAX_FEATURES:
        raise HeadConfigError(key, f"must be an integer from 1 to {MAX_FEATURES:,}, got {value!r}")


def _check_dropout(value: Any) -> None:
    if not is_number(value) or not 0.0 <= value < 1.0:
        raise HeadConfigError("dropout", f"must be a number in [0, 1), got {value!r}")


def _check_input_name(value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not value):
        raise HeadConfigError("module_input_name", f"must be a feature name or null, got {value!r}")


def check_flag(key: str) -> Callable[[Any], None]:
    """The check of a true/false key."""

    def check(value: Any) -> None:
        if not isinstance(value, bool):
            raise HeadConfigError(key, f"must be true or false, got {value!r}")

    return check


CHECKS: dict[str, Callable[[Any], None]] = {
    "task": _check_task,
    "in_features": lambda value: _check_size("in_features", value),
    "dropout": _check_dropout,
    "hidden_features": lambda value: _check_size("hidden_features", value, optional=True),
    "module_input_name": _check_input_name,
}
"""The check of every key of :class:`~stmtl.heads.base.TaskHead`'s config (a kind adds its own)."""
REQUIRED = ("task", "in_features")
"""Keys every saved head config has; a kind may require more."""


def check_head_config(
    config: Mapping[str, Any],
    extra: Mapping[str, Callable[[Any], None]] | None = None,
    complete: bool = False,
    required: tuple[str, ...] = (),
) -> None:
    """Check a head's config values and its parameter count.

    Args:
        config: The values, e.g. a parsed ``config.json`` or a constructor's arguments.
        extra: Checks of a kind's own keys (e.g. ``labels``, ``threshold``).
        complete: ``config`` is a whole saved config: refuse unknown keys and require :data:`REQUIRED` and
            ``required``.
        required: Keys of the kind that a whole config must have (e.g. ``labels``).

    Raises:
        HeadConfigError: Naming the first wrong key.
    """
    checks = {**CHECKS, **(extra or {})}
    if complete:
        for key in config:
            if key not in checks:
                raise HeadConfigError(key, f"unknown key (valid keys: {', '.join(checks)})")
        for key in (*REQUIRED, *required):
            if key not in config:
                raise HeadConfigError(key, "missing")
    for key, value in config.items():
        checks[key](value)
    width = config.get("in_features", 1)
    hidden = config.get("hidden_features")
    outputs = len(config["labels"]) if "labels" in config else 1
    parameters = (width + 1) * hidden + (hidden + 1) * outputs if hidden else (width + 1) * outputs
    if parameters > MAX_PARAMETERS:
        key = "hidden_features" if hidden else "labels"
        raise HeadConfigError(key, f"the head would have {parameters:,} parameters, over {MAX_PARAMETERS:,}")
