from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from stmtl.data import DataError, read_delimited, read_task_data
from stmtl.data.inferred_tasks import infer_tasks

ErrorCheck = Callable[..., str]

CSV = """text,label,labels,tokens,tags
"book a table, please",BookRestaurant,booking | polite,book a table please,O O O O
"say ""hi"" to Ann",Greet,,say hi to Ann,O O O B-PER
"""


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def test_read_delimited_csv_every_column(tmp_path: Path) -> None:
    data = read_delimited(write(tmp_path / "d.csv", CSV))
    assert data.to_dict() == {
        "text": ["book a table, please", 'say "hi" to Ann'],
        "label": ["BookRestaurant", "Greet"],
        "labels": [["booking", "polite"], []],
        "tokens": [["book", "a", "table", "please"], ["say", "hi", "to", "Ann"]],
        "tags": [["O"] * 4, ["O", "O", "O", "B-PER"]],
    }


def test_read_delimited_tsv_has_no_quoting(tmp_path: Path) -> None:
    path = write(tmp_path / "d.TSV", 'label\ttext\nGreet\tsay "hi", Ann\n\n\nBye\t"bye\n')
    data = read_delimited(path)
    assert data.column_names == ["text", "label"]
    assert data.to_dict() == {"text": ['say "hi", Ann', '"bye'], "label": ["Greet", "Bye"]}


def test_read_delimited_tokens_without_text_and_tag_conversion(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "tokens,tags\nin new york,O I-city I-city\n")
    data = read_delimited(path)
    assert data.to_dict() == {
        "text": ["in new york"],
        "tokens": [["in", "new", "york"]],
        "tags": [["O", "B-city", "I-city"]],
    }


def test_read_delimited_quoted_line_break_counts_lines(tmp_path: Path, check_error: ErrorCheck) -> None:
    path = write(tmp_path / "d.csv", 'text,label\n"two\nlines",A\n"",B\n')
    with pytest.raises(DataError) as info:
        read_delimited(path)
    assert "'text' is empty" in check_error(info, "d.csv", 4)
    assert read_delimited(write(tmp_path / "ok.csv", 'text,label\n"two\nlines",A\n'))["text"] == ["two\nlines"]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("text,label\na,b,c\n", 2, ["3 cells", "(line 1) has 2 columns"]),
        ("text,label\n\na,\n", 3, ["'label' is empty"]),
        ("text,labels\na,x||y\n", 2, ["empty label", "'|'"]),
        ("tokens,tags\na b,O\n", 2, ["1 tags but 2 tokens"]),
        ("tokens,tags\n ,O\n", 2, ["'tokens' is empty"]),
        ("tokens,tags\na,X-y\n", 2, ["'X-y'"]),
        ("tokens,tags\na,S-y\nb,I-y\n", 3, ["'I-y' opening an entity (IOB1)", "on line 2"]),
        ('text,label\n"a"b,c\n', 2, ["bad CSV record"]),
        ("text,label,text\na,b,c\n", 1, ["'text' appears twice"]),
        ("text,tokens\na,b\n", 1, ["'tokens' column but no 'tags'"]),
        ("label\nA\n", 1, ["no 'text' column"]),
        ("sentence,intent\na,b\n", 1, ["column 'sentence' is read by no head kind", "'label' (sentence task)"]),
        ("text,label,extra\na,b,c\n", 1, ["column 'extra' is read by no head kind", "remove it"]),
    ],
)
def test_read_delimited_errors_name_file_and_line(tmp_path: Path, check_error: ErrorCheck, text, line, words):
    with pytest.raises(DataError) as info:
        read_delimited(write(tmp_path / "bad.csv", text))
    message = check_error(info, "bad.csv", line)
    assert all(word in message for word in words), message


@pytest.mark.parametrize(("text", "words"), [("", "header"), ("\n\ntext,label\n\n,\n", "no rows")])
def test_read_delimited_empty(tmp_path: Path, check_error: ErrorCheck, text: str, words: str) -> None:
    with pytest.raises(DataError) as info:
        read_delimited(write(tmp_path / "empty.csv", text))
    assert words in check_error(info, "empty.csv", None)


def test_read_delimited_bom_crlf_and_streaming(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(b"\xef\xbb\xbf" + CSV.replace("\n", "\r\n").encode("utf-8"))
    assert read_delimited(path).to_dict() == read_delimited(write(tmp_path / "clean.csv", CSV)).to_dict()
    assert [row["labels"] for row in read_delimited(path, streaming=True)] == [["booking", "polite"], []]


def test_read_task_data_and_infer_tasks_read_csv_and_tsv(tmp_path: Path) -> None:
    csv_file = write(tmp_path / "train.csv", CSV)
    tsv_file = write(tmp_path / "dev.tsv", "text\tlabel\nhello\tGreet\n")
    assert read_task_data(tsv_file)["label"] == ["Greet"]
    tasks = infer_tasks(csv_file, dev=tsv_file)
    assert [(task["name"], task["dev"]) for task in tasks] == [
        ("intent", str(tsv_file)), ("slots", None), ("labels", None),
    ]  # fmt: skip
