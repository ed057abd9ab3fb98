from __future__ import annotations

import json

import pytest
import torch

from stmtl.training.preservation import TEACHER, EmbeddingPreservation
from stmtl.training.run import setup, train
from tests.helpers import toy_config, write_joint_folder


def test_preservation_teacher_cached_once(tiny_backbone, tmp_path, monkeypatch) -> None:
    calls = []
    original = EmbeddingPreservation.prepare

    def counting(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(EmbeddingPreservation, "prepare", counting)
    folder = write_joint_folder(tmp_path / "data")
    tasks = [{"name": "intent", "kind": "sentence", "train": folder, "dev": folder},
             {"name": "slots", "kind": "token", "train": folder, "dev": folder}]  # fmt: skip
    trainer = setup(toy_config(tmp_path / "run", tiny_backbone, preserve_embeddings=1.0, epochs=3, tasks=tasks))
    cached = trainer.streams[0].dataset[TEACHER]
    trainer.train()
    assert calls == [1] and trainer.preservation.teacher_passes == 1
    assert trainer.streams[0].dataset[TEACHER] == cached
    # A second run from the same source model and data reads the embeddings from the datasets cache.
    again = setup(toy_config(tmp_path / "again", tiny_backbone, preserve_embeddings=1.0, epochs=3, tasks=tasks))
    assert again.preservation.teacher_passes == 0 and again.streams[0].dataset[TEACHER] == cached


def test_preservation_gradient_reaches_encoder(tiny_backbone, tmp_path) -> None:
    for method in ("distill", "l2sp"):
        trainer = setup(toy_config(tmp_path / method, tiny_backbone, preserve_embeddings=1.0))
        model, stream = trainer.unwrapped, trainer.streams[0]
        with torch.no_grad():  # move the encoder away from its start so both penalties are non-zero
            for p in model[0].parameters():
                p.add_(0.01 * torch.randn_like(p))
        _, features, _ = trainer._losses(stream, stream.rows(slice(0, 4)))
        penalty = trainer.preservation.loss(features, stream.rows(slice(0, 4)))
        assert penalty.item() > 0
        penalty.backward()
        grads = [p.grad for p in model[0].parameters() if p.grad is not None]
        assert grads and any(float(g.abs().sum()) > 0 for g in grads), method
        model.zero_grad()


def test_grad_cosine_logged(tiny_backbone, tmp_path) -> None:
    train(toy_config(tmp_path, tiny_backbone, epochs=2, grad_cosine_every=2))
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    cosines = [record for record in records if record["type"] == "grad_cosine"]
    assert cosines and all(-1.0 <= record["pairs"]["intent/slots"] <= 1.0 for record in cosines)
    assert (tmp_path / "plots" / "grad_cosine.png").is_file()


def _dropouts(module: torch.nn.Module) -> set[float]:
    return {layer.p for layer in module.modules() if isinstance(layer, torch.nn.Dropout)}


def test_distillation_turns_encoder_dropout_off(tiny_backbone, tmp_path) -> None:
    trainer = setup(toy_config(tmp_path / "distill", tiny_backbone, preserve_embeddings=1.0))
    model = trainer.unwrapped
    assert _dropouts(model[0]) == {0.0}
    assert all(_dropouts(head) == {0.1} for head in model.heads.values())  # heads keep theirs
    model.train()  # in training mode the untrained student now reproduces its cached teacher exactly
    stream = trainer.streams[0]
    _, features, _ = trainer._losses(stream, stream.rows(slice(0, 8)))
    assert trainer.preservation.loss(features, stream.rows(slice(0, 8))).item() < 1e-5

    trainer = setup(toy_config(tmp_path / "l2sp", tiny_backbone, preserve_embeddings=1.0, preserve_method="l2sp"))
    assert _dropouts(trainer.unwrapped[0]) == {0.1}  # the backbone's own: L2-SP has no dropout floor

    explicit = toy_config(tmp_path / "explicit", tiny_backbone, preserve_embeddings=1.0, encoder_dropout=0.2)
    trainer = setup(explicit)
    assert _dropouts(trainer.unwrapped[0]) == {0.2}


def test_preservation_large_corpus_embeds_each_batch_as_the_cache_would(tiny_backbone, tmp_path) -> None:
    cached = setup(toy_config(tmp_path / "cached", tiny_backbone, preserve_embeddings=1.0))
    lazy = setup(toy_config(tmp_path / "lazy", tiny_backbone, preserve_embeddings=1.0))
    lazy.preservation = EmbeddingPreservation("distill", 1.0, cached_rows=0)
    stream = lazy.streams[0]
    stream.dataset = stream.dataset.remove_columns(TEACHER)
    lazy.preservation.prepare(lazy.unwrapped, lazy.streams)
    assert TEACHER not in stream.dataset.column_names and lazy.preservation.teacher_passes == 0
    rows = stream.rows(slice(0, 8))
    expected = torch.tensor(cached.streams[0].rows(slice(0, 8))[TEACHER])
    assert torch.allclose(lazy.preservation.teacher_embeddings(rows, torch.device("cpu")), expected, atol=1e-5)
    with torch.no_grad():  # the student moves; the frozen teacher copy must not
        for p in lazy.unwrapped[0].parameters():
            p.add_(0.01 * torch.randn_like(p))
    assert torch.allclose(lazy.preservation.teacher_embeddings(rows, torch.device("cpu")), expected, atol=1e-5)
    _, features, _ = lazy._losses(stream, rows)
    cached_rows = {**rows, TEACHER: expected.tolist()}
    penalty = lazy.preservation.loss(features, rows)
    assert penalty.item() > 0 and penalty.item() == pytest.approx(lazy.preservation.loss(features, cached_rows).item(),
                                                                  abs=1e-5)  # fmt: skip
