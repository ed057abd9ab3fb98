"""The model card: model id and name, base model, usage lines with the model's own sentences, embedding drift."""

from __future__ import annotations

from pathlib import Path

import pytest

import stmtl
from stmtl.model_card import DEFAULT_MODEL_ID, FALLBACK_EXAMPLE, render_model_card
from tests.helpers import two_task_model

DRIFT = {"mean_cosine": 0.6341, "texts": 700, "sts_spearman": 59.04, "source_sts_spearman": 86.71,
         "warning": "embeddings moved far from the source model's: see --preserve-embeddings"}  # fmt: skip


@pytest.fixture
def model(tiny_backbone) -> stmtl.MultiTaskSentenceTransformer:
    return two_task_model(tiny_backbone, dim=32)


def test_model_card_usage_uses_the_models_own_sentence(model) -> None:
    model.card_info = {"example_texts": ["", "set an alarm for seven"]}
    card = render_model_card(model)
    assert 'model.encode(["set an alarm for seven"])' in card
    assert 'model.predict(["set an alarm for seven"])' in card
    assert "Nobu" not in card


def test_model_card_usage_falls_back_to_a_neutral_sentence(model) -> None:
    card = render_model_card(model)
    assert f'model.predict(["{FALLBACK_EXAMPLE}"])' in card and "Nobu" not in card
    assert f'model = SentenceTransformer("{DEFAULT_MODEL_ID}")' in card
    assert f'model = stmtl.load("{DEFAULT_MODEL_ID}")' in card


def test_model_card_names_the_real_backbone(model, tiny_backbone) -> None:
    card = render_model_card(model)
    assert f"`{Path(tiny_backbone).resolve()}`" in card
    assert "base_model:" not in card and "all-MiniLM" not in card
    model.model_card_data.base_model = "org/some-encoder"
    card = render_model_card(model)
    assert "\nbase_model: org/some-encoder\n" in card.split("---")[1] + "\n"
    assert "[org/some-encoder](https://huggingface.co/org/some-encoder)" in card and "all-MiniLM" not in card
    model.model_card_data.base_model = "sentence-transformers/all-MiniLM-L6-v2"
    assert "Apache-2.0" in render_model_card(model)


def test_model_card_keeps_model_id_name_and_base_model_through_save_and_load(model, tmp_path) -> None:
    model.model_card_data.model_name = "Intents and slots"
    model.save(str(tmp_path / "first"), model_name="org/my-model")
    card = (tmp_path / "first" / "README.md").read_text()
    assert 'model = SentenceTransformer("org/my-model")' in card and 'stmtl.load("org/my-model")' in card
    assert "# Intents and slots" in card
    loaded = stmtl.load(tmp_path / "first", device="cpu")
    assert loaded.model_card_data.base_model == model.model_card_data.base_model
    loaded.save(str(tmp_path / "second"))
    assert f"`{model.model_card_data.base_model}`" in (tmp_path / "second" / "README.md").read_text()


def test_model_card_renders_embedding_drift(model, tmp_path) -> None:
    model.card_info = {"embedding_drift": DRIFT}
    card = render_model_card(model)
    section = card[card.index("## Embedding drift") :]
    assert "embeddings of 700 texts: 0.634" in section
    assert "STS Spearman: 59.0 (source model: 86.7)." in section
    assert "> **Warning:** embeddings moved far from the source model's: see --preserve-embeddings" in section
    model.save(str(tmp_path / "model"))  # kept in config_sentence_transformers.json: a re-save still shows it
    stmtl.load(tmp_path / "model", device="cpu").save(str(tmp_path / "again"))
    assert "STS Spearman: 59.0" in (tmp_path / "again" / "README.md").read_text()


def test_model_card_drift_without_sts_or_warning(model) -> None:
    model.card_info = {"embedding_drift": {"mean_cosine": 0.97, "texts": 12, "sts_spearman": None,
                                           "source_sts_spearman": None, "warning": None}}  # fmt: skip
    section = render_model_card(model).split("## Embedding drift")[1]
    assert "0.970" in section and "STS" not in section.split("##")[0] and "Warning" not in section
    assert "\n\n\n" not in render_model_card(model)
