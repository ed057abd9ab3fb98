from __future__ import annotations

import json
from pathlib import Path

from stmtl.training.plots import (
    plot_confusion_matrix,
    plot_eval_metrics,
    plot_grad_cosine,
    plot_losses,
    plot_run,
    read_metrics,
)


def _assert_png(path: Path) -> None:
    assert path.is_file()
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG")
    assert len(data) > 5_000


def _write_metrics(run_dir: Path) -> Path:
    records = []
    for step in range(10, 310, 10):
        loss = {"intent": 2.0 / step**0.5, "slots": 3.0 / step**0.5}
        if step % 30 == 0:
            del loss["slots"]  # a task may be absent from a record
        records.append({"type": "train", "step": step, "epoch": step / 300, "loss": loss, "lr": 5e-5})
        if step % 100 == 0:
            metrics = {
                "intent": {"accuracy": 0.8 + step / 3000, "macro_f1": 0.75 + step / 3000, "report": {"a": 1}},
                "slots": {"precision": 0.7, "recall": 0.72, "f1": 0.71, "note": "text"},
                "exact_match": 0.5 + step / 1000,
            }
            records.append({"type": "eval", "step": step, "epoch": step / 300, "split": "dev", "metrics": metrics})
            records.append({"type": "eval", "step": step, "split": "test", "metrics": {"exact_match": 0.1}})
            records.append({"type": "grad_cosine", "step": step, "pairs": {"intent/slots": -0.1 + step / 1000}})
        records.append({"type": "unknown_kind", "step": step, "foo": "bar"})
    path = run_dir / "metrics.jsonl"
    text = "\n".join(json.dumps(r) for r in records) + "\n\n"
    path.write_text(text + '{"type": "train", "step": 310, "loss": {"inte', encoding="utf-8")
    return path


def test_read_metrics_skips_bad_lines(tmp_path: Path) -> None:
    path = _write_metrics(tmp_path)
    records = read_metrics(path)
    assert all(isinstance(r, dict) for r in records)
    assert max(r["step"] for r in records if r["type"] == "train") == 300


def test_plot_run_writes_pngs(tmp_path: Path) -> None:
    _write_metrics(tmp_path)
    paths = plot_run(tmp_path)
    assert [p.name for p in paths] == ["loss.png", "eval_metrics.png", "grad_cosine.png"]
    for path in paths:
        assert path.parent == tmp_path / "plots"
        _assert_png(path)


def test_plot_run_train_only(tmp_path: Path) -> None:
    (tmp_path / "metrics.jsonl").write_text(
        json.dumps({"type": "train", "step": 1, "loss": {"a": 1e-4}})
        + "\n"
        + json.dumps({"type": "train", "step": 2, "loss": {"a": 10.0}})
        + "\n",
        encoding="utf-8",
    )
    paths = plot_run(tmp_path)
    assert [p.name for p in paths] == ["loss.png"]
    _assert_png(paths[0])


def test_no_eval_or_grad_records_returns_none(tmp_path: Path) -> None:
    records = [{"type": "train", "step": 1, "loss": {"a": 1.0}}]
    assert plot_eval_metrics(records, tmp_path / "eval.png") is None
    assert plot_grad_cosine(records, tmp_path / "grad.png") is None
    assert not (tmp_path / "eval.png").exists()
    _assert_png(plot_losses(records, tmp_path / "loss.png"))


def test_confusion_matrix_with_unknown_label(tmp_path: Path) -> None:
    refs = ["greet", "bye", "greet", "weather", "mystery"]
    preds = ["greet", "greet", "bye", "weather", "weather"]
    path = plot_confusion_matrix(refs, preds, ["greet", "bye", "weather"], tmp_path / "cm" / "cm.png", title="Intent")
    _assert_png(path)
