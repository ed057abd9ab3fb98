"""Writing JSON that every parser reads: no ``NaN``/``Infinity`` literals, and JSON Lines that stay one line.

Python's ``json`` writes ``NaN`` and ``Infinity`` by default, which strict parsers (``jq``, JavaScript, Rust's
serde) refuse. Every JSON stmtl writes goes through :func:`to_json`, which turns non-finite numbers into ``null``
and then serializes with ``allow_nan=False``.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import tempfile
from pathlib import Path
from typing import Any

_LINE_BREAKS = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}
"""Characters ``str.splitlines`` breaks on that ``json.dumps(ensure_ascii=False)`` leaves unescaped."""


def finite(value: Any) -> Any:
    """``value`` with every non-finite float (also NumPy's) inside dicts, lists and tuples replaced by ``None``."""
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral) and not math.isfinite(value):
        return None
    return value


def to_json(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` with non-finite numbers written as ``null``.

    Args:
        value: What to serialize.
        **kwargs: Passed to ``json.dumps`` (``indent``, ``default``, ``ensure_ascii``...).

    Returns:
        Strict JSON text.
    """
    import json

    default = kwargs.pop("default", None)
    if default is not None:
        kwargs["default"] = lambda item: finite(default(item))
    return json.dumps(finite(value), allow_nan=False, **kwargs)


def to_json_line(value: Any, **kwargs: Any) -> str:
    """:func:`to_json` on one line by any definition of a line: U+0085, U+2028 and U+2029 are escaped too."""
    text = to_json(value, **kwargs)
    for character, escape in _LINE_BREAKS.items():
        text = text.replace(character, escape)
    return text


def write_json(path: str | os.PathLike, value: Any, **kwargs: Any) -> None:
    """Write :func:`to_json` text to ``path`` atomically (a temporary sibling renamed over it), mode 0666 & ~umask.

    Args:
        path: The file to write.
        value: What to serialize.
        **kwargs: Passed to :func:`to_json`.
    """
    from stmtl.atomic import default_mode

    folder, name = os.path.split(os.path.abspath(os.fspath(path)))
    handle, temporary = tempfile.mkstemp(prefix=f".{name}.tmp-", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(to_json(value, **kwargs) + "\n")
        os.chmod(temporary, default_mode(directory=False))
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def read_metrics(path: str | Path) -> list[dict]:
    """Read a JSON Lines file such as a run's ``metrics.jsonl``.

    Args:
        path: Path to the JSON-lines file.

    Returns:
        The JSON objects in file order; blank, unparseable (e.g. truncated) and non-object lines are skipped.
    """
    records = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                records.append(record)
    return records
