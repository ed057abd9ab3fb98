"""``stmtl train --help``: the flags in groups, the everyday ones first; every config field in exactly one group."""

from __future__ import annotations

import dataclasses
import re

from stmtl.cli import main
from stmtl.config import FLAG_GROUPS, TrainConfig

EVERYDAY = [
    "--data", "--train", "--config", "--dev", "--test", "--output", "--backbone", "--encoder", "--epochs",
    "--max-steps", "--batch-size", "--lr-backbone", "--lr-heads", "--seed",
]  # fmt: skip


def _help(capsys) -> str:
    try:
        main(["train", "--help"])
    except SystemExit as done:
        assert done.code == 0
    return capsys.readouterr().out


def test_train_help_shows_groups_with_the_everyday_flags_first(capsys) -> None:
    text = _help(capsys)
    titles = [title for title, _ in FLAG_GROUPS.values()]
    headings = [line.rstrip(":") for line in text.splitlines() if line.endswith(":") and not line.startswith(" ")]
    assert headings == ["options", *titles]  # -h and --debug, then the groups in order
    everyday = text.split(f"{titles[0]}:")[1].split(f"{titles[1]}:")[0]
    assert re.findall(r"^  (--[a-z-]+)", everyday, flags=re.MULTILINE) == EVERYDAY
    assert text.splitlines()[0].startswith("usage: stmtl train (--data DATA | --train TRAIN | --config CONFIG)")


def test_every_config_field_has_one_flag_in_one_group(capsys) -> None:
    fields = [field.name for field in dataclasses.fields(TrainConfig) if "help" in field.metadata]
    grouped = [name for _, names in FLAG_GROUPS.values() for name in names]
    assert sorted(grouped) == sorted(fields)  # a new field needs its group
    text = _help(capsys)
    assert all(f"--{name.replace('_', '-')}" in text for name in fields)
