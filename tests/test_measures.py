"""Tests of statlearn.info.measures: discrete entropy, KL and MI, and the Gaussian
closed form.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from statlearn.info import (
    conditional_entropy,
    entropy,
    gaussian_mutual_information,
    kl_divergence,
    mutual_information,
)


def dirichlet(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])


# --------------------------------------------------------------------------------------
# entropy


def test_entropy_matches_scipy_batched():
    p = dirichlet((4, 3, 7))
    ours = entropy(torch.from_numpy(p))
    assert ours.shape == (4, 3) and ours.dtype == torch.float64
    np.testing.assert_allclose(
        ours.numpy(), scipy.stats.entropy(p, base=2, axis=-1), rtol=1e-12
    )
    np.testing.assert_allclose(
        entropy(p, base=math.e).numpy(), scipy.stats.entropy(p, axis=-1), rtol=1e-12
    )
    np.testing.assert_allclose(
        entropy(p, base=10).numpy(),
        scipy.stats.entropy(p, base=10, axis=-1),
        rtol=1e-12,
    )


def test_entropy_along_another_dim():
    p = dirichlet((5, 6)).T  # distributions in the columns
    np.testing.assert_allclose(
        entropy(p, dim=0).numpy(), scipy.stats.entropy(p, base=2, axis=0), rtol=1e-12
    )


def test_entropy_hand_computed():
    assert entropy(torch.tensor([0.5, 0.5])).item() == pytest.approx(1.0)
    assert entropy(torch.full((8,), 1 / 8)).item() == pytest.approx(3.0)
    assert entropy(torch.tensor([1.0, 0.0, 0.0])).item() == 0.0  # 0 log 0 = 0
    assert entropy(torch.tensor([0.5, 0.25, 0.25, 0.0])).item() == pytest.approx(1.5)
    assert entropy(torch.tensor([0.5, 0.5]), base=math.e).item() == pytest.approx(
        math.log(2)
    )


def test_entropy_float32_and_gradient_at_zero():
    p = torch.tensor([0.5, 0.5, 0.0], requires_grad=True)
    h = entropy(p)
    assert h.dtype == torch.float32
    h.backward()
    assert torch.isfinite(p.grad).all()
    # d/dp_k of -sum p log2 p is -(log p_k + 1) / ln 2
    assert p.grad[0].item() == pytest.approx(
        -(math.log(0.5) + 1) / math.log(2), rel=1e-6
    )


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.integers(1, 12), elements=st.floats(0, 10)))
def test_entropy_bounds(w):
    if w.sum() <= 0:
        w = np.ones_like(w)
    p = w / w.sum()
    h = entropy(p).item()
    assert -1e-12 <= h <= math.log2(len(p)) + 1e-9
    assert h == pytest.approx(scipy.stats.entropy(p, base=2), abs=1e-9)


# --------------------------------------------------------------------------------------
# KL divergence


def test_kl_matches_scipy():
    p, q = dirichlet((3, 6), seed=1), dirichlet((3, 6), seed=2)
    np.testing.assert_allclose(
        kl_divergence(p, q).numpy(),
        scipy.stats.entropy(p, q, base=2, axis=-1),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        kl_divergence(p, q, base=math.e).numpy(),
        scipy.special.rel_entr(p, q).sum(-1),
        rtol=1e-12,
    )


def test_kl_hand_computed_and_edge_cases():
    assert kl_divergence([0.5, 0.5], [0.25, 0.75]).item() == pytest.approx(
        0.5 * math.log2(2) + 0.5 * math.log2(2 / 3)
    )
    assert kl_divergence([0.3, 0.7], [0.3, 0.7]).item() == 0.0
    assert kl_divergence([1.0, 0.0], [0.5, 0.5]).item() == pytest.approx(
        1.0
    )  # p = 0 terms vanish
    assert math.isinf(kl_divergence([0.5, 0.5], [1.0, 0.0]).item())  # p > 0 = q


def test_kl_broadcasts_a_batch_against_one_distribution():
    p = torch.from_numpy(dirichlet((4, 5)))
    q = torch.full((5,), 0.2, dtype=torch.float64)
    kl = kl_divergence(p, q)
    assert kl.shape == (4,)
    # KL to the uniform distribution is log2 K - H(p)
    np.testing.assert_allclose(
        kl.numpy(), math.log2(5) - entropy(p).numpy(), atol=1e-12
    )


def test_kl_dim_must_name_the_same_axis():
    with pytest.raises(ValueError, match="same trailing dimension"):
        kl_divergence(torch.full((3, 3), 1 / 3), torch.full((2, 3, 3), 1 / 3), dim=1)


# --------------------------------------------------------------------------------------
# mutual information


def test_mutual_information_hand_computed():
    k = 4
    assert mutual_information(torch.eye(k) / k).item() == pytest.approx(
        2.0
    )  # Y = X, uniform on 4
    assert mutual_information(torch.full((3, 5), 1 / 15)).item() == pytest.approx(
        0.0, abs=1e-7
    )
    # binary symmetric channel with crossover 0.1 and a uniform input: 1 - h(0.1)
    e = 0.1
    p_xy = torch.tensor([[1 - e, e], [e, 1 - e]], dtype=torch.float64) / 2
    h = -(e * math.log2(e) + (1 - e) * math.log2(1 - e))
    assert mutual_information(p_xy).item() == pytest.approx(1 - h, rel=1e-12)
    assert mutual_information(p_xy, base=math.e).item() == pytest.approx(
        (1 - h) * math.log(2), rel=1e-12
    )


def test_mutual_information_identities_batched():
    p_xy = torch.from_numpy(dirichlet((3, 20))).reshape(3, 4, 5)
    mi = mutual_information(p_xy)
    assert mi.shape == (3,)
    h_x = scipy.stats.entropy(p_xy.sum(-1).numpy(), base=2, axis=-1)
    h_y = scipy.stats.entropy(p_xy.sum(-2).numpy(), base=2, axis=-1)
    h_xy = scipy.stats.entropy(p_xy.reshape(3, -1).numpy(), base=2, axis=-1)
    np.testing.assert_allclose(mi.numpy(), h_x + h_y - h_xy, rtol=1e-10)
    # I(X; Y) = KL(p(x, y) || p(x) p(y)) and = H(Y) - H(Y | X); symmetric
    prod = (p_xy.sum(-1, keepdim=True) * p_xy.sum(-2, keepdim=True)).reshape(3, -1)
    np.testing.assert_allclose(
        kl_divergence(p_xy.reshape(3, -1), prod).numpy(), mi.numpy(), rtol=1e-10
    )
    np.testing.assert_allclose(
        (h_y - conditional_entropy(p_xy).numpy()), mi.numpy(), rtol=1e-10
    )
    np.testing.assert_allclose(
        mutual_information(p_xy.transpose(-2, -1)).numpy(), mi.numpy(), rtol=1e-10
    )


def test_conditional_entropy_hand_computed():
    # Y a function of X: H(Y | X) = 0; X, Y independent: H(Y | X) = H(Y)
    assert conditional_entropy(
        torch.tensor([[0.5, 0.0], [0.0, 0.25], [0.0, 0.25]])
    ).item() == pytest.approx(0.0, abs=1e-7)
    p_y = torch.tensor([0.25, 0.75])
    indep = torch.tensor([0.4, 0.6])[:, None] * p_y[None, :]
    assert conditional_entropy(indep).item() == pytest.approx(
        entropy(p_y).item(), rel=1e-6
    )
    # X on rows: H(X | Y) comes from the transpose
    p_xy = torch.tensor([[0.5, 0.0], [0.25, 0.25]])
    assert conditional_entropy(p_xy).item() == pytest.approx(
        0.5
    )  # H(Y|X=1)=0, H(Y|X=2)=1
    assert conditional_entropy(p_xy.T).item() == pytest.approx(
        0.75 * entropy(torch.tensor([2 / 3, 1 / 3])).item(), rel=1e-6
    )
    assert conditional_entropy(p_xy, math.e).item() == pytest.approx(
        0.5 * math.log(2), rel=1e-6
    )


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 5), st.integers(1, 5), st.integers(0, 2**31 - 1))
def test_mutual_information_bounds(kx, ky, seed):
    p_xy = dirichlet((kx * ky,), seed=seed).reshape(kx, ky)
    mi = mutual_information(p_xy).item()
    h_x = entropy(p_xy.sum(1)).item()
    h_y = entropy(p_xy.sum(0)).item()
    assert -1e-12 <= mi <= min(h_x, h_y) + 1e-9


# --------------------------------------------------------------------------------------
# Gaussian closed form


def test_gaussian_mutual_information_closed_form():
    assert gaussian_mutual_information(0.0, 3).item() == 0.0
    assert gaussian_mutual_information(0.5, 3).item() == pytest.approx(
        -1.5 * math.log2(0.75)
    )
    assert gaussian_mutual_information(-0.5, 1, base=math.e).item() == pytest.approx(
        -0.5 * math.log(0.75)
    )
    rho = torch.tensor([0.1, 0.9])
    assert gaussian_mutual_information(rho, 2).shape == (2,)
    assert gaussian_mutual_information(0.5, 1).shape == ()


def test_gaussian_mutual_information_against_scipy_entropies():
    rho, d = 0.7, 3
    cov = np.block([[np.eye(d), rho * np.eye(d)], [rho * np.eye(d), np.eye(d)]])
    h_joint = scipy.stats.multivariate_normal(np.zeros(2 * d), cov).entropy()
    h_marg = scipy.stats.multivariate_normal(np.zeros(d), np.eye(d)).entropy()
    assert gaussian_mutual_information(rho, d, base=math.e).item() == pytest.approx(
        2 * h_marg - h_joint, rel=1e-10
    )


def test_gaussian_mutual_information_is_the_limit_of_discretised_mi():
    """The MI of a finely discretised bivariate Gaussian tends to the closed form."""
    rho = 0.8
    grid = np.linspace(-6, 6, 241)
    xx, yy = np.meshgrid(grid, grid, indexing="ij")
    dens = scipy.stats.multivariate_normal([0, 0], [[1, rho], [rho, 1]]).pdf(
        np.stack([xx, yy], -1)
    )
    p_xy = torch.from_numpy(dens / dens.sum())
    assert mutual_information(p_xy).item() == pytest.approx(
        gaussian_mutual_information(rho, 1).item(), abs=2e-3
    )


# --------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: entropy([0.5, 0.6]), "summing to 1"),
        (lambda: entropy([-0.1, 1.1]), "entries >= 0"),
        (lambda: entropy([[0.5, 0.5], [0.25, 0.75]], dim=0), "summing to 1"),
        (lambda: entropy([0.5, 0.5], dim=3), "dim must index"),
        (lambda: entropy([0.5, 0.5], base=1), "other than 1"),
        (lambda: entropy([0.5, 0.5], base=-2), "base must be > 0"),
        (lambda: entropy([0.5, float("nan")]), "NaN"),
        (lambda: kl_divergence([0.5, 0.5], [0.2, 0.2, 0.6]), "same number of outcomes"),
        (lambda: kl_divergence([0.5, 0.5], [0.2, 0.2]), "summing to 1"),
        (lambda: kl_divergence([1.5, -0.5], [0.5, 0.5]), "entries >= 0"),
        (lambda: mutual_information([0.5, 0.5]), "at least 2 dimension"),
        (lambda: mutual_information([[0.5, 0.5], [0.5, 0.5]]), "summing to 1"),
        (lambda: mutual_information([[0.75, -0.25], [0.25, 0.25]]), "entries >= 0"),
        (lambda: conditional_entropy([[0.2, 0.2], [0.2, 0.2]]), "summing to 1"),
        (lambda: gaussian_mutual_information(1.0, 2), r"\(-1, 1\)"),
        (
            lambda: gaussian_mutual_information(torch.tensor([0.2, -1.5]), 2),
            r"\(-1, 1\)",
        ),
        (lambda: gaussian_mutual_information(0.5, 0), "dim must be >= 1"),
    ],
)
def test_value_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_tolerance_accepts_float32_rounding():
    p = torch.softmax(
        torch.randn(1000, 50), dim=-1
    )  # sums are 1 up to float32 rounding
    assert entropy(p).shape == (1000,)
    with pytest.raises(ValueError):
        entropy(p * 1.001)


@pytest.mark.gpu
def test_measures_on_cuda_match_cpu():
    p_xy = torch.from_numpy(dirichlet((8, 30))).reshape(8, 5, 6).float()
    for f in (mutual_information, conditional_entropy):
        cpu = f(p_xy)
        gpu = f(p_xy.cuda())
        assert gpu.device.type == "cuda"
        torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-5, atol=1e-6)
    p = p_xy.reshape(8, 30)
    torch.testing.assert_close(
        entropy(p.cuda()).cpu(), entropy(p), rtol=1e-5, atol=1e-6
    )
    torch.testing.assert_close(
        kl_divergence(p.cuda(), p.flip(0).cuda()).cpu(),
        kl_divergence(p, p.flip(0)),
        rtol=1e-5,
        atol=1e-6,
    )


def _count_finiteness_checks(monkeypatch):
    calls = []
    original = torch.isfinite

    def counting(t):
        calls.append(tuple(t.shape))
        return original(t)

    monkeypatch.setattr(torch, "isfinite", counting)
    return calls


def test_each_input_is_checked_for_finiteness_once(monkeypatch):
    calls = _count_finiteness_checks(monkeypatch)
    entropy(torch.tensor([0.25, 0.75]))
    assert len(calls) == 1
    calls.clear()
    kl_divergence(torch.tensor([0.25, 0.75]), torch.tensor([0.5, 0.5]))
    assert len(calls) == 2
    calls.clear()
    mutual_information(torch.full((2, 2), 0.25))
    assert len(calls) == 1
