"""The saved folder: plain sentence-transformers loads the encoder without stmtl; stmtl loads the heads too."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Normalize

import stmtl
from stmtl.backbone import encoder_modules
from stmtl.model_format import HEADS_FILE
from tests.helpers import TRICKY_TEXTS, two_task_model

TEXTS = [*TRICKY_TEXTS, "play a song by queen", "what is the weather in rome tomorrow"]

PLAIN_LOAD = textwrap.dedent("""
    import json, sys

    class NoStmtl:  # as if stmtl were not installed (the editable install makes it importable otherwise)
        def find_spec(self, name, path=None, target=None):
            if name == "stmtl" or name.startswith("stmtl."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NoStmtl())
    try:
        import stmtl
    except ImportError:
        pass
    else:
        sys.exit("stmtl is importable")
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    folder, texts, expected, threads = sys.argv[1:]
    torch.set_num_threads(int(threads))
    model = SentenceTransformer(folder, device="cpu")
    embeddings = model.encode(json.loads(open(texts).read()))
    assert not [name for name in sys.modules if name.split(".")[0] == "stmtl"]
    assert embeddings.dtype == np.float32 and np.array_equal(embeddings, np.load(expected)), "embeddings differ"
    print("identical", embeddings.shape)
""")


@pytest.fixture(scope="module")
def model(tiny_backbone) -> stmtl.MultiTaskSentenceTransformer:
    """Two heads on an encoder whose weights differ from the backbone's, as after training."""
    model = two_task_model(tiny_backbone, dim=32)
    with torch.no_grad():
        for parameter in model[0].parameters():
            parameter.add_(0.01 * torch.randn_like(parameter))
    return model


@pytest.fixture(scope="module")
def saved(model, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("format") / "model"
    model.save(str(folder))
    return folder


@pytest.fixture
def copy(saved, tmp_path) -> Path:
    return Path(shutil.copytree(saved, tmp_path / "model"))


def _to_old_layout(folder: Path) -> None:
    """Rewrite a saved folder as stmtl saved it before heads.json: every module, heads too, in modules.json."""
    modules = json.loads((folder / "modules.json").read_text())
    heads = json.loads((folder / HEADS_FILE).read_text())
    entries = sorted(modules + [{key: entry[key] for key in ("idx", "name", "path", "type")} for entry in heads],
                     key=lambda entry: entry["idx"])  # fmt: skip
    (folder / "modules.json").write_text(json.dumps(entries, indent=2))
    (folder / HEADS_FILE).unlink()


def test_format_plain_sentence_transformer_without_stmtl_encodes_identically(model, saved, tmp_path) -> None:
    (tmp_path / "texts.json").write_text(json.dumps(TEXTS))
    np.save(tmp_path / "expected.npy", model.encode(TEXTS))
    (tmp_path / "plain_load.py").write_text(PLAIN_LOAD)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    args = [str(saved), str(tmp_path / "texts.json"), str(tmp_path / "expected.npy"), str(torch.get_num_threads())]
    done = subprocess.run([sys.executable, str(tmp_path / "plain_load.py"), *args], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0 and "identical" in done.stdout, done.stderr[-3000:]


def test_format_modules_json_lists_the_encoder_heads_json_the_heads(saved) -> None:
    modules = json.loads((saved / "modules.json").read_text())
    assert all(entry["type"].startswith("sentence_transformers.") for entry in modules)
    heads = json.loads((saved / HEADS_FILE).read_text())
    assert [(entry["task"], entry["path"]) for entry in heads] == [
        ("intent", "2_SentenceClassificationHead"),
        ("ner", "3_TokenClassificationHead"),
    ]
    assert all((saved / entry["path"] / "model.safetensors").is_file() for entry in heads)


@pytest.mark.parametrize("loader", [stmtl.load, stmtl.MultiTaskSentenceTransformer], ids=["load", "class"])
def test_format_loaders_restore_heads_identically(model, saved, loader) -> None:
    loaded = loader(str(saved), device="cpu")
    assert list(loaded.heads) == ["intent", "ner"]
    assert list(loaded.state_dict()) == list(model.state_dict())
    assert all(torch.equal(value, model.state_dict()[name]) for name, value in loaded.state_dict().items())
    assert np.array_equal(loaded.encode(TEXTS), model.encode(TEXTS))
    assert loaded.predict(TEXTS) == model.predict(TEXTS)


@pytest.mark.parametrize("loader", [stmtl.load, stmtl.MultiTaskSentenceTransformer], ids=["load", "class"])
def test_format_old_layout_with_heads_in_modules_json_still_loads(model, copy, loader, tmp_path) -> None:
    _to_old_layout(copy)
    loaded = loader(str(copy), device="cpu")
    assert list(loaded.heads) == ["intent", "ner"]
    assert loaded.predict(TEXTS) == model.predict(TEXTS)
    loaded.save(str(tmp_path / "resaved"))  # saving again writes the new layout
    assert json.loads((tmp_path / "resaved" / HEADS_FILE).read_text())[0]["task"] == "intent"


LEGACY_TYPES = {
    "intent": "stmtl.heads.sentence_classification.SentenceClassificationHead",
    "ner": "stmtl.heads.token_classification.TokenClassificationHead",
}
"""The head types models saved before the kinds moved into their folders carry."""


def _with_legacy_types(folder: Path) -> None:
    """Rewrite heads.json as stmtl wrote it before head kinds had folders: the old type names, no 'kind'."""
    heads = json.loads((folder / HEADS_FILE).read_text())
    old = [{**{k: v for k, v in entry.items() if k != "kind"}, "type": LEGACY_TYPES[entry["task"]]} for entry in heads]
    (folder / HEADS_FILE).write_text(json.dumps(old, indent=2))


def test_format_heads_json_records_kind_and_the_type_of_the_kind_folder(saved) -> None:
    heads = json.loads((saved / HEADS_FILE).read_text())
    assert [(entry["kind"], entry["type"]) for entry in heads] == [
        ("sentence", "stmtl.heads.sentence.head.SentenceClassificationHead"),
        ("token", "stmtl.heads.token.head.TokenClassificationHead"),
    ]


@pytest.mark.parametrize("layout", ["heads.json", "modules.json"])
@pytest.mark.parametrize("loader", [stmtl.load, stmtl.MultiTaskSentenceTransformer], ids=["load", "class"])
def test_format_legacy_head_types_still_load_and_resave_with_the_new_names(
    model, copy, loader, layout, tmp_path
) -> None:
    _with_legacy_types(copy)
    if layout == "modules.json":
        _to_old_layout(copy)
    loaded = loader(str(copy), device="cpu")
    assert list(loaded.heads) == ["intent", "ner"]
    assert loaded.predict(TEXTS) == model.predict(TEXTS)
    loaded.save(str(tmp_path / "resaved"))
    types = [entry["type"] for entry in json.loads((tmp_path / "resaved" / HEADS_FILE).read_text())]
    assert types == [
        "stmtl.heads.sentence.head.SentenceClassificationHead",
        "stmtl.heads.token.head.TokenClassificationHead",
    ]


@pytest.mark.parametrize(
    "head_type", ["evil_package_xyz.Backdoor", "sentence_transformers.sentence_transformer.modules.dense.Dense"]
)
@pytest.mark.parametrize("loader", [stmtl.load, stmtl.MultiTaskSentenceTransformer], ids=["load", "class"])
def test_format_heads_json_only_loads_stmtl_heads(copy, head_type, loader) -> None:
    heads = json.loads((copy / HEADS_FILE).read_text())
    heads[0]["type"] = head_type
    (copy / HEADS_FILE).write_text(json.dumps(heads))
    with pytest.raises(ValueError, match=rf"heads.json: refusing head type '{head_type}'"):
        loader(str(copy), device="cpu")
    assert "evil_package_xyz" not in sys.modules


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"path": "../outside"}, "not a folder inside the model"),
        ({"task": "slots"}, "has task 'intent', heads.json says 'slots'"),
        ({"idx": "2"}, "malformed"),
    ],
)
def test_format_heads_json_damage_named(copy, change, message) -> None:
    heads = json.loads((copy / HEADS_FILE).read_text())
    heads[0].update(change)
    (copy / HEADS_FILE).write_text(json.dumps(heads))
    with pytest.raises(ValueError, match=message):
        stmtl.MultiTaskSentenceTransformer(str(copy), device="cpu")


def test_format_heads_keep_their_place_after_the_encoder(tiny_backbone, tmp_path) -> None:
    encoder = SentenceTransformer(modules=[*encoder_modules(tiny_backbone), Normalize()], device="cpu")
    with_normalize = two_task_model(encoder, dim=32)
    with_normalize.save(str(tmp_path / "model"))
    assert [entry["idx"] for entry in json.loads((tmp_path / "model" / HEADS_FILE).read_text())] == [3, 4]
    loaded = stmtl.load(tmp_path / "model", device="cpu")
    assert [type(module).__name__ for module in loaded] == [type(module).__name__ for module in with_normalize]
    assert loaded.predict(TEXTS) == with_normalize.predict(TEXTS)
    plain = SentenceTransformer(str(tmp_path / "model"), device="cpu")
    assert [type(module).__name__ for module in plain] == ["Transformer", "Pooling", "Normalize"]
    assert np.array_equal(plain.encode(TEXTS), with_normalize.encode(TEXTS))


def test_format_save_refuses_an_encoder_module_after_a_head(tiny_backbone, tmp_path) -> None:
    model = two_task_model(tiny_backbone, dim=32)
    model.add_module("4", Normalize())  # the heads would read the embeddings before Normalize: not loadable as saved
    with pytest.raises(ValueError, match="cannot save: the encoder module Normalize comes after the head of task"):
        model.save(str(tmp_path / "model"))
    assert not (tmp_path / "model").exists()


def test_format_saving_over_a_model_keeps_no_heads_of_the_old_one(saved, tiny_backbone, tmp_path) -> None:
    folder = Path(shutil.copytree(saved, tmp_path / "model"))
    stmtl.build([], backbone=tiny_backbone, device="cpu").save(str(folder))
    assert json.loads((folder / HEADS_FILE).read_text()) == []
    assert stmtl.load(folder, device="cpu").heads == {}


def test_format_manifests_read_by_the_allow_list_and_the_run_folder_cleanup(saved) -> None:
    from stmtl.loading import check_module_types
    from stmtl.model_format import module_folders

    assert [name.rsplit(".", 1)[-1] for name in check_module_types(saved)] == [
        "Transformer", "Pooling", "SentenceClassificationHead", "TokenClassificationHead"
    ]  # fmt: skip
    assert module_folders(saved) == ["", "1_Pooling", "2_SentenceClassificationHead", "3_TokenClassificationHead"]


def test_format_checkpoint_folder_is_the_same_layout(model, tmp_path) -> None:
    from stmtl.training.checkpoint import save_checkpoint

    path = save_checkpoint(tmp_path, 3, model, {}, {"step": 3})
    assert all(
        entry["type"].startswith("sentence_transformers.") for entry in json.loads((path / "modules.json").read_text())
    )
    assert list(stmtl.load(path, device="cpu").heads) == ["intent", "ner"]


def test_format_save_killed_after_heads_json_leaves_no_half_model(model, tmp_path, monkeypatch) -> None:
    from stmtl.model_format import save_model_folder

    write_text = Path.write_text

    def killed_after_heads_json(self: Path, *args, **kwargs) -> int:
        written = write_text(self, *args, **kwargs)
        if self.name == HEADS_FILE:
            raise KeyboardInterrupt("killed")  # as a SIGKILL right after heads.json, before modules.json
        return written

    monkeypatch.setattr(Path, "write_text", killed_after_heads_json)
    with pytest.raises(KeyboardInterrupt):
        save_model_folder(model, tmp_path / "staging")
    monkeypatch.undo()
    folder = tmp_path / "staging"
    assert (folder / HEADS_FILE).exists()
    if (folder / "modules.json").exists():  # whatever looks like a model must load, whole
        assert stmtl.load(folder, device="cpu").predict(["play a song by queen"])
