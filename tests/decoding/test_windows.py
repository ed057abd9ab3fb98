from __future__ import annotations

import pytest

from stmtl.decoding import windows
from stmtl.decoding.windows import check_predict_arguments, iter_in_windows


def test_iter_in_windows_batches_by_length_and_returns_input_order(monkeypatch) -> None:
    monkeypatch.setattr(windows, "SORT_WINDOW_BATCHES", 2)
    texts = ["a", "ccc", "bb", "dddd", "e", "ff", "g"]
    batches: list[list[str]] = []

    def run(batch: list[str]) -> list[str]:
        batches.append(batch)
        return [text.upper() for text in batch]

    sizes: list[int] = []
    assert list(iter_in_windows(iter(texts), 2, run, sizes.append)) == [text.upper() for text in texts]
    assert batches[:2] == [["dddd", "ccc"], ["bb", "a"]]  # first window of 4, longest first
    assert sizes == [2, 2, 2, 1]


def test_iter_in_windows_names_the_bad_item_across_windows(monkeypatch) -> None:
    monkeypatch.setattr(windows, "SORT_WINDOW_BATCHES", 1)
    with pytest.raises(TypeError, match=r"texts\[3\] is int"):
        list(iter_in_windows(["a", "b", "c", 4], 2, lambda batch: batch))
    with pytest.raises(ValueError, match=r"texts\[1\] is not valid Unicode"):
        list(iter_in_windows(["a", "\ud800"], 2, lambda batch: batch))


def test_check_predict_arguments() -> None:
    with pytest.raises(TypeError, match="single string"):
        check_predict_arguments("text", 2)
    with pytest.raises(ValueError, match="batch_size must be positive"):
        check_predict_arguments(["text"], 0)
