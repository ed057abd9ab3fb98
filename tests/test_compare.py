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
        "multi-task, frozen backbone", "multi-task + preservation", "two single-task models together",
    ]  # fmt: skip
    multi = rows[3]
    assert {"dev_intent", "dev_slots", "test_intent", "test_slots", "test_exact_match", "sts_spearman"} <= set(multi)
    assert "dev_slots" not in rows[1] and "dev_intent" not in rows[2]
    assert rows[-1]["ms_per_sentence"] == rows[1]["ms_per_sentence"] + rows[2]["ms_per_sentence"]
    assert (out / "comparison.png").read_bytes().startswith(b"\x89PNG")
    configs = {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/training_config.json")}
    assert {name: c["lr_heads"] for name, c in configs.items() if "frozen" not in name} == dict.fromkeys(
        ["single-task_intent", "single-task_slots", "multi-task", "multi-task_plus_preservation"], 0.005
    )
    assert configs["multi-task_plus_preservation"]["preserve_embeddings"] == 3.0  # the documented default
    assert "| multi-task |" in (out / "comparison.md").read_text()
