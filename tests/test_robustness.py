"""Bad and unusual input: results or one clear error, never a crash deep inside."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from tests.helpers import two_task_model

ODD_TEXTS = [
    "",
    "   \t  ",
    "hello 🌧️🌧️ 👩‍👩‍👧 world",
    "播放周杰伦的歌",
    "שלום עולם مرحبا بالعالم",
    "e\u0301te\u0301 cafe\u0301",
    "tab\tbell\x07 nul\x00 esc\x1b[0m end",
]


@pytest.fixture(scope="module")
def model(tiny_backbone):
    return two_task_model(tiny_backbone, dim=32)


@pytest.mark.parametrize("text", ODD_TEXTS)
def test_predict_odd_text_exact_offsets(model, text: str) -> None:
    (result,) = model.predict([text])
    for entity in result["ner"]:
        assert text[entity["start"] : entity["end"]] == entity["text"]
    assert model.encode([text]).shape == (1, 32)


def test_predict_long_text_truncated_with_one_warning(model, caplog) -> None:
    long_text = " ".join(["play"] * 10_000)
    with caplog.at_level(logging.WARNING, logger="stmtl.model"):
        results = model.predict([long_text, long_text, "short"])
    warnings = [r for r in caplog.records if "max_seq_length" in r.getMessage()]
    assert len(warnings) == 1 and "2 text(s)" in warnings[0].getMessage()
    for entity in results[0]["ner"]:
        assert long_text[entity["start"] : entity["end"]] == entity["text"]
        assert entity["end"] <= 64 * 5  # only words inside the first 64 pieces can be tagged


def test_encode_long_text_one_warning(model, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="stmtl.model"):
        model.encode([" ".join(["play"] * 10_000)] * 3, batch_size=2)
    assert len([r for r in caplog.records if "max_seq_length" in r.getMessage()]) == 1


@pytest.mark.parametrize("bad", [["ok", None], ["ok", 3], [b"bytes"]])
def test_encode_and_predict_reject_non_strings_by_index(model, bad: list) -> None:
    index = next(i for i, item in enumerate(bad) if not isinstance(item, str))
    with pytest.raises(TypeError, match=rf"\[{index}\]"):
        model.encode(bad)
    with pytest.raises(TypeError, match=rf"\[{index}\]"):
        model.predict(bad)


def test_predict_generator_is_lazy(model) -> None:
    consumed = []

    def texts():
        for i in range(1000):
            consumed.append(i)
            yield f"play song {i}"

    iterator = model.iter_predict(texts(), batch_size=8)
    next(iterator)
    assert len(consumed) == 8 * 16  # one sorting window, not the whole stream
    assert np.isfinite(model.encode(["x"])).all()


def test_evaluate_unknown_labels_counted_wrong_with_one_warning(model, caplog) -> None:
    from datasets import Dataset

    from stmtl.evaluation import evaluate_model

    data = Dataset.from_dict(
        {"text": ["a b", "c d", "e f"], "tokens": [["a", "b"]] * 3, "tags": [["O", "O"]] * 3,
         "label": ["a#b", "PlayMusic#GetWeather", "a#b"]}
    )  # fmt: skip
    with caplog.at_level(logging.WARNING):
        view, _ = evaluate_model(model, data)
    assert view["intent"]["accuracy"] == 0.0
    messages = [r.getMessage() for r in caplog.records if "not in the model's label set" in r.getMessage()]
    assert len(messages) == 1 and "'a#b': 2" in messages[0]


def test_encode_generator_read_in_windows_equals_list(model) -> None:
    texts = [f"play song {i} " + "x" * (i % 5) for i in range(150)]
    consumed = []

    def generate():
        for text in texts:
            consumed.append(text)
            yield text

    lazy = model.encode(generate(), batch_size=4)
    assert len(consumed) == 150 and lazy.shape == (150, 32)
    assert np.allclose(lazy, model.encode(texts, batch_size=4), atol=1e-6)


def test_encode_and_predict_name_a_text_with_a_lone_surrogate(model) -> None:
    texts = ["ok", "fine", "bad \udc80 text"]
    with pytest.raises(ValueError, match=r"\[2\].*surrogate"):
        model.encode(texts)
    with pytest.raises(ValueError, match=r"\[2\].*surrogate"):
        model.predict(texts)
