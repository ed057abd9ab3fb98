"""Safe by default: no pickles, only allow-listed module types, no backbone remote code unless asked for."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import stmtl
from stmtl.heads import SentenceClassificationHead
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


_EVIL_MODULE = """from pathlib import Path
Path({marker!r}).write_text("ran")
from transformers import BertConfig, BertModel, BertTokenizerFast


class EvilConfig(BertConfig):
    model_type = "evilbert"


class EvilModel(BertModel):
    config_class = EvilConfig


class EvilTokenizer(BertTokenizerFast):
    pass
"""


def _plant_remote_code(folder: Path, marker: Path) -> None:
    """Make ``folder``'s config, model and tokenizer name a module of the folder that leaves ``marker`` when run.

    The model type is one transformers does not know, so only the folder's own code could load it: transformers
    then asks on stdin whether to run it whenever a loader is not told ``trust_remote_code`` explicitly.
    """
    (folder / "evil_modeling.py").write_text(_EVIL_MODULE.format(marker=str(marker)))
    config = json.loads((folder / "config.json").read_text())
    config["model_type"] = "evilbert"
    config["auto_map"] = {"AutoConfig": "evil_modeling.EvilConfig", "AutoModel": "evil_modeling.EvilModel"}
    (folder / "config.json").write_text(json.dumps(config))
    tokenizer_config = json.loads((folder / "tokenizer_config.json").read_text())
    tokenizer_config["auto_map"] = {"AutoTokenizer": ["evil_modeling.EvilTokenizer", "evil_modeling.EvilTokenizer"]}
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config))


def _run_answering_yes(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter whose standard input answers "y" to every question."""
    return subprocess.run(
        [sys.executable, "-c", code], input="y\n" * 20, capture_output=True, text=True, timeout=600,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}, cwd=Path(__file__).parents[1],
    )  # fmt: skip


def test_backbone_remote_code_never_runs_when_stdin_says_yes(tiny_backbone, tmp_path) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling

    plain, st_folder = tmp_path / "plain", tmp_path / "st"
    shutil.copytree(tiny_backbone, plain)
    SentenceTransformer(modules=[Transformer(tiny_backbone), Pooling(32)]).save(str(st_folder))
    saved = tmp_path / "saved"
    two_task_model(tiny_backbone, dim=32).save(str(saved))
    markers = {folder: tmp_path / f"ran-{folder.name}" for folder in (plain, st_folder, saved)}
    for folder, marker in markers.items():
        _plant_remote_code(folder, marker)
    code = (
        "import stmtl\nfrom stmtl.heads import SentenceClassificationHead\n"
        f"for backbone in {[str(plain), str(st_folder)]!r}:\n"
        "    try:\n"
        "        head = SentenceClassificationHead('intent', ['a', 'b'], 32)\n"
        "        stmtl.build([head], backbone=backbone, device='cpu')\n"
        "    except ValueError as error:\n"
        "        print('refused:', str(error).splitlines()[0])\n"
        "try:\n"
        f"    stmtl.load({str(saved)!r}, device='cpu')\n"
        "except ValueError as error:\n"
        "    print('refused:', str(error).splitlines()[0])\n"
    )
    result = _run_answering_yes(code)
    assert [marker.name for marker in markers.values() if marker.exists()] == [], result.stderr[-2000:]
    refusals = [line for line in result.stdout.splitlines() if line.startswith("refused:")]
    assert len(refusals) == 3, result.stdout + result.stderr[-2000:]
    assert "trust_remote_code" in refusals[0] and "trust-remote-code" in refusals[0]


def test_cli_train_on_a_remote_code_backbone_refuses_in_one_line(tiny_backbone, tmp_path) -> None:
    backbone = tmp_path / "backbone"
    shutil.copytree(tiny_backbone, backbone)
    marker = tmp_path / "ran"
    _plant_remote_code(backbone, marker)
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps({"text": text, "label": label}) + "\n" for text, label in
                            [("play music", "play"), ("book a table", "book")] * 4))  # fmt: skip
    code = (
        "import sys\nfrom stmtl.cli import main\n"
        f"sys.exit(main(['train', '--train', {str(data)!r}, '--backbone', {str(backbone)!r}, "
        f"'--output', {str(tmp_path / 'run')!r}, '--max-steps', '1']))\n"
    )
    result = _run_answering_yes(code)
    assert not marker.exists()
    assert result.returncode == 2, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("stmtl: error:")]
    assert len(errors) == 1 and "auto_map" in errors[0] and str(backbone) in errors[0]


@pytest.mark.parametrize("layout", ["plain", "sentence-transformers"])
def test_backbone_with_pickled_weights_only_is_refused_in_one_line(tiny_backbone, tmp_path, layout) -> None:
    import torch
    from safetensors.torch import load_file

    folder = tmp_path / "backbone"
    if layout == "plain":
        shutil.copytree(tiny_backbone, folder)
    else:
        from sentence_transformers import SentenceTransformer
        from sentence_transformers.base.modules import Transformer
        from sentence_transformers.sentence_transformer.modules import Pooling

        SentenceTransformer(modules=[Transformer(tiny_backbone), Pooling(32)]).save(str(folder))
    weights = folder / "model.safetensors"
    torch.save(load_file(weights), folder / "pytorch_model.bin")
    weights.unlink()
    with pytest.raises(ValueError, match=r"pytorch_model\.bin: pickled weights are never loaded") as raised:
        stmtl.build([SentenceClassificationHead("intent", ["a", "b"], 32)], backbone=str(folder), device="cpu")
    assert "\n" not in str(raised.value)


def test_train_runs_backbone_remote_code_only_with_trust_remote_code(tiny_backbone, tmp_path) -> None:
    from stmtl.training.run import setup
    from tests.helpers import toy_config

    backbone = tmp_path / "backbone"
    shutil.copytree(tiny_backbone, backbone)
    marker = tmp_path / "ran"
    _plant_remote_code(backbone, marker)
    with pytest.raises(ValueError, match="trust-remote-code"):
        setup(toy_config(tmp_path / "refused", str(backbone)))
    assert not marker.exists()
    setup(toy_config(tmp_path / "trusted", str(backbone), trust_remote_code=True))
    assert marker.exists()
