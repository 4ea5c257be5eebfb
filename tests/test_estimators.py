"""Tests of statlearn.info.estimators: the Gaussian benchmark, binning/KDE, the
variational bounds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import statlearn
from statlearn.info import (
    CriticLoss,
    ConcatCritic,
    ConditionalGaussian,
    SeparableCritic,
    club,
    correlated_gaussians,
    critic_objective,
    evaluate_critic,
    gaussian_mutual_information,
    infonce,
    mi_binning,
    mi_kde,
    mine,
    nwj,
    train_critic,
)

LN2 = math.log(2)


# --------------------------------------------------------------------------------------
# the benchmark


def test_correlated_gaussians_shapes_correlation_and_random_state():
    x, y = correlated_gaussians(20000, 0.6, 3, random_state=0)
    assert x.shape == y.shape == (20000, 3) and x.dtype == torch.float32
    corr = np.corrcoef(np.concatenate([x.numpy(), y.numpy()], 1).T)
    np.testing.assert_allclose(np.diag(corr[:3, 3:]), 0.6, atol=0.02)
    np.testing.assert_allclose(
        corr[:3, :3], np.eye(3), atol=0.03
    )  # the pairs are independent
    x2, y2 = correlated_gaussians(20000, 0.6, 3, random_state=0)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    xc, yc = correlated_gaussians(20000, 0.6, 3, cubic=True, random_state=0)
    assert torch.equal(xc, x)
    torch.testing.assert_close(yc, y.double().pow(3).float())
    assert (
        correlated_gaussians(5, 0.0, 2, dtype=torch.float64)[0].dtype == torch.float64
    )


def test_correlated_gaussians_uses_the_global_generator_without_random_state():
    statlearn.seed_everything(3)
    a = correlated_gaussians(10, 0.5, 2)
    statlearn.seed_everything(3)
    b = correlated_gaussians(10, 0.5, 2)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], correlated_gaussians(10, 0.5, 2)[0])


def test_correlated_gaussians_accepts_every_kind_of_random_state():
    x, y = correlated_gaussians(8, 0.5, 2, random_state=7)
    g = torch.Generator().manual_seed(7)
    x2, y2 = correlated_gaussians(8, 0.5, 2, random_state=g)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    # the generator advanced: a second call draws a new sample
    assert not torch.equal(x, correlated_gaussians(8, 0.5, 2, random_state=g)[0])
    a = correlated_gaussians(8, 0.5, 2, random_state=np.random.default_rng(0))
    b = correlated_gaussians(8, 0.5, 2, random_state=np.random.default_rng(0))
    assert torch.equal(a[0], b[0])
    with pytest.raises(TypeError):
        correlated_gaussians(8, 0.5, 2, random_state="0")
    with pytest.raises(TypeError):
        correlated_gaussians(8, 0.5, 2, seed=0)


# --------------------------------------------------------------------------------------
# binning, KDE


def test_binning_and_kde_on_discrete_data_match_sklearn():
    from sklearn.metrics import mutual_info_score

    g = torch.Generator().manual_seed(0)
    a = torch.randint(0, 5, (800,), generator=g)
    b = (a + torch.randint(0, 3, (800,), generator=g)) % 5
    ref = mutual_info_score(a.numpy(), b.numpy()) / LN2
    assert mi_binning(a, b).item() == pytest.approx(ref, rel=1e-6)
    assert mi_kde(a, b, noise_variance=1.0).item() == pytest.approx(ref, rel=1e-5)
    # rows of a 2-D integer tensor are joint states
    ab = torch.stack([a, b], 1)
    assert mi_binning(ab, a).item() == pytest.approx(
        mutual_info_score(a.numpy(), a.numpy()) / LN2, rel=1e-6
    )


def test_binning_bins_each_coordinate():
    t = torch.tensor([[0.0, 0.0], [0.1, 0.9], [0.9, 0.1], [1.0, 1.0]])
    ids = torch.arange(4)
    assert mi_binning(ids, t, bins=1).item() == 0.0
    assert mi_binning(ids, t, bins=2).item() == pytest.approx(
        2.0
    )  # four distinct cells
    assert mi_binning(ids, t, bin_size=1.0).item() == pytest.approx(
        0.8112781, rel=1e-6
    )  # cells {3x (0,0), (1,1)}
    labels = torch.tensor([0, 0, 1, 1])
    assert mi_binning(t[:, :1], labels, bins=2).item() == pytest.approx(1.0)


def test_low_dimensional_benchmark_near_truth_and_independence_near_zero():
    truth = gaussian_mutual_information(0.8, 1).item()
    x, y = correlated_gaussians(4000, 0.8, 1, random_state=0)
    assert mi_binning(x, y, bins=15).item() == pytest.approx(truth, abs=0.1)
    assert mi_kde(x, y, noise_variance=0.05).item() == pytest.approx(truth, abs=0.1)
    x, y = correlated_gaussians(4000, 0.0, 1, random_state=1)
    assert 0 <= mi_binning(x, y, bins=15).item() < 0.05
    assert 0 <= mi_kde(x, y, noise_variance=0.05).item() < 0.05


def test_deterministic_representation_saturates_at_log2_n():
    g = torch.Generator().manual_seed(0)
    n = 300
    t = torch.tanh(torch.randn(n, 8, generator=g))
    ids = torch.arange(n)
    assert mi_binning(ids, t, bins=100).item() == pytest.approx(math.log2(n), abs=1e-5)
    assert mi_kde(ids, t, noise_variance=1e-6).item() == pytest.approx(
        math.log2(n), abs=1e-5
    )
    coarse = [mi_kde(ids, t, noise_variance=v).item() for v in (1.0, 1e-1, 1e-2, 1e-3)]
    assert all(
        a <= b + 1e-6 for a, b in zip(coarse, coarse[1:])
    )  # less noise, more information
    assert all(0 <= v <= math.log2(n) + 1e-6 for v in coarse)


def test_kde_is_the_kolchinsky_tracey_bound_for_distinct_inputs():
    g = torch.Generator().manual_seed(1)
    h = torch.randn(50, 3, generator=g, dtype=torch.float64)
    var = 0.3
    d2 = torch.cdist(h, h).square()
    bound = -(torch.logsumexp(-d2 / (2 * var), dim=1) - math.log(50)).mean() / LN2
    est = mi_kde(
        torch.arange(50), h, noise_variance=var, block_size=7
    )  # blocks do not change it
    assert est.dtype == torch.float64
    assert est.item() == pytest.approx(bound.item(), rel=1e-10)
    # with labels: H(T) - sum_c p(c) H(T | c) with the same pairwise entropy estimates
    labels = torch.arange(50) % 3

    def h_kl(a):
        return -(
            torch.logsumexp(-torch.cdist(a, a).square() / (2 * var), dim=1)
            - math.log(len(a))
        ).mean()

    ref = h_kl(h) - sum(
        (labels == c).double().mean() * h_kl(h[labels == c]) for c in range(3)
    )
    assert mi_kde(h, labels, noise_variance=var).item() == pytest.approx(
        ref.item() / LN2, rel=1e-6
    )


# ------------------------------------------------------------------------------ bounds
# on score matrices


def test_bounds_match_their_formulas():
    s = torch.randn(6, 6, dtype=torch.float64)
    n = 6
    off = ~torch.eye(n, dtype=torch.bool)
    diag = s.diagonal()
    nce = (diag - torch.log(torch.exp(s).mean(1))).mean() / LN2
    assert infonce(s).item() == pytest.approx(nce.item(), rel=1e-12)
    assert nwj(s).item() == pytest.approx(
        (diag.mean() - torch.exp(s[off] - 1).mean()).item() / LN2, rel=1e-12
    )
    assert mine(s).item() == pytest.approx(
        (diag.mean() - torch.log(torch.exp(s[off]).mean())).item() / LN2, rel=1e-12
    )
    assert club(s).item() == pytest.approx(
        (diag.mean() - s.mean()).item() / LN2, rel=1e-12
    )


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 40), st.floats(0.1, 50), st.integers(0, 2**31 - 1))
def test_infonce_never_exceeds_log2_batch(n, scale, seed):
    g = torch.Generator().manual_seed(seed)
    s = scale * torch.randn(n, n, generator=g, dtype=torch.float64)
    assert infonce(s).item() <= math.log2(n) + 1e-9
    assert infonce(s + 1e4 * torch.eye(n, dtype=torch.float64)).item() == pytest.approx(
        math.log2(n)
    )
    assert infonce(torch.zeros(n, n)).item() == pytest.approx(0.0, abs=1e-6)


def test_mine_moving_average_and_corrected_gradient():
    s = torch.randn(8, 8, dtype=torch.float64, requires_grad=True)
    off = ~torch.eye(8, dtype=torch.bool)
    batch_mean = torch.exp(s.detach()[off]).mean()
    m = torch.zeros((), dtype=torch.float64)
    value = mine(s, running_mean=m, momentum=0.9)
    assert m.item() == pytest.approx(
        batch_mean.item()
    )  # first batch starts the average
    assert value.item() == pytest.approx(
        mine(s).item(), rel=1e-12
    )  # the value is the DV bound
    value.backward()
    # gradient of mean(diag s) - mean(e^s off the diagonal) / m, in bits
    ref = torch.eye(8, dtype=torch.float64) / 8 - off * torch.exp(s.detach()) / (56 * m)
    torch.testing.assert_close(s.grad, ref / LN2)
    s2 = torch.randn(8, 8, dtype=torch.float64)
    mine(s2, running_mean=m, momentum=0.9)
    assert m.item() == pytest.approx(
        0.9 * batch_mean.item() + 0.1 * torch.exp(s2[off]).mean().item()
    )


# --------------------------------------------------------------------------------------
# critics


def test_critics_give_pair_score_matrices():
    torch.manual_seed(0)
    x, y = correlated_gaussians(12, 0.5, 3, random_state=0)
    for critic in (SeparableCritic(3, 3, embed_dim=4), ConcatCritic(3, 3)):
        s = critic(x, y)
        assert s.shape == (12, 12)
        # score [i, j] depends on x_i and y_j only
        torch.testing.assert_close(critic(x[2:3].expand(12, 3), y)[0], s[2])
    q = ConditionalGaussian(3, 3)
    log_q = q(x, y)
    torch.testing.assert_close(log_q.diagonal(), q.log_prob(x, y))
    mu, var = q.mean(x[:1]), q.log_var(x[:1]).exp()
    ref = torch.distributions.Normal(mu, var.sqrt()).log_prob(y).sum(-1)
    torch.testing.assert_close(log_q[0], ref)


def _trained_estimates(bound, rho, dim, seed, steps=250, batch=64):
    statlearn.seed_everything(seed)
    x, y = correlated_gaussians(steps * batch, rho, dim)
    xt, yt = correlated_gaussians(40 * batch, rho, dim)
    critic = (
        ConditionalGaussian(dim, dim, hidden=(32,))
        if bound == "club"
        else SeparableCritic(dim, dim, hidden=(32,), embed_dim=8)
    )
    history = train_critic(
        critic, x, y, bound=bound, batch_size=batch, lr=5e-3, random_state=seed
    )
    assert len(history["mi"]) == 1 and math.isfinite(history["mi"][0])
    return evaluate_critic(critic, xt, yt, bound=bound, batch_size=batch)


@pytest.mark.parametrize("bound", ["infonce", "nwj", "mine"])
def test_lower_bounds_sit_below_the_truth_on_the_benchmark(bound):
    dim, truth = 2, 1.5
    rho = math.sqrt(1 - 2 ** (-2 * truth / dim))
    assert gaussian_mutual_information(rho, dim).item() == pytest.approx(truth)
    means = [_trained_estimates(bound, rho, dim, seed).mean().item() for seed in (0, 1)]
    assert np.mean(means) < truth  # below the truth on average
    assert np.mean(means) > 0.6 * truth  # and the critic did learn something


def test_infonce_is_capped_by_log2_batch_size_on_high_mi():
    dim, truth, batch = 4, 8.0, 16  # truth far above log2(16) = 4 bits
    rho = math.sqrt(1 - 2 ** (-2 * truth / dim))
    est = _trained_estimates("infonce", rho, dim, seed=0, steps=150, batch=batch)
    assert (est <= math.log2(batch) + 1e-5).all()
    assert est.mean().item() > 0.8 * math.log2(
        batch
    )  # it reaches the ceiling, not the truth


def test_club_sits_above_the_truth_on_the_benchmark():
    dim, truth = 2, 1.5
    rho = math.sqrt(1 - 2 ** (-2 * truth / dim))
    est = _trained_estimates("club", rho, dim, seed=0)
    assert est.mean().item() > truth
    # with q = p(y | x) exactly, CLUB = d rho^2 / (1 - rho^2) nats, times (1 - 1/N) in a
    # batch of N whose negative term averages over all N pairs (the diagonal included)
    exact = dim * rho**2 / (1 - rho**2) / LN2 * (1 - 1 / 64)
    assert est.mean().item() == pytest.approx(exact, rel=0.1)


def test_critic_objective_fields_and_fit_history():
    x, y = correlated_gaussians(256, 0.5, 2, random_state=0)
    critic = SeparableCritic(2, 2)
    terms = critic_objective("nwj")(critic, x[:32], y[:32])
    assert set(terms._fields) == {"total", "mi"}
    assert terms.total.requires_grad and not terms.mi.requires_grad
    assert terms.total.item() == pytest.approx(-terms.mi.item())
    history = train_critic(critic, x, y, bound="mine", epochs=3, batch_size=32)
    assert set(history) == {"loss", "mi"} and len(history["mi"]) == 3
    assert not critic.training
    assert CriticLoss.units == "bits" and history.units == "bits"
    assert "units" not in CriticLoss._fields


def test_club_objective_is_the_negative_log_likelihood_in_bits():
    x, y = correlated_gaussians(32, 0.5, 2, random_state=0)
    torch.manual_seed(0)
    q = ConditionalGaussian(2, 2)
    terms = critic_objective("club")(q, x, y)
    nll_nats = -q.log_prob(x, y).mean()
    assert terms.total.item() == pytest.approx(nll_nats.item() / LN2, rel=1e-5)
    assert terms.mi.item() == pytest.approx(club(q(x, y)).item(), rel=1e-6)
    terms.total.backward()
    assert all(p.grad is not None for p in q.parameters())


def test_train_critic_repeats_a_run_with_random_state():
    x, y = correlated_gaussians(512, 0.6, 2, random_state=0)

    def run(random_state):
        torch.manual_seed(0)  # the same initial critic
        critic = SeparableCritic(2, 2, hidden=(8,))
        history = train_critic(
            critic, x, y, epochs=2, batch_size=64, random_state=random_state
        )
        return history["mi"], next(critic.parameters()).detach().clone()

    (mi_a, w_a), (mi_b, w_b), (mi_c, _) = run(3), run(3), run(4)
    assert mi_a == mi_b and torch.equal(w_a, w_b)
    assert mi_a != mi_c


def test_mine_restarts_a_non_finite_running_mean():
    s = torch.randn(6, 6, dtype=torch.float64)
    off = ~torch.eye(6, dtype=torch.bool)
    for start in (float("nan"), float("inf"), -1.0):
        m = torch.tensor(start, dtype=torch.float64)
        mine(s, running_mean=m, momentum=0.5)
        assert m.item() == pytest.approx(torch.exp(s[off]).mean().item())


# --------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: mi_binning(torch.randn(10), torch.randn(9)), "same number of samples"),
        (
            lambda: mi_kde(torch.randn(10, 2), torch.randn(11, 2), noise_variance=0.1),
            "same number of samples",
        ),
        (
            lambda: mi_kde(torch.randn(10), torch.randn(10), noise_variance=-0.1),
            "noise_variance must be > 0",
        ),
        (
            lambda: mi_kde(torch.randn(10), torch.randn(10), noise_variance=0.0),
            "noise_variance must be > 0",
        ),
        (
            lambda: mi_binning(torch.randn(10), torch.randn(10), bins=0),
            "bins must be >= 1",
        ),
        (
            lambda: mi_binning(torch.randn(10), torch.randn(10), bin_size=-1.0),
            "bin_size must be > 0",
        ),
        (lambda: mi_binning(torch.randn(10, 2, 2), torch.randn(10)), "1-D or 2-D"),
        (lambda: infonce(torch.randn(4, 5)), "square"),
        (lambda: nwj(torch.randn(1, 1)), "N >= 2"),
        (lambda: mine(torch.randn(4, 4), momentum=1.5), "momentum"),
        (lambda: club(torch.randn(4)), "2-D"),
        (lambda: correlated_gaussians(10, 1.0, 2), r"\(-1, 1\)"),
        (lambda: correlated_gaussians(0, 0.5, 2), "n_samples must be >= 1"),
        (
            lambda: SeparableCritic(2, 2)(torch.randn(5, 2), torch.randn(6, 2)),
            "same number of samples",
        ),
        (lambda: ConcatCritic(2, 2)(torch.randn(5, 3), torch.randn(5, 2)), "features"),
        (
            lambda: train_critic(
                SeparableCritic(2, 2), torch.randn(10, 2), torch.randn(9, 2)
            ),
            "same number of samples",
        ),
        (
            lambda: train_critic(
                SeparableCritic(2, 2),
                torch.randn(10, 2),
                torch.randn(10, 2),
                batch_size=1,
            ),
            "batch_size",
        ),
        (
            lambda: train_critic(
                SeparableCritic(2, 2),
                torch.randn(10, 2),
                torch.randn(10, 2),
                bound="dv",
            ),
            "bound must be one of",
        ),
        (
            lambda: evaluate_critic(
                SeparableCritic(2, 2),
                torch.randn(10, 2),
                torch.randn(10, 2),
                batch_size=20,
            ),
            "batch_size",
        ),
    ],
)
def test_value_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_type_errors():
    with pytest.raises(TypeError, match="log_prob"):
        train_critic(
            SeparableCritic(2, 2), torch.randn(10, 2), torch.randn(10, 2), bound="club"
        )
    with pytest.raises(TypeError, match="running_mean"):
        mine(torch.randn(3, 3), running_mean=1.0)


@pytest.mark.gpu
def test_estimators_on_cuda_match_cpu():
    x, y = correlated_gaussians(500, 0.7, 2, random_state=0)
    ids = torch.arange(500)
    torch.testing.assert_close(
        mi_kde(ids.cuda(), x.cuda(), noise_variance=0.1).cpu(),
        mi_kde(ids, x, noise_variance=0.1),
        rtol=1e-4,
        atol=1e-5,
    )
    torch.testing.assert_close(
        mi_binning(x.cuda(), y.cuda()).cpu(), mi_binning(x, y), rtol=1e-5, atol=1e-6
    )
    torch.manual_seed(0)
    critic = SeparableCritic(2, 2)
    cpu = evaluate_critic(critic, x, y, batch_size=100)
    gpu = evaluate_critic(critic.cuda(), x.cuda(), y.cuda(), batch_size=100)
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-4, atol=1e-5)
    history = train_critic(
        critic, x.cuda(), y.cuda(), bound="mine", epochs=2, batch_size=100
    )
    assert all(math.isfinite(v) for v in history["mi"])


# --------------------------------------------------------------------------------------
# issue 15


def test_critics_accept_numpy_float64():
    """Defect: the critics rejected NumPy input (flatten() takes ... arguments)."""
    from statlearn.info import ConcatCritic, ConditionalGaussian, SeparableCritic

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))  # float64
    for critic in (
        SeparableCritic(3, 2),
        ConcatCritic(3, 2),
        ConditionalGaussian(3, 2),
    ):
        scores = critic(x, y)
        assert scores.shape == (5, 5) and scores.dtype == torch.float32
    assert ConditionalGaussian(3, 2).log_prob(x, y).shape == (5,)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_unavailable_device_is_a_value_error():
    """Defect: device="cuda" without CUDA raised torch's raw AssertionError."""
    from statlearn.info import SeparableCritic, correlated_gaussians, train_critic

    with pytest.raises(ValueError, match="CUDA is not available"):
        train_critic(
            SeparableCritic(2, 2), torch.randn(8, 2), torch.randn(8, 2), device="cuda"
        )
    with pytest.raises(ValueError, match="CUDA is not available"):
        correlated_gaussians(8, 0.5, 2, device="cuda")


# --------------------------------------------------------------------------------------
# the information plane of a network (chapter 20)


def _grid_net_and_data(n_side=4, spacing=1.0):
    """A network whose layer "0" is the identity, on inputs `spacing` apart."""
    from torch import nn

    g = torch.arange(n_side, dtype=torch.float32) * spacing
    x = torch.cartesian_prod(g, g)  # (n_side**2, 2) distinct points on a grid
    y = torch.arange(len(x)) % 3
    net = nn.Sequential(nn.Identity(), nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 3))
    return net, x, y


def _label_entropy(y):
    p = torch.bincount(y).double() / len(y)
    p = p[p > 0]
    return -(p * p.log2()).sum().item()


def test_information_plane_identity_layer_reaches_log2_n_under_binning():
    from statlearn.info import information_plane

    net, x, y = _grid_net_and_data(spacing=1.0)  # more than a bin (0.5) apart
    plane = information_plane(net, x, y, ["0"], "binning", bin_size=0.5)
    assert plane.layers == ("0",)
    assert plane.i_xz.shape == (1,) and plane.i_xz.dtype == torch.float64
    assert plane.i_xz[0].item() == pytest.approx(math.log2(len(x)), abs=1e-6)
    # every input has its own bin, so Z determines Y: I(Z; Y) = H(Y)
    assert plane.i_zy[0].item() == pytest.approx(_label_entropy(y), abs=1e-6)
    # points closer than a bin share bins: less than log2 N
    net, x, y = _grid_net_and_data(spacing=0.2)
    closer = information_plane(net, x, y, ["0"], "binning", bin_size=0.5)
    assert closer.i_xz[0].item() < math.log2(len(x)) - 1


def test_information_plane_kde_ceiling_and_limits():
    from statlearn.info import information_plane

    net, x, y = _grid_net_and_data(spacing=1.0)
    sharp = information_plane(net, x, y, ["0"], "kde", noise_variance=1e-3)
    wide = information_plane(net, x, y, ["0"], "kde", noise_variance=1e3)
    assert sharp.i_xz[0].item() == pytest.approx(math.log2(len(x)), abs=1e-3)
    assert wide.i_xz[0].item() < 0.05


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(4, 40),
    estimator=st.sampled_from(["binning", "kde"]),
)
def test_information_plane_respects_both_ceilings(seed, n, estimator):
    from statlearn.info import information_plane
    from statlearn.nets import mlp

    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = mlp(5, 3, hidden=(6, 4), activation="relu")
    x = torch.randn(n, 5, generator=gen) * 3
    y = torch.randint(0, 3, (n,), generator=gen)
    plane = information_plane(
        net, x, y, ["2", "4"], estimator, bin_size=0.1, noise_variance=0.01
    )
    assert (plane.i_xz <= math.log2(n) + 1e-6).all()
    assert (plane.i_zy <= _label_entropy(y) + 1e-6).all()
    assert (plane.i_xz >= 0).all() and (plane.i_zy >= 0).all()


@pytest.mark.parametrize("estimator", ["binning", "kde"])
def test_information_plane_is_invariant_to_permuting_the_batch(estimator):
    from statlearn.info import information_plane
    from statlearn.nets import mlp

    torch.manual_seed(0)
    net = mlp(6, 4, hidden=(8, 5), activation="tanh")
    x = torch.rand(60, 6)
    y = torch.randint(0, 4, (60,))
    perm = torch.randperm(60)
    a = information_plane(net, x, y, ["2", "4"], estimator, noise_variance_zy=0.5)
    b = information_plane(
        net, x[perm], y[perm], ["2", "4"], estimator, noise_variance_zy=0.5
    )
    torch.testing.assert_close(a.i_xz, b.i_xz, atol=1e-5, rtol=0)
    torch.testing.assert_close(a.i_zy, b.i_zy, atol=1e-5, rtol=0)
    # batched forward passes and kernel blocks give the same numbers
    c = information_plane(
        net, x, y, ["2", "4"], estimator, noise_variance_zy=0.5, batch_size=7
    )
    torch.testing.assert_close(a.i_xz, c.i_xz, atol=1e-5, rtol=0)
    torch.testing.assert_close(a.i_zy, c.i_zy, atol=1e-5, rtol=0)


def test_information_plane_matches_the_estimators_on_recorded_layers():
    from statlearn.info import information_plane
    from statlearn.nets import mlp, record_activations

    torch.manual_seed(1)
    net = mlp(6, 4, hidden=(8, 5), activation="tanh")
    x = torch.rand(50, 6)
    y = torch.randint(0, 4, (50,))
    ids = torch.arange(50)
    acts = record_activations(net, x, ["2", "4"])
    kde = information_plane(
        net, x, y, ["2", "4"], "kde", noise_variance=0.05, noise_variance_zy=0.3
    )
    binned = information_plane(net, x, y, ["2", "4"], "binning", bin_size=0.25)
    equal_width = information_plane(net, x, y, ["4"], "binning", bin_size=None, bins=7)
    for k, z in enumerate(acts.values()):
        assert kde.i_xz[k].item() == pytest.approx(
            mi_kde(ids, z, noise_variance=0.05).item(), abs=1e-5
        )
        assert kde.i_zy[k].item() == pytest.approx(
            mi_kde(z, y, noise_variance=0.3).item(), abs=1e-5
        )
        assert binned.i_xz[k].item() == pytest.approx(
            mi_binning(ids, z, bin_size=0.25).item(), abs=1e-5
        )
        assert binned.i_zy[k].item() == pytest.approx(
            mi_binning(z, y, bin_size=0.25).item(), abs=1e-5
        )
    assert equal_width.i_xz[0].item() == pytest.approx(
        mi_binning(ids, acts["4"], bins=7).item(), abs=1e-5
    )


def test_information_plane_counts_repeated_inputs_once():
    from statlearn.info import information_plane

    net, x, y = _grid_net_and_data(n_side=3, spacing=1.0)  # 9 distinct inputs
    x2, y2 = torch.cat([x, x]), torch.cat([y, y])
    for estimator in ("binning", "kde"):
        plane = information_plane(net, x2, y2, ["0"], estimator, noise_variance=1e-3)
        assert plane.i_xz[0].item() == pytest.approx(math.log2(9), abs=1e-3)


def test_information_plane_accepts_numpy_float64_restores_mode_and_hooks():
    from statlearn.info import information_plane
    from statlearn.nets import mlp

    torch.manual_seed(0)
    net = mlp(4, 3, hidden=(5,), activation="tanh").train()
    x = np.random.default_rng(0).random((20, 4))  # float64 NumPy
    y = np.arange(20) % 3
    plane = information_plane(net, x, y, ["2"], "kde")
    ref = information_plane(
        net, torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y), ["2"], "kde"
    )
    torch.testing.assert_close(plane.i_xz, ref.i_xz)
    assert net.training
    assert all(not m._forward_hooks for m in net.modules())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(estimator="mine"), "estimator"),
        (dict(y=torch.rand(10)), "1-D integer"),
        (dict(y=torch.zeros(10, 2, dtype=torch.long)), "1-D integer"),
        (dict(y=torch.zeros(9, dtype=torch.long)), "same number"),
        (dict(x=torch.rand(1, 4), y=torch.zeros(1, dtype=torch.long)), "at least 2"),
        (dict(layers=["9"]), "no submodule"),
        (dict(estimator="binning", bin_size=0.0), "bin_size"),
        (dict(estimator="binning", bin_size=None, bins=0), "bins"),
        (dict(noise_variance=0.0), "noise_variance"),
        (dict(noise_variance_zy=-1.0), "noise_variance_zy"),
        (dict(batch_size=0), "batch_size"),
    ],
)
def test_information_plane_value_errors(kwargs, match):
    from statlearn.info import information_plane
    from statlearn.nets import mlp

    net = mlp(4, 3, hidden=(5,))
    args = dict(
        model=net,
        x=torch.rand(10, 4),
        y=torch.zeros(10, dtype=torch.long),
        layers=["2"],
        estimator="kde",
    )
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        information_plane(**args)


@pytest.mark.gpu
def test_information_plane_on_cuda_matches_cpu():
    from statlearn.info import information_plane
    from statlearn.nets import mlp

    torch.manual_seed(0)
    net = mlp(6, 4, hidden=(8, 5), activation="tanh")
    x = torch.rand(80, 6)
    y = torch.randint(0, 4, (80,))
    for estimator in ("binning", "kde"):
        cpu = information_plane(net, x, y, ["2", "4"], estimator)
        gpu = information_plane(net.cuda(), x, y, ["2", "4"], estimator)
        net.cpu()
        assert gpu.i_xz.device.type == "cuda"
        torch.testing.assert_close(gpu.i_xz.cpu(), cpu.i_xz, atol=1e-4, rtol=0)
        torch.testing.assert_close(gpu.i_zy.cpu(), cpu.i_zy, atol=1e-4, rtol=0)


def test_critic_training_checks_inputs_not_scores(monkeypatch):
    x, y = correlated_gaussians(32, 0.5, 2, random_state=0)
    critic = SeparableCritic(2, 2)
    calls = []

    def counting(original):
        def counted(t):
            calls.append(tuple(t.shape))
            return original(t)

        return counted

    # a finiteness check is one pass: isfinite, or aminmax (statlearn's all_finite)
    monkeypatch.setattr(torch, "isfinite", counting(torch.isfinite))
    monkeypatch.setattr(torch, "aminmax", counting(torch.aminmax))
    for bound in ("infonce", "nwj", "mine"):
        calls.clear()
        critic_objective(bound)(critic, x, y)
        # the critic's inputs only (MINE also tests its 0-d running mean on the
        # device, which needs no pass over the scores)
        assert [c for c in calls if c] == [(32, 2), (32, 2)], bound


def test_information_plane_names_a_repeated_layer():
    from statlearn.info import information_plane

    net = statlearn.nets.mlp(2, 2, hidden=(3,))
    x, y = torch.rand(10, 2), torch.arange(10) % 2
    with pytest.raises(ValueError, match="layers must name each submodule once"):
        information_plane(net, x, y, ["1", "1"])
    with pytest.raises(ValueError, match=r"x must be a batch"):
        information_plane(net, torch.rand(2), y[:2], ["1"])
