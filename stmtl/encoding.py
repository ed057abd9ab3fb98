"""What ``MultiTaskSentenceTransformer.encode`` adds to sentence-transformers' ``encode``: input checks that name the
bad item, and streams (iterators) read window by window.

``encode`` takes every input sentence-transformers takes (strings, text pairs, numpy string arrays, dataset columns,
dicts, chat messages, which a text model refuses with sentence-transformers' own message) and refuses, by index,
only what no model can encode: ``None``, numbers and bytes, and text that is not valid Unicode. ``predict`` reads
words and spans, so it takes strings only (:func:`check_texts`).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from sentence_transformers import SentenceTransformer

from stmtl.decoding.windows import SORT_WINDOW_BATCHES, check_unicode
from stmtl.decoding.windows import check_texts as check_texts  # predict's check, shared with the ONNX runner

if TYPE_CHECKING:
    from stmtl.model import MultiTaskSentenceTransformer

_NEVER_INPUTS = (type(None), bool, int, float, complex, bytes, bytearray)
_ENCODE = inspect.signature(SentenceTransformer.encode)


def encode_arguments(model: SentenceTransformer, args: tuple, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Every argument of an ``encode`` call by name, defaults filled in, extra keyword arguments at the top level."""
    if "sentences" in kwargs and "inputs" not in kwargs and not args:  # the name before sentence-transformers 6
        kwargs = {**kwargs, "inputs": kwargs["sentences"]}
        del kwargs["sentences"]
    bound = _ENCODE.bind(model, *args, **kwargs)
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    del arguments["self"]
    extra = arguments.pop("kwargs", {})
    return {**arguments, **extra}


def as_batch(model: SentenceTransformer, inputs: Any) -> Any:
    """``inputs`` as sentence-transformers reads them: a numpy string array or any other iterable as a list."""
    if isinstance(inputs, np.ndarray):
        return inputs if model.is_singular_input(inputs) else inputs.tolist()
    if isinstance(inputs, (str, bytes, dict, list, tuple)) or hasattr(inputs, "shape"):
        return inputs
    return list(inputs) if isinstance(inputs, Iterable) else inputs


def check_inputs(items: Iterable[Any], name: str, offset: int = 0) -> None:
    """Refuse, naming its index, an item (or a part of a text pair) no model encodes, or text with a lone surrogate.

    Raises:
        TypeError: For ``None``, a number or bytes.
        ValueError: For a string that is not valid Unicode.
    """
    for index, item in enumerate(items):
        for part in item if isinstance(item, (tuple, list)) else (item,):
            if isinstance(part, _NEVER_INPUTS):
                raise TypeError(f"{name}[{offset + index}] is {type(part).__name__}, expected str (or a pair of str)")
            if isinstance(part, str):
                check_unicode(part, f"{name}[{offset + index}]")


def encode_in_windows(model: MultiTaskSentenceTransformer, call: dict[str, Any]) -> Any:
    """``encode`` of an iterator, ``batch_size * 16`` items at a time, joined as ``encode`` of a list returns them.

    Quantised precisions (``int8``, ``binary``, ...) are computed once over all embeddings, after the last window:
    quantising each window on its own would calibrate each window differently, so a stream and a list of the same
    texts would not give the same values. The float embeddings are held until then, as ``encode`` of a list holds
    them.

    Args:
        model: The model.
        call: The call's arguments, from :func:`encode_arguments`.
    """
    call = dict(call)
    inputs: Iterator[Any] = call.pop("inputs")
    precision = call.get("precision") or "float32"
    quantize = precision != "float32" and call["output_value"] == "sentence_embedding"
    window_call = (
        {**call, "precision": "float32", "convert_to_numpy": True, "convert_to_tensor": False} if quantize else call
    )
    parts, offset = [], 0
    while window := list(islice(inputs, call["batch_size"] * SORT_WINDOW_BATCHES)):
        check_inputs(window, "inputs", offset)
        parts.append(model.encode(window, **window_call))
        offset += len(window)
    if not parts:
        return model.encode([], **call)
    if quantize:
        from sentence_transformers.util import quantize_embeddings

        embeddings = quantize_embeddings(np.concatenate(parts), precision=precision)
        if call["convert_to_tensor"]:
            return torch.as_tensor(embeddings)
        return embeddings if call["convert_to_numpy"] else list(torch.from_numpy(embeddings))
    if isinstance(parts[0], np.ndarray):
        return np.concatenate(parts)
    if isinstance(parts[0], torch.Tensor):
        return torch.cat(parts)
    return [item for part in parts for item in part]
