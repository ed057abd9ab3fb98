"""The command line answers help, version, argument, path and run-folder errors before anything heavy is imported.

Each case runs ``python -X importtime -m stmtl ...`` and reads the modules it imported from the import-time log:
the assertions are on imports, not on wall time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import write_joint_folder

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "datasets", "sentence_transformers", "accelerate", "numpy")


def run_cli(*argv: str) -> tuple[int, str, set[str]]:
    """Run ``stmtl argv``; return its exit code, its stderr without the import-time log, and the modules imported."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "stmtl", *argv],
        capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=120,
    )  # fmt: skip
    modules, other = set(), []
    for line in done.stderr.splitlines():
        if line.startswith("import time:"):
            modules.add(line.rsplit("|", 1)[-1].strip())
        else:
            other.append(line)
    return done.returncode, "\n".join(other), modules


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> str:
    return write_joint_folder(tmp_path_factory.mktemp("data"), splits=("train",))


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["--help"], 0, ""),
        (["--version"], 0, ""),
        (["train", "--help"], 0, ""),
        (["train", "--data", "/nonexistent", "--output", "OUT"], 2, "stmtl: error: --data /nonexistent: no such"),
        (["predict", "--model", "/nonexistent", "x"], 2, "stmtl: error: --model /nonexistent: no such model folder"),
        (["encode", "--model", "/nonexistent", "--input", "-", "--output", "OUT"], 2, "--model /nonexistent"),
        (["evaluate", "--model", "/nonexistent", "--data", "DATA"], 2, "--model /nonexistent"),
        (["evaluate-sts", "--model", "/nonexistent", "--data", "DATA"], 2, "--model /nonexistent"),
        (["compare", "--data", "/nonexistent", "--output", "OUT"], 2, "--data /nonexistent"),
        (["train", "--data", "DATA", "--output", "OUT", "--max-steps", "0"], 2, "argument --max-steps: must be >= 1"),
        (["train", "--data", "DATA", "--output", "OUT", "--max-seq-length", "100000"], 2, "limit of 512 word pieces"),
        (["train", "--data", "DATA", "--output", "OUT", "--encoder-drop", "x"], 2, "unrecognized arguments: --enc"),
        (["train", "--data", "DATA", "--output", "USER"], 2, "holds files that are not a stmtl run's (notes.txt)"),
    ],
)  # fmt: skip
def test_cli_answers_before_heavy_imports(argv, code, message, data, tmp_path) -> None:
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "notes.txt").write_text("mine")
    names = {"OUT": str(tmp_path / "out"), "DATA": data, "USER": str(tmp_path / "user")}
    returncode, err, modules = run_cli(*(names.get(arg, arg) for arg in argv))
    assert returncode == code, err
    assert code == 0 or message in err.strip().splitlines()[-1], err  # argparse prints its usage lines before
    assert not [name for name in HEAVY if name in modules]
    assert not (tmp_path / "out").exists()
    assert sorted(os.listdir(tmp_path / "user")) == ["notes.txt"]


def test_cli_train_into_a_busy_folder_refused_before_heavy_imports(data, tmp_path) -> None:
    from stmtl.training.folder_claim import FolderClaim

    run = tmp_path / "run"
    with FolderClaim(run):  # this test process is the running train
        returncode, err, modules = run_cli("train", "--data", data, "--output", str(run))
    assert returncode == 2 and f"pid {os.getpid()}" in err and "another stmtl run" in err, err
    assert not [name for name in HEAVY if name in modules]
