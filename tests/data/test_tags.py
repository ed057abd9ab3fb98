from __future__ import annotations

import pytest

from stmtl.data import validate_tag


@pytest.mark.parametrize("tag", ["O", "B-PER", "I-PER", "B-entity_name", "I-x", "B-B-x"])
def test_validate_tag_accepts_iob2(tag: str) -> None:
    assert validate_tag(tag) is None


@pytest.mark.parametrize("tag", ["X-FOO", "B-", "I-", "B", "o", "", "E-PER", "S-PER", "B_PER", "B-a b", " O", "B-\t"])
def test_validate_tag_rejects_non_iob2(tag: str) -> None:
    with pytest.raises(ValueError, match="IOB2") as info:
        validate_tag(tag)
    assert repr(tag) in str(info.value)


def test_validate_tag_message_names_tag_and_scheme() -> None:
    with pytest.raises(ValueError) as info:
        validate_tag("X-FOO")
    assert str(info.value) == "unknown tag 'X-FOO' (expected O, B-<type> or I-<type>: IOB2 scheme)"


def test_validate_tag_rejects_non_string() -> None:
    with pytest.raises(ValueError, match="must be a string"):
        validate_tag(3)  # type: ignore[arg-type]
