from __future__ import annotations

import json

import numpy as np
import pytest

from stmtl.cli import COMPARE_KEYS, main
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
        "--encoder",  # as tests.helpers.toy_config, for the tiny random encoder
        "full",
    ]
    assert main(["train", "--data", data, "--output", run, "--backbone", tiny_backbone, "--cpu", *flags]) == 0
    return data, run


def test_cli_train_then_evaluate_json_shape(trained, capsys, tmp_path) -> None:
    data, run = trained
    capsys.readouterr()
    out = tmp_path / "scores.json"
    report = tmp_path / "report.md"
    flags = ["--split", "test", "--output-json", str(out), "--report", str(report)]
    assert main(["evaluate", "--model", run, "--data", data, *flags]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("Scores on 16 rows\n  intent: accuracy 100.0, macro_f1 100.0\n")
    assert "intent: per class" in printed and "slots: per entity type" in printed
    written = json.loads(out.read_text())
    headline = written["headline"]
    assert set(headline) == {"intent", "slots", "exact_match"}
    assert set(headline["intent"]) == {"accuracy", "macro_f1"}
    assert set(headline["slots"]) == {"precision", "recall", "f1"}
    assert headline["intent"]["accuracy"] == 1.0 and headline["slots"]["f1"] == 1.0
    assert set(written["tasks"]["intent"]["per_class"]) == {"BookRestaurant", "GetWeather", "PlayMusic", "SetAlarm"}
    assert (
        written["tasks"]["intent"]["most_confused"] == []
        and written["tasks"]["slots"]["entity_errors"]["missed"] == {}
    )
    assert report.read_text().startswith(f"# {run} on {data} (test)\n\n## Scores on 16 rows\n")


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
    assert not (tmp_path / "run").exists()  # the failed run removed the folder it had made


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
        bounds = field.metadata["bounds"]
        shown = f"{field.default}, {bounds}" if bounds is not None else field.default
        assert "".join(f"{field.metadata['help']} (default: {shown})".split()) in text, flag
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


def test_cli_version_prints_package_version(capsys) -> None:
    import stmtl

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"stmtl {stmtl.__version__}"


def _write_jsonl(path, rows) -> str:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


def _toy_rows(label: bool = True, tokens: bool = True) -> list[dict]:
    rows = []
    for text, intent, tags in TOY:
        row = {"text": text}
        row.update({"label": intent} if label else {})
        row.update({"tokens": text.split(), "tags": tags.split()} if tokens else {})
        rows.append(row)
    return rows


def _write_conll(path) -> str:
    sentences = ("".join(f"{w} {t}\n" for w, t in zip(text.split(), tags.split())) for text, _, tags in TOY)
    path.write_text("\n".join(sentences))
    return str(path)


@pytest.fixture
def captured_config(monkeypatch) -> list:
    """Replaces training by recording the config ``stmtl train`` built."""
    import stmtl.training.run

    configs: list = []

    def fake_train(config, **kwargs):
        configs.append(config)
        results = {"dev": {}, "test": {}, "steps": 0, "train_seconds": 0.0, "embedding_drift": None}
        return None, results

    monkeypatch.setattr(stmtl.training.run, "train", fake_train)
    return configs


@pytest.mark.parametrize(
    ("source", "tasks"),
    [
        ("both.jsonl", [("intent", "sentence"), ("slots", "token")]),
        ("intents.jsonl", [("intent", "sentence")]),
        ("ner.conll", [("slots", "token")]),
        ("multi.jsonl", [("labels", "multilabel")]),
        ("folder", [("intent", "sentence"), ("slots", "token")]),
    ],
)
def test_cli_train_infers_tasks_from_the_columns(source, tasks, tmp_path, captured_config) -> None:
    files = {
        "both.jsonl": lambda p: _write_jsonl(p, _toy_rows()),
        "intents.jsonl": lambda p: _write_jsonl(p, _toy_rows(tokens=False)),
        "ner.conll": _write_conll,
        "multi.jsonl": lambda p: _write_jsonl(p, [{"text": t, "labels": [i, "any"]} for t, i, _ in TOY]),
        "folder": write_joint_folder,
    }
    path = files[source](tmp_path / source)
    for flag in ("--train", "--data"):
        assert main(["train", flag, path, "--dev", path, "--output", str(tmp_path / "run")]) == 0
        config = captured_config.pop()
        assert [(task.name, task.kind) for task in config.tasks] == tasks
        test = path if flag == "--data" and source == "folder" else None  # --data: a folder's own test split
        assert all(task.train == path and task.dev == path and task.test == test for task in config.tasks)


def test_cli_train_data_folder_uses_its_own_splits_unless_given(tmp_path, captured_config) -> None:
    folder = write_joint_folder(tmp_path / "snips", splits=("train", "dev"))
    other = _write_jsonl(tmp_path / "other.jsonl", _toy_rows())
    assert main(["train", "--data", folder, "--output", str(tmp_path / "a")]) == 0
    assert [(task.dev, task.test) for task in captured_config.pop().tasks] == [(folder, None)] * 2
    assert main(["train", "--data", folder, "--test", other, "--output", str(tmp_path / "b")]) == 0
    assert [(task.dev, task.test) for task in captured_config.pop().tasks] == [(folder, other)] * 2
    assert main(["train", "--train", folder, "--output", str(tmp_path / "c")]) == 0  # --train: only what is given
    assert [(task.dev, task.test) for task in captured_config.pop().tasks] == [(None, None)] * 2


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--train", "/no/such/train.jsonl", "--output", "OUT"], "/no/such/train.jsonl"),
        (["--data", "/no/such/data.jsonl", "--output", "OUT"], "/no/such/data.jsonl"),
        (["--train", "TMP/notes.md", "--output", "OUT"], "notes.md"),
        (["--train", "TMP/unlabelled.jsonl", "--output", "OUT"], "unlabelled.jsonl:1"),
        (["--train", "TMP/notes.md"], "--output"),
        (["--config", "TMP/no_output.yaml"], "--output"),
        (["--config", "TMP/no_output.yaml", "--dev", "TMP/notes.md", "--output", "OUT"], "--dev"),
    ],
)
def test_cli_train_source_errors_one_line_naming_the_argument(argv, named, tmp_path, captured_config, capsys) -> None:
    (tmp_path / "notes.md").write_text("hello\n")
    (tmp_path / "unlabelled.jsonl").write_text('{"text": "no labels here"}\n')
    (tmp_path / "no_output.yaml").write_text("tasks:\n  - {name: intent, kind: sentence, train: x.jsonl}\n")
    argv = [arg.replace("TMP", str(tmp_path)).replace("OUT", str(tmp_path / "run")) for arg in argv]
    assert main(["train", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("stmtl: error:") and "\n" not in err and named in err, err
    assert not captured_config


def test_cli_train_output_defaults_to_the_configs_output_dir(tmp_path, captured_config, capsys) -> None:
    data = _write_jsonl(tmp_path / "intents.jsonl", _toy_rows(tokens=False))
    config = tmp_path / "config.yaml"
    tasks = f"tasks:\n  - {{name: intent, kind: sentence, train: {data}}}\n"
    config.write_text(f"output_dir: {tmp_path / 'from-yaml'}\n{tasks}")
    assert main(["train", "--config", str(config)]) == 0
    assert captured_config.pop().output_dir == str(tmp_path / "from-yaml")
    assert json.loads(capsys.readouterr().out)["model"] == str(tmp_path / "from-yaml")
    assert main(["train", "--config", str(config), "--output", str(tmp_path / "flag")]) == 0
    assert captured_config.pop().output_dir == str(tmp_path / "flag")  # the flag wins


def test_cli_train_from_train_dev_test_files(tiny_backbone, tmp_path, capsys) -> None:
    train_file = _write_jsonl(tmp_path / "train.jsonl", _toy_rows())
    dev_file = _write_conll(tmp_path / "dev.conll")  # slots only: the intent task has no dev data
    run = tmp_path / "run"
    argv = ["train", "--train", train_file, "--dev", dev_file, "--test", train_file, "--output", str(run)]
    assert main([*argv, "--backbone", tiny_backbone, "--cpu", "--max-steps", "3", "--batch-size", "4"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["tasks"] == ["intent", "slots"] and printed["model"] == str(run)
    assert set(printed["dev"]) == {"slots"} and {"intent", "slots", "exact_match"} <= set(printed["test"])
    assert printed["embedding_drift"]["texts"] == len(TOY)
    assert json.loads((run / "results.json").read_text())["steps"] == 3


def test_cli_predict_reads_stdin(untrained, capsys, monkeypatch) -> None:
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("play a\u2028song\r\nbook a table\n".encode())))
    assert main(["predict", "--model", untrained, "--input", "-"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["text"] for line in lines] == ["play a\u2028song", "book a table"]
    assert {"intent", "ner"} <= set(lines[0])


def test_cli_encode_reads_stdin(untrained, tmp_path, capsys, monkeypatch) -> None:
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"play a song\nbook a table\nweather\n")))
    assert main(["encode", "--model", untrained, "--input", "-", "--output", str(tmp_path / "e.npy")]) == 0
    assert np.load(tmp_path / "e.npy").shape == (3, 32)


def _out_of_bounds(bounds) -> list[str]:
    """Values just outside ``bounds``, as flag text."""
    values = []
    if bounds.low is not None:
        values.append(str(bounds.low if bounds.low_open else bounds.low - 1))
    if bounds.high is not None:
        values.append(str(bounds.high if bounds.high_open else bounds.high + 1))
    return values


def _bounded_flags() -> list[tuple[str, str, str]]:
    """(command, flag, value) for every numeric flag of every command, with a value outside its bounds."""
    import dataclasses

    from stmtl.config import TrainConfig

    cases = []
    for field in dataclasses.fields(TrainConfig):
        if field.metadata.get("bounds") is not None:
            flag = "--" + field.name.replace("_", "-")
            cases += [("train", flag, value) for value in _out_of_bounds(field.metadata["bounds"])]
            if field.name in COMPARE_KEYS:
                cases += [("compare", flag, value) for value in _out_of_bounds(field.metadata["bounds"])]
    for command in ("evaluate", "predict", "evaluate-sts", "encode"):
        cases += [(command, "--batch-size", "0"), (command, "--batch-size", "-4")]
    found = [("train", "--max-steps", "0"), ("train", "--max-steps", "-3"), ("train", "--max-grad-norm", "-1"),
             ("train", "--eval-every", "0"), ("train", "--eval-every", "-1"), ("train", "--max-seq-length", "0"),
             ("train", "--temperature", "-1"), ("train", "--unfreeze-every", "0")]  # fmt: skip
    return [*found, *cases, ("compare", "--preserve-weight", "-1"), ("train", "--lr-heads", "nan")]


REQUIRED = {
    "train": ["--data", ".", "--output", "OUT"], "compare": ["--data", ".", "--output", "OUT"],
    "evaluate": ["--model", ".", "--data", "."], "evaluate-sts": ["--model", ".", "--data", "."],
    "predict": ["--model", ".", "x"], "encode": ["--model", ".", "--input", "-", "--output", "OUT"],
}  # fmt: skip


@pytest.mark.parametrize(("command", "flag", "value"), _bounded_flags())
def test_cli_numeric_flag_out_of_bounds_refused_by_parser(command, flag, value, capsys, tmp_path) -> None:
    argv = [arg.replace("OUT", str(tmp_path / "out")) for arg in REQUIRED[command]]
    with pytest.raises(SystemExit) as exit_info:
        main([command, *argv, f"{flag}={value}"])
    assert exit_info.value.code == 2
    assert f"argument {flag}: must be" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_cli_every_numeric_flag_is_bounded() -> None:
    import argparse

    from stmtl.cli import build_parser

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    for name, parser in commands.items():
        for action in parser._actions:
            kind = getattr(action.type, "__name__", None)
            if kind in ("int", "float"):
                assert action.type is not int and action.type is not float, (name, action.option_strings)
                with pytest.raises(argparse.ArgumentTypeError):
                    action.type("-1e9" if kind == "float" else "-1000000000")


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--data", ".", "--output", "OUT", "--encoder-drop", "0.1"],  # not --encoder-dropout
        ["train", "--data", ".", "--output", "OUT", "--max-step", "2"],
        ["predict", "--model", ".", "--batch", "4", "x"],
        ["encode", "--model", ".", "--input", "-", "--output", "OUT", "--batch", "4"],
        ["compare", "--data", ".", "--output", "OUT", "--variant", "multi"],
    ],
)
def test_cli_flags_are_not_matched_by_prefix(argv, capsys, tmp_path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([arg.replace("OUT", str(tmp_path / "out")) for arg in argv])
    assert exit_info.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


@pytest.mark.parametrize("before", [True, False])
def test_cli_debug_accepted_before_and_after_the_command(before) -> None:
    argv = ["predict", "--model", "/no/such/model", "x"]
    with pytest.raises(ValueError, match="/no/such/model"):  # the traceback, not a one-line error
        main(["--debug", *argv] if before else [argv[0], "--debug", *argv[1:]])
    assert main(argv) == 2


def test_cli_max_seq_length_above_backbone_limit_refused(tiny_backbone, tmp_path, capsys) -> None:
    data = write_joint_folder(tmp_path / "data", splits=("train",))
    run = tmp_path / "run"
    argv = ["train", "--data", data, "--output", str(run), "--backbone", tiny_backbone, "--max-seq-length", "65"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--max-seq-length: 65" in err and "limit of 64 word pieces" in err, err
    assert not run.exists()


def test_cli_encode_empty_input_one_line(untrained, tmp_path, capsys, monkeypatch) -> None:
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    assert main(["encode", "--model", untrained, "--input", "-", "--output", str(tmp_path / "e.npy")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "stmtl: error: standard input: no texts to encode (empty input)"
    (tmp_path / "empty.txt").write_text("")
    assert main(["encode", "--model", untrained, "--input", str(tmp_path / "empty.txt"), "--output", "e.npy"]) == 2
    assert "empty.txt: no texts to encode" in capsys.readouterr().err
    assert not (tmp_path / "e.npy").exists()


def test_cli_encode_output_written_where_reported(untrained, tmp_path, capsys) -> None:
    texts = tmp_path / "texts.txt"
    texts.write_text("play a song\nbook a table\n")
    assert main(["encode", "--model", untrained, "--input", str(texts), "--output", str(tmp_path / "vectors")]) == 0
    assert capsys.readouterr().out.startswith(f"{tmp_path / 'vectors.npy'}: 2 embeddings")
    assert np.load(tmp_path / "vectors.npy").shape == (2, 32) and not (tmp_path / "vectors").exists()
    folder = tmp_path / "out"
    folder.mkdir()
    assert main(["encode", "--model", untrained, "--input", str(texts), "--output", str(folder)]) == 2
    assert f"--output {folder}: is a folder" in capsys.readouterr().err
    assert list(folder.iterdir()) == [] and not (tmp_path / "out.npy").exists()
    assert main(["encode", "--model", untrained, "--input", str(texts), "--output", str(tmp_path / "no/e.npy")]) == 2
    assert "its folder does not exist" in capsys.readouterr().err


def test_cli_check_data_exit_codes_and_json(capsys, tmp_path, tiny_backbone) -> None:
    rows = [{"text": "hi there", "label": "greet"}, {"text": "bye now", "label": "leave"}]
    good = tmp_path / "good.jsonl"
    good.write_text("".join(json.dumps(row) + "\n" for row in rows))
    out = tmp_path / "check.json"
    assert main(["check-data", "--train", str(good), "--backbone", tiny_backbone, "--output-json", str(out)]) == 0
    assert "no errors: the data can be trained on" in capsys.readouterr().out
    assert json.loads(out.read_text())["tasks"][0]["label_counts"] == {"train": {"greet": 1, "leave": 1}}
    single = tmp_path / "single.jsonl"
    single.write_text(json.dumps(rows[0]) + "\n")
    assert main(["check-data", "--train", str(single), "--backbone", tiny_backbone]) == 2
    assert "error: task 'intent' (sentence): its training data has 1 label(s)" in capsys.readouterr().out
    assert main(["check-data", "--train", str(tmp_path / "missing.jsonl")]) == 2
    assert "--train" in capsys.readouterr().err
