from __future__ import annotations

import json

import numpy as np
import pytest

from stmtl.cli import main
from tests.helpers import TOY, write_joint_folder


@pytest.fixture(scope="module")
def trained(tiny_backbone, tmp_path_factory) -> tuple[str, str]:
    data = write_joint_folder(tmp_path_factory.mktemp("snips-like"))
    run = str(tmp_path_factory.mktemp("run") / "model")
    flags = [
        "--epochs",
        "20",
        "--batch-size",
        "4",
        "--lr-backbone",
        "2e-3",
        "--lr-heads",
        "1e-2",
        "--eval-every",
        "40",
    ]
    assert main(["train", "--data", data, "--output", run, "--backbone", tiny_backbone, "--cpu", *flags]) == 0
    return data, run


def test_cli_train_then_evaluate_json_shape(trained, capsys, tmp_path) -> None:
    data, run = trained
    capsys.readouterr()
    out = tmp_path / "scores.json"
    assert main(["evaluate", "--model", run, "--data", data, "--split", "test", "--output-json", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed) == {"intent", "slots", "exact_match"}
    assert set(printed["intent"]) == {"accuracy", "macro_f1"}
    assert set(printed["slots"]) == {"precision", "recall", "f1"}
    assert printed["intent"]["accuracy"] == 1.0 and printed["slots"]["f1"] == 1.0
    assert json.loads(out.read_text()) == printed


def test_cli_predict_one_json_line_per_text(trained, capsys, tmp_path) -> None:
    _, run = trained
    capsys.readouterr()
    assert main(["predict", "--model", run, TOY[0][0], "weather in new york"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["text"] for line in lines] == [TOY[0][0], "weather in new york"]
    assert lines[0]["intent"]["label"] == "PlayMusic"
    for line in lines:
        for entity in line["slots"]:
            assert line["text"][entity["start"] : entity["end"]] == entity["text"]


def test_cli_encode_writes_npy(trained, capsys, tmp_path) -> None:
    _, run = trained
    texts = tmp_path / "texts.txt"
    texts.write_text("play a song\nbook a table\n\n")
    assert main(["encode", "--model", run, "--input", str(texts), "--output", str(tmp_path / "e.npy")]) == 0
    assert np.load(tmp_path / "e.npy").shape == (3, 32)


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--data", "/no/such/folder", "--output", "OUT"],
        ["evaluate", "--model", "/no/such/model", "--data", "."],
        ["predict", "--model", "/no/such/model", "hello"],
    ],
)
def test_cli_bad_input_one_line_exit_2(argv, capsys, tmp_path) -> None:
    argv = [arg.replace("OUT", str(tmp_path / "out")) for arg in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("stmtl: error:") and "\n" not in err and "/no/such/" in err
    assert "Traceback" not in err


def test_cli_bad_data_row_names_file_and_line(tmp_path, capsys, tiny_backbone) -> None:
    data = write_joint_folder(tmp_path / "data")
    seq_out = tmp_path / "data" / "train" / "seq.out"
    lines = seq_out.read_text().splitlines()
    lines[2] = "O O"
    seq_out.write_text("\n".join(lines) + "\n")
    assert main(["train", "--data", data, "--output", str(tmp_path / "run"), "--backbone", tiny_backbone]) == 2
    err = capsys.readouterr().err
    assert "seq.out:3:" in err and err.count("\n") == 1


def test_cli_unknown_config_key_named(tmp_path, capsys) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("tasks: []\nepocs: 3\n")
    assert main(["train", "--config", str(config), "--output", str(tmp_path / "run")]) == 2
    assert "'epocs'" in capsys.readouterr().err


def test_cli_train_help_documents_every_config_flag(capsys) -> None:
    import dataclasses

    from stmtl.config import TrainConfig

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = "".join(capsys.readouterr().out.split())  # argparse wraps lines, also at hyphens
    for field in dataclasses.fields(TrainConfig):
        if field.name in ("output_dir", "tasks"):
            continue
        flag = "--" + field.name.replace("_", "-")
        assert flag in text, flag
        assert "".join(f"{field.metadata['help']} (default: {field.default})".split()) in text, flag
    assert "{joint,interleave}" in text and "{no,bf16,fp16}" in text


def test_cli_bad_choice_refused_by_parser_naming_choices(capsys, tmp_path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--data", str(tmp_path), "--output", str(tmp_path / "run"), "--mode", "mixed"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'mixed'" in err and "'joint'" in err and "'interleave'" in err


def test_cli_bad_freeze_policy_refused_before_model_loads(tmp_path, capsys, monkeypatch) -> None:
    import stmtl.training.run

    monkeypatch.setattr(stmtl.training.run, "train", lambda *a, **k: pytest.fail("training started"))
    data = write_joint_folder(tmp_path / "data")
    assert main(["train", "--data", data, "--output", str(tmp_path / "run"), "--freeze", "layers:two"]) == 2
    assert "'layers:two'" in capsys.readouterr().err


@pytest.fixture(scope="module")
def untrained(tiny_backbone, tmp_path_factory) -> str:
    from tests.helpers import two_task_model

    folder = tmp_path_factory.mktemp("untrained") / "model"
    two_task_model(tiny_backbone, dim=32).save(str(folder))
    return str(folder)


def test_cli_input_lines_split_on_newlines_only(untrained, tmp_path, capsys) -> None:
    texts = tmp_path / "texts.txt"
    texts.write_bytes("play a\u2028song\r\nbook\x85a table\nset\x0calarm\nweather\n".encode())
    assert main(["predict", "--model", untrained, "--input", str(texts)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["text"] for line in lines] == ["play a\u2028song", "book\x85a table", "set\x0calarm", "weather"]
    assert main(["encode", "--model", untrained, "--input", str(texts), "--output", str(tmp_path / "e.npy")]) == 0
    assert np.load(tmp_path / "e.npy").shape == (4, 32)


def test_cli_input_encoding_error_names_file(untrained, tmp_path, capsys) -> None:
    texts = tmp_path / "latin1.txt"
    texts.write_bytes("café\n".encode("latin-1"))
    for command in (["predict", "--model", untrained], ["encode", "--model", untrained, "--output", "x.npy"]):
        assert main([*command, "--input", str(texts)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "latin1.txt:1" in err and "UTF-8" in err


def test_cli_text_with_lone_surrogate_names_index(untrained, capsys) -> None:
    assert main(["predict", "--model", untrained, "ok", "bad \udc80"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "texts[1]" in err


def test_cli_predict_prints_valid_json_for_non_finite_scores(untrained, capsys, monkeypatch) -> None:
    from stmtl.model import MultiTaskSentenceTransformer

    def nan_results(self, texts, **kwargs):
        return iter([{"intent": {"label": "PlayMusic", "score": float("nan")}} for _ in texts])

    monkeypatch.setattr(MultiTaskSentenceTransformer, "iter_predict", nan_results)
    assert main(["predict", "--model", untrained, "play a song"]) == 0

    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line, parse_constant=refuse)["intent"]["score"] is None
