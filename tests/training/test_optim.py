"""AdamW groups (head / layer-wise learning rates, no-decay rules) and learning-rate schedules."""

from __future__ import annotations

import math

import pytest
import torch

from stmtl.training.optim import build_optimizer, build_scheduler, param_groups
from tests.helpers import two_task_model


@pytest.fixture(scope="module")
def model(tiny_backbone: str):
    return two_task_model(tiny_backbone, 32)


def group_names(groups: list[dict], model) -> dict[str, str]:
    """Parameter name → name of its group."""
    names = {id(p): name for name, p in model.named_parameters()}
    return {names[id(p)]: group["name"] for group in groups for p in group["params"] if id(p) in names}


def test_param_groups_layer_wise_decay_follows_formula(model) -> None:
    groups = param_groups(model, lr_backbone=1e-4, lr_heads=1e-3, layer_lr_decay=0.5)
    lrs = {group["name"].removesuffix(".no_decay"): group["lr"] for group in groups}
    # 2 layers: layer i at 1e-4 * 0.5 ** (1 - i), embeddings at 1e-4 * 0.5 ** 2.
    assert lrs == pytest.approx(
        {"layer_1": 1e-4, "layer_0": 5e-5, "embeddings": 2.5e-5, "encoder_other": 1e-4, "heads": 1e-3}
    )
    by_name = group_names(groups, model)
    assert by_name["0.model.encoder.layer.0.attention.self.query.weight"] == "layer_0"
    assert by_name["0.model.embeddings.word_embeddings.weight"] == "embeddings"
    assert by_name["0.model.pooler.dense.weight"] == "encoder_other"
    assert by_name["3.classifier.1.weight"] == "heads"


def test_param_groups_every_parameter_in_exactly_one_group(model) -> None:
    extra = torch.nn.Parameter(torch.zeros(2))
    groups = param_groups(model, 1e-4, 1e-3, layer_lr_decay=0.9, extra_parameters=[extra, extra])
    ids = [id(p) for group in groups for p in group["params"]]
    assert len(ids) == len(set(ids))
    assert set(ids) == {id(p) for p in model.parameters()} | {id(extra)}
    assert all(group["params"] for group in groups)
    assert len({group["name"] for group in groups}) == len(groups)
    (extra_group,) = [group for group in groups if group["name"] == "extra"]
    assert extra_group["params"] == [extra] and extra_group["lr"] == 1e-3 and extra_group["weight_decay"] == 0.0


def test_param_groups_no_decay_for_biases_and_norms(model) -> None:
    groups = param_groups(model, 1e-4, 1e-3, weight_decay=0.01)
    by_name = group_names(groups, model)
    decay = {group["name"]: group["weight_decay"] for group in groups}
    for name, p in model.named_parameters():
        no_decay = name.endswith("bias") or "LayerNorm" in name or p.ndim == 1
        assert by_name[name].endswith(".no_decay") == no_decay, name
        assert decay[by_name[name]] == (0.0 if no_decay else 0.01)


def test_param_groups_rejects_model_parameter_as_extra(model) -> None:
    with pytest.raises(ValueError, match="already a model parameter"):
        param_groups(model, 1e-4, 1e-3, extra_parameters=[next(model.parameters())])


def test_build_optimizer_is_adamw_with_named_groups(model) -> None:
    optimizer = build_optimizer(model, 1e-4, 1e-3, layer_lr_decay=0.8)
    assert isinstance(optimizer, torch.optim.AdamW)
    assert optimizer.defaults["eps"] == 1e-8 and optimizer.defaults["betas"] == (0.9, 0.999)
    assert {group["name"] for group in optimizer.param_groups} >= {"heads", "layer_0", "embeddings.no_decay"}


def lr_trace(model, name: str, warmup: int, total: int) -> list[float]:
    optimizer = build_optimizer(model, lr_backbone=1e-4, lr_heads=1.0)
    scheduler = build_scheduler(optimizer, name, warmup_steps=warmup, total_steps=total)
    heads = [i for i, group in enumerate(optimizer.param_groups) if group["name"] == "heads"][0]
    trace = []
    for _ in range(total + 1):
        trace.append(scheduler.get_last_lr()[heads])
        optimizer.step()
        scheduler.step()
    return trace


def test_build_scheduler_linear_warms_up_then_decays(model) -> None:
    assert lr_trace(model, "linear", warmup=2, total=6) == pytest.approx([0.0, 0.5, 1.0, 0.75, 0.5, 0.25, 0.0])


def test_build_scheduler_cosine_and_constant(model) -> None:
    cosine = lr_trace(model, "cosine", warmup=2, total=6)
    assert cosine == pytest.approx([0.0, 0.5] + [0.5 * (1 + math.cos(math.pi * k / 4)) for k in range(5)])
    assert lr_trace(model, "constant", warmup=2, total=6) == pytest.approx([0.0, 0.5, 1, 1, 1, 1, 1])


def test_build_scheduler_unknown_name_lists_valid(model) -> None:
    optimizer = build_optimizer(model, 1e-4, 1e-3)
    with pytest.raises(ValueError, match="unknown scheduler 'step'; valid names: linear, cosine, constant"):
        build_scheduler(optimizer, "step", 0, 10)


def test_param_groups_put_the_task_adapter_in_its_own_group(tiny_backbone) -> None:
    from stmtl.adapters import AdapterConfig

    model = two_task_model(tiny_backbone, dim=32)
    adapter = model.add_task_adapter(AdapterConfig(rank=2))
    groups = {group["name"]: group for group in param_groups(model, 1e-4, 1e-3, layer_lr_decay=0.5, lr_adapter=2e-3)}
    in_adapter = [p for name in ("adapter", "adapter.no_decay") if name in groups for p in groups[name]["params"]]
    assert {id(p) for p in in_adapter} == {id(p) for p in adapter.parameters()}
    assert groups["adapter"]["lr"] == 2e-3
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    heads = {id(p) for head in model.heads.values() for p in head.parameters()}
    assert trainable == {id(p) for p in in_adapter} | heads


def test_param_groups_train_a_crf_s_transitions_faster_without_decay(tiny_backbone) -> None:
    from stmtl.heads import TokenClassificationHead
    from stmtl.training.optim import STRUCTURE_LR_SCALE

    model = two_task_model(tiny_backbone, 32)
    model.append(TokenClassificationHead("tagged", ["O", "B-x", "I-x"], 32, crf=True))
    groups = param_groups(model, lr_backbone=1e-4, lr_heads=1e-3, weight_decay=0.01)
    [structure] = [group for group in groups if group["name"] == "structure"]
    assert structure["lr"] == pytest.approx(1e-3 * STRUCTURE_LR_SCALE) and structure["weight_decay"] == 0.0
    assert {name for name, group in group_names(groups, model).items() if group == "structure"} == {
        "4.chain.transitions", "4.chain.start_transitions", "4.chain.end_transitions"
    }  # fmt: skip
    assert group_names(groups, model)["4.classifier.1.weight"] == "heads"
    assert "structure" not in {group["name"] for group in param_groups(two_task_model(tiny_backbone, 32), 1e-4, 1e-3)}
