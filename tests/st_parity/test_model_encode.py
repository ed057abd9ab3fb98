"""Ports of the ``encode`` tests of sentence-transformers' ``tests/sentence_transformer/test_model.py`` (see
``conftest.py``; what was not ported is listed in ``test_model.py``)."""

from __future__ import annotations

import copy
import re
from contextlib import nullcontext

import numpy as np
import pytest
import torch
from sentence_transformers import util
from sentence_transformers.base.modules import Router


@pytest.mark.parametrize("convert_to_tensor", [True, False])
@pytest.mark.parametrize("convert_to_numpy", [True, False])
@pytest.mark.parametrize(
    ("precision", "torch_dtype", "numpy_dtype"),
    [(None, torch.float32, np.float32), ("float32", torch.float32, np.float32), ("int8", torch.int8, np.int8),
     ("uint8", torch.uint8, np.uint8), ("binary", torch.int8, np.int8), ("ubinary", torch.uint8, np.uint8),
     ("error", None, None)],
)  # fmt: skip
def test_encode_quantization(model, convert_to_tensor, convert_to_numpy, precision, torch_dtype, numpy_dtype) -> None:
    """Ports test_encode_quantization."""
    raises = pytest.raises(ValueError, match=f"Precision '{precision}' is not supported")
    with raises if torch_dtype is None else nullcontext():
        embeddings = model.encode(
            ["One sentence", "Another sentence"],
            convert_to_tensor=convert_to_tensor,
            convert_to_numpy=convert_to_numpy,
            precision=precision,
        )
    if torch_dtype is None:
        return
    if convert_to_tensor:
        assert isinstance(embeddings, torch.Tensor) and embeddings[0].dtype == torch_dtype
    elif convert_to_numpy:
        assert isinstance(embeddings, np.ndarray) and embeddings[0].dtype == numpy_dtype
    else:
        assert isinstance(embeddings, list) and embeddings[0].dtype == torch_dtype


@pytest.mark.parametrize("sentences", ["Single sentence", ["One sentence", "Another sentence"]])
@pytest.mark.parametrize(("convert_to_tensor", "convert_to_numpy"), [(True, False), (False, True), (False, False)])
@pytest.mark.parametrize("normalize_embeddings", [True, False])
@pytest.mark.parametrize("output_value", ["sentence_embedding", None])
def test_encode_truncate(
    model, saved, cls, sentences, convert_to_tensor, convert_to_numpy, normalize_embeddings, output_value
) -> None:
    """Ports test_encode_truncate (a reduced grid: convert_to_tensor wins over convert_to_numpy anyway)."""
    full = model.encode(sentences, convert_to_numpy=False, convert_to_tensor=True)

    def check(model, dim: int) -> None:
        outputs = model.encode(
            sentences,
            output_value=output_value,
            convert_to_tensor=convert_to_tensor,
            convert_to_numpy=convert_to_numpy,
            normalize_embeddings=normalize_embeddings,
        )
        if output_value is None:
            outputs = (
                outputs["sentence_embedding"]
                if isinstance(outputs, dict)
                else [o["sentence_embedding"] for o in outputs]
            )
        shape = (len(outputs), outputs[0].shape[-1]) if isinstance(outputs, list) else tuple(outputs.shape)
        assert shape == ((dim,) if isinstance(sentences, str) else (len(sentences), dim))
        assert model.get_embedding_dimension() == dim
        values = torch.stack(outputs) if isinstance(outputs, list) else torch.as_tensor(outputs)
        expected = util.truncate_embeddings(full, dim)
        if normalize_embeddings and output_value is not None:
            expected = torch.nn.functional.normalize(expected, p=2, dim=-1)
        assert torch.allclose(values, expected, atol=1e-6)

    dim = model.get_embedding_dimension()
    check(model, dim)
    model = cls(saved, truncate_dim=dim // 4, device="cpu")
    check(model, dim // 4)
    model.truncate_dim = dim // 2
    check(model, dim // 2)
    with model.truncate_embeddings(dim // 8):
        check(model, dim // 8)
    check(model, dim // 2)
    model.truncate_dim = 2 * dim
    check(model, dim)


@pytest.mark.parametrize(("convert_to_tensor", "convert_to_numpy"), [(True, False), (False, True), (False, False)])
@pytest.mark.parametrize("normalize_embeddings", [True, False])
@pytest.mark.parametrize("precision", [None, "float32", "int8", "uint8", "binary", "ubinary"])
@pytest.mark.parametrize("truncate_dim", [None, 8])
def test_empty_encode(
    model, convert_to_tensor, convert_to_numpy, normalize_embeddings, precision, truncate_dim
) -> None:
    """Ports test_empty_encode (a reduced grid)."""
    embeddings = model.encode(
        [],
        convert_to_tensor=convert_to_tensor,
        convert_to_numpy=convert_to_numpy,
        normalize_embeddings=normalize_embeddings,
        precision=precision,
        truncate_dim=truncate_dim,
    )
    if convert_to_tensor:
        assert isinstance(embeddings, torch.Tensor) and embeddings.numel() == 0 and embeddings.device == model.device
    elif convert_to_numpy:
        assert isinstance(embeddings, np.ndarray) and embeddings.size == 0
    else:
        assert embeddings == []


def _spy_on_encode(model, monkeypatch) -> list:
    calls = []
    monkeypatch.setattr(model, "encode", lambda *args, **kwargs: calls.append(kwargs))
    return calls


@pytest.mark.parametrize("sentences", ["Hello world", ["Hello world", "This is a test"], [], [""]])
@pytest.mark.parametrize("prompt_name", [None, "query", "custom"])
@pytest.mark.parametrize("prompt", [None, "Custom prompt: "])
def test_encode_query(model, monkeypatch, sentences, prompt_name, prompt) -> None:
    """Ports test_encode_query (convert flags fixed)."""
    model.prompts = {"query": "query: ", "custom": "custom: "}
    calls = _spy_on_encode(model, monkeypatch)
    model.encode_query(sentences, prompt_name=prompt_name, prompt=prompt, batch_size=32)
    expected = prompt_name or (None if prompt is not None else "query")
    (kwargs,) = calls
    assert kwargs["inputs"] == sentences and kwargs["prompt"] == prompt and kwargs["prompt_name"] == expected
    assert kwargs["task"] == "query"


@pytest.mark.parametrize("sentences", ["Hello world", ["Hello world", "This is a test"], [], [""]])
@pytest.mark.parametrize("prompt_name", [None, "document", "passage", "corpus", "custom"])
@pytest.mark.parametrize("prompt", [None, "Custom prompt: "])
def test_encode_document(model, monkeypatch, sentences, prompt_name, prompt) -> None:
    """Ports test_encode_document (convert flags fixed)."""
    model.prompts = {"document": "document: ", "passage": "passage: ", "corpus": "corpus: ", "custom": "custom: "}
    calls = _spy_on_encode(model, monkeypatch)
    model.encode_document(sentences, prompt_name=prompt_name, prompt=prompt, batch_size=32)
    expected = prompt_name or (None if prompt is not None else "document")
    (kwargs,) = calls
    assert kwargs["inputs"] == sentences and kwargs["prompt"] == prompt and kwargs["prompt_name"] == expected
    assert kwargs["task"] == "document"


def test_encode_document_prompt_priority(model, monkeypatch) -> None:
    """Ports test_encode_document_prompt_priority."""
    calls = _spy_on_encode(model, monkeypatch)
    for prompts, expected in [
        ({"document": "d: ", "passage": "p: ", "corpus": "c: "}, "document"),
        ({"passage": "p: ", "corpus": "c: "}, "passage"),
        ({"corpus": "c: "}, "corpus"),
        ({"query": "q: "}, None),
    ]:
        model.prompts = prompts
        model.encode_document("test")
        assert calls[-1]["prompt_name"] == expected


def test_encode_advanced_parameters(model, monkeypatch) -> None:
    """Ports test_encode_advanced_parameters."""
    calls = _spy_on_encode(model, monkeypatch)
    passed = {"normalize_embeddings": True, "batch_size": 64, "show_progress_bar": True, "chunk_size": 10,
              "output_value": "token_embeddings", "precision": "uint8", "truncate_dim": 128,
              "custom_param": "value"}  # fmt: skip
    model.encode_query("test", **passed)
    assert {key: calls[0][key] for key in passed} == passed


@pytest.mark.parametrize("inputs", ["test sentence", ["test sentence"]])
def test_encode_query_document_vs_encode(model, inputs) -> None:
    """Ports test_encode_query_document_vs_encode."""
    model.prompts = {"query": "query: ", "document": "document: "}
    query, document = model.encode_query(inputs), model.encode_document(inputs)
    np.testing.assert_allclose(query, model.encode(inputs, prompt_name="query"))
    np.testing.assert_allclose(document, model.encode(inputs, prompt_name="document"))
    assert not np.allclose(model.encode(inputs), query)
    assert not np.allclose(model.encode(inputs), document)


def test_encode_with_dataset_column(model) -> None:
    """Ports test_encode_with_dataset_column."""
    from datasets import Dataset

    column = Dataset.from_dict({"text": ["This is a test.", "Another sentence."]})["text"]
    assert model.encode(column, convert_to_tensor=True).shape == (2, model.get_embedding_dimension())


def test_encode_per_call_processing_kwargs(model) -> None:
    """Ports test_encode_per_call_processing_kwargs."""
    text = "play music by the song for two in the weather"
    truncated = model.encode(
        [text], convert_to_tensor=True, processing_kwargs={"text": {"max_length": 4, "truncation": True}}
    )
    full = model.encode([text], convert_to_tensor=True)
    assert truncated.shape == full.shape and not torch.allclose(truncated, full)


def test_get_model_kwargs(model, cls) -> None:
    """Ports test_get_model_kwargs; the error names the model's own class, as the original's does."""
    name = cls.__name__
    assert model.get_model_kwargs() == []
    message = re.escape(f"{name}.encode() has been called with additional keyword arguments that this model does not ")
    message += re.escape("use: ['normalize']. ")
    with pytest.raises(
        ValueError, match=message + re.escape(f"As per {name}.get_model_kwargs(), this model does not accept")
    ):
        model.encode("Test sentence", normalize=True)
    model.encode("Test sentence")
    model.encode_query("Test sentence")
    model[0].forward_kwargs = {"foo"}
    model[1].forward_kwargs = {"bar", "baz"}
    assert set(model.get_model_kwargs()) == {"foo", "bar", "baz"}
    with pytest.raises(ValueError, match=message):
        model.encode("Test sentence", normalize=True)
    model.encode("Test sentence", foo=True, bar=False)
    query_pooling, document_pooling = copy.deepcopy(model[1]), copy.deepcopy(model[1])
    query_pooling.forward_kwargs = {"query_arg"}
    document_pooling.forward_kwargs = {"document_arg_1", "document_arg_2"}
    model[1] = Router.for_query_document(query_modules=[query_pooling], document_modules=[document_pooling])
    assert set(model.get_model_kwargs()) == {
        "foo",
        "task",
        "query_arg",
        "document_arg_1",
        "document_arg_2",
        "modality",
    }
    with pytest.raises(ValueError, match=message):
        model.encode("Test sentence", task="query", normalize=True)
    model.encode("Test sentence", task="document")
    model.encode_query("Test sentence")
    model.encode("Test sentence", task="document", foo=True, document_arg_1=12)
