"""Hub ids wherever a model or a backbone is named, resolved offline from a Hugging Face cache in the hub layout."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from sentence_transformers import SentenceTransformer

import stmtl
from stmtl.backbone import backbone_name, encoder_modules
from stmtl.cli import main
from stmtl.heads import SentenceClassificationHead
from stmtl.hub import hub_id_of_path, is_hub_id, repo_id, resolve_model_path
from tests.helpers import INTENTS, TRICKY_TEXTS, two_task_model

MAIN, OLDER = "a" * 40, "b" * 40


def _put_in_cache(cache: Path, hub_id: str, revisions: dict[str, Path], main: str) -> None:
    """Lay folders out as the Hugging Face cache does: ``models--org--name/snapshots/<commit>`` and ``refs/main``."""
    repo = cache / f"models--{hub_id.replace('/', '--')}"
    for commit, folder in revisions.items():
        shutil.copytree(folder, repo / "snapshots" / commit)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(main)


@pytest.fixture(scope="module")
def cache(tiny_backbone, tmp_path_factory) -> Path:
    """``org/tiny-mtl``: a saved multi-task model at two commits (main, and an older one with other weights);
    ``org/tiny-bert``: the plain Hugging Face backbone."""
    root = tmp_path_factory.mktemp("hub")
    two_task_model(tiny_backbone, dim=32, seed=0).save(str(root / "seed0"))
    older = two_task_model(tiny_backbone, dim=32, seed=1)
    with torch.no_grad():
        older[0].auto_model.embeddings.word_embeddings.weight.mul_(1.5)
    older.save(str(root / "seed1"))
    cache = root / "cache"
    _put_in_cache(cache, "org/tiny-mtl", {MAIN: root / "seed0", OLDER: root / "seed1"}, MAIN)
    _put_in_cache(cache, "org/tiny-bert", {MAIN: Path(tiny_backbone)}, MAIN)
    return cache


@pytest.mark.parametrize("loader", [stmtl.load, stmtl.MultiTaskSentenceTransformer], ids=["load", "class"])
def test_hub_model_id_loads_from_the_cache_offline(cache, tiny_backbone, loader) -> None:
    model = loader("org/tiny-mtl", cache_folder=str(cache), device="cpu")
    assert list(model.heads) == ["intent", "ner"]
    assert model.predict(TRICKY_TEXTS) == two_task_model(tiny_backbone, dim=32, seed=0).predict(TRICKY_TEXTS)
    assert model.model_card_data.base_model == "org/tiny-mtl"


@pytest.mark.parametrize("cls", [SentenceTransformer, stmtl.MultiTaskSentenceTransformer], ids=["plain", "multitask"])
def test_hub_load_with_revision(cache, cls) -> None:
    """Ports sentence-transformers' test_load_with_revision to a local cache: a commit selects other weights."""
    texts = ["Hello there!"]
    main = cls("org/tiny-mtl", revision="main", cache_folder=str(cache), device="cpu").encode(texts)
    latest = cls("org/tiny-mtl", revision=MAIN, cache_folder=str(cache), device="cpu").encode(texts)
    older = cls("org/tiny-mtl", revision=OLDER, cache_folder=str(cache), device="cpu").encode(texts)
    assert np.array_equal(main, latest) and not np.array_equal(main, older)


def test_hub_backbone_id_builds_as_the_local_folder_does(cache, tiny_backbone) -> None:
    head = SentenceClassificationHead("intent", INTENTS, 32)
    model = stmtl.build([head], backbone="org/tiny-bert", cache_folder=str(cache), device="cpu")
    local = SentenceTransformer(modules=encoder_modules(tiny_backbone), device="cpu")
    assert np.array_equal(model.encode(TRICKY_TEXTS), local.encode(TRICKY_TEXTS))
    assert model.model_card_data.base_model == "org/tiny-bert"


def test_hub_ids_use_the_default_cache_as_the_cli_does(cache, tmp_path, monkeypatch, capsys) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))  # what HF_HUB_CACHE=... sets at start-up
    assert main(["predict", "--model", "org/tiny-mtl", "play a song"]) == 0
    assert '"intent"' in capsys.readouterr().out
    model = stmtl.build([], backbone="org/tiny-bert", device="cpu")
    assert model.model_card_data.base_model == "org/tiny-bert"


@pytest.mark.parametrize("name", ["org/not-cached", "not-cached"])
def test_hub_offline_missing_id_one_line_naming_id_and_cache(cache, name) -> None:
    full = repo_id(name)
    with pytest.raises(FileNotFoundError) as error:
        stmtl.load(name, cache_folder=str(cache))
    message = str(error.value)
    assert "\n" not in message and full in message and str(cache) in message and "HF_HUB_OFFLINE" in message
    with pytest.raises(FileNotFoundError, match=full):
        stmtl.build([], backbone=name, cache_folder=str(cache))


def test_hub_cli_missing_id_exit_2_one_line(cache, monkeypatch, capsys) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    assert main(["predict", "--model", "org/not-cached", "play a song"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "org/not-cached" in err and str(cache) in err


def test_hub_paths_are_never_taken_for_ids(tmp_path) -> None:
    assert is_hub_id("org/name") and is_hub_id("all-MiniLM-L6-v2")
    assert not any(is_hub_id(path) for path in ["./model", "/abs/model", "a/b/c", "~/model", "../model"])
    with pytest.raises(FileNotFoundError, match="no such model folder"):
        resolve_model_path(str(tmp_path / "missing"))
    assert repo_id("all-MiniLM-L6-v2") == "sentence-transformers/all-MiniLM-L6-v2"
    assert repo_id("bert-base-uncased") == "bert-base-uncased"


def test_hub_backbone_names(cache, tiny_backbone, default_backbone_path) -> None:
    snapshot = cache / "models--org--tiny-bert" / "snapshots" / MAIN
    assert hub_id_of_path(snapshot) == "org/tiny-bert" and backbone_name(str(snapshot)) == "org/tiny-bert"
    assert backbone_name(None) == backbone_name(default_backbone_path) == "sentence-transformers/all-MiniLM-L6-v2"
    assert backbone_name(tiny_backbone) == str(Path(tiny_backbone).resolve())
    assert backbone_name("all-MiniLM-L6-v2") == "sentence-transformers/all-MiniLM-L6-v2"
