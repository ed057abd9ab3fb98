"""UniformDropout: nn.Dropout's distribution (zeros with probability p, the rest scaled), identity in eval mode."""

from __future__ import annotations

import pytest
import torch

from stmtl.uniform_dropout import UniformDropout


def test_uniform_dropout_zeroes_a_fraction_p_and_scales_the_rest() -> None:
    torch.manual_seed(0)
    dropout = UniformDropout(0.1).train()
    x = torch.ones(400, 1000, requires_grad=True)
    y = dropout(x)
    zeros = (y == 0).float().mean().item()
    assert zeros == pytest.approx(0.1, abs=0.003)  # 400,000 draws: the standard error is 0.0005
    assert torch.allclose(y[y != 0], torch.full_like(y[y != 0], 1 / 0.9))
    y.sum().backward()
    assert torch.equal(x.grad, y.detach())  # d(x * mask * s)/dx = mask * s, which is y for x = 1


def test_uniform_dropout_is_the_identity_in_eval_mode_and_at_zero() -> None:
    x = torch.randn(8, 16)
    assert UniformDropout(0.5).eval()(x) is x
    assert UniformDropout(0.0).train()(x) is x


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_uniform_dropout_refuses_a_bad_probability(p: float) -> None:
    with pytest.raises(ValueError, match="dropout probability"):
        UniformDropout(p)
