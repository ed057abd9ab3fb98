"""Writing JSON that every parser reads (no ``NaN``/``Infinity`` literals, JSON Lines that stay one line), and
reading a model's JSON files with a nesting limit.

Python's ``json`` writes ``NaN`` and ``Infinity`` by default, which strict parsers (``jq``, JavaScript, Rust's
serde) refuse. Every JSON stmtl writes goes through :func:`to_json`, which turns non-finite numbers into ``null``
and then serializes with ``allow_nan=False``.

A model folder's JSON files are data from disk: :func:`read_json` refuses one nested deeper than
:data:`MAX_JSON_DEPTH` with one error naming the file, where ``json.loads`` alone would raise a ``RecursionError``
naming nothing (or accept a depth that a later reader, e.g. the tokenizers library's, refuses).
"""

from __future__ import annotations

import json
import math
import numbers
import os
import tempfile
from pathlib import Path
from typing import Any

MAX_JSON_DEPTH = 100
"""Deepest nesting of arrays and objects :func:`read_json` accepts (the tokenizers library stops at 128; model files
nest fewer than 20 levels)."""
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


def json_depth(value: Any) -> int:
    """How deeply arrays and objects nest in a parsed JSON value (a scalar: 0, ``[]``: 1), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def read_json(path: str | os.PathLike, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse a UTF-8 JSON file whose arrays and objects nest at most ``max_depth`` levels.

    Args:
        path: The file.
        max_depth: The deepest nesting accepted.

    Returns:
        The parsed value.

    Raises:
        OSError: If the file cannot be read.
        ValueError: One line naming the file, if it is not UTF-8 JSON or nests too deeply.
    """
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except RecursionError:  # the parser's own stack ran out: far deeper than any limit
        raise ValueError(f"{os.fspath(path)}: JSON nested more than {max_depth} levels deep") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{os.fspath(path)}: not valid JSON ({error})") from None
    if json_depth(value) > max_depth:
        raise ValueError(f"{os.fspath(path)}: JSON nested more than {max_depth} levels deep")
    return value


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
