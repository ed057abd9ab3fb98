"""A run folder belongs to one run: refusal, --overwrite, the lock, --resume checks, relative paths, sweeping."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import stmtl
from stmtl.cli import main
from stmtl.config import ConfigError
from stmtl.training.checkpoint import list_checkpoints
from stmtl.training.run import train
from tests.helpers import toy_config, write_joint_folder

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
OLD = {"max_steps": 8, "eval_every": 4, "seed": 1}
"""The older run: checkpoints at steps 4 and 8, more than any new run below writes."""


@pytest.fixture(scope="module")
def old_run(tiny_backbone, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("old") / "run"
    train(toy_config(folder, tiny_backbone, **OLD))
    return folder


@pytest.fixture
def run(old_run, tmp_path) -> Path:
    """A copy of the older run to misuse."""
    return Path(shutil.copytree(old_run, tmp_path / "run"))


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _records(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]


def test_run_folder_new_run_into_old_run_refused_naming_flags(run, tiny_backbone, tmp_path, capsys) -> None:
    data = write_joint_folder(tmp_path / "data", splits=("train",))
    before = _snapshot(run)
    argv = ["train", "--data", data, "--output", str(run), "--backbone", tiny_backbone, "--cpu", "--max-steps", "2"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(run) in err and "--resume" in err and "--overwrite" in err
    assert _snapshot(run) == before


def test_run_folder_overwrite_replaces_old_run_after_first_checkpoint(run, tiny_backbone) -> None:
    _, results = train(toy_config(run, tiny_backbone, max_steps=2, eval_every=2, seed=2), overwrite=True)
    assert [path.name for path in list_checkpoints(run)] == ["step-0000002"]
    assert results["best_checkpoint"] == "checkpoints/step-0000002"
    records = _records(run)
    assert [record["type"] for record in records].count("start") == 1
    assert max(record.get("step", 0) for record in records) == 2
    assert json.loads((run / "training_config.json").read_text())["max_steps"] == 2
    assert json.loads((run / "results.json").read_text())["steps"] == 2
    root = stmtl.load(run, device="cpu").state_dict()
    best = stmtl.load(run / "checkpoints" / "step-0000002", device="cpu").state_dict()
    assert all(torch.equal(root[name], best[name]) for name in best)


def test_run_folder_overwrite_failing_before_first_checkpoint_keeps_old_run(run, tiny_backbone, monkeypatch) -> None:
    from stmtl.heads import TokenClassificationHead
    from stmtl.training.trainer import TrainingError

    before = _snapshot(run)
    monkeypatch.setattr(TokenClassificationHead, "loss", lambda self, features, batch, label_smoothing=0.0: features[
        self.logits_key].sum() * float("nan"))  # fmt: skip
    with pytest.raises(TrainingError):
        train(toy_config(run, tiny_backbone, max_steps=2, eval_every=2, nan_patience=1), overwrite=True)
    assert _snapshot(run) == before


def test_run_folder_resume_and_overwrite_together_refused(tmp_path, capsys) -> None:
    data = write_joint_folder(tmp_path / "data", splits=("train",))
    assert main(["train", "--data", data, "--output", str(tmp_path / "run"), "--resume", "--overwrite"]) == 2
    assert "--resume" in capsys.readouterr().err


def test_run_folder_resume_with_other_flags_refused_naming_keys(run, tiny_backbone) -> None:
    before = _snapshot(run)
    with pytest.raises(ConfigError, match=r"'epochs', 'seed'"):
        train(toy_config(run, tiny_backbone, **{**OLD, "seed": 7}, epochs=1), resume=True)
    assert _snapshot(run) == before


def test_run_folder_resume_may_change_documented_keys(run, tiny_backbone) -> None:
    train(toy_config(run, tiny_backbone, **OLD, log_every=3, save_total_limit=5), resume=True)
    saved = json.loads((run / "training_config.json").read_text())
    assert saved["log_every"] == 3 and saved["save_total_limit"] == 5


def test_run_folder_second_concurrent_train_refused_at_once(tiny_backbone, tmp_path, capsys) -> None:
    data = write_joint_folder(tmp_path / "data", splits=("train",))
    run = tmp_path / "run"
    flags = ["--data", data, "--output", str(run), "--backbone", tiny_backbone, "--cpu", "--batch-size", "4"]
    command = [sys.executable, "-m", "stmtl", "train", *flags, "--epochs", "200"]
    first = subprocess.Popen(command, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (run / "metrics.jsonl").exists():
            assert first.poll() is None, first.stderr.read()
            assert time.monotonic() < deadline, "the first run did not start"
            time.sleep(0.05)
        before = (run / "metrics.jsonl").read_bytes()
        assert main(["train", *flags, "--max-steps", "2"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and f"pid {first.pid}" in err and socket.gethostname() in err
        assert (run / "metrics.jsonl").read_bytes().startswith(before)  # nothing interleaved
        assert first.poll() is None
    finally:
        first.kill()
        first.wait()


def test_run_folder_lock_of_a_finished_process_is_stale(tiny_backbone, tmp_path) -> None:
    from stmtl.training.folder_claim import LOCK_FILE

    run = tmp_path / "run"
    run.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (run / LOCK_FILE).write_text(json.dumps({"pid": int(dead.stdout), "host": socket.gethostname()}))
    train(toy_config(run, tiny_backbone, max_steps=2, eval_every=2))
    assert not (run / LOCK_FILE).exists()


def test_run_folder_relative_output_resumes_from_another_directory(tiny_backbone, tmp_path, monkeypatch) -> None:
    (tmp_path / "a").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    train(toy_config("run", tiny_backbone, max_steps=4, eval_every=2))
    state = json.loads((tmp_path / "a/run/checkpoints/step-0000004/trainer_state.json").read_text())
    assert state["best_checkpoint"].startswith("checkpoints/step-")
    monkeypatch.chdir(tmp_path)
    _, results = train(toy_config(os.path.join("a", "run"), tiny_backbone, max_steps=4, eval_every=2), resume=True)
    assert results["best_checkpoint"].startswith("checkpoints/step-")
    assert json.loads((tmp_path / "a/run/results.json").read_text())["best_checkpoint"] == results["best_checkpoint"]


def test_run_folder_staging_folders_swept_by_a_resume(run, tiny_backbone) -> None:
    leftovers = [run / "checkpoints" / ".step-0000012.tmp-a1b2", run / ".model.tmp-c3d4", run / ".model.old-e5f6"]
    for folder in leftovers:
        folder.mkdir()
        (folder / "model.safetensors").write_bytes(b"0" * 1000)
    kept = [path.name for path in list_checkpoints(run)]
    train(toy_config(run, tiny_backbone, **OLD), resume=True)
    assert not [path for path in run.rglob(".*") if ".tmp-" in path.name or ".old-" in path.name]
    assert [path.name for path in list_checkpoints(run)] == kept


def _user_folder(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "README.md").write_text("my notes on this project\n")
    (folder / "config.json").write_text('{"mine": true}\n')
    (folder / "data.csv").write_text("a,b\n1,2\n")
    return folder


def test_run_folder_new_run_into_user_files_refused_naming_overwrite(tiny_backbone, tmp_path, capsys) -> None:
    folder = _user_folder(tmp_path / "mine")
    before = _snapshot(folder)
    with pytest.raises(ConfigError, match=r"holds files that are not a stmtl run's \(README.md, config.json, data"):
        train(toy_config(folder, tiny_backbone, max_steps=2, eval_every=2))
    data = write_joint_folder(tmp_path / "data", splits=("train",))
    assert main(["train", "--data", data, "--output", str(folder), "--backbone", tiny_backbone, "--cpu"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(folder) in err and "--overwrite" in err
    assert _snapshot(folder) == before and sorted(os.listdir(folder)) == ["README.md", "config.json", "data.csv"]


def test_run_folder_overwrite_into_user_files_keeps_what_it_does_not_write(tiny_backbone, tmp_path) -> None:
    folder = _user_folder(tmp_path / "mine")
    train(toy_config(folder, tiny_backbone, max_steps=2, eval_every=2), overwrite=True)
    assert (folder / "data.csv").read_text() == "a,b\n1,2\n"
    assert (folder / "README.md").read_text() != "my notes on this project\n"  # the model card, as model.save does
    assert stmtl.load(folder, device="cpu").heads.keys() == {"intent", "slots"}


def test_run_folder_own_leftovers_do_not_count_as_user_files(tiny_backbone, tmp_path, monkeypatch) -> None:
    from stmtl.heads import TokenClassificationHead
    from stmtl.training.folder_claim import LOCK_FILE
    from stmtl.training.trainer import TrainingError

    folder = tmp_path / "run"
    folder.mkdir()
    with monkeypatch.context() as patch:  # a run that fails before its first checkpoint leaves its logs
        patch.setattr(TokenClassificationHead, "loss", lambda self, features, batch, label_smoothing=0.0: features[
            self.logits_key].sum() * float("nan"))  # fmt: skip
        with pytest.raises(TrainingError):
            train(toy_config(folder, tiny_backbone, max_steps=2, eval_every=2, nan_patience=1))
    assert {"run.json", "training_config.json", "metrics.jsonl"} <= set(os.listdir(folder))  # the folder was there
    (folder / LOCK_FILE).write_text("{}")  # a killed run's lock file, a staging leftover and the write probe
    (folder / ".model.tmp-k1ll").mkdir()
    (folder / ".write-test").write_bytes(b"0")
    _, results = train(toy_config(folder, tiny_backbone, max_steps=2, eval_every=2))
    assert results["steps"] == 2


def test_run_folder_failed_run_removes_the_folder_it_created(tiny_backbone, tmp_path, capsys) -> None:
    from tests.helpers import toy_dataset

    no_tags = toy_dataset().remove_columns(["tokens", "tags"])
    tasks = [{"name": "slots", "kind": "token", "train": no_tags}]
    with pytest.raises(ConfigError, match="needs column"):
        train(toy_config(tmp_path / "new" / "run", tiny_backbone, tasks=tasks, max_steps=2))
    assert not (tmp_path / "new").exists()
    existing = tmp_path / "existing"
    existing.mkdir()
    with pytest.raises(ConfigError, match="needs column"):
        train(toy_config(existing, tiny_backbone, tasks=tasks, max_steps=2))
    assert existing.is_dir()  # a folder that was there before stays
    (tmp_path / "empty.jsonl").write_text("")
    argv = ["train", "--train", str(tmp_path / "empty.jsonl"), "--output", str(tmp_path / "cli" / "run")]
    assert main([*argv, "--backbone", tiny_backbone, "--cpu"]) == 2
    assert "empty.jsonl" in capsys.readouterr().err and not (tmp_path / "cli").exists()


def test_run_folder_second_train_refused_before_reading_data_or_loading(tiny_backbone, tmp_path, capsys, monkeypatch):
    import stmtl.cli
    from stmtl.training.folder_claim import FolderClaim

    data = write_joint_folder(tmp_path / "data", splits=("train",))
    monkeypatch.setattr(stmtl.cli.train, "train_config", lambda args: pytest.fail("data read before the lock"))
    hold = (
        f"import time; from stmtl.training.folder_claim import FolderClaim; FolderClaim({str(tmp_path / 'run')!r})"
        ".acquire(); print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", hold], env=ENV, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert main(["train", "--data", data, "--output", str(tmp_path / "run"), "--backbone", tiny_backbone]) == 2
        assert f"pid {holder.pid}" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    with FolderClaim(tmp_path / "run"):  # the lock went with the process
        pass
