"""evaluation_report (the full metrics and what each task gets wrong) and its text and Markdown tables."""

from __future__ import annotations

import json

import pytest
from datasets import Dataset

from stmtl.evaluation import evaluate_model, evaluation_report
from stmtl.evaluation_report import MAX_MATRIX_LABELS, blocks, render_markdown, render_text
from stmtl.heads.sentence.errors import confusion_matrix, most_confused
from tests.helpers import TOY, two_task_model

_KINDS = {"city": "loc", "date": "time", "time": "time"}


@pytest.fixture(scope="module")
def report_and_headline(tiny_backbone) -> tuple[dict, dict]:
    model = two_task_model(tiny_backbone, 32, seed=3)  # untrained: plenty of errors of every kind
    tags = [[tag[:2] + _KINDS[tag[2:]] if tag[2:] in _KINDS else "O" for tag in t.split()] for _, _, t in TOY]
    texts, labels = [text for text, _, _ in TOY], [label for _, label, _ in TOY]
    data = Dataset.from_dict({"text": texts, "label": labels, "tokens": [t.split() for t in texts], "tags": tags})
    return evaluation_report(model, data), evaluate_model(model, data)[0]


def test_evaluation_report_holds_full_metrics_and_errors(report_and_headline) -> None:
    report, headline = report_and_headline
    assert report["rows"] == len(TOY) and report["headline"] == headline
    intent, ner = report["tasks"]["intent"], report["tasks"]["ner"]
    assert intent["kind"] == "sentence" and set(intent["per_class"]) >= {"BookRestaurant", "SetAlarm"}
    matrix = intent["confusion_matrix"]
    assert sum(map(sum, matrix["matrix"])) == len(TOY)
    for label, row in zip(matrix["labels"], matrix["matrix"]):
        assert sum(row) == intent["per_class"][label]["support"]  # rows are gold labels
    assert intent["most_confused"] == most_confused(matrix) and intent["most_confused"]
    errors = ner["entity_errors"]
    for kind, values in ner["per_entity"].items():
        classed = sum(errors[key].get(kind, 0) for key in ("correct", "wrong_span", "missed"))
        classed += sum(pair["count"] for pair in errors["wrong_type"] if pair["gold"] == kind)
        assert classed == values["support"]
    assert report["exact_match"] == headline["exact_match"]
    json.dumps(report)  # plain values only


def test_evaluation_report_text_tables(report_and_headline) -> None:
    report, _ = report_and_headline
    text = render_text(report)
    assert text.startswith(f"Scores on {len(TOY)} rows\n")
    lines = text.splitlines()
    per_class = lines.index("intent: per class")
    assert lines[per_class + 1].split() == ["class", "precision", "recall", "F1", "support"]
    f1s = [float(line.split()[-2]) for line in lines[per_class + 2 : per_class + 6]]
    assert f1s == sorted(f1s)  # worst first
    assert "intent: confusion matrix (rows: gold, columns: predicted)" in lines
    per_type = lines.index("ner: per entity type")
    header = ["type", "precision", "recall", "F1", "support", "missed", "spurious", "wrong", "span"]
    assert lines[per_type + 1].split() == header
    assert "ner: most confused entity types (right span, gold → predicted)" in lines
    assert "seqeval strict IOB2" in text


def test_evaluation_report_markdown_tables(report_and_headline) -> None:
    report, _ = report_and_headline
    markdown = render_markdown(report, title="Model X on test")
    assert markdown.startswith("# Model X on test\n\n## Scores on 16 rows\n")
    assert "| class | precision | recall | F1 | support |\n| --- | ---: | ---: | ---: | ---: |" in markdown
    assert "| gold | predicted | count |\n| --- | --- | ---: |" in markdown


def test_evaluation_report_large_label_sets_show_pairs_only() -> None:
    labels = [f"L{i}" for i in range(MAX_MATRIX_LABELS + 1)]
    confusion = confusion_matrix(labels, labels[1:] + labels[:1])
    values = {
        "kind": "sentence",
        "per_class": {},
        "confusion_matrix": confusion,
        "most_confused": most_confused(confusion),
    }
    titles = [block.title for block in blocks({"rows": 21, "headline": {}, "tasks": {"t": values}})]
    assert titles == ["Scores on 21 rows", "t: per class", "t: most confused (gold → predicted)"]
    assert "11 more pair(s) in the JSON report" in render_text({"rows": 21, "headline": {}, "tasks": {"t": values}})
