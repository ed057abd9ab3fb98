"""sentence-transformers' own ``SentenceTransformer`` tests, run on plain ``SentenceTransformer`` and on
``MultiTaskSentenceTransformer`` alike.

Ported from ``tests/sentence_transformer/test_model.py`` (``test_model.py`` here) and ``tests/base/test_model.py``
(``test_base_model.py``) of the sentence-transformers repository (v6): the fixtures there download
``stsb-bert-tiny``; here both classes are built from the same tiny local BERT (``tiny_backbone``), the multi-task
one with two heads, and nothing is downloaded. Each test names the test it ports; what was left out, and why, is
listed at the end of each file.
"""

from __future__ import annotations

import copy

import pytest
import torch
from sentence_transformers import SentenceTransformer

from tests.st_parity.models import CLASSES, IDS, make_model


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Hundreds of tiny forward passes: on a shared CPU, thread start-up costs more than the work."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module", params=CLASSES, ids=IDS)
def cls(request) -> type:
    return request.param


@pytest.fixture(scope="module")
def prototype(cls, tiny_backbone) -> SentenceTransformer:
    return make_model(cls, tiny_backbone)


@pytest.fixture
def model(prototype) -> SentenceTransformer:
    """A fresh copy per test (many tests change prompts, modules or the tokenizer)."""
    return copy.deepcopy(prototype)


@pytest.fixture(scope="module")
def saved(prototype, tmp_path_factory) -> str:
    """The model saved once (read only)."""
    folder = tmp_path_factory.mktemp("saved") / "model"
    prototype.save(str(folder))
    return str(folder)
