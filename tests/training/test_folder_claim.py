"""Claiming a run folder: the lock and its re-entry, the user's files, removing a folder a failed run created."""

from __future__ import annotations

import json
import tempfile
import threading
from pathlib import Path

import pytest

from stmtl.config import ConfigError
from stmtl.training.folder_claim import (
    CHECKPOINTS,
    LOCK_FILE,
    MODEL_MARKER,
    FolderClaim,
    check_no_user_files,
    removable,
    unowned_entries,
)


def test_folder_claim_names_match_the_modules_that_write_them() -> None:
    from stmtl.atomic import MARKERS
    from stmtl.model_format import MODULES_FILE
    from stmtl.training import checkpoint

    assert CHECKPOINTS == checkpoint.CHECKPOINTS and MODEL_MARKER == MODULES_FILE and MODEL_MARKER in MARKERS


def test_folder_claim_reentered_by_its_thread_refused_to_others(tmp_path) -> None:
    folder = tmp_path / "run"
    refused: list[str] = []

    def other_thread() -> None:
        try:
            FolderClaim(folder).acquire()
        except ConfigError as error:
            refused.append(str(error))

    with FolderClaim(folder) as outer:
        assert outer.created
        with FolderClaim(folder) as inner:  # the same thread: one more holder
            assert inner.created
        assert (folder / LOCK_FILE).exists()  # still held by the outer claim
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
    assert len(refused) == 1 and "another stmtl run is training into this folder" in refused[0]
    assert not (folder / LOCK_FILE).exists()
    with FolderClaim(folder) as again:  # released: free again, and not created this time
        assert not again.created


def test_folder_claim_failure_removes_only_what_it_created(tmp_path) -> None:
    created = tmp_path / "new" / "parent" / "run"
    with pytest.raises(RuntimeError), FolderClaim(created):
        (created / "run.json").write_text(json.dumps({"run_id": "a"}))
        raise RuntimeError("setup failed")
    assert not (tmp_path / "new").exists()  # the parents it made go too

    existing = tmp_path / "existing"
    existing.mkdir()
    with pytest.raises(RuntimeError), FolderClaim(existing):
        raise RuntimeError("setup failed")
    assert existing.is_dir()

    with FolderClaim(created):  # a run that ends well keeps its folder
        pass
    assert created.is_dir()


@pytest.mark.parametrize(
    ("files", "removed"),
    [
        ({"metrics.jsonl": '{"type": "start", "total_steps": 4}\n'}, True),
        ({"metrics.jsonl": '{"type": "train", "step": 2, "loss": {}}\n'}, False),  # a log of steps: kept
        ({"notes.txt": "dropped in by the user meanwhile"}, False),
        ({"results.json": "{}"}, False),
        ({f"{CHECKPOINTS}/step-0000002/trainer_state.json": "{}"}, False),
    ],
)
def test_folder_claim_failure_keeps_a_folder_worth_keeping(files, removed, tmp_path) -> None:
    folder = tmp_path / "run"
    with pytest.raises(RuntimeError), FolderClaim(folder):
        (folder / "run.json").write_text(json.dumps({"run_id": "a"}))
        for name, text in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
        raise RuntimeError("training failed")
    assert folder.exists() is not removed
    assert not (folder / LOCK_FILE).exists()


def test_unowned_entries_ignores_stmtl_bookkeeping(tmp_path) -> None:
    folder = tmp_path
    (folder / LOCK_FILE).write_text("{}")
    (folder / ".write-test").write_bytes(b"0")
    (folder / ".overwrite.json").write_text("{}")
    tempfile.mkstemp(prefix=".run.json.tmp-", dir=folder)  # what an interrupted JSON write leaves
    tempfile.mkdtemp(prefix=".model.old-", dir=folder)
    (folder / CHECKPOINTS).mkdir()
    (folder / CHECKPOINTS / "step-0000004").mkdir()
    assert unowned_entries(folder) == []
    (folder / "metrics.jsonl").write_text("")
    (folder / "training_config.json").write_text("{}")
    assert unowned_entries(folder) == ["metrics.jsonl", "training_config.json"]  # no stmtl run.json: the user's
    (folder / "run.json").write_text(json.dumps({"run_id": "a", "config": {}}))
    assert unowned_entries(folder) == []  # the logs of a run that failed before its first checkpoint
    (folder / "README.md").write_text("mine")
    (folder / CHECKPOINTS / "notes.txt").write_text("mine")
    assert unowned_entries(folder) == ["README.md", CHECKPOINTS]
    assert not removable(folder)


def test_check_no_user_files_names_folder_files_and_flag(tmp_path) -> None:
    for name in ("README.md", "config.json", "data.csv", "notes.txt"):
        (tmp_path / name).write_text("mine")
    with pytest.raises(ConfigError) as error:
        check_no_user_files(tmp_path)
    message = str(error.value)
    assert message.startswith(f"{tmp_path}: holds files that are not a stmtl run's (README.md, config.json, data.csv")
    assert "and 1 more" in message and "--overwrite" in message and "\n" not in message
    (tmp_path / MODEL_MARKER).write_text("[]")  # a run's folder: its own checks apply (another run, --resume)
    check_no_user_files(Path(tmp_path))
