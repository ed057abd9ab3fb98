"""``stmtl train``'s config flags: one per :class:`~stmtl.config.TrainConfig` field, generated from the dataclass,
in the groups of :data:`stmtl.config.FLAG_GROUPS` (everyday options first)."""

from __future__ import annotations

import argparse
import dataclasses
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from stmtl.cli.common import bounded


def add_config_flags(
    parser: argparse.ArgumentParser | Any,
    keys: Sequence[str] | None = None,
    groups: Mapping[str, Any] | None = None,
) -> list[str]:
    """Add one flag per ``TrainConfig`` field (or per field in ``keys``), generated from the dataclass.

    Each flag gets the field's help text, its config default, its :class:`stmtl.config.Bounds` for a number and,
    for ``Literal`` fields, the allowed values, so that argparse refuses a bad value before anything heavy is
    imported. Flags default to ``None``: only the flags given override a YAML config.

    Args:
        parser: Where the flags go (a parser or an argument group).
        keys: The fields to add (default: every field with a flag).
        groups: Argument group by :data:`~stmtl.config.FLAG_GROUPS` name: each flag goes into its field's group, in
            the groups' order (default: all into ``parser``, in field order).

    Returns:
        The config keys added.
    """
    from stmtl.config import FLAG_GROUPS, TrainConfig

    hints = typing.get_type_hints(TrainConfig)
    fields = {field.name: field for field in dataclasses.fields(TrainConfig) if "help" in field.metadata}
    if groups is not None:
        order = [(name, groups[group]) for group, (_, names) in FLAG_GROUPS.items() for name in names]
    else:
        order = [(name, parser) for name in fields]
    added = []
    for name, target in order:
        if keys is not None and name not in keys:
            continue
        field = fields[name]
        hint, bounds = hints[name], field.metadata.get("bounds")
        shown = f"{field.default}, {bounds}" if bounds is not None else field.default
        options: dict[str, Any] = {"default": None, "help": f"{field.metadata['help']} (default: {shown})"}
        args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(args) == 1 and typing.get_origin(args[0]) is typing.Literal:  # an optional Literal
            hint, args = args[0], list(typing.get_args(args[0]))
        if typing.get_origin(hint) is typing.Literal:
            options.update(choices=args, type=type(args[0]))
        elif hint is bool:
            options["action"] = argparse.BooleanOptionalAction
        else:
            options["type"] = bounded(args[0] if args else hint, bounds)
        target.add_argument("--" + name.replace("_", "-"), **options)
        added.append(name)
    return added
