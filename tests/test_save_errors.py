"""A failed save is one OSError naming the folder and the cause, whatever library raised it (a full disk above all)."""

from __future__ import annotations

import errno
import os
import re
import shutil
import subprocess
import uuid

import pytest
import torch
from safetensors import SafetensorError

from stmtl import save_errors
from stmtl.atomic import atomic_folder
from stmtl.cli import main
from stmtl.save_errors import SaveError, reporting, save_error, tensor_bytes
from stmtl.training.checkpoint import save_checkpoint
from tests.helpers import two_task_model, write_joint_folder

MB = 1_000_000
ZIP_WRITER = "[enforce fail at inline_container.cc:672] . unexpected pos 99516992 vs 99516880"
"""What ``torch.save``'s zip writer raises (a ``RuntimeError``) when the disk fills: no errno, no file name."""


@pytest.fixture(scope="module")
def model(tiny_backbone):
    return two_task_model(tiny_backbone, dim=32)


@pytest.fixture
def free(monkeypatch):
    """Set the free space the filesystem reports: ``free(60 * MB)``."""

    def set_free(size: int) -> None:
        monkeypatch.setattr(save_errors, "free_space", lambda path: (size, 4096))

    return set_free


def _leftovers(folder) -> list[str]:
    return [name for name in os.listdir(folder) if ".tmp-" in name or ".old-" in name]


GUISES = {
    "oserror": OSError(errno.ENOSPC, "No space left on device"),
    "safetensors": SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)"),
    "chained": RuntimeError("saving failed"),  # raised `from` an OSError 28, e.g. by a wrapper library
    "quota": OSError(errno.EDQUOT, "Disk quota exceeded"),
}


@pytest.mark.parametrize("guise", list(GUISES))
def test_save_error_model_save_on_a_full_disk_with_space_left_is_one_oserror(
    model, tmp_path, monkeypatch, free, guise
):
    # 60 MB free and the weights file is bigger: safetensors removes its partial file, so the disk looks roomy.
    import transformers.modeling_utils

    free(60 * MB)
    error = GUISES[guise]

    def full_disk(*args, **kwargs):
        if guise == "chained":
            raise error from OSError(errno.ENOSPC, "No space left on device")
        raise error

    monkeypatch.setattr(transformers.modeling_utils, "safe_save_file", full_disk)
    folder = tmp_path / "model"
    with pytest.raises(OSError) as raised:
        model.save(str(folder))
    assert isinstance(raised.value, SaveError) and raised.value.__cause__ is error
    code = errno.EDQUOT if guise == "quota" else errno.ENOSPC
    assert raised.value.errno == code
    needs = tensor_bytes(model.state_dict())  # the weights: about what the save writes
    assert str(raised.value) == f"{folder}: cannot save: {os.strerror(code)} (60.0 MB free, the save needs about " + (
        f"{needs / 1e3:.1f} kB)"
    )
    assert not folder.exists() and _leftovers(tmp_path) == []


def test_save_error_checkpoint_bigger_than_the_free_space_is_a_full_disk(model, tmp_path, monkeypatch, free) -> None:
    # torch.save's zip writer names neither the cause nor the file; 1 MB is free, the optimizer state needs 4 MB.
    free(1 * MB)

    def zip_writer(*args, **kwargs):
        raise RuntimeError(ZIP_WRITER)

    monkeypatch.setattr(torch, "save", zip_writer)
    training_state = {"optimizer": {"state": {0: {"exp_avg": torch.zeros(1_000_000)}}}}
    with pytest.raises(OSError) as raised:
        save_checkpoint(tmp_path, 40, model, training_state, {"step": 40})
    target = tmp_path / "checkpoints" / "step-0000040"
    assert raised.value.errno == errno.ENOSPC and isinstance(raised.value.__cause__, RuntimeError)
    assert str(raised.value).startswith(f"{target}: cannot save: No space left on device (1.0 MB free, the save needs")
    assert not target.exists() and _leftovers(target.parent) == []


def test_save_error_zip_writer_with_room_to_spare_is_a_write_failure(model, tmp_path, monkeypatch, free) -> None:
    free(10_000 * MB)
    monkeypatch.setattr(torch, "save", lambda *args, **kwargs: (_ for _ in ()).throw(RuntimeError(ZIP_WRITER)))
    with pytest.raises(OSError) as raised:
        save_checkpoint(tmp_path, 40, model, {"optimizer": {}}, {"step": 40})
    assert raised.value.errno == errno.EIO
    assert str(raised.value) == (
        f"{tmp_path / 'checkpoints' / 'step-0000040'}: cannot save: write failed ({ZIP_WRITER}; 10000.0 MB free)"
    )


@pytest.mark.parametrize("free_bytes", [0, 100])
def test_save_error_zip_writer_without_a_size_on_a_full_disk(tmp_path, free, free_bytes) -> None:
    free(free_bytes)  # less than a block free: full, even with nothing known about the save's size
    target = tmp_path / "step-0000400"
    with pytest.raises(
        OSError, match=rf"^{target}: cannot save: No space left on device \({free_bytes} bytes free\)$"
    ):
        with atomic_folder(target):
            raise RuntimeError(ZIP_WRITER)
    assert not target.exists() and os.listdir(tmp_path) == []


def test_save_error_other_oserrors_name_the_folder_and_their_own_cause(tmp_path) -> None:
    target = tmp_path / "model"
    with pytest.raises(SaveError, match=rf"^{target}: cannot save: Read-only file system$") as raised:
        with atomic_folder(target) as staging:
            raise OSError(errno.EROFS, "Read-only file system", os.path.join(staging, "model.safetensors"))
    assert raised.value.errno == errno.EROFS
    source = tmp_path / "gone.txt"  # a file the save copies from, outside the folder: named
    with pytest.raises(SaveError, match=rf"cannot save: No such file or directory: '{source}'$"):
        with atomic_folder(target):
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(source))


def test_save_error_leaves_other_errors_as_they_were(tmp_path, free) -> None:
    free(0)
    bug = ValueError("a bug, not the disk")
    with pytest.raises(ValueError) as raised:
        with atomic_folder(tmp_path / "model"):
            raise bug
    assert raised.value is bug
    assert save_error(KeyboardInterrupt(), tmp_path) is None
    assert save_error(SaveError(errno.ENOSPC, "x", "y"), tmp_path) is None  # already reported: as it is


def test_save_error_reporting_names_a_plain_file(tmp_path, free) -> None:
    free(0)
    path = tmp_path / "metrics.jsonl"
    with pytest.raises(SaveError, match=rf"^{path}: cannot save: No space left on device \(0 bytes free\)$"):
        with reporting(path):
            raise OSError(errno.ENOSPC, "No space left on device")


def test_save_error_final_save_of_a_run_is_one_cli_line(tiny_backbone, tmp_path, monkeypatch, capsys, free) -> None:
    import transformers.modeling_utils

    real = transformers.modeling_utils.safe_save_file

    def full_at_the_root(state_dict, filename, *args, **kwargs):
        if f"{os.sep}.model.tmp-" in filename:  # the final model at the run folder's root; checkpoints save fine
            free(60 * MB)
            raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")
        return real(state_dict, filename, *args, **kwargs)

    monkeypatch.setattr(transformers.modeling_utils, "safe_save_file", full_at_the_root)
    data = write_joint_folder(tmp_path / "data")
    run = tmp_path / "run"
    argv = ["train", "--data", data, "--output", str(run), "--backbone", tiny_backbone, "--cpu", "--max-steps", "2"]
    assert main(argv) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    cause = r"No space left on device \(60\.0 MB free, the save needs about [\d.]+ (kB|MB)\)"
    pattern = rf"stmtl: error: {run}: cannot save: {cause}"
    assert re.fullmatch(pattern, last), last
    assert _leftovers(run) == [] and not (run / "modules.json").exists()


def _mount_tmpfs(folder, size: str) -> bool:
    folder.mkdir()
    if getattr(os, "geteuid", lambda: -1)() != 0 or shutil.which("mount") is None:
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", f"stmtl-{uuid.uuid4().hex[:8]}", str(folder)],
                          capture_output=True)  # fmt: skip
    return done.returncode == 0


def test_save_error_on_a_real_small_filesystem(model, tmp_path) -> None:
    small = tmp_path / "small"
    if not _mount_tmpfs(small, "1m"):
        pytest.skip("needs root to mount a size-limited tmpfs")
    try:
        (small / "filler").write_bytes(b"0" * (shutil.disk_usage(small).free - 40_000))
        with pytest.raises(SaveError, match=rf"^{small / 'model'}: cannot save: No space left on device") as raised:
            model.save(str(small / "model"))  # 40 kB free for a 104 kB weights file
        assert raised.value.errno == errno.ENOSPC and "os error 28" in str(raised.value.__cause__)
        assert os.listdir(small) == ["filler"]
        (small / "filler").unlink()
        big = {"optimizer": {"exp_avg": torch.zeros(1_000_000)}}  # 4 MB through torch.save's zip writer
        with pytest.raises(SaveError, match=r"step-0000040: cannot save: No space left on device") as raised:
            save_checkpoint(small, 40, model, big, {"step": 40})
        assert raised.value.errno == errno.ENOSPC and "unexpected pos" in str(raised.value.__cause__)
        assert os.listdir(small / "checkpoints") == []
    finally:
        subprocess.run(["umount", "-l", str(small)], check=False)


def test_save_error_tensor_bytes_counts_each_storage_once() -> None:
    import numpy as np

    weight = torch.zeros(10, 4)  # 160 bytes
    state = {"a": weight, "tied": weight, "optimizer": [{"exp_avg": torch.zeros(5, dtype=torch.float64)}]}
    assert tensor_bytes(state) == 160 + 40
    assert tensor_bytes({"rng": (np.zeros(3, dtype=np.uint32), 7, "MT19937")}) == 12
    assert tensor_bytes(None) == 0
