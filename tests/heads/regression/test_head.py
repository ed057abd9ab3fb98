"""The regression kind end to end: a numeric column becomes a task, trains alone and next to intent + slots from
the CLI, saves, reloads, predicts its score (PyTorch and ONNX alike) and is scored by Pearson, Spearman and MAE."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import stmtl
from stmtl.data import DataError, read_delimited, read_jsonl
from stmtl.data.check import check_data
from stmtl.data.inferred_tasks import infer_tasks
from stmtl.heads.regression.head import SentenceRegressionHead
from tests.helpers import TOY

URGENCY = {"SetAlarm": 0.9, "BookRestaurant": 0.6, "GetWeather": 0.3, "PlayMusic": 0.1}
"""A score per intent, plus a little per word: something the toy sentences' embeddings can learn."""


def _rows(with_intent_and_slots: bool) -> list[dict]:
    rows = []
    for text, label, tags in TOY:
        row = {"text": text, "urgency": round(URGENCY[label] + 0.01 * len(text.split()), 3)}
        if with_intent_and_slots:
            row.update(label=label, tokens=text.split(), tags=tags.split())
        rows.append(row)
    return rows


def _jsonl(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return str(path)


def test_regression_numeric_columns_are_inferred_as_tasks_named_after_them(tmp_path) -> None:
    rows = [
        {"text": "a", "label": "x", "urgency": 0.5, "stars": 4},
        {"text": "b", "label": "y", "urgency": 1, "stars": 2},
    ]
    path = _jsonl(tmp_path / "r.jsonl", rows)
    assert [(t["name"], t["kind"]) for t in infer_tasks(path)] == [
        ("intent", "sentence"),
        ("urgency", "regression"),
        ("stars", "regression"),
    ]
    data = read_jsonl(path)
    assert data.features["stars"].dtype == "float64" and data["stars"] == [4.0, 2.0]
    csv = tmp_path / "r.csv"
    csv.write_text("text,score\nurgent,0.9\ncalm,0.1\n", encoding="utf-8")
    assert read_delimited(csv).to_dict() == {"text": ["urgent", "calm"], "score": [0.9, 0.1]}


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [("high", "'urgency' must be a finite number, got a string"), (True, "got a boolean"), (None, "got null")],
)
def test_regression_bad_target_named_with_its_line(tmp_path, bad, fragment) -> None:
    path = _jsonl(tmp_path / "r.jsonl", [{"text": "a", "urgency": 0.5}, {"text": "b", "urgency": bad}])
    with pytest.raises(DataError, match=f"r.jsonl:2: .*{fragment}"):
        read_jsonl(path)


def test_regression_check_data_refuses_a_constant_target(tmp_path, tiny_backbone) -> None:
    path = _jsonl(tmp_path / "r.jsonl", [{"text": "a", "urgency": 0.5}, {"text": "b", "urgency": 0.5}])
    report = check_data(path, backbone=tiny_backbone)
    assert (
        report.exit_code == 2 and "task 'urgency' (regression): its training data has 1 distinct" in report.errors[0]
    )


def test_regression_head_saves_its_scale_and_refuses_labels(tmp_path) -> None:
    head = SentenceRegressionHead("urgency", 8, loss="huber")
    from datasets import Dataset

    head.prepare_training(Dataset.from_dict({"urgency": [1.0, 3.0]}))
    assert (head.target_mean, head.target_std) == (2.0, 1.0)
    head.save(str(tmp_path))
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["loss"] == "huber" and config["target_mean"] == 2.0 and "labels" not in config
    loaded = SentenceRegressionHead.load(str(tmp_path))
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), head.state_dict().values()))
    with pytest.raises(ValueError, match="a regression task has no labels"):
        SentenceRegressionHead.for_task("urgency", Dataset.from_dict({"urgency": [1.0]}), 8, labels=["a"])


@pytest.mark.parametrize("with_intent_and_slots", [False, True], ids=["alone", "with-intent-and-slots"])
def test_regression_trains_from_the_cli_saves_reloads_and_predicts(
    tiny_backbone, tmp_path, capsys, with_intent_and_slots
) -> None:
    from stmtl.cli import main

    data = _jsonl(tmp_path / "train.jsonl", _rows(with_intent_and_slots))
    output = tmp_path / "run"
    argv = ["train", "--train", data, "--dev", data, "--output", str(output), "--backbone", tiny_backbone,
            "--max-steps", "120", "--batch-size", "4", "--lr-heads", "0.01", "--lr-backbone", "0.002",
            "--warmup-ratio", "0", "--cpu"]  # fmt: skip
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    expected_tasks = ["intent", "slots", "urgency"] if with_intent_and_slots else ["urgency"]
    assert printed["tasks"] == expected_tasks
    results = json.loads((output / "results.json").read_text())
    scores = results["dev"]["urgency"]
    assert set(scores) == {"pearson", "spearman", "mae"}
    assert scores["pearson"] > 0.9 and scores["mae"] < 0.1  # the toy set is learned (dev is the training data)
    assert ("exact_match" in results["dev"]) == with_intent_and_slots  # intent + slots only: a score is never exact

    model = stmtl.load(output, device="cpu")
    texts = [text for text, _, _ in TOY]
    predicted = model.predict(texts)
    assert all(set(result["urgency"]) == {"score"} for result in predicted)
    gold = [row["urgency"] for row in _rows(False)]
    assert sum(abs(r["urgency"]["score"] - g) for r, g in zip(predicted, gold)) / len(gold) == pytest.approx(
        scores["mae"], abs=1e-5
    )
    assert "the training targets' standard deviation and mean" in (output / "README.md").read_text()

    assert main(["evaluate", "--model", str(output), "--data", data]) == 0
    summary = next(line for line in capsys.readouterr().out.splitlines() if line.strip().startswith("urgency:"))
    assert f"mae {scores['mae']:.4g}" in summary and "pearson" in summary  # an error in the target's unit, as is

    if not with_intent_and_slots:  # the ONNX runner decodes it through the registry, without torch's code
        from stmtl.onnx.export import export_onnx

        export_onnx(output)
        onnx = stmtl.load(output, backend="onnx")
        for ours, theirs in zip(onnx.predict(texts), predicted):
            assert ours["urgency"]["score"] == pytest.approx(theirs["urgency"]["score"], abs=1e-4)
