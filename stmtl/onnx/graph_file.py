"""Checks of an ONNX file before ONNX Runtime opens it, without the ``onnx`` package: its protobuf structure is
walked field by field, so a truncated or damaged file is refused naming it, and every external-data location is
found and refused unless it lies in the graph's own folder (``onnx/`` of the model folder).

An ONNX tensor may keep its bytes in another file (``data_location: EXTERNAL`` with a ``location`` entry), which
ONNX Runtime opens relative to the graph's folder: a location such as ``../../etc/passwd`` or an absolute path
would make it read any file the process can. ONNX Runtime 1.31 refuses such paths itself; this check runs first,
names the file in one line and does not depend on the runtime's version. Tensors are found wherever ONNX allows
them: graph initializers (sparse ones too), node attributes (tensor and graph attributes, so nested ``If``/``Loop``
bodies), functions and training graphs.
"""

from __future__ import annotations

import os
from pathlib import Path

MAX_NESTING = 64
"""Deepest graph nesting walked (subgraphs of subgraphs ...); deeper is refused as damaged."""

# Field numbers of onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ...) that lead to
# tensors. A message type maps each such field to the message type it holds.
_MESSAGES: dict[str, dict[int, str]] = {
    "model": {7: "graph", 20: "training", 25: "function"},
    "training": {1: "graph", 2: "graph"},
    "function": {7: "node"},
    "graph": {1: "node", 5: "tensor", 15: "sparse"},
    "node": {5: "attribute"},
    "attribute": {5: "tensor", 6: "graph", 10: "tensor", 11: "graph", 22: "sparse", 23: "sparse"},
    "sparse": {1: "tensor", 2: "tensor"},
    "tensor": {13: "entry"},
    "entry": {},
}
_EXTERNAL = 1  # TensorProto.DataLocation.EXTERNAL


class DamagedGraph(ValueError):
    """The file is not a well-formed ONNX protobuf."""


def _varint(data: memoryview, position: int, end: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if position >= end or shift > 63:
            raise DamagedGraph("a number runs past the end of its field")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7


def _fields(data: memoryview, start: int, end: int):
    """``(field number, wire type, value or (start, end))`` of each field of the message in ``data[start:end]``."""
    position = start
    while position < end:
        key, position = _varint(data, position, end)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise DamagedGraph("field number 0")
        if wire == 0:
            value, position = _varint(data, position, end)
            yield number, wire, value
        elif wire == 1 or wire == 5:
            size = 8 if wire == 1 else 4
            if position + size > end:
                raise DamagedGraph("a fixed-size field runs past the end")
            position += size
        elif wire == 2:
            length, position = _varint(data, position, end)
            if position + length > end:
                raise DamagedGraph("a field runs past the end of its message (truncated file?)")
            yield number, wire, (position, position + length)
            position += length
        else:
            raise DamagedGraph(f"unknown wire type {wire}")


def _tensor(data: memoryview, span: tuple[int, int]) -> tuple[bool, str | None]:
    """Whether a TensorProto is external, and its ``location``."""
    external, location = False, None
    for number, wire, value in _fields(data, *span):
        if number == 14 and wire == 0:
            external = value == _EXTERNAL
        elif number == 13 and wire == 2:
            key = text = None
            for entry_number, entry_wire, entry_value in _fields(data, *value):
                if entry_wire == 2 and entry_number in (1, 2):
                    decoded = bytes(data[entry_value[0] : entry_value[1]]).decode("utf-8", errors="strict")
                    key, text = (decoded, text) if entry_number == 1 else (key, decoded)
            if key == "location":
                location = text
    return external, location


def external_locations(path: str | os.PathLike) -> list[str]:
    """Every external-data ``location`` an ONNX file names, after checking its whole protobuf structure.

    Raises:
        DamagedGraph: If the file is not a well-formed ONNX model (truncated, damaged, not protobuf, no graph).
        OSError: If it cannot be read.
    """
    data = memoryview(Path(path).read_bytes())
    locations: list[str] = []
    has_graph = False
    stack: list[tuple[str, tuple[int, int], int]] = [("model", (0, len(data)), 0)]
    try:
        while stack:
            kind, span, depth = stack.pop()
            if depth > MAX_NESTING:
                raise DamagedGraph(f"messages nested more than {MAX_NESTING} deep")
            if kind == "tensor":
                external, location = _tensor(data, span)
                if external:
                    if not location:
                        raise DamagedGraph("an external tensor without a location")
                    locations.append(location)
                continue
            for number, wire, value in _fields(data, *span):
                child = _MESSAGES[kind].get(number)
                if child is None or wire != 2:
                    continue
                has_graph |= kind == "model" and child == "graph"
                stack.append((child, value, depth + 1))
    except UnicodeDecodeError:
        raise DamagedGraph("an external-data entry is not UTF-8") from None
    if not has_graph:
        raise DamagedGraph("no graph")
    return locations


def check_graph_file(path: str | os.PathLike) -> None:
    """Refuse an ONNX file that is damaged, or that names external data outside its folder, or missing.

    Raises:
        ValueError: One line naming the file (and the location).
    """
    path = Path(path)
    try:
        locations = external_locations(path)
    except DamagedGraph as error:
        raise ValueError(f"{path}: damaged or truncated ONNX graph ({error})") from None
    root = os.path.realpath(path.parent)
    targets = {location: os.path.realpath(path.parent / location) for location in locations}
    for location, target in targets.items():  # every location is checked before any file is looked at
        if os.path.isabs(location) or not target.startswith(root.rstrip(os.sep) + os.sep):
            raise ValueError(
                f"{path}: refusing external data {location!r}: it resolves to {target}, outside the graph's folder "
                f"{root}"
            )
    for location, target in targets.items():
        if not os.path.isfile(target):
            raise ValueError(f"{path}: external data {location!r} is missing ({target})")
