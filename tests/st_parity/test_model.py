"""Ports of sentence-transformers' ``tests/sentence_transformer/test_model.py`` (see ``conftest.py``)."""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Router
from sentence_transformers.sentence_transformer.modules import (
    CNN,
    Dense,
    LayerNorm,
    Normalize,
    Pooling,
    StaticEmbedding,
    Transformer,
    WeightedLayerPooling,
)
from sentence_transformers.util.similarity import SimilarityFunction

import stmtl
from stmtl.backbone import encoder_modules
from stmtl.heads import SentenceClassificationHead
from tests.helpers import INTENTS
from tests.st_parity.models import CLASSES, IDS, make_model

# --- tests/sentence_transformer/test_model.py ----------------------------------------------------------------


def test_load_with_safetensors(model, saved, cls) -> None:
    """Ports test_load_with_safetensors: only safetensors are written and read, embeddings identical."""
    assert not list(Path(saved).rglob("pytorch_model.bin"))
    texts = ["This is a test sentence", "This is another test sentence"]
    loaded = cls(saved, device="cpu")
    assert torch.equal(model.encode(texts, convert_to_tensor=True), loaded.encode(texts, convert_to_tensor=True))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA, as in sentence-transformers")
def test_to(model) -> None:
    """Ports test_to."""
    model.to(torch.device("cuda"))
    model.encode("Test sentence")
    assert model.device.type == "cuda"
    model._target_device = "cpu"
    assert model.device.type == "cpu"


@pytest.mark.parametrize("safe_serialization", [True, None])
def test_safe_serialization(model, tmp_path, safe_serialization) -> None:
    """Ports test_safe_serialization, counting the weight files of the modules ``modules.json`` lists.

    The original counts every ``model.safetensors`` below the folder and expects exactly one; a multi-task model
    also has one per head, in head folders that ``modules.json`` does not list.
    """
    kwargs = {} if safe_serialization is None else {"safe_serialization": safe_serialization}
    model.save(str(tmp_path), **kwargs)
    entries = json.loads((tmp_path / "modules.json").read_text())
    assert sum((tmp_path / entry["path"] / "model.safetensors").is_file() for entry in entries) == 1


def test_load_local_without_normalize_directory(tiny_backbone, tmp_path, cls) -> None:
    """Ports test_load_local_without_normalize_directory: an empty module folder removed, the model still loads.

    Normalize is put into the encoder rather than appended: a multi-task model's heads come after the whole encoder.
    """
    model = make_model(cls, tiny_backbone, modules=[*encoder_modules(tiny_backbone), Normalize()])
    folder = tmp_path / "tiny_model_local"
    model.save(str(folder))
    (normalize,) = [
        entry for entry in json.loads((folder / "modules.json").read_text()) if entry["type"].endswith(".Normalize")
    ]
    shutil.rmtree(folder / normalize["path"])
    assert isinstance(cls(str(folder), device="cpu"), cls)


def test_prompts(model, caplog) -> None:
    """Ports test_prompts."""
    assert model.prompts == {"query": "", "document": ""}
    assert model.default_prompt_name is None
    texts = ["How to bake a chocolate cake", "Symptoms of the flu"]
    prompted = model.encode([f"query: {text}" for text in texts])
    assert not np.array_equal(model.encode(texts), prompted)
    for query in ["query: ", "query:", "query:   "]:
        model.prompts = {"query": "", "document": ""}
        assert np.array_equal(model.encode(texts, prompt=query), prompted)
        model.prompts = {"query": query, "document": ""}
        assert np.array_equal(model.encode(texts, prompt_name="query"), prompted)
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            assert np.array_equal(model.encode(texts, prompt=query, prompt_name="query"), prompted)
            assert [record[2] for record in caplog.record_tuples] == [
                "Provide either a `prompt`, a `prompt_name`, or neither, but not both. "
                "Ignoring the `prompt_name` in favor of `prompt`."
            ]
        with pytest.raises(ValueError, match=re.escape("Prompt name 'invalid_prompt_name' not found")):
            model.encode(texts, prompt_name="invalid_prompt_name")


def test_save_load_prompts(saved, cls, tmp_path) -> None:
    """Ports test_save_load_prompts, from a local folder instead of the hub."""
    with pytest.raises(ValueError, match=re.escape("Default prompt name 'invalid_prompt_name' not found")):
        cls(saved, prompts={"query": "query: "}, default_prompt_name="invalid_prompt_name", device="cpu")
    model = cls(saved, prompts={"query": "query: "}, default_prompt_name="query", device="cpu")
    assert model.prompts == {"query": "query: ", "document": ""} and model.default_prompt_name == "query"
    model.save(str(tmp_path / "again"))
    config = json.loads((tmp_path / "again" / "config_sentence_transformers.json").read_text())
    assert config["prompts"] == {"query": "query: ", "document": ""} and config["default_prompt_name"] == "query"
    fresh = cls(str(tmp_path / "again"), device="cpu")
    assert fresh.prompts == {"query": "query: ", "document": ""} and fresh.default_prompt_name == "query"


def test_prompt_output_value_None(model, cls) -> None:
    """Ports test_prompt_output_value_None; a multi-task model adds each head's ``{task}_logits`` feature."""
    outputs = model.encode(["Text one", "Text two"], prompt="query: ", output_value=None)
    expected = {"input_ids", "token_type_ids", "attention_mask", "sentence_embedding", "token_embeddings",
                "prompt_length", "modality"}  # fmt: skip
    if cls is not SentenceTransformer:
        expected |= {f"{task}_logits" for task in model.heads}
    assert isinstance(outputs, list) and len(outputs) == 2
    assert set(outputs[0]) == expected and set(outputs[1]) == expected


@pytest.mark.parametrize("has_bos_token", [True, False])
@pytest.mark.parametrize("has_eos_token", [True, False])
def test_prompt_length_calculation(model, has_bos_token, has_eos_token) -> None:
    """Ports test_prompt_length_calculation."""
    from tokenizers.processors import TemplateProcessing

    model.prompts = {"query": "Prompt: ", "document": ""}
    model.set_pooling_include_prompt(False)
    bos, eos = 40, 50
    model.tokenizer.cls_token_id = bos if has_bos_token else None
    model.tokenizer.sep_token_id = eos if has_eos_token else None
    template = " ".join(["[CLS]"] * has_bos_token + ["$0"] + ["[SEP]"] * has_eos_token)
    special = [("[CLS]", bos)] * has_bos_token + [("[SEP]", eos)] * has_eos_token
    model.tokenizer._tokenizer.post_processor = TemplateProcessing(single=template, special_tokens=special)
    ids = model.preprocess(["dummy text"])["input_ids"].flatten()
    assert (ids[-1] == eos) == has_eos_token and (ids[0] == bos) == has_bos_token
    model.encode_query("This is a test sentence")
    expected = len(model.tokenizer(["Prompt: "], add_special_tokens=False)["input_ids"][0]) + has_bos_token
    assert list(model[0]._prompt_length_mapping.values()) == [expected]  # keys differ between 6.x releases


def test_load_with_model_kwargs(saved, cls, monkeypatch) -> None:
    """Ports test_load_with_model_kwargs, from a local folder."""
    seen = {}
    original = Transformer.__init__

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(Transformer, "__init__", spy)
    cls(saved, model_kwargs={"attn_implementation": "eager", "low_cpu_mem_usage": False}, device="cpu")
    assert seen["model_kwargs"]["low_cpu_mem_usage"] is False
    assert seen["model_kwargs"]["attn_implementation"] == "eager"


@pytest.fixture(scope="module", params=CLASSES, ids=IDS)
def minilm(request, default_backbone_path: str) -> SentenceTransformer:
    """The packaged all-MiniLM-L6-v2 (a local folder): similarity tests need a model that knows sentences."""
    if request.param is SentenceTransformer:
        return SentenceTransformer(default_backbone_path, device="cpu")
    return stmtl.build(
        [SentenceClassificationHead("intent", INTENTS, 384)], backbone=default_backbone_path, device="cpu"
    )


@pytest.mark.parametrize("name", ["cosine", "dot", "euclidean", "manhattan"])
def test_similarity_score(minilm, name) -> None:
    """Ports test_similarity_score (on all-MiniLM-L6-v2, whose similarities mean something)."""
    minilm.similarity_fn_name = name
    sentences = ["The weather is so nice!", "It's so sunny outside.", "He's driving to the movie theater.",
                 "She's going to the cinema."]  # fmt: skip
    embeddings = minilm.encode(sentences, normalize_embeddings=True)
    scores = minilm.similarity(embeddings, embeddings)
    assert scores.shape == (4, 4)
    np.testing.assert_almost_equal(np.diag(scores), np.ones(4) if name in ("cosine", "dot") else np.zeros(4), 4)
    assert scores[1][0] > scores[2][0] and scores[1][0] > scores[3][0]
    assert scores[2][3] > scores[2][0] and scores[2][3] > scores[2][1]
    pairwise = minilm.similarity_pairwise(embeddings[::2], embeddings[1::2])
    assert pairwise.shape == (2,)
    if name in ("cosine", "dot"):
        assert (pairwise > 0.5).all()


def test_similarity_score_save(model, cls, tmp_path) -> None:
    """Ports test_similarity_score_save."""
    embeddings = model.encode(["Sentence 1", "Sentence 2"])
    assert model.similarity_fn_name == "cosine"
    cosine = model.similarity(embeddings, embeddings)
    model.similarity_fn_name = "euclidean"
    model.save(str(tmp_path))
    assert cls(str(tmp_path), device="cpu").similarity_fn_name == "euclidean"
    assert np.not_equal(cosine, model.similarity(embeddings, embeddings)).all()


def test_similarity_fn_name_set_via_enum(model) -> None:
    """Ports test_similarity_fn_name_set_via_enum."""
    model.similarity_fn_name = SimilarityFunction.EUCLIDEAN
    assert model.similarity_fn_name == "euclidean"
    model.similarity_fn_name = SimilarityFunction.DOT
    assert model.similarity_fn_name == "dot"


def test_similarity_fn_name_constructor_overrides_saved(model, cls, tmp_path) -> None:
    """Ports test_similarity_fn_name_constructor_overrides_saved."""
    model.similarity_fn_name = "euclidean"
    model.save(str(tmp_path))
    assert cls(str(tmp_path), similarity_fn_name="manhattan", device="cpu").similarity_fn_name == "manhattan"


def test_model_card_save_update_model_id(model, cls, tmp_path) -> None:
    """Ports test_model_card_save_update_model_id: the card's usage line names the model id given to ``save``."""
    model._model_card_text = ""
    model.save(str(tmp_path / "first"))
    assert (
        'model = SentenceTransformer("sentence_transformers_model_id"'
        in (tmp_path / "first" / "README.md").read_text()
    )
    loaded = cls(str(tmp_path / "first"), device="cpu")
    loaded.save(str(tmp_path / "second"), model_name="test_user/test_model")
    assert 'model = SentenceTransformer("test_user/test_model"' in (tmp_path / "second" / "README.md").read_text()


@pytest.mark.parametrize(
    "stack",
    [
        lambda t: [t, Pooling(32, "mean"), Dense(32, 32)],
        lambda t: [t, CNN(32, 32), Pooling(32, "mean")],
        lambda t: [t, Pooling(32, "mean"), LayerNorm(32)],
        lambda t: [t, WeightedLayerPooling(32, num_hidden_layers=2, layer_start=1), Pooling(32, "mean")],
    ],
    ids=["dense", "cnn", "layernorm", "weighted_layer_pooling"],
)
def test_safetensors(cls, tiny_backbone, tmp_path, stack) -> None:
    """Ports test_safetensors for the BERT-based stacks (the word-embedding ones need a download)."""
    modules = stack(Transformer(tiny_backbone))
    if isinstance(modules[1], WeightedLayerPooling):
        modules[0].auto_model.config.output_hidden_states = True
    model = make_model(cls, tiny_backbone, modules)
    original = model.encode("Hello, World!")
    model.save(str(tmp_path))
    assert list(tmp_path.rglob("model.safetensors")) and not list(tmp_path.rglob("pytorch_model.bin"))
    loaded = cls(str(tmp_path), device="cpu")
    assert np.allclose(original, loaded.encode("Hello, World!"), rtol=1e-4, atol=1e-6)


def test_transformers_model_property(model) -> None:
    """Ports test_transformers_model_property."""
    from transformers import BertModel

    assert isinstance(model.transformers_model, BertModel)


def test_router_transformers_model_property(cls, tiny_backbone) -> None:
    """Ports test_router_transformers_model_property, with a StaticEmbedding built from the tiny tokenizer."""
    from transformers import AutoTokenizer, BertModel

    static = StaticEmbedding(AutoTokenizer.from_pretrained(tiny_backbone), embedding_dim=32)
    router = Router({"query": [static], "document": encoder_modules(tiny_backbone)})
    model = cls(modules=[router], device="cpu")
    assert isinstance(model.transformers_model, BertModel)


def test_default_pooling_mode_encoder(cls, tiny_backbone) -> None:
    """Ports test_default_pooling_mode (the encoder case; the causal-LM case needs a download)."""
    model = cls(tiny_backbone, device="cpu")
    assert isinstance(model[1], Pooling) and model[1].pooling_mode == "mean"


# Not ported, and why:
# - test_torch_dtype, test_load_with_torch_dtype, test_encode_fp16: need CUDA (skipped by sentence-transformers too
#   on CPU); test_to is ported and skipped here for the same reason.
# - test_push_to_hub: about HfApi argument plumbing, not about the model class (the saved folder it uploads is
#   what test_save_* check).
# - test_load_with_revision: needs the hub; tests/test_hub.py loads two revisions from a local hub-layout cache.
# - test_load_checkpoint_with_peft_and_lora (skipped upstream), test_multiple_adapters,
#   test_load_adapter_with_revision: need PEFT adapters from the hub.
# - test_clip, test_default_pooling_mode (causal LM), test_default_pooling_mode_causal_lm_with_is_causal_false:
#   need downloads and test modules, not the model class.
# - test_safetensors with word embeddings (LSTM, avg_word_embeddings_levy): needs a download.
# - The encode tests of this file are in test_model_encode.py.
