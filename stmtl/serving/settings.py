"""The settings of ``stmtl serve``: where it listens, the limits on a request, and how requests are batched."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from stmtl.config import Bounds


@dataclass(frozen=True)
class ServeSettings:
    """Args:
    host: Address to listen on; the loopback address by default (put a reverse proxy in front to expose it).
    port: TCP port.
    max_body_bytes: Largest request body; a larger one gets 413.
    max_texts: Most texts in one request; more gets 422.
    max_text_chars: Longest text, in characters; longer gets 422 (the model reads ``max_seq_length`` pieces).
    batch_size: Most texts run in one model call; concurrent requests are joined up to it.
    max_wait_ms: How long the first queued request waits for others to join its batch.
    max_queue_texts: Most texts waiting; a request beyond gets 503 (the service is saturated).
    threads: Intra-op threads of the model (``None``: the backend's default, one per core).
    """

    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 1_000_000
    max_texts: int = 256
    max_text_chars: int = 10_000
    batch_size: int = 32
    max_wait_ms: float = 5.0
    max_queue_texts: int = 4096
    threads: int | None = None

    def __post_init__(self) -> None:
        for name, bounds in BOUNDS.items():
            value = getattr(self, name)
            if value is None and name == "threads":
                continue
            if not bounds.contains(value) or (name != "max_wait_ms" and not isinstance(value, int)):
                raise ValueError(f"--{name.replace('_', '-')}: must be {bounds}, got {value!r}")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ServeSettings:
        """The settings of parsed ``stmtl serve`` flags (:func:`add_serve_flags`)."""
        return cls(**{field.name: getattr(args, field.name) for field in fields(cls)})


BOUNDS = {
    "port": Bounds(0, 65535), "max_body_bytes": Bounds(1, 1 << 30), "max_texts": Bounds(1, 100_000),
    "max_text_chars": Bounds(1, 10_000_000), "batch_size": Bounds(1, 4096), "max_wait_ms": Bounds(0, 10_000),
    "max_queue_texts": Bounds(1, 10_000_000), "threads": Bounds(1, 1024),
}  # fmt: skip
"""The values each numeric setting allows."""
HELP = {
    "host": "address to listen on (default: 127.0.0.1, this machine only)",
    "port": "TCP port",
    "max_body_bytes": "largest request body in bytes; larger gets 413",
    "max_texts": "most texts per request; more gets 422",
    "max_text_chars": "longest text in characters; longer gets 422",
    "batch_size": "most texts per model call; concurrent requests are joined up to it",
    "max_wait_ms": "how long a request waits for others to join its batch",
    "max_queue_texts": "most texts waiting; beyond, requests get 503",
    "threads": "intra-op threads of the model (default: the backend's, one per core)",
}


def add_serve_flags(parser: argparse.ArgumentParser, bounded: Callable[[type, Bounds], Callable[[str], Any]]) -> None:
    """Add one flag per :class:`ServeSettings` field, its default and bounds in its help.

    Args:
        parser: The ``serve`` subcommand's parser.
        bounded: Makes an argparse ``type`` that refuses values outside a :class:`~stmtl.config.Bounds`
            (:func:`stmtl.cli.bounded`).
    """
    defaults = ServeSettings()
    for field in fields(ServeSettings):
        default = getattr(defaults, field.name)
        options: dict[str, Any] = {"default": default, "help": HELP[field.name]}
        if field.name in BOUNDS:
            kind = float if field.name == "max_wait_ms" else int
            options["type"] = bounded(kind, BOUNDS[field.name])
            if default is not None:
                options["help"] += f" (default: {default}, {BOUNDS[field.name]})"
        parser.add_argument("--" + field.name.replace("_", "-"), **options)
