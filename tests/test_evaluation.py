from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
from datasets import Dataset

import stmtl.heads.token.decoding as token_module
from stmtl.alignment import split_words
from stmtl.evaluation import EvalSet, evaluate_model, predict_encoded
from stmtl.features import encode_dataset
from stmtl.heads.token.bio import entities_to_tags
from stmtl.metrics import TokenClassificationMetric
from tests.helpers import TOY, two_task_model


def _stray_inside(tags: list[str]) -> bool:
    """Whether an ``I-X`` tag follows neither ``B-X`` nor ``I-X`` (what ``predict`` repairs into a new entity)."""
    return any(tag.startswith("I-") and (i == 0 or tags[i - 1][2:] != tag[2:]) for i, tag in enumerate(tags))


def _as_model_tags(tags: str) -> list[str]:
    """Toy tags in the model's tag set (``loc``, ``time``): cities are places, dates and times are times."""
    kinds = {"city": "loc", "date": "time", "time": "time"}
    return [tag[:2] + kinds[tag[2:]] if tag[2:] in kinds else "O" for tag in tags.split()]


def test_evaluate_scores_exactly_what_predict_returns(tiny_backbone, monkeypatch) -> None:
    model = two_task_model(tiny_backbone, 32, seed=3)
    model.heads["ner"].classifier[-1].bias.data = torch.tensor([0.0, 0.0, 1.5, 0.0, 1.5])  # many stray I- tags
    raw_tags: list[list[str]] = []
    decode = token_module.decode_entities

    def spy(text, spans, tags, scores):
        raw_tags.append(list(tags))
        return decode(text, spans, tags, scores)

    monkeypatch.setattr(token_module, "decode_entities", spy)
    texts, gold = [text for text, _, _ in TOY], [_as_model_tags(tags) for _, _, tags in TOY]
    spans = [model.predict([text])[0]["ner"] for text in texts]
    from_predict = [entities_to_tags(entities, split_words(text)) for entities, text in zip(spans, texts)]
    raw = list(raw_tags)
    logits = model.encode(texts[:1], output_value="ner_logits")[0]  # (pieces, labels)
    assert model.heads["ner"].labels[int(logits[1].argmax())].startswith("I-")  # a per-word argmax opens with I-
    assert not any(_stray_inside(tags) for tags in raw)  # the constrained decoder never leaves a stray I-

    data = Dataset.from_dict({"tokens": [text.split() for text in texts], "tags": gold})
    _, full = evaluate_model(model, data)
    expected = TokenClassificationMetric().compute(predictions=from_predict, references=gold)
    assert full["ner"]["f1"] == pytest.approx(expected["f1"])
    assert full["ner"]["precision"] == pytest.approx(expected["precision"])
    assert full["ner"]["recall"] == pytest.approx(expected["recall"])
    assert expected["f1"] == pytest.approx(TokenClassificationMetric().compute(predictions=raw, references=gold)["f1"])


def test_evaluation_does_not_import_training(tiny_backbone, tmp_path) -> None:
    folder, data = tmp_path / "model", tmp_path / "data.jsonl"
    two_task_model(tiny_backbone, 32).save(str(folder))
    data.write_text("".join(json.dumps({"text": t, "label": label}) + "\n" for t, label, _ in TOY))
    script = (
        "import sys, stmtl\n"
        "from stmtl.cli import main\n"
        f"assert main(['evaluate', '--model', {str(folder)!r}, '--data', {str(data)!r}]) == 0\n"
        "print(sorted(name for name in sys.modules if name.startswith('stmtl.training')))\n"
    )
    # A fresh interpreter, so sys.modules shows what `stmtl evaluate` imports. It needs seconds on an idle machine;
    # one thread keeps it from spinning against other jobs on a shared CPU (10-20x slower with two), and the
    # timeout only guards against a hang, so machine load alone cannot fail the test.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_length_ordered_evaluation_keeps_each_prediction_with_its_row(tiny_backbone) -> None:
    model = two_task_model(tiny_backbone, 32, seed=3)
    texts = [text for text, _, _ in TOY]
    texts = sorted(texts, key=len)[::2] + sorted(texts, key=len)[1::2]  # lengths out of order
    encoded = encode_dataset(Dataset.from_dict({"text": texts}), model.tokenizer, model.max_seq_length, [], "toy")
    assert len(set(encoded["length"])) > 2
    predicted = predict_encoded(model, EvalSet(encoded, ["intent", "ner"]), batch_size=2)
    for index, text in enumerate(texts):
        alone = model.predict([text])[0]
        assert predicted[index]["intent"] == alone["intent"]["label"]
        assert predicted[index]["ner"] == entities_to_tags(alone["ner"], split_words(text))
