"""Saving: other files in the folder survive, files get the usual permissions, leftovers of a kill are swept."""

from __future__ import annotations

import os
import stat

import pytest

import stmtl
from tests.helpers import two_task_model


@pytest.fixture(scope="module")
def model(tiny_backbone):
    return two_task_model(tiny_backbone, dim=32)


def test_atomic_save_keeps_files_it_did_not_write(model, tmp_path) -> None:
    folder = tmp_path / "model"
    (folder / "data").mkdir(parents=True)
    (folder / "notes.txt").write_text("mine")
    (folder / "data" / "eval.jsonl").write_text('{"text": "hi"}\n')
    model.save(str(folder))
    (folder / "1_Pooling" / "extra.txt").write_text("also mine")
    model.save(str(folder))
    assert (folder / "notes.txt").read_text() == "mine"
    assert (folder / "data" / "eval.jsonl").read_text() == '{"text": "hi"}\n'
    assert (folder / "1_Pooling" / "extra.txt").read_text() == "also mine"
    assert stmtl.load(folder, device="cpu").predict(["play a song"]) == model.predict(["play a song"])
    assert not [path for path in tmp_path.iterdir() if path.name != "model"]  # no staging folder left


def test_atomic_saved_files_follow_the_umask(model, tmp_path) -> None:
    previous = os.umask(0o022)
    try:
        model.save(str(tmp_path / "model"))
    finally:
        os.umask(previous)
    paths = [tmp_path / "model", *(tmp_path / "model").rglob("*")]
    modes = {str(path): stat.S_IMODE(path.stat().st_mode) for path in paths}
    assert modes == {str(path): 0o755 if path.is_dir() else 0o644 for path in paths}


def test_atomic_sweep_removes_staging_and_restores_an_orphaned_previous_folder(tmp_path) -> None:
    from stmtl.atomic import sweep_staging

    (tmp_path / ".model.tmp-abc").mkdir()
    (tmp_path / ".model.tmp-abc" / "model.safetensors").write_bytes(b"0")
    orphan = tmp_path / ".step-0000004.old-xyz"  # killed between moving the old folder aside and the new one in
    orphan.mkdir()
    (orphan / "trainer_state.json").write_text("{}")
    (tmp_path / "step-0000008").mkdir()
    (tmp_path / ".step-0000008.old-q").mkdir()  # the new folder is in place: the old one is garbage
    sweep_staging(tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["step-0000004", "step-0000008"]
    assert (tmp_path / "step-0000004" / "trainer_state.json").is_file()
