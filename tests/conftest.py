"""Shared fixtures: a tiny random BERT with a WordPiece tokenizer, built in code (no network, no download)."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Readers and tokenization cache Arrow files in the datasets cache: tests use a fresh one of their own.
os.environ.setdefault("HF_DATASETS_CACHE", tempfile.mkdtemp(prefix="stmtl-tests-datasets-"))

import string
from pathlib import Path

import pytest
import torch
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
from transformers import BertConfig, BertModel, BertTokenizerFast

WORDS = (
    "book a table for two at in the weather tomorrow play music song by what is how to set alarm "
    "remind me add this playlist rate novel stars find movie schedule show get me please and of on"
).split()
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def make_tokenizer(words: list[str] = WORDS) -> BertTokenizerFast:
    """An uncased WordPiece tokenizer whose vocabulary holds ``words`` and splits others into single-letter pieces."""
    chars = string.ascii_lowercase + string.digits + string.punctuation
    pieces = SPECIAL + sorted(set(words)) + list(chars) + [f"##{c}" for c in string.ascii_lowercase + string.digits]
    vocab = list(dict.fromkeys(pieces))
    backend = Tokenizer(models.WordPiece({token: i for i, token in enumerate(vocab)}, unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=True, handle_chinese_chars=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", vocab.index("[CLS]")), ("[SEP]", vocab.index("[SEP]"))],
    )
    return BertTokenizerFast(tokenizer_object=backend, model_max_length=64, do_lower_case=True)


def make_tiny_bert(folder: Path, words: list[str] = WORDS) -> str:
    """Write a plain Hugging Face folder: BERT with 2 layers, hidden size 32, random weights (seed 0)."""
    tokenizer = make_tokenizer(words)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session")
def tiny_backbone(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A plain Hugging Face folder: BERT with 2 layers, hidden size 32, random weights (seed 0)."""
    return make_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def default_backbone_path() -> str:
    import stmtl

    return stmtl.default_backbone()


@pytest.fixture(scope="session")
def exported_model(tiny_backbone: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A saved tiny model with one head of each kind (intent with a prior and τ, NER, multi-label with a threshold),
    exported to ONNX with its int8 graphs. Treat it as read-only: copy it before changing anything."""
    from stmtl.heads import MultiLabelClassificationHead
    from stmtl.onnx.export import export_onnx
    from tests.helpers import two_task_model

    model = two_task_model(tiny_backbone, 32, seed=1)
    torch.manual_seed(1)
    model.append(MultiLabelClassificationHead("topics", ["music", "travel", "weather"], 32, threshold=0.45))
    model.heads["intent"].prior = [0.6, 0.3, 0.1]
    model.heads["intent"].prior_weight = 0.5
    folder = tmp_path_factory.mktemp("exported") / "model"
    model.save(str(folder))
    export_onnx(folder, quantize="int8")
    return str(folder)
