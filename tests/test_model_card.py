"""The model card: model id and name, base model, usage lines with the model's own sentences, embedding drift."""

from __future__ import annotations

from pathlib import Path

import pytest

import stmtl
from stmtl.heads import MultiLabelClassificationHead, SentenceClassificationHead
from stmtl.model_card import DEFAULT_MODEL_ID, FALLBACK_EXAMPLE, render_model_card, run_summary
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


def test_model_card_states_the_steps_and_epochs_run_not_the_budget(model, tmp_path) -> None:
    # A run planned for 80 epochs of 30 batches that early stopping ended after 30 epochs (900 steps).
    state = {"step": 900, "epoch": 30, "batches_done": 0, "best_checkpoint": "checkpoints/step-0000600",
             "finished": False}  # fmt: skip
    run = run_summary(state, [30] * 80, 80.0, 2400)
    assert run == {"steps": 900, "planned_steps": 2400, "epochs": 30.0, "planned_epochs": 80.0, "best_step": 600,
                   "stopped_early": True, "calibration": {}}  # fmt: skip
    model.card_info = {"training_config": {"epochs": 80.0}, "run": run, "metrics": {"dev": {"intent": {}}}}
    card = render_model_card(model)
    training = card[card.index("## Training\n") :]
    assert (
        "Trained 900 optimizer steps (30 epochs) of the 2,400 planned; stopped early: dev scores stopped improving."
        in training
    )
    assert "Weights kept: step 600, the best dev score of the run." in training
    assert "`dev`: the model kept (step 600), after its dev calibration" in card
    assert "`epochs` and `max_steps` are the budget; what ran is under Training." in card
    model.save(str(tmp_path / "model"))  # kept in config_sentence_transformers.json: a re-save still shows it
    stmtl.load(tmp_path / "model", device="cpu").save(str(tmp_path / "again"))
    assert "Trained 900 optimizer steps" in (tmp_path / "again" / "README.md").read_text()


def test_run_summary_counts_partial_epochs_and_finished_runs() -> None:
    midway = {"step": 45, "epoch": 1, "batches_done": 15, "best_checkpoint": None, "finished": False}
    assert run_summary(midway, [30, 30, 15], 2.5, 75)["epochs"] == 1.5  # 45 of 75 batches of 2.5 epochs
    done = {"step": 75, "epoch": 3, "batches_done": 0, "best_checkpoint": "checkpoints/step-0000075", "finished": True}
    summary = run_summary(done, [30, 30, 15], 2.5, 75, {"intent": {"prior_weight": 0.5}})
    assert (summary["epochs"], summary["stopped_early"], summary["best_step"]) == (2.5, False, 75)
    assert summary["calibration"] == {"intent": {"prior_weight": 0.5}}
    assert run_summary(midway, [100], None, 100)["epochs"] is None  # streamed: no epochs


def test_model_card_states_every_calibrated_setting(tiny_backbone) -> None:
    heads = [
        SentenceClassificationHead("intent", ["a", "b"], 32, prior=[0.75, 0.25], prior_weight=0.35),
        SentenceClassificationHead("topic", ["x", "y"], 32),
        MultiLabelClassificationHead("tags", ["p", "q"], 32, threshold=0.3),
    ]
    model = stmtl.build(heads, backbone=tiny_backbone, device="cpu")
    calibration = {
        "intent": {"prior_weight": 0.35, "objective": "balanced", "dev_accuracy": 0.9, "dev_balanced_accuracy": 0.85},
        "tags": {"threshold": 0.3, "dev_micro_f1": 0.8125},
    }
    model.card_info = {"run": {"steps": 10, "calibration": calibration}}
    section = render_model_card(model).split("## Decision settings")[1].split("##")[0]
    assert "`intent`: the label with the largest logit + τ · log(training prior), prior weight τ = 0.35" in section
    assert "(chosen on dev by balanced: accuracy 0.9000, balanced accuracy 0.8500)" in section
    assert "`topic`: the label with the largest logit (no label prior)" in section
    assert (
        "`tags`: every label whose sigmoid probability is at least 0.3 (threshold chosen on dev: micro-F1 0.8125)"
        in (section)
    )
    model.card_info = {}  # no run recorded: the settings in effect, read from the heads, are still stated
    assert "prior weight τ = 0.35" in render_model_card(model) and "chosen on dev" not in render_model_card(model)


def test_trained_model_card_states_the_run(tiny_backbone, tmp_path) -> None:
    from stmtl.training.run import train
    from tests.helpers import toy_config

    # 25 epochs of 4 batches planned, 6 steps allowed: the card says what ran, and the training config the plan.
    model, results = train(toy_config(tmp_path / "run", tiny_backbone, max_steps=6, eval_every=3))
    run = model.card_info["run"]
    assert (run["steps"], run["planned_steps"], run["epochs"], run["planned_epochs"]) == (6, 6, 1.5, 25)
    assert run["best_step"] in (3, 6) and run["calibration"] == results["calibration"]
    card = (tmp_path / "run" / "README.md").read_text()
    assert "Trained 6 optimizer steps (1.5 epochs) of the 6 planned." in card
    assert f"Weights kept: step {run['best_step']}" in card and '"epochs": 25' in card
    assert "prior weight τ = " in card  # the intent head's calibrated setting
