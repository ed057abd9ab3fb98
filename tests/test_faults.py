"""Faults: a run killed with SIGKILL resumes to the same weights; a killed save never leaves a partial model."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

import stmtl
from stmtl.cli import main
from stmtl.config import ConfigError
from stmtl.training.checkpoint import list_checkpoints
from stmtl.training.run import check_output_dir
from tests.helpers import write_joint_folder

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def _wait_for(predicate, process: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert process.poll() is None, process.stderr.read() if process.stderr else "process ended"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_sigkill_after_checkpoint_then_resume_equals_uninterrupted(tiny_backbone, tmp_path) -> None:
    data = write_joint_folder(tmp_path / "data", splits=("train",))
    flags = ["--data", data, "--backbone", tiny_backbone, "--cpu", "--epochs", "4", "--batch-size", "4",
             "--eval-every", "4", "--lr-backbone", "1e-3"]  # fmt: skip

    killed = tmp_path / "killed"
    command = [sys.executable, "-m", "stmtl", "train", "--output", str(killed), *flags]
    process = subprocess.Popen(command, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: bool(list_checkpoints(killed)), process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (killed / "modules.json").exists()  # killed before the final model was written

    assert main(["train", "--output", str(killed), "--resume", *flags]) == 0
    assert main(["train", "--output", str(tmp_path / "straight"), *flags]) == 0
    a = stmtl.load(killed, device="cpu").state_dict()
    b = stmtl.load(tmp_path / "straight", device="cpu").state_dict()
    for name in a:
        assert torch.allclose(a[name], b[name], atol=1e-6), name


def test_sigkill_during_save_never_leaves_partial_model(tiny_backbone, tmp_path) -> None:
    script = tmp_path / "save_loop.py"
    script.write_text(
        textwrap.dedent(f"""
        import sys
        from tests.helpers import two_task_model
        model = two_task_model({tiny_backbone!r}, dim=32)
        while True:
            model.save({str(tmp_path / "model")!r})
            print("saved", flush=True)
    """)
    )
    reference = None
    for delay in (0.03, 0.21):
        process = subprocess.Popen([sys.executable, str(script)], env=ENV, stdout=subprocess.PIPE, text=True)
        assert process.stdout.readline().strip() == "saved"
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        complete = 0
        for folder in [tmp_path / "model", *tmp_path.glob(".model.*")]:
            if (folder / "modules.json").exists():  # whatever looks like a model must load, whole
                predictions = stmtl.load(folder, device="cpu").predict(["play a song by queen"])
                reference = reference or predictions
                assert predictions == reference
                complete += folder.name == "model" or folder.name.startswith(".model.old-")
        assert complete >= 1  # the model, or (killed between two renames) its previous copy, is never lost


def test_unwritable_output_refused_before_training(tmp_path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigError, match="a-file"):
        check_output_dir(blocker / "run")


def test_output_check_from_concurrent_processes_never_fails(tmp_path) -> None:
    # Every rank of a launch checks the same run folder at the same moment; one probe name shared by all made the
    # rank that unlinked second fail with "No such file or directory".
    script = textwrap.dedent(
        f"""
        import sys, time
        from stmtl.training.run import check_output_dir
        start = float(sys.argv[1])
        while time.time() < start:
            pass
        for _ in range(2000):
            check_output_dir({str(tmp_path / "run")!r})
        """
    )
    start = str(time.time() + 5.0)
    workers = [subprocess.Popen([sys.executable, "-c", script, start], env=ENV, stderr=subprocess.PIPE, text=True)
               for _ in range(3)]  # fmt: skip
    errors = [worker.communicate(timeout=120)[1] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0, 0], errors
    assert os.listdir(tmp_path / "run") == []  # no probe left behind
