"""Loading a damaged or foreign model folder: one line naming the file, exit code 2 from the CLI."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

import stmtl
from stmtl.cli import main
from tests.helpers import two_task_model


@pytest.fixture(scope="module")
def saved(tiny_backbone, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("saved") / "model"
    two_task_model(tiny_backbone, dim=32).save(str(folder))
    return folder


@pytest.fixture
def copy(saved, tmp_path) -> Path:
    return Path(shutil.copytree(saved, tmp_path / "model"))


def _truncate(folder: Path) -> str:
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    return "model.safetensors"


def _pickle(folder: Path) -> str:
    from safetensors.torch import load_file

    torch.save(load_file(folder / "model.safetensors"), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    return "pytorch_model.bin"


def _overwrite_with_nan(folder: Path) -> str:
    weights = folder / "model.safetensors"
    raw = bytearray(weights.read_bytes())
    header_size = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + header_size])
    start = 8 + header_size + header["embeddings.word_embeddings.weight"]["data_offsets"][0]
    raw[start : start + 100] = b"\xff" * 100  # float32 0xffffffff is NaN
    weights.write_bytes(bytes(raw))
    return "model.safetensors"


def _bad_head_json(folder: Path) -> str:
    (folder / "2_SentenceClassificationHead" / "config.json").write_text('{"task": "intent",')
    return "2_SentenceClassificationHead/config.json"


def _bad_tokenizer(folder: Path) -> str:
    (folder / "tokenizer.json").write_text('{"version": "1.0", "model": 3}')
    return str(folder)


@pytest.mark.parametrize("damage", [_truncate, _pickle, _overwrite_with_nan, _bad_head_json, _bad_tokenizer])
def test_loading_damaged_folder_one_line_exit_2(copy, damage, capsys) -> None:
    named = damage(copy)
    assert main(["predict", "--model", str(copy), "play a song"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("stmtl: error:") and err.count("\n") == 0 and named in err, err


@pytest.mark.parametrize("layout", ["heads.json", "old"])
def test_loading_duplicate_task_names_refused_naming_file(copy, layout) -> None:
    config = json.loads((copy / "3_TokenClassificationHead" / "config.json").read_text())
    (copy / "3_TokenClassificationHead" / "config.json").write_text(json.dumps({**config, "task": "intent"}))
    message = r"heads.json: the head in 3_TokenClassificationHead has task 'intent', heads.json says 'ner'"
    if layout == "old":  # as saved before heads.json: every module in modules.json, no task names beside them
        heads = json.loads((copy / "heads.json").read_text())
        modules = json.loads((copy / "modules.json").read_text())
        modules += [{key: head[key] for key in ("idx", "name", "path", "type")} for head in heads]
        (copy / "modules.json").write_text(json.dumps(modules))
        (copy / "heads.json").unlink()
        message = r"3_TokenClassificationHead/config.json: key 'task': 'intent' is also the task of the head in"
    with pytest.raises(ValueError, match=message):
        stmtl.load(copy, device="cpu")


@pytest.mark.parametrize(
    "module_type", ["sentence_transformers.backend.load.json", "sentence_transformers.util.misc.import_from_string"]
)
def test_loading_allow_list_is_module_classes_not_a_prefix(copy, module_type, capsys) -> None:
    modules = json.loads((copy / "modules.json").read_text())
    modules[1]["type"] = module_type
    (copy / "modules.json").write_text(json.dumps(modules))
    assert main(["predict", "--model", str(copy), "play a song"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and module_type in err


def test_loading_accepts_legacy_module_names(copy) -> None:
    modules = json.loads((copy / "modules.json").read_text())
    modules[0]["type"], modules[1]["type"] = (
        "sentence_transformers.models.Transformer",
        "sentence_transformers.models.Pooling",
    )
    (copy / "modules.json").write_text(json.dumps(modules))
    assert list(stmtl.load(copy, device="cpu").heads) == ["intent", "ner"]


@pytest.fixture(scope="session")
def published_minilm(default_backbone_path, tmp_path_factory) -> Path:
    """The default backbone's folder as published (``2_Normalize`` listed, no folder), hard-linked where possible."""
    import os

    def link_or_copy(source: str, target: str) -> None:
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)

    folder = Path(shutil.copytree(default_backbone_path, tmp_path_factory.mktemp("published") / "all-MiniLM-L6-v2",
                                  copy_function=link_or_copy))  # fmt: skip
    assert "2_Normalize" in (folder / "modules.json").read_text() and not (folder / "2_Normalize").exists()
    return folder


def test_loading_published_layout_without_normalize_folder(published_minilm, tmp_path) -> None:
    from sentence_transformers import SentenceTransformer

    texts = ["A man is playing a guitar.", "Play a song by Queen", ""]
    loaded = stmtl.load(published_minilm, device="cpu")
    plain = SentenceTransformer(str(published_minilm), device="cpu")
    assert [type(module).__name__ for module in loaded] == ["Transformer", "Pooling", "Normalize"]
    assert np.array_equal(loaded.encode(texts), plain.encode(texts))
    (tmp_path / "texts.txt").write_text("\n".join(texts[:2]) + "\n")
    args = ["encode", "--model", str(published_minilm), "--input", str(tmp_path / "texts.txt")]
    assert main([*args, "--output", str(tmp_path / "out.npy")]) == 0
    assert np.array_equal(np.load(tmp_path / "out.npy"), plain.encode(texts[:2]))


def test_loading_module_with_parameters_still_needs_its_folder(copy) -> None:
    shutil.rmtree(copy / "1_Pooling")
    with pytest.raises(FileNotFoundError, match=r"1_Pooling: missing module folder named in .*modules.json"):
        stmtl.load(copy, device="cpu")
