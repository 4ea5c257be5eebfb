"""The von Mises-Fisher numerics of statlearn.info.contrastive (chapter 9) against an
independent reference, mpmath's arbitrary-precision Bessel functions, across dimension
and concentration; and the sampler where Wood's quantities round to 1.

The reference values are computed here at 30 digits and cached for the session (about
a second in all). mpmath itself needs minutes near d = 4096, κ = 1e5 (its power series
then has ~1e5 terms), so d = 4096 is checked up to κ = 3e4 and from κ = 1e6 on, and the
band in between at smaller d.
"""

from __future__ import annotations

import functools
import math

import mpmath
import pytest
import torch
from torch.nn import functional as F

from statlearn.info.contrastive import (
    vmf_kl,
    vmf_log_normalizer,
    vmf_log_prob,
    vmf_mean_resultant_length,
    vmf_sample,
)

DIMS = (2, 3, 4, 5, 16, 41, 42, 64, 256, 512, 1000, 2048, 4096)
KAPPAS = (1e-6, 1e-3, 0.1, 1.0, 3.0, 10.0, 100.0, 1e3, 1e4, 3e4, 1e6, 1e8, 1e10, 1e12)
GRID = [(d, k) for d in DIMS for k in KAPPAS]
# either side of the boundaries between the methods: the power series up to
# κ = 2 sqrt(d/2), SciPy's ive up to κ = 1e6 for d < 42, Debye's expansion from d = 42
EDGES = [
    (d, 2 * math.sqrt(d / 2) * (1 + s))
    for d in (2, 16, 41, 42, 256)
    for s in (-1e-9, 1e-9)
] + [(d, 1e6 * (1 + s)) for d in (3, 16, 41) for s in (-1e-9, 1e-9)]
# the band that is slow for mpmath at d = 4096, at smaller d
BAND = [(d, k) for d in (512, 1000, 2048) for k in (5e4, 1e5, 2e5, 3e5)]
POINTS = GRID + EDGES + BAND


@functools.cache
def reference(dim: int, kappa: float) -> tuple[float, float]:
    """log C_d(κ) and A_d(κ) from mpmath at 30 significant digits."""
    with mpmath.workdps(30):
        nu = mpmath.mpf(dim) / 2 - 1
        k = mpmath.mpf(kappa)
        i0 = mpmath.besseli(nu, k, maxterms=10**6)
        i1 = mpmath.besseli(nu + 1, k, maxterms=10**6)
        log_c = nu * mpmath.log(k) - (nu + 1) * mpmath.log(2 * mpmath.pi)
        return float(log_c - mpmath.log(i0)), float(i1 / i0)


def worst(errors: list[tuple[float, int, float]], tol: float) -> None:
    bad = sorted(errors, reverse=True)[:5]
    assert bad[0][0] <= tol, f"largest errors (error, d, kappa): {bad}"


def test_log_normalizer_matches_mpmath_at_every_dimension_and_concentration():
    # relative error, absolute where |log C| < 1 (log C crosses zero)
    errors = []
    for d, k in POINTS:
        ref, _ = reference(d, k)
        got = vmf_log_normalizer(k, d)
        errors.append((abs(got - ref) / max(1.0, abs(ref)), d, k))
    worst(errors, 1e-12)


def test_mean_resultant_length_matches_mpmath_at_every_dimension_and_concentration():
    errors = []
    for d, k in POINTS:
        _, ref = reference(d, k)
        got = vmf_mean_resultant_length(k, d)
        assert 0 < got < 1
        errors.append((abs(got - ref) / ref, d, k))
    worst(errors, 1e-12)


@pytest.mark.parametrize("d", [2, 3, 16, 512, 4096])
def test_mean_resultant_length_limits(d):
    # A_d(κ) = κ/d - κ³/(d²(d + 2)) + ... for small κ, 1 - (d - 1)/(2κ) + ... for large
    k = 1e-5
    assert vmf_mean_resultant_length(k, d) == pytest.approx(k / d, rel=1e-9)
    k = 1e13
    expected = 1 - (d - 1) / (2 * k) - (d - 1) * (d - 3) / (8 * k**2)
    assert 1 - vmf_mean_resultant_length(k, d) == pytest.approx(1 - expected, rel=1e-8)


@pytest.mark.parametrize("kappa", [1e-9, 1e-6, 0.5, 40.0, 1e5, 1e12, 1e100])
def test_log_normalizer_d3_closed_form_at_extreme_kappa(kappa):
    # C_3(κ) = κ / (4π sinh κ): log C_3 = log κ - log 2π - κ - log(1 - e^(-2κ))
    expected = (
        math.log(kappa)
        - math.log(2 * math.pi)
        - kappa
        - math.log(-math.expm1(-2 * kappa))
    )
    assert vmf_log_normalizer(kappa, 3) == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize("d", [256, 512, 4096])
def test_kl_floor_at_large_dimension(d):
    # the floor log C(κ_e) - log C(κ_b) + A(κ_e)(κ_e - κ_b), in bits, is finite and > 0
    ke, kb = 256.0, 10.0
    (ce, ae), (cb, _) = reference(d, ke), reference(d, kb)
    floor = (ce - cb + ae * (ke - kb)) / math.log(2)
    e1 = torch.eye(d, dtype=torch.float64)[:1]
    got = float(vmf_kl(e1, ke, e1, kb))
    assert got > 0 and got == pytest.approx(floor, rel=1e-10)


def test_log_prob_at_large_dimension_keeps_the_dtype():
    g = torch.Generator().manual_seed(0)
    mu = F.normalize(torch.randn(5, 1000, generator=g), dim=1)
    z = vmf_sample(mu, 100.0, random_state=0)
    lp = vmf_log_prob(z, mu, 100.0)
    assert lp.dtype == torch.float32 and torch.isfinite(lp).all()
    ref, _ = reference(1000, 100.0)
    by_hand = ref + 100.0 * (mu.double() * z.double()).sum(1)
    assert torch.allclose(lp.double(), by_hand, rtol=1e-6)


# --- the sampler at extreme concentration ---------------------------------------------


@pytest.mark.parametrize("d", [3, 16])
@pytest.mark.parametrize("kappa", [1e12, 1e16])
def test_sampler_at_huge_kappa_has_the_right_tangential_spread(d, kappa):
    # for large κ the component of z orthogonal to μ is Gaussian with covariance I/κ
    # on the tangent space, so κ |z - (μᵀz) μ|² is chi-square with d - 1 degrees of
    # freedom, even where w = μᵀz rounds to 1
    n = 20000
    g = torch.Generator().manual_seed(1)
    mu = F.normalize(torch.randn(n, d, generator=g, dtype=torch.float64), dim=1)
    z = vmf_sample(mu, kappa, random_state=0)
    assert torch.isfinite(z).all()
    assert torch.allclose(z.norm(dim=1), torch.ones(n, dtype=z.dtype), atol=1e-12)
    w = (z * mu).sum(1)
    tangent = z - w[:, None] * mu
    spread = kappa * tangent.square().sum(1)
    se = math.sqrt(2 * (d - 1) / n)
    assert abs(float(spread.mean()) - (d - 1)) < 4 * se
    assert float(spread.var()) == pytest.approx(2 * (d - 1), rel=0.1)


@pytest.mark.parametrize(
    "d,kappa,n", [(512, 1e-6, 4000), (512, 10.0, 4000), (64, 1e6, 8000)]
)
def test_sampler_mean_matches_the_resultant_length_at_large_dimension(d, kappa, n):
    g = torch.Generator().manual_seed(2)
    mu = F.normalize(torch.randn(n, d, generator=g, dtype=torch.float64), dim=1)
    z = vmf_sample(mu, kappa, random_state=0)
    w = (z * mu).sum(1)
    _, a = reference(d, kappa)
    se = float(w.std()) / math.sqrt(n)
    assert abs(float(w.mean()) - a) < 4 * se
