"""setup.cfg's torch bound: no lower than what the code calls and what transformers needs."""

from __future__ import annotations

import configparser
import inspect
import re
from importlib.metadata import requires
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def _floor(requirement: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.search(r">=\s*([\d.]+)", requirement).group(1).split("."))


def test_setup_torch_floor_covers_the_calls_and_transformers() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    ours = next(line for line in config["options"]["install_requires"].split("\n") if line.startswith("torch"))
    # torch.onnx.export(..., optimize=, external_data=) (stmtl.onnx.export) came with 2.6; fused AdamW on the CPU
    # (stmtl.training.optim) with 2.4.
    assert _floor(ours) >= (2, 6)
    theirs = next(r for r in requires("transformers") if r.startswith("torch") and ">=" in r)
    assert _floor(ours) >= _floor(theirs.split(";")[0])
    assert {"optimize", "external_data", "dynamo"} <= set(inspect.signature(torch.onnx.export).parameters)
    assert "fused" in inspect.signature(torch.optim.AdamW).parameters
