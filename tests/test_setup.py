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


def test_constraints_pin_a_version_inside_every_requirement_range() -> None:
    """constraints.txt (what the suite ran on) names one version of each requirement, inside its range."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    def lines(name: str) -> list[str]:
        text = (ROOT / name).read_text(encoding="utf-8")
        return [line.strip() for line in text.splitlines() if line.strip() and line[0] not in "#-"]

    pins = {canonicalize_name(r.name): r for r in map(Requirement, lines("constraints.txt"))}
    assert all(len(r.specifier) == 1 and next(iter(r.specifier)).operator == "==" for r in pins.values())
    for requirement in map(Requirement, lines("requirements.txt")):
        pinned = pins.get(canonicalize_name(requirement.name))
        assert pinned is not None, f"constraints.txt pins no version of {requirement.name}"
        version = next(iter(pinned.specifier)).version
        assert requirement.specifier.contains(version, prereleases=True), f"{pinned} is outside {requirement}"
