from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("mode", ["joint", "interleave", "streaming"])
def test_two_process_cpu_run_ends_with_identical_weights(tiny_backbone, tmp_path, mode) -> None:
    # interleave: one head unused per batch (DDP's unused-parameter search on) and learned loss weights in the graph.
    script = Path(__file__).with_name("distributed_run.py")
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
        "--master_port", str(_free_port()), str(script), str(tmp_path), tiny_backbone,
        *([mode] if mode != "joint" else []),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]

    rank0, rank1 = load_file(tmp_path / "rank0.safetensors"), load_file(tmp_path / "rank1.safetensors")
    assert rank0.keys() == rank1.keys()
    for name in rank0:
        assert torch.equal(rank0[name], rank1[name]), name

    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    evals = [record for record in records if record["type"] == "eval"]
    assert [record["step"] for record in evals] == [4, 8]  # gathered and written once, by the main process
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["steps"] == 8 and results["num_processes"] == 2
