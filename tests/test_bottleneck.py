"""Tests for statlearn.info.bottleneck: the iterative information bottleneck (chapter
7).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from statlearn.info.bottleneck import (
    IBResult,
    information_bottleneck,
    information_curve,
)
from statlearn.info.measures import conditional_entropy, mutual_information


def random_joint(seed: int, n_x: int, n_y: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(n_x * n_y, 0.5)).reshape(n_x, n_y)
    return torch.from_numpy(p)


def symmetric_binary(eps: float) -> torch.Tensor:
    """X uniform on {0, 1}, Y = X flipped with probability eps: maximal correlation 1 -
    2 eps.
    """
    return torch.tensor([[1 - eps, eps], [eps, 1 - eps]], dtype=torch.float64) / 2


def max_correlation_sq(p_xy: torch.Tensor) -> float:
    """Squared Hirschfeld-Gebelein-Renyi maximal correlation: 2nd singular value of
    p/sqrt(p_x p_y).
    """
    p_x, p_y = p_xy.sum(1), p_xy.sum(0)
    s = torch.linalg.svdvals(p_xy / torch.sqrt(p_x[:, None] * p_y[None, :]))
    return float(s[1]) ** 2


def reference_ib(
    p_xy: np.ndarray, beta_ib: float, enc: np.ndarray, n_iter: int
) -> np.ndarray:
    """Tishby et al.'s equations in plain probability space (NumPy), as printed in the
    paper.
    """
    p_x = p_xy.sum(1)
    py_x = p_xy / p_x[:, None]
    for _ in range(n_iter):
        p_z = p_x @ enc
        py_z = (enc * p_x[:, None]).T @ py_x / p_z[:, None]
        kl = (
            py_x[:, None, :] * (np.log(py_x[:, None, :]) - np.log(py_z[None, :, :]))
        ).sum(-1)
        enc = p_z[None, :] * np.exp(-beta_ib * kl)
        enc /= enc.sum(1, keepdims=True)
    return enc


# --------------------------------------------------------------------------------------
# agreement with the paper's equations
# --------------------------------------------------------------------------------------
def test_matches_plain_reference_iterations():
    p = random_joint(0, 6, 3)
    init = torch.softmax(
        torch.randn(
            6, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64
        ),
        1,
    )
    beta = 0.25
    res = information_bottleneck(p, beta, 4, init=init, max_iter=7, tol=0.0)
    ref = reference_ib(p.numpy(), 1 / beta, init.numpy(), 7)
    assert res.n_iter == 7
    np.testing.assert_allclose(res.encoder.numpy(), ref, rtol=1e-10, atol=1e-12)


def test_result_is_self_consistent():
    p = random_joint(3, 8, 4)
    res = information_bottleneck(p, 0.2, 5, random_state=0, tol=1e-14, max_iter=5000)
    p_x = p.sum(1)
    np.testing.assert_allclose(res.encoder.sum(1).numpy(), 1.0, atol=1e-12)
    np.testing.assert_allclose(
        res.marginal.numpy(), (p_x @ res.encoder).numpy(), atol=1e-12
    )
    used = res.marginal > 1e-12
    dec = (res.encoder * p_x[:, None]).T @ (p / p_x[:, None]) / res.marginal[:, None]
    np.testing.assert_allclose(res.decoder[used].numpy(), dec[used].numpy(), atol=1e-9)
    # a fixed point: one more pass of the equations leaves the encoder where it is
    again = information_bottleneck(p, 0.2, 5, init=res.encoder, max_iter=1, tol=0.0)
    np.testing.assert_allclose(again.encoder.numpy(), res.encoder.numpy(), atol=1e-6)


def test_reported_information_matches_measures():
    p = random_joint(4, 7, 3)
    beta = 0.3
    res = information_bottleneck(p, beta, 3, random_state=1)
    p_xz = p.sum(1)[:, None] * res.encoder
    p_zy = res.encoder.T @ p
    assert res.i_xz == pytest.approx(float(mutual_information(p_xz)), abs=1e-12)
    assert res.i_zy == pytest.approx(float(mutual_information(p_zy)), abs=1e-12)
    h_y_given_z = float(conditional_entropy(p_zy))
    assert float(res.lagrangian[-1]) == pytest.approx(
        h_y_given_z + beta * res.i_xz, abs=1e-9
    )


# --------------------------------------------------------------------------------------
# invariants
# --------------------------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_x=st.integers(2, 8),
    n_y=st.integers(2, 5),
    k=st.integers(1, 6),
    beta=st.floats(0.0, 2.0),
)
@example(
    seed=2, n_x=4, n_y=2, k=3, beta=1.1754943508222875e-38
)  # a tiny beta once broke the decoder
def test_invariants(seed, n_x, n_y, k, beta):
    p = random_joint(seed, n_x, n_y)
    res = information_bottleneck(p, beta, k, random_state=seed, max_iter=200)
    i_xy = float(mutual_information(p))
    # the Lagrangian never increases (up to rounding)
    assert float(res.lagrangian.diff().max()) <= 1e-10
    # data processing along Z - X - Y
    assert res.i_zy <= i_xy + 1e-10
    assert res.i_zy <= res.i_xz + 1e-10
    assert res.i_xz <= math.log2(min(n_x, k)) + 1e-10
    assert torch.allclose(
        res.encoder.sum(1), torch.ones(n_x, dtype=torch.float64), atol=1e-10
    )
    assert bool((res.encoder >= 0).all())


def test_trivial_solution_past_the_critical_beta():
    p = symmetric_binary(0.2)  # maximal correlation 0.6, critical beta = 0.36
    beta_c = max_correlation_sq(p)
    assert beta_c == pytest.approx(0.36)
    for s in range(3):
        above = information_bottleneck(p, 1.2 * beta_c, 2, random_state=s)
        below = information_bottleneck(p, 0.8 * beta_c, 2, random_state=s)
        assert above.i_xz < 1e-6 and above.i_zy < 1e-6
        assert below.i_xz > 0.1 and below.i_zy > 0.05


def test_beta_zero_is_a_hard_clustering_that_keeps_all_information():
    # rows 0/1 and 2/3 share p(y|x): two clusters lose nothing
    p_y_x = torch.tensor(
        [[0.9, 0.1], [0.9, 0.1], [0.2, 0.8], [0.2, 0.8]], dtype=torch.float64
    )
    p = p_y_x / 4
    res = information_bottleneck(p, 0.0, 2, random_state=0)
    assert set(torch.unique(res.encoder).tolist()) <= {0.0, 1.0}
    assert res.i_zy == pytest.approx(float(mutual_information(p)), abs=1e-12)
    assert res.i_xz == pytest.approx(1.0, abs=1e-12)
    assert float(res.lagrangian.diff().max()) <= 1e-12


def test_tiny_beta_stays_finite():
    p = random_joint(12, 6, 3)
    res = information_bottleneck(p, 1e-300, 3, random_state=0)
    assert torch.isfinite(res.encoder).all()
    assert float(res.lagrangian.diff().max()) <= 1e-10


def test_one_cluster_is_trivial():
    res = information_bottleneck(random_joint(5, 5, 3), 0.1, 1)
    assert res.i_xz == pytest.approx(0.0, abs=1e-12) and res.i_zy == pytest.approx(
        0.0, abs=1e-12
    )
    assert torch.equal(res.encoder, torch.ones(5, 1, dtype=torch.float64))


def test_warm_start_from_a_solution_stays_put():
    p = random_joint(6, 6, 3)
    res = information_bottleneck(p, 0.15, 3, random_state=2, tol=1e-14, max_iter=5000)
    warm = information_bottleneck(p, 0.15, 3, init=res.encoder)
    assert warm.n_iter <= 3
    assert warm.i_zy == pytest.approx(res.i_zy, abs=1e-8)


def test_random_state_is_reproducible_in_every_form():
    p = random_joint(7, 6, 3)
    a = information_bottleneck(p, 0.2, 3, random_state=11, max_iter=5)
    g = torch.Generator().manual_seed(11)
    b = information_bottleneck(p, 0.2, 3, random_state=g, max_iter=5)
    assert torch.equal(a.encoder, b.encoder)
    c = information_bottleneck(p, 0.2, 3, random_state=g, max_iter=5)
    assert not torch.equal(b.encoder, c.encoder)  # the generator advanced
    d = information_bottleneck(
        p, 0.2, 3, random_state=np.random.default_rng(0), max_iter=5
    )
    e = information_bottleneck(
        p, 0.2, 3, random_state=np.random.default_rng(0), max_iter=5
    )
    assert torch.equal(d.encoder, e.encoder)
    torch.manual_seed(4)
    f = information_bottleneck(p, 0.2, 3, max_iter=5)
    torch.manual_seed(4)
    assert torch.equal(f.encoder, information_bottleneck(p, 0.2, 3, max_iter=5).encoder)
    curve_a = information_curve(p, [1.0, 0.1], 3, random_state=5, max_iter=20)
    curve_b = information_curve(p, [1.0, 0.1], 3, random_state=5, max_iter=20)
    assert torch.equal(curve_a.encoders, curve_b.encoders)


def test_results_declare_bits():
    p = random_joint(7, 6, 3)
    res = information_bottleneck(p, 0.2, 3, random_state=0, max_iter=5)
    curve = information_curve(p, [0.5], 3, random_state=0, max_iter=5)
    assert res.units == curve.units == "bits"
    assert "units" not in IBResult._fields


def test_float32_and_numpy_input():
    p = random_joint(8, 5, 2)
    res32 = information_bottleneck(p.float(), 0.2, 2, random_state=0)
    assert res32.encoder.dtype == torch.float32
    res_np = information_bottleneck(p.numpy(), 0.2, 2, random_state=0)
    assert res_np.encoder.dtype == torch.float64
    assert res_np.i_zy == pytest.approx(res32.i_zy, abs=1e-4)


def test_zero_rows_and_columns_are_handled():
    p = torch.zeros(5, 4, dtype=torch.float64)
    p[:4, :3] = random_joint(9, 4, 3)
    res = information_bottleneck(p, 0.1, 3, random_state=0)
    assert torch.isfinite(res.encoder).all() and math.isfinite(res.i_zy)
    assert res.decoder.shape == (3, 3)  # the empty outcome of y is dropped
    assert float(res.lagrangian.diff().max()) <= 1e-10


# --------------------------------------------------------------------------------------
# the information curve
# --------------------------------------------------------------------------------------
def test_information_curve_is_monotone_and_bounded():
    p = random_joint(10, 10, 3)
    betas = torch.logspace(0, -2.5, 25, dtype=torch.float64)
    curve = information_curve(p, betas, 6, random_state=0)
    i_xy = float(mutual_information(p))
    assert curve.i_xy == pytest.approx(i_xy)
    assert curve.encoders.shape == (25, 10, 6)
    # betas decrease along the grid: both informations never fall
    assert float(curve.i_zy.diff().min()) >= -1e-6
    assert float(curve.i_xz.diff().min()) >= -1e-6
    assert float(curve.i_zy.max()) <= i_xy + 1e-10
    assert float(curve.i_xz[0]) < 1e-6  # beta = 1 >= maximal correlation^2: trivial
    assert float(curve.i_zy[-1]) > 0.9 * i_xy


def test_information_curve_keeps_the_order_given():
    p = symmetric_binary(0.1)
    curve = information_curve(p, [0.1, 1.0, 0.5], 2, random_state=0)
    assert curve.betas.tolist() == [0.1, 1.0, 0.5]
    assert curve.i_xz[1] < 1e-6 and curve.i_xz[0] > 0.5


# --------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "p, match",
    [
        (torch.tensor([[0.5, 0.6], [0.1, 0.1]], dtype=torch.float64), "sum"),
        (torch.tensor([[0.7, -0.1], [0.2, 0.2]], dtype=torch.float64), ">= 0"),
        (torch.tensor([0.5, 0.5], dtype=torch.float64), "2-D"),
        (torch.tensor([[0.5, float("nan")], [0.25, 0.25]], dtype=torch.float64), "NaN"),
    ],
)
def test_joint_must_be_a_distribution(p, match):
    with pytest.raises(ValueError, match=match):
        information_bottleneck(p, 0.1, 2)
    with pytest.raises(ValueError, match=match):
        information_curve(p, [0.1], 2)


def test_bad_arguments():
    p = symmetric_binary(0.1)
    with pytest.raises(ValueError, match="beta"):
        information_bottleneck(p, -0.1, 2)
    with pytest.raises(ValueError, match="beta"):
        information_bottleneck(p, float("inf"), 2)
    with pytest.raises(ValueError, match="beta"):
        information_curve(p, [0.5, -1.0], 2)
    with pytest.raises(ValueError, match="n_clusters"):
        information_bottleneck(p, 0.1, 0)
    with pytest.raises(ValueError, match="shape"):
        information_bottleneck(p, 0.1, 2, init=torch.full((2, 3), 1 / 3))
    with pytest.raises(ValueError, match="sum to 1"):
        information_bottleneck(p, 0.1, 2, init=torch.full((2, 2), 0.3))
    with pytest.raises(TypeError, match="random_state"):
        information_bottleneck(p, 0.1, 2, random_state="0")
    with pytest.raises(TypeError):
        information_bottleneck(p, 0.1, 2, seed=0)
    with pytest.raises(TypeError):
        information_curve(p, [0.1], 2, generator=torch.Generator())
    with pytest.raises(ValueError, match="perturbation"):
        information_curve(p, [0.1], 2, perturbation=1.5)
    with pytest.raises(ValueError, match="max_iter"):
        information_bottleneck(p, 0.1, 2, max_iter=0)


@pytest.mark.gpu
def test_cuda_matches_cpu():
    p = random_joint(13, 8, 3)
    init = torch.softmax(
        torch.randn(
            8, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64
        ),
        1,
    )
    cpu = information_bottleneck(p, 0.1, 4, init=init, max_iter=50, tol=0.0)
    gpu = information_bottleneck(
        p.cuda(), 0.1, 4, init=init.cuda(), max_iter=50, tol=0.0
    )
    assert gpu.encoder.device.type == "cuda"
    assert torch.allclose(gpu.encoder.cpu(), cpu.encoder, atol=1e-10)
    assert gpu.i_zy == pytest.approx(cpu.i_zy, abs=1e-10)
    curve = information_curve(p.cuda(), [1.0, 0.1, 0.01], 4, random_state=0)
    assert curve.encoders.device.type == "cuda"


def test_the_joint_is_checked_once_not_per_iteration(monkeypatch):
    calls = []
    original = torch.isfinite

    def counting(t):
        calls.append(tuple(t.shape))
        return original(t)

    monkeypatch.setattr(torch, "isfinite", counting)
    p = random_joint(3, 5, 3)
    res = information_bottleneck(p, 0.05, 3, random_state=0, max_iter=20, tol=0.0)
    assert res.n_iter >= 5 and len(calls) == 1
    calls.clear()
    information_curve(p, [1.0, 0.1, 0.01], 3, random_state=0, max_iter=20)
    assert len(calls) == 2  # the joint and the betas
