"""Reader for JSON Lines files: one JSON object per line, carrying sentence and/or token labels.

A row carries ``{"text", "label"}`` for a sentence task, ``{"text", "labels": [...]}`` for a multi-label task,
``{"tokens", "tags"}`` for a token task, or several of these key sets for several tasks. Other keys are ignored.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import datasets

from stmtl.data.cached import cached_dataset
from stmtl.data.errors import DataError
from stmtl.data.lines import iter_lines
from stmtl.data.tag_schemes import TagSchemeScan, announce

_STRING = datasets.Value("string")
_STRINGS = datasets.List(datasets.Value("string"))


def read_jsonl(path: str | os.PathLike, streaming: bool = False) -> datasets.Dataset | datasets.IterableDataset:
    """Reads a JSON Lines file of labelled examples into a memory-mapped dataset (cached; see
    :mod:`stmtl.data.cached`).

    Blank lines are skipped. A row with ``tokens`` but no ``text`` gets ``text = " ".join(tokens)``. The first row
    decides which columns the dataset has. Tags may be in IOB1, IOB2, BIOES or BILOU, one scheme per file; they are
    converted to IOB2 (:mod:`stmtl.data.tag_schemes`), which is what the token head learns and what seqeval then
    scores, for dev and test files as for training ones.

    Args:
        path: The ``.jsonl`` file.
        streaming: Return an ``IterableDataset`` that reads and checks rows as it is iterated.

    Returns:
        A dataset with column ``text``, plus ``label`` if the rows carry sentence labels, ``labels`` if they carry
        label lists (possibly empty) and ``tokens`` and ``tags`` if they carry token tags.

    Raises:
        DataError: If the file is missing or has no rows; or, naming the line, if a line is not a JSON object,
            carries different kinds of labels than the first row, has a value of the wrong type, an empty text,
            label, label in a list or token list, tokens and tags of different lengths, an invalid tag or a tag of
            another scheme than the tags before it.
    """
    file = Path(path)
    first = next(((n, line) for n, line in enumerate(iter_lines(file), start=1) if line.strip()), None)
    if first is None:
        raise DataError("empty dataset: no JSON rows", file)
    first_line, kinds = first[0], _row_kinds(_parse_object(first[1], file, first[0]), file, first[0])
    has_label, has_labels, has_tokens = kinds
    features = {"text": _STRING}
    if has_label:
        features["label"] = _STRING
    if has_labels:
        features["labels"] = _STRINGS
    if has_tokens:
        features["tokens"] = _STRINGS
        features["tags"] = _STRINGS
    data = cached_dataset(
        _rows, datasets.Features(features), [file], streaming, file=str(file), first_line=first_line,
        has_label=has_label, has_labels=has_labels, has_tokens=has_tokens,
    )  # fmt: skip
    announce(file)
    return data


def _rows(file: str, first_line: int, has_label: bool, has_labels: bool, has_tokens: bool) -> Iterator[dict[str, Any]]:
    # One checked row per non-blank line; every row must carry the same kinds of labels as the first.
    expected = (has_label, has_labels, has_tokens)
    scan = TagSchemeScan(file)
    for line_no, line in enumerate(iter_lines(file), start=1):
        if not line.strip():
            continue
        obj = _parse_object(line, file, line_no)
        found = _row_kinds(obj, file, line_no)
        if found != expected:
            raise DataError(
                f"row carries {_describe(found)} but line {first_line} carries {_describe(expected)}; "
                "all rows must carry the same kinds of labels",
                file,
                line_no,
            )
        yield _row(obj, expected, scan, file, line_no)
    scan.finish()


def _parse_object(line: str, file: str | Path, line_no: int) -> dict[str, Any]:
    # A line opening with "[" most likely belongs to a JSON array file, which gets a hint about the format.
    hint = "; the file must hold one JSON object per line (JSON Lines), not a JSON array"
    hint = hint if line.lstrip().startswith("[") else ""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as err:
        raise DataError(f"invalid JSON: {err.msg} (column {err.colno}){hint}", file, line_no) from err
    if not isinstance(obj, dict):
        raise DataError(f"expected a JSON object, got {_json_type(obj)}{hint}", file, line_no)
    return obj


def _row_kinds(obj: dict[str, Any], file: str | Path, line_no: int) -> tuple[bool, bool, bool]:
    # Returns (has sentence label, has label list, has token tags); a lone "tokens" or "tags" key is an error.
    has_label, has_labels = "label" in obj, "labels" in obj
    has_tokens, has_tags = "tokens" in obj, "tags" in obj
    if has_tokens != has_tags:
        present, absent = ("tokens", "tags") if has_tokens else ("tags", "tokens")
        raise DataError(f"row has {present!r} but no {absent!r}", file, line_no)
    if not (has_label or has_labels or has_tokens):
        raise DataError(
            "row has none of 'label' (sentence task), 'labels' (multi-label task), 'tokens' and 'tags' (token "
            f"task); keys: {sorted(obj)}",
            file,
            line_no,
        )
    for key, present in (("label", has_label), ("labels", has_labels)):
        if present and not has_tokens and "text" not in obj:
            raise DataError(f"row has {key!r} but no 'text'", file, line_no)
    return has_label, has_labels, has_tokens


def _row(
    obj: dict[str, Any], kinds: tuple[bool, bool, bool], scan: TagSchemeScan, file: str, line_no: int
) -> dict[str, Any]:
    # Checks the row's values and returns the dataset row.
    has_label, has_labels, has_tokens = kinds
    row: dict[str, Any] = {}
    if has_tokens:
        tokens = _string_list(obj, "tokens", file, line_no)
        tags = _string_list(obj, "tags", file, line_no)
        if not tokens:
            raise DataError("'tokens' is empty", file, line_no)
        if any(not token for token in tokens):
            raise DataError("'tokens' holds an empty string", file, line_no)
        if len(tokens) != len(tags):
            raise DataError(f"{len(tags)} tags but {len(tokens)} tokens", file, line_no)
        row["tokens"], row["tags"] = tokens, scan.convert(tags, line_no)
    text = _string(obj, "text", file, line_no) if "text" in obj else " ".join(row["tokens"])
    if not text.strip():
        raise DataError("'text' is empty", file, line_no)
    row["text"] = text
    if has_label:
        label = _string(obj, "label", file, line_no)
        if not label.strip():
            raise DataError("'label' is empty", file, line_no)
        row["label"] = label
    if has_labels:
        labels = _string_list(obj, "labels", file, line_no)
        if any(not label.strip() for label in labels):
            raise DataError("'labels' holds an empty label", file, line_no)
        row["labels"] = labels
    return row


def _string(obj: dict[str, Any], key: str, file: str | Path, line_no: int) -> str:
    value = obj[key]
    if not isinstance(value, str):
        raise DataError(f"{key!r} must be a string, got {_json_type(value)}", file, line_no)
    return value


def _string_list(obj: dict[str, Any], key: str, file: str | Path, line_no: int) -> list[str]:
    value = obj[key]
    if not isinstance(value, list):
        raise DataError(f"{key!r} must be a list of strings, got {_json_type(value)}", file, line_no)
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise DataError(f"{key!r} must be a list of strings, item {index} is {_json_type(item)}", file, line_no)
    return value


def _describe(kinds: tuple[bool, bool, bool]) -> str:
    names = ("'label'", "'labels'", "'tokens'/'tags'")
    return " and ".join(name for name, present in zip(names, kinds) if present)


def _json_type(value: Any) -> str:
    # Names values by their JSON type, as the user wrote them, rather than by Python class.
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
