"""Freeze policies and gradual unfreezing, checked by real AdamW steps on the tiny two-task model."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from transformers import DistilBertConfig, DistilBertModel

from stmtl.training.freezing import GradualUnfreezer, apply_freeze, embedding_module, encoder_layers
from stmtl.training.optim import build_optimizer
from tests.helpers import two_task_model

TEXTS = ["book a table for two", "play music by me", "what is the weather tomorrow", "set alarm"]
# BERT's pooler output is not used by sentence-transformers (Pooling reads token_embeddings): it gets no gradient.
UNUSED = "0.model.pooler."


@pytest.fixture
def model(tiny_backbone: str):
    return two_task_model(tiny_backbone, 32)


def snapshot(model) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def train(model, steps: int, unfreezer: GradualUnfreezer | None = None, start: int = 0, optimizer=None):
    """Run AdamW steps on random intent and NER targets; returns the optimizer to continue with."""
    torch.manual_seed(1)
    model.train()
    features = model.preprocess(TEXTS)
    optimizer = optimizer or build_optimizer(model, lr_backbone=1e-3, lr_heads=1e-2, weight_decay=0.01)
    for step in range(start, start + steps):
        out = model(dict(features))
        intent, ner = out["intent_logits"], out["ner_logits"]
        loss = torch.nn.functional.cross_entropy(intent, torch.randint(0, intent.shape[-1], intent.shape[:1]))
        loss = loss + torch.nn.functional.cross_entropy(
            ner.reshape(-1, ner.shape[-1]), torch.randint(0, ner.shape[-1], ner.shape[:2]).reshape(-1)
        )
        optimizer.zero_grad()
        loss.backward()
        if unfreezer is not None:
            unfreezer.drop_frozen_grads(step)
        optimizer.step()
    return optimizer


def changed(model, before: dict[str, torch.Tensor]) -> set[str]:
    return {name for name, p in model.named_parameters() if not torch.equal(p.detach(), before[name])}


POLICIES = {
    "none": lambda name: False,
    "backbone": lambda name: name.startswith("0."),
    "embeddings": lambda name: name.startswith("0.model.embeddings."),
    "layers:0-0": lambda name: name.startswith("0.model.encoder.layer.0."),
    "layers:1": lambda name: name.startswith("0.model.encoder.layer.1."),
    "head:intent": lambda name: name.startswith("2."),
    "embeddings,layers:0-1": lambda name: name.startswith(("0.model.embeddings.", "0.model.encoder.")),
    "backbone,head:ner": lambda name: name.startswith(("0.", "3.")),
}


@pytest.mark.parametrize("policy", list(POLICIES))
def test_apply_freeze_keeps_frozen_bit_identical_and_trains_the_rest(model, policy: str) -> None:
    expected = [name for name, _ in model.named_parameters() if POLICIES[policy](name)]
    before = snapshot(model)
    frozen = apply_freeze(model, policy)
    assert frozen == expected
    assert all(p.requires_grad == (name not in frozen) for name, p in model.named_parameters())
    train(model, steps=3)
    trained = {name for name in before if name not in frozen and not name.startswith(UNUSED)}
    assert changed(model, before) == trained


def test_apply_freeze_all_raises_nothing_to_train(model) -> None:
    with pytest.raises(ValueError, match=r"^freeze policy 'all' leaves nothing to train: .*inference"):
        apply_freeze(model, "all")
    assert all(p.requires_grad for p in model.parameters())


def test_apply_freeze_combination_freezing_everything_raises(model) -> None:
    with pytest.raises(ValueError, match="'backbone,head:intent,head:ner' leaves nothing to train"):
        apply_freeze(model, "backbone,head:intent,head:ner")


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ("layers:0-2", "out of range"),
        ("layers:1-0", "out of range"),
        ("layers:x", "cannot parse"),
        ("head:sentiment", "unknown task 'sentiment'"),
        ("embeddings,", "cannot parse ''"),
        ("frozen", "cannot parse 'frozen'"),
        ("", "empty"),
    ],
)
def test_apply_freeze_bad_policy_raises_naming_it(model, policy: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"freeze policy {policy!r}.*{message}") as info:
        apply_freeze(model, policy)
    assert "\n" not in str(info.value)


def test_apply_freeze_none_unfreezes_previously_frozen(model) -> None:
    apply_freeze(model, "backbone")
    assert apply_freeze(model, "none") == []
    assert all(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("policy", ["none", "head:intent", "embeddings"])
def test_apply_freeze_keeps_the_source_encoder_frozen_under_a_task_adapter(tiny_backbone, policy: str) -> None:
    from stmtl.adapters import AdapterConfig

    model = two_task_model(tiny_backbone, 32)
    adapter = model.add_task_adapter(AdapterConfig(rank=2))
    apply_freeze(model, policy)
    lora = {id(p) for p in adapter.parameters()}
    trainable = [name for name, p in model[0].named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in name for name in trainable)  # encode() cannot move
    assert all(p.requires_grad for p in model[0].parameters() if id(p) in lora)
    assert all(p.requires_grad for p in model.heads["ner"].parameters())


def test_encoder_layers_finds_bert_and_distilbert_stacks(model) -> None:
    assert encoder_layers(model) == list(model[0].auto_model.encoder.layer)
    assert embedding_module(model) is model[0].auto_model.embeddings
    config = DistilBertConfig(vocab_size=50, dim=16, n_layers=3, n_heads=2, hidden_dim=32, max_position_embeddings=16)
    distil = [SimpleNamespace(auto_model=DistilBertModel(config))]
    assert encoder_layers(distil) == list(distil[0].auto_model.transformer.layer)


def test_encoder_layers_without_stack_raises() -> None:
    with pytest.raises(ValueError, match="no stack of transformer layers"):
        encoder_layers([SimpleNamespace(auto_model=torch.nn.Linear(2, 2))])


def test_gradual_unfreezer_schedule(model) -> None:
    unfreezer = GradualUnfreezer(model, every_n_steps=2)
    layers = model[0].auto_model.encoder.layer
    embeddings = set(map(id, model[0].auto_model.embeddings.parameters()))
    assert [unfreezer.num_unfrozen_layers(step) for step in range(7)] == [1, 1, 2, 2, 2, 2, 2]
    assert set(map(id, unfreezer.frozen_parameters(0))) == set(map(id, layers[0].parameters())) | embeddings
    assert set(map(id, unfreezer.frozen_parameters(3))) == embeddings
    assert unfreezer.frozen_parameters(4) == []
    with pytest.raises(ValueError, match="every_n_steps"):
        GradualUnfreezer(model, every_n_steps=0)


def test_gradual_unfreezer_keeps_lower_layers_identical_until_their_step(model) -> None:
    unfreezer = GradualUnfreezer(model, every_n_steps=2)
    groups = {"embeddings": "0.model.embeddings.", "layer_0": "0.model.encoder.layer.0."}
    groups |= {"layer_1": "0.model.encoder.layer.1.", "heads": ("2.", "3.")}

    def moved(before: dict[str, torch.Tensor]) -> dict[str, bool]:
        names = changed(model, before)
        return {group: any(name.startswith(prefix) for name in names) for group, prefix in groups.items()}

    before = snapshot(model)
    optimizer = train(model, steps=2, unfreezer=unfreezer, start=0)
    assert moved(before) == {"embeddings": False, "layer_0": False, "layer_1": True, "heads": True}
    before = snapshot(model)
    optimizer = train(model, steps=2, unfreezer=unfreezer, start=2, optimizer=optimizer)
    assert moved(before) == {"embeddings": False, "layer_0": True, "layer_1": True, "heads": True}
    before = snapshot(model)
    train(model, steps=1, unfreezer=unfreezer, start=4, optimizer=optimizer)
    assert moved(before) == {"embeddings": True, "layer_0": True, "layer_1": True, "heads": True}
    assert all(p.requires_grad for p in model.parameters())
