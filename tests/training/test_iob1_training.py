"""A token task trained on an IOB1 file (CoNLL-2003's scheme) learns and predicts entities, also in raw text."""

from __future__ import annotations

import pytest

from stmtl.training.run import train
from tests.helpers import TOY, toy_config


def _iob1(tags: list[str]) -> list[str]:
    # IOB2 -> IOB1: an entity opens with I-, and with B- only right after an entity of its own type.
    out = []
    for index, tag in enumerate(tags):
        after_same = index > 0 and tags[index - 1] != "O" and tags[index - 1][2:] == tag[2:]
        out.append("I-" + tag[2:] if tag.startswith("B-") and not after_same else tag)
    return out


@pytest.fixture(scope="module")
def iob1_run(tiny_backbone, tmp_path_factory):
    sentences = [(text.split(), _iob1(tags.split())) for text, _, tags in TOY]
    assert all(not tag.startswith("B-") for _, tags in sentences for tag in tags)  # every entity opens with I-
    root = tmp_path_factory.mktemp("iob1")
    path = root / "toy.conll"
    path.write_text("".join("".join(f"{w} {t}\n" for w, t in zip(*sentence)) + "\n" for sentence in sentences))
    tasks = [{"name": "slots", "kind": "token", "train": str(path), "dev": str(path)}]
    return train(toy_config(root / "run", tiny_backbone, tasks=tasks, max_steps=60, eval_every=60))


def test_training_on_an_iob1_conll_file_scores_and_predicts_entities(iob1_run) -> None:
    model, results = iob1_run
    assert results["dev"]["slots"]["f1"] > 0.9  # 0.0 when IOB1 tags reached the IOB2 head unconverted
    labels = model.heads["slots"].labels
    assert labels == ["O", "B-artist", "B-city", "B-date", "B-party", "B-time", "I-city", "I-time"]
    predicted = model.predict(["book a table for four in new york"])[0]["slots"]
    assert {"label": "city", "text": "new york", "start": 25, "end": 33}.items() <= predicted[-1].items()


def test_prediction_on_raw_text_leaves_the_final_period_out_of_the_entity(iob1_run) -> None:
    # Trained on words without punctuation; raw text brings "York." and the period must not join the city.
    model, _ = iob1_run
    text = "Book a table for four in New York."
    city = next(entity for entity in model.predict([text])[0]["slots"] if entity["label"] == "city")
    assert (city["text"], city["start"], city["end"]) == ("New York", 25, 33)
