"""Validation of token tags against the IOB2 scheme (``O``, ``B-<type>``, ``I-<type>``)."""

from __future__ import annotations

_PREFIXES = ("B-", "I-")


def validate_tag(tag: str) -> None:
    """Checks that ``tag`` is an IOB2 tag.

    A valid tag is ``"O"`` or ``"B-<type>"`` / ``"I-<type>"`` with a non-empty type. Tags may not contain
    whitespace, since the text formats (seq.out, CoNLL) separate tags by whitespace.

    Args:
        tag: The tag to check.

    Raises:
        ValueError: If ``tag`` is not a string or not an IOB2 tag.
    """
    if not isinstance(tag, str):
        raise ValueError(f"tag must be a string, got {type(tag).__name__} {tag!r}")
    if tag == "O":
        return
    if tag[:2] in _PREFIXES and len(tag) > 2 and not any(ch.isspace() for ch in tag):
        return
    raise ValueError(f"unknown tag {tag!r} (expected O, B-<type> or I-<type>: IOB2 scheme)")
