from __future__ import annotations

import json

from stmtl.cli import main
from tests.helpers import write_joint_folder


def test_compare_writes_table_json_and_chart(tiny_backbone, tmp_path, capsys) -> None:
    data = write_joint_folder(tmp_path / "data")
    sts = tmp_path / "sts.tsv"
    sts.write_text(
        "sentence1\tsentence2\tscore\nplay a song\tplay music\t4\nbook a table\tweather\t0\nset alarm\tremind me\t3\n"
    )
    out = tmp_path / "compare"
    argv = ["compare", "--data", data, "--sts", str(sts), "--output", str(out), "--backbone", tiny_backbone,
            "--max-steps", "2", "--batch-size", "8", "--lr-heads", "0.005", "--cpu"]  # fmt: skip
    assert main(argv) == 0
    rows = json.loads((out / "comparison.json").read_text())
    variants = [row["variant"] for row in rows]
    assert variants == [
        "source backbone (no training)", "single-task intent", "single-task slots", "multi-task",
        "multi-task, task adapter", "multi-task, frozen backbone", "multi-task + preservation",
        "two single-task models together",
    ]  # fmt: skip
    multi = rows[3]
    assert {"dev_intent", "dev_slots", "test_intent", "test_slots", "test_exact_match", "sts_spearman"} <= set(multi)
    assert "dev_slots" not in rows[1] and "dev_intent" not in rows[2]
    assert rows[-1]["ms_per_sentence"] == rows[1]["ms_per_sentence"] + rows[2]["ms_per_sentence"]
    assert (out / "comparison.png").read_bytes().startswith(b"\x89PNG")
    configs = {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/training_config.json")}
    assert {name: c["lr_heads"] for name, c in configs.items() if name != "frozen"} == dict.fromkeys(
        ["intent", "slots", "multi", "adapter", "preserve"], 0.005
    )
    assert {name: c["encoder"] for name, c in configs.items()} == {
        "intent": "full", "slots": "full", "multi": "full", "adapter": "adapter", "frozen": "full", "preserve": "full"
    }  # fmt: skip
    assert rows[4]["sts_spearman"] == rows[0]["sts_spearman"]  # the adapter's encode() is the source model's
    assert configs["preserve"]["preserve_embeddings"] == 1.0  # the training default
    assert "| multi-task |" in (out / "comparison.md").read_text()


def _head_weights(folder, task: str) -> dict:
    import stmtl

    return {name: p.detach().clone() for name, p in stmtl.load(folder).heads[task].named_parameters()}


def test_compare_adds_a_task_to_a_finished_model_and_reads_finished_runs_back(tiny_backbone, tmp_path) -> None:
    import torch

    from stmtl.jsonio import read_metrics

    data = write_joint_folder(tmp_path / "data")
    out = tmp_path / "compare"
    argv = ["compare", "--data", data, "--output", str(out), "--backbone", tiny_backbone, "--max-steps", "3",
            "--batch-size", "8", "--lr-heads", "0.05", "--lr-backbone", "0.01", "--cpu",
            "--variants", "add-slots-keep,add-slots-drop,add-slots"]  # fmt: skip
    assert main(argv) == 0
    rows = json.loads((out / "comparison.json").read_text())
    assert [row.get("key") for row in rows] == ["intent", "add-slots", "add-slots-keep", "add-slots-drop"]
    start = _head_weights(out / "intent", "intent")
    for key in ("add-slots-keep", "add-slots-drop"):  # the finished intent head is continued, and stays frozen
        assert all(torch.equal(start[name], p) for name, p in _head_weights(out / key, "intent").items())
    moved = _head_weights(out / "add-slots", "intent")  # continued, not frozen: it trains on from the saved head
    assert any(not torch.equal(start[name], p) for name, p in moved.items())
    trained = {key: {t for r in read_metrics(out / key / "metrics.jsonl") if r["type"] == "train" for t in r["loss"]}
               for key in ("add-slots-keep", "add-slots-drop")}  # fmt: skip
    assert trained == {"add-slots-keep": {"intent", "slots"}, "add-slots-drop": {"slots"}}

    stamps = {p: p.stat().st_mtime_ns for p in out.glob("*/results.json")}
    assert main(argv) == 0  # same settings: every run is read back, none trained again
    assert {p: p.stat().st_mtime_ns for p in out.glob("*/results.json")} == stamps
    assert json.loads((out / "comparison.json").read_text())[1]["test_intent"] == rows[1]["test_intent"]
    assert main([*argv[:-1], "intent,nonsense"]) == 2
