from __future__ import annotations

import numpy as np
import pytest

from stmtl.cli import main
from stmtl.data import DataError
from stmtl.sts import read_sts_tsv, sts_scores


def test_sts_scores_match_hand_computed_spearman() -> None:
    # Cosines of the pairs: 1.0, 0.0, -1.0, 0.6 → ranks 4, 2, 1, 3. Gold 5.0, 1.0, 2.0, 3.0 → ranks 4, 1, 2, 3.
    # d = 0, 1, -1, 0; Spearman = 1 - 6 * 2 / (4 * 15) = 0.8.
    first = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    second = np.array([[2.0, 0.0], [0.0, 3.0], [-1.0, 0.0], [0.6, 0.8]])
    scores = sts_scores(first, second, [5.0, 1.0, 2.0, 3.0])
    assert scores["spearman"] == pytest.approx(80.0)
    assert scores["pairs"] == 4


def test_read_sts_tsv_keeps_quotes(tmp_path) -> None:
    path = tmp_path / "sts.tsv"
    path.write_text('sentence1\tsentence2\tscore\nHe said "hi\tA "quoted" one\t3.5\nx\ty\t0\n')
    first, second, gold = read_sts_tsv(path)
    assert first == ['He said "hi', "x"] and second == ['A "quoted" one', "y"] and gold == [3.5, 0.0]


def test_read_sts_tsv_bad_score_names_line(tmp_path) -> None:
    path = tmp_path / "sts.tsv"
    path.write_text("sentence1\tsentence2\tscore\na\tb\t1\nc\td\tfive\n")
    with pytest.raises(DataError, match=r"sts.tsv:3:"):
        read_sts_tsv(path)


def test_cli_evaluate_sts_json(tiny_backbone, tmp_path, capsys) -> None:
    from tests.helpers import two_task_model

    model_dir = tmp_path / "model"
    two_task_model(tiny_backbone, dim=32).save(str(model_dir))
    data = tmp_path / "sts.tsv"
    rows = ["play a song\tplay some music\t4.5", "book a table\tweather today\t0.5", "set alarm\tset an alarm\t5"]
    data.write_text("sentence1\tsentence2\tscore\n" + "\n".join(rows) + "\n")
    out = tmp_path / "sts.json"
    assert main(["evaluate-sts", "--model", str(model_dir), "--data", str(data), "--output-json", str(out)]) == 0
    import json

    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(printed) == {"spearman", "pearson", "pairs"} and printed["pairs"] == 3
    assert json.loads(out.read_text()) == printed
