"""A token task trained on an IOB1 file (CoNLL-2003's scheme) learns and predicts entities."""

from __future__ import annotations

from pathlib import Path

from stmtl.training.run import train
from tests.helpers import TOY, toy_config


def _iob1(tags: list[str]) -> list[str]:
    # IOB2 -> IOB1: an entity opens with I-, and with B- only right after an entity of its own type.
    out = []
    for index, tag in enumerate(tags):
        after_same = index > 0 and tags[index - 1] != "O" and tags[index - 1][2:] == tag[2:]
        out.append("I-" + tag[2:] if tag.startswith("B-") and not after_same else tag)
    return out


def test_training_on_an_iob1_conll_file_predicts_entities(tiny_backbone, tmp_path: Path) -> None:
    sentences = [(text.split(), _iob1(tags.split())) for text, _, tags in TOY]
    assert all(not tag.startswith("B-") for _, tags in sentences for tag in tags)  # every entity opens with I-
    path = tmp_path / "toy.conll"
    path.write_text("".join("".join(f"{w} {t}\n" for w, t in zip(*sentence)) + "\n" for sentence in sentences))
    tasks = [{"name": "slots", "kind": "token", "train": str(path), "dev": str(path)}]
    model, results = train(toy_config(tmp_path / "run", tiny_backbone, tasks=tasks, max_steps=60, eval_every=60))
    assert results["dev"]["slots"]["f1"] > 0.9  # 0.0 when IOB1 tags reached the IOB2 head unconverted
    labels = model.heads["slots"].labels
    assert labels == ["O", "B-artist", "B-city", "B-date", "B-party", "B-time", "I-city", "I-time"]
    predicted = model.predict(["book a table for four in new york"])[0]["slots"]
    assert {"label": "city", "text": "new york"}.items() <= next(e for e in predicted if e["label"] == "city").items()
