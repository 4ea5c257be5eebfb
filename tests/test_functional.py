"""statlearn.functional: the formulas every Part shares, against torch.distributions
and direct computation."""

import math

import numpy as np
import pytest
import torch
from torch.distributions import Independent, Normal, kl_divergence

from statlearn.functional import (
    gaussian_kl,
    gaussian_kl_between,
    gaussian_log_prob,
    log_mean_softmax,
    log_softmax_at,
    rows_norm,
)


def _normal(mean, logvar):
    return Independent(Normal(mean, (0.5 * logvar).exp()), 1)


def test_gaussian_log_prob_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    x, mean, logvar = (
        torch.randn(5, 3, generator=g, dtype=torch.float64) for _ in "abc"
    )
    expected = _normal(mean, logvar).log_prob(x)
    torch.testing.assert_close(gaussian_log_prob(x, mean, logvar), expected)
    std = _normal(
        torch.zeros(3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
    )
    torch.testing.assert_close(gaussian_log_prob(x), std.log_prob(x))
    # a float log-variance broadcasts like a tensor one
    torch.testing.assert_close(
        gaussian_log_prob(x, mean, 0.7),
        gaussian_log_prob(x, mean, torch.full_like(x, 0.7)),
    )


def test_gaussian_kls_match_torch_distributions():
    g = torch.Generator().manual_seed(1)
    mq, lq, mp, lp = (
        torch.randn(4, 6, generator=g, dtype=torch.float64) for _ in "abcd"
    )
    torch.testing.assert_close(
        gaussian_kl_between(mq, lq, mp, lp),
        kl_divergence(_normal(mq, lq), _normal(mp, lp)),
    )
    zero = torch.zeros_like(mq)
    torch.testing.assert_close(
        gaussian_kl(mq, lq), gaussian_kl_between(mq, lq, zero, zero)
    )
    assert float(gaussian_kl(zero, zero).abs().max()) == 0.0
    with pytest.raises(ValueError, match="same shape"):
        gaussian_kl(mq, lq[:, :2])
    with pytest.raises(TypeError, match="tensors"):
        gaussian_kl(np.zeros(3), np.zeros(3))


def test_log_mean_softmax_is_the_log_of_the_averaged_softmax():
    logits = torch.randn(7, 4, 3, dtype=torch.float64)
    expected = torch.softmax(logits, -1).mean(0).log()
    torch.testing.assert_close(log_mean_softmax(logits), expected)
    torch.testing.assert_close(
        log_mean_softmax(logits.transpose(0, 1), dim=1), expected
    )
    assert log_mean_softmax(logits.numpy()).dtype == torch.float64
    with pytest.raises(ValueError, match="not the last"):
        log_mean_softmax(logits, dim=-1)
    with pytest.raises(ValueError, match="draws axis"):
        log_mean_softmax(torch.zeros(3))
    with pytest.raises(ValueError, match="dim must be in"):
        log_mean_softmax(logits, dim=5)


def test_log_softmax_at_and_rows_norm():
    s = torch.randn(5, 6, dtype=torch.float64)
    p = torch.tensor([0, 3, 1, 5, 2])
    torch.testing.assert_close(
        log_softmax_at(s, p), torch.log_softmax(s, 1)[torch.arange(5), p]
    )
    t = torch.randn(3, 2, 4, 4)
    n = rows_norm(t)
    assert n.shape == (3, 1, 1, 1)
    torch.testing.assert_close(n.flatten(), t.flatten(1).norm(dim=1))
    assert math.isclose(float(rows_norm(torch.ones(1, 4))), 2.0)
