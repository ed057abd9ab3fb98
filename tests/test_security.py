"""Safe by default: no pickles, only allow-listed module types, no backbone remote code unless asked for."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest

import stmtl
from tests.helpers import two_task_model

PACKAGE = Path(stmtl.__file__).resolve().parent


def _unsafe_calls(source: str) -> list[str]:
    """Imports of pickle-like modules, torch.load without weights_only=True, trust_remote_code=True literals."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [alias.name for alias in node.names] + [getattr(node, "module", None) or ""]
            found += [
                f"line {node.lineno}: import {n}"
                for n in names
                if n.split(".")[0] in {"pickle", "dill", "cloudpickle"}
            ]
        if isinstance(node, ast.Call):
            keywords = {k.arg: k.value for k in node.keywords}
            if ast.unparse(node.func) == "torch.load":
                safe = (
                    isinstance(keywords.get("weights_only"), ast.Constant) and keywords["weights_only"].value is True
                )
                if not safe:
                    found.append(f"line {node.lineno}: torch.load without weights_only=True")
            trust = keywords.get("trust_remote_code")
            if isinstance(trust, ast.Constant) and trust.value is True:
                found.append(f"line {node.lineno}: trust_remote_code=True")
    return found


def test_package_has_no_unsafe_loads() -> None:
    offenders = {path.name: _unsafe_calls(path.read_text()) for path in PACKAGE.rglob("*.py")}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_unsafe_call_detector_catches_each_pattern() -> None:
    source = (
        "import pickle\nimport torch\ntorch.load('x')\nf(trust_remote_code=True)\ntorch.load('y', weights_only=True)\n"
    )
    assert len(_unsafe_calls(source)) == 3


@pytest.fixture
def model_with_remote_code(tiny_backbone, tmp_path) -> tuple[Path, Path]:
    """A saved stmtl model whose backbone config points at a modelling file that leaves a marker when imported."""
    folder = tmp_path / "model"
    two_task_model(tiny_backbone, dim=32).save(str(folder))
    marker = tmp_path / "remote-code-ran"
    (folder / "evil_modeling.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('ran')\n"
        "from transformers import BertModel\n\nclass EvilModel(BertModel):\n    pass\n"
    )
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "evil_modeling.EvilModel"}
    (folder / "config.json").write_text(json.dumps(config))
    return folder, marker


def test_load_never_runs_backbone_remote_code_by_default(model_with_remote_code) -> None:
    folder, marker = model_with_remote_code
    try:
        stmtl.load(folder, device="cpu")
    except ValueError as error:  # transformers may refuse outright instead of using its own class
        assert "trust_remote_code" in str(error)
    assert not marker.exists()


def test_load_runs_backbone_remote_code_only_when_passed(model_with_remote_code) -> None:
    folder, marker = model_with_remote_code
    stmtl.load(folder, device="cpu", trust_remote_code=True)
    assert marker.exists()


def test_load_refuses_foreign_type_without_importing(tiny_backbone, tmp_path) -> None:
    folder = tmp_path / "model"
    two_task_model(tiny_backbone, dim=32).save(str(folder))
    shutil.copy(Path(__file__), folder / "dummy.py")
    modules = json.loads((folder / "modules.json").read_text())
    modules[1]["type"] = "builtins.exec"
    (folder / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(ValueError, match="builtins.exec"):
        stmtl.load(folder)
