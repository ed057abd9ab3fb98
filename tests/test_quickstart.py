"""The quick start example (examples/00_quickstart.py) on a tiny random BERT: training must make its check pass."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import stmtl
from stmtl.demo_data import INTENT_TEMPLATES, SLOT_VALUES, UNSEEN, answer_scores, assistant_rows, expected_answer
from stmtl.heads import SentenceClassificationHead, TokenClassificationHead
from tests.conftest import WORDS, make_tiny_bert

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "00_quickstart.py"


@pytest.fixture(scope="module")
def quickstart():
    spec = importlib.util.spec_from_file_location("quickstart", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def demo_backbone(tmp_path_factory) -> str:
    """The tiny random BERT with the demo's words in its vocabulary (one piece each), so that it learns in seconds."""
    template_words = [word for templates in INTENT_TEMPLATES.values() for t in templates for word in t.split()]
    value_words = [word for values in SLOT_VALUES.values() for value in values for word in value.split()]
    words = WORDS + [word for word in template_words + value_words if not word.startswith("{")]
    return make_tiny_bert(tmp_path_factory.mktemp("demo-bert"), words)


def test_quickstart_check_fails_untrained_and_passes_after_training(quickstart, demo_backbone, tmp_path) -> None:
    held_out = [expected_answer(row) for row in assistant_rows(16, seed=7)]  # new combinations of templates and values
    tags = sorted({tag for row in assistant_rows(400) for tag in row["tags"]})
    intents = sorted(INTENT_TEMPLATES)
    heads = [SentenceClassificationHead("intent", intents, 32), TokenClassificationHead("slots", tags, 32)]
    untrained = stmtl.build(heads, backbone=demo_backbone, device="cpu")
    assert sum(quickstart.label_unseen(untrained, held_out)[1]) <= 2

    # The tiny random encoder: full fine-tuning at high rates learns the toy in the test's budget (as toy_config).
    settings = {"encoder": "full", "lr_backbone": 3e-3, "lr_heads": 1e-2, "warmup_ratio": 0.0, "cpu": True}
    model = quickstart.train_model(str(tmp_path / "run"), backbone=demo_backbone, epochs=8, rows=320, **settings)
    predictions, right, scores = quickstart.label_unseen(model, held_out)
    assert all(right), [p for p, ok in zip(predictions, right) if not ok]
    assert all(score["min"] > 0 for score in scores)
    assert stmtl.load(tmp_path / "run").predict([held_out[0].text]) == model.predict([held_out[0].text])


def test_quickstart_table_marks_each_request(quickstart, capsys) -> None:
    predictions = [
        {"intent": {"label": item.intent}, "slots": [{"label": slot, "text": text} for slot, text in item.slots]}
        for item in UNSEEN
    ]
    predictions[1] = {"intent": {"label": "PlayMusic"}, "slots": []}
    for result in predictions:
        result["intent"]["score"] = 0.9
        for entity in result["slots"]:
            entity["score"] = 0.8
    predictions[2]["slots"][0]["score"] = 0.55  # right, but not by the margin asked for
    right = [index != 1 for index in range(len(UNSEEN))]
    scores = answer_scores(predictions, UNSEEN)
    quickstart.print_table(predictions, right, UNSEEN, scores)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(UNSEEN) + 1 and lines[0].startswith("unseen request")
    assert lines[1].endswith("0.80 ✓") and "0.00 ✗ expected GetWeather: city=berlin" in lines[2]
    assert lines[3].endswith(f"0.55 ✗ right, but below {quickstart.MIN_SCORE}")
