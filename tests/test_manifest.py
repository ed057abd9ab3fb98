"""The saved manifests are checked whole before anything is built, by ``stmtl.load`` and the class alike."""

from __future__ import annotations

import json
import os
import shutil
import struct
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Dense, Normalize

import stmtl
from stmtl.backbone import encoder_modules
from stmtl.cli import main
from stmtl.heads import SentenceClassificationHead
from stmtl.model_format import HEADS_FILE
from tests.helpers import INTENTS, two_task_model

LOADERS = [stmtl.load, stmtl.MultiTaskSentenceTransformer]
LOADER_IDS = ["load", "class"]
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture(scope="module")
def saved(tiny_backbone, tmp_path_factory) -> Path:
    """Transformer (0) → Pooling (1) → Normalize (2) → intent head (3) → ner head (4)."""
    encoder = SentenceTransformer(modules=[*encoder_modules(tiny_backbone), Normalize()], device="cpu")
    folder = tmp_path_factory.mktemp("manifest") / "model"
    two_task_model(encoder, dim=32).save(str(folder))
    return folder


@pytest.fixture
def copy(saved, tmp_path) -> Path:
    return Path(shutil.copytree(saved, tmp_path / "model"))


def _edit(folder: Path, name: str, change: Callable[[list | dict], None]) -> None:
    value = json.loads((folder / name).read_text())
    change(value)
    (folder / name).write_text(json.dumps(value))


def _same_name(folder: Path) -> str:
    _edit(folder, HEADS_FILE, lambda heads: heads[1].update(name=heads[0]["name"]))
    return r"heads.json: key 'name': '3' appears in two entries"


def _same_idx(folder: Path) -> str:
    _edit(folder, HEADS_FILE, lambda heads: heads[1].update(idx=heads[0]["idx"]))
    return r"heads.json: key 'idx': 3 appears in two entries"


def _encoder_name(folder: Path) -> str:
    _edit(folder, HEADS_FILE, lambda heads: heads[0].update(name="0"))
    return r"heads.json: head '0': key 'name': '0' is also an encoder module's in modules.json"


def _negative_idx(folder: Path) -> str:
    _edit(folder, HEADS_FILE, lambda heads: heads[0].update(idx=-1))
    return r"heads.json: head '3' has idx -1; heads come after the encoder's modules \(idx greater than 2"


def _before_normalize(folder: Path) -> str:
    _edit(folder, HEADS_FILE, lambda heads: heads[0].update(idx=1))
    return r"heads.json: head '3' has idx 1; heads come after the encoder's modules"


def _empty(folder: Path) -> str:
    (folder / HEADS_FILE).write_text("[]")
    return r"heads.json: lists no heads, but .*config_sentence_transformers.json \(key 'stmtl.tasks'\) records"


def _missing(folder: Path) -> str:
    (folder / HEADS_FILE).unlink()
    return r"heads.json: missing, but .*config_sentence_transformers.json \(key 'stmtl.tasks'\) records"


def _one_head_dropped(folder: Path) -> str:
    _edit(folder, HEADS_FILE, lambda heads: heads.pop())
    return r"heads.json: lists the tasks \['intent'\], but .* records the heads \['intent', 'ner'\]"


def _head_outside(folder: Path) -> str:
    outside = folder.parent / "elsewhere"
    shutil.move(folder / "3_SentenceClassificationHead", outside)
    os.symlink(outside, folder / "3_SentenceClassificationHead")
    return r"heads.json: module path '3_SentenceClassificationHead' resolves to .*elsewhere, outside the model"


def _encoder_outside(folder: Path) -> str:
    outside = folder.parent / "elsewhere"
    shutil.move(folder / "1_Pooling", outside)
    os.symlink(outside, folder / "1_Pooling")
    return r"modules.json: module path '1_Pooling' resolves to .*elsewhere, outside the model"


def _unknown_input(folder: Path) -> str:
    _edit(folder, "3_SentenceClassificationHead/config.json", lambda config: config.update(module_input_name="nope"))
    return r"3_SentenceClassificationHead/config.json: key 'module_input_name': 'nope' is not a feature the encoder"


def _deep(name: str) -> Callable[[Path], str]:
    def deep(folder: Path) -> str:
        (folder / name).write_text(DEEP)
        return rf"{name}: JSON nested more than 100 levels deep"

    deep.__name__ = f"_deep_{name}"
    return deep


def _module_named_twice(folder: Path) -> str:
    _edit(folder, "modules.json", lambda modules: modules[2].update(name="1"))
    return r"modules.json: key 'name': '1' appears in two entries"


DAMAGE = [
    _same_name, _same_idx, _encoder_name, _negative_idx, _before_normalize, _empty, _missing, _one_head_dropped,
    _head_outside, _encoder_outside, _unknown_input, _module_named_twice,
    *(_deep(name) for name in (HEADS_FILE, "modules.json", "1_Pooling/config.json", "tokenizer_config.json")),
]  # fmt: skip
DAMAGE_IDS = [damage.__name__.strip("_") for damage in DAMAGE]


@pytest.mark.parametrize("loader", LOADERS, ids=LOADER_IDS)
@pytest.mark.parametrize("damage", DAMAGE, ids=DAMAGE_IDS)
def test_manifest_damage_refused_naming_the_file(copy, damage, loader) -> None:
    message = damage(copy)
    with pytest.raises(ValueError, match=message):
        loader(str(copy), device="cpu")


@pytest.mark.parametrize("damage", DAMAGE, ids=DAMAGE_IDS)
def test_manifest_damage_cli_one_line_exit_2(copy, damage, capsys) -> None:
    damage(copy)
    assert main(["predict", "--model", str(copy), "play a song"]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.startswith("stmtl: error:") and err.count("\n") == 0 and str(copy) in err, err
    assert captured.out == ""


def test_manifest_save_records_the_tasks(saved) -> None:
    config = json.loads((saved / "config_sentence_transformers.json").read_text())
    assert config["stmtl"]["tasks"] == ["intent", "ner"]
    assert "tasks" not in stmtl.load(saved, device="cpu").card_info


def test_manifest_model_saved_without_the_record_loads_as_before(copy) -> None:
    _edit(copy, "config_sentence_transformers.json", lambda config: config["stmtl"].pop("tasks"))
    assert list(stmtl.load(copy, device="cpu").heads) == ["intent", "ner"]
    (copy / HEADS_FILE).unlink()
    assert stmtl.load(copy, device="cpu").heads == {}


def test_manifest_head_may_read_a_declared_encoder_output(tiny_backbone, tmp_path) -> None:
    projection = Dense(32, 32, module_input_name="sentence_embedding", module_output_name="projected")
    encoder = SentenceTransformer(modules=[*encoder_modules(tiny_backbone), projection], device="cpu")
    head = SentenceClassificationHead("intent", INTENTS, 32, module_input_name="projected")
    model = stmtl.build([head], backbone=encoder, device="cpu")
    model.save(str(tmp_path / "model"))
    loaded = stmtl.load(tmp_path / "model", device="cpu")
    assert loaded.heads["intent"].module_input_name == "projected"
    assert loaded.predict(["play a song"]) == model.predict(["play a song"])


def test_manifest_class_checks_weights_as_load_does(copy) -> None:
    weights = copy / "model.safetensors"
    raw = bytearray(weights.read_bytes())
    header_size = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + header_size])
    start = 8 + header_size + header["embeddings.word_embeddings.weight"]["data_offsets"][0]
    raw[start : start + 64] = b"\xff" * 64  # float32 0xffffffff is NaN
    weights.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"model.safetensors: tensor .* holds NaN"):
        stmtl.MultiTaskSentenceTransformer(str(copy), device="cpu")


def test_manifest_class_allow_list_holds_with_trust_remote_code(copy) -> None:
    _edit(copy, "modules.json", lambda modules: modules[1].update(type="evil_package_xyz.Backdoor"))
    with pytest.raises(ValueError, match="refusing module type 'evil_package_xyz.Backdoor'"):
        stmtl.MultiTaskSentenceTransformer(str(copy), device="cpu", trust_remote_code=True)
    assert "evil_package_xyz" not in sys.modules


def test_manifest_symlinked_model_folder_and_files_still_load(saved, tmp_path) -> None:
    """The realpath rule is about module folders: a linked model folder or linked files (the HF cache) load."""
    real = Path(shutil.copytree(saved, tmp_path / "real"))
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    for weights in real.rglob("model.safetensors"):
        blob = blobs / f"{weights.parent.name or 'root'}.safetensors"
        shutil.move(weights, blob)
        os.symlink(blob, weights)
    os.symlink(real, tmp_path / "linked")
    assert list(stmtl.load(tmp_path / "linked", device="cpu").heads) == ["intent", "ner"]


def test_manifest_json_depth_limit(tmp_path) -> None:
    from stmtl.jsonio import MAX_JSON_DEPTH, read_json

    (tmp_path / "ok.json").write_text("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)
    assert read_json(tmp_path / "ok.json") is not None
    (tmp_path / "deep.json").write_text('{"a": ' * (MAX_JSON_DEPTH + 1) + "1" + "}" * (MAX_JSON_DEPTH + 1))
    with pytest.raises(ValueError, match=rf"deep.json: JSON nested more than {MAX_JSON_DEPTH} levels deep"):
        read_json(tmp_path / "deep.json")
