from __future__ import annotations

import math

import pytest
import torch

from stmtl.training.weighting import TaskWeighting


def test_weighting_static_sum() -> None:
    weighting = TaskWeighting(["a", "b"], {"a": 2.0})
    assert float(weighting({"a": torch.tensor(1.5), "b": torch.tensor(0.5)})) == 3.5


def test_weighting_uncertainty_formula_and_gradient() -> None:
    weighting = TaskWeighting(["a", "b"], learned=True)
    with torch.no_grad():
        weighting.log_variance.copy_(torch.tensor([0.5, -1.0]))
    total = weighting({"a": torch.tensor(2.0), "b": torch.tensor(1.0)})
    expected = math.exp(-0.5) * 2.0 + 0.25 + math.exp(1.0) * 1.0 - 0.5
    assert total.item() == pytest.approx(expected)
    total.backward()
    assert weighting.log_variance.grad is not None and torch.all(weighting.log_variance.grad != 0)
