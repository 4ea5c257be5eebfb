"""Tests for statlearn.robust.smoothing (Chapter 17, randomized smoothing of Cohen et
al., 2019).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import beta, binomtest, norm
from torch import nn

from statlearn.robust import ABSTAIN, Smooth, certified_accuracy
from statlearn.robust.smoothing import (
    binomial_pvalue,
    lower_confidence_bound,
    noise_augmentation,
)

proportion_confint = pytest.importorskip(
    "statsmodels.stats.proportion"
).proportion_confint


# --------------------------------------------------------------------------------------
# a linear base classifier, whose smoothed classifier is known in closed form
# --------------------------------------------------------------------------------------
class HalfPlane(nn.Module):
    """h(x) = 1 if w.x + b > 0 else 0, as logits (0, w.x + b)."""

    def __init__(self, w: torch.Tensor, b: float) -> None:
        super().__init__()
        self.w = nn.Parameter(w.clone().double())
        self.b = nn.Parameter(torch.tensor(float(b), dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.flatten(1).double() @ self.w + self.b
        return torch.stack([torch.zeros_like(s), s], dim=1)


def half_plane_points(
    d: torch.Tensor, w: torch.Tensor, b: float, centre: torch.Tensor
) -> torch.Tensor:
    """Points at signed distances d from the boundary w.x + b = 0, along w through
    centre's projection.
    """
    unit = w / w.norm()
    foot = (
        centre - ((centre @ w + b) / w.norm()) * unit
    )  # closest boundary point to centre
    return foot[None, :] + d[:, None] * unit[None, :]


W = torch.tensor([0.6, 0.8], dtype=torch.float64)  # unit normal
B = -0.7  # boundary through (0.42, 0.56)
CENTRE = torch.tensor([0.5, 0.5], dtype=torch.float64)


def true_smoothed(x: torch.Tensor, sigma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Closed form: pA = Phi(|w.x + b| / (sigma ||w||)), so g's class is the side and
    its radius the distance.
    """
    s = x @ W + B
    return (s > 0).long(), s.abs() / W.norm()


def replay_counts(
    smooth: Smooth, x: torch.Tensor, sizes: list[int], seed: int, batch_size: int
) -> list[torch.Tensor]:
    """The counts a call draws, replayed from a generator with the same seed."""
    g = torch.Generator().manual_seed(seed)
    return [smooth.sample_counts(x, m, batch_size, random_state=g) for m in sizes]


# --------------------------------------------------------------------------------------
# statistics
# --------------------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 100_000), frac=st.floats(0, 1), alpha=st.floats(1e-6, 0.49))
def test_lower_bound_equals_statsmodels_and_scipy(n, frac, alpha):
    n_a = int(round(frac * n))
    ours = float(lower_confidence_bound(n_a, n, alpha))
    reference = proportion_confint(n_a, n, alpha=2 * alpha, method="beta")[0]
    assert ours == pytest.approx(reference, rel=1e-9, abs=1e-12)
    if n_a > 0:
        assert ours == pytest.approx(
            beta.ppf(alpha, n_a, n - n_a + 1), rel=1e-12, abs=1e-15
        )
    else:
        assert ours == 0.0


def test_lower_bound_vectorised_and_extremes():
    n, alpha = 1000, 0.001
    n_a = np.arange(0, n + 1)
    bounds = lower_confidence_bound(torch.from_numpy(n_a), n, alpha)
    reference = np.array(
        [proportion_confint(k, n, alpha=2 * alpha, method="beta")[0] for k in n_a]
    )
    np.testing.assert_allclose(bounds, reference, rtol=1e-9, atol=1e-12)
    assert np.all(np.diff(bounds) > 0)  # more votes, higher bound
    assert bounds[-1] == pytest.approx(
        alpha ** (1 / n)
    )  # the all-votes bound behind max_radius


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 3000), frac=st.floats(0, 1))
def test_binomial_pvalue_equals_binomtest(n, frac):
    k = int(round(frac * n))
    assert float(binomial_pvalue(k, n)) == pytest.approx(
        binomtest(k, n, p=0.5).pvalue, rel=1e-9, abs=1e-300
    )


# --------------------------------------------------------------------------------------
# certify and predict against the statistics, replayed from the same noise
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [0.001, 0.05])
def test_certify_uses_clopper_pearson_and_abstains_exactly_below_half(alpha):
    sigma, n0, n = 0.25, 50, 400
    smooth = Smooth(HalfPlane(W, B), 2, sigma)
    d = torch.linspace(
        -0.3, 0.3, 41, dtype=torch.float64
    )  # straddles the boundary: some abstain
    x = half_plane_points(d, W, B, CENTRE)
    prediction, radius = smooth.certify(
        x, n0, n, alpha, batch_size=333, random_state=torch.Generator().manual_seed(7)
    )
    selection, estimation = replay_counts(smooth, x, [n0, n], seed=7, batch_size=333)
    c_a = selection.argmax(1)
    n_a = estimation[torch.arange(len(x)), c_a].numpy()
    p_lower = np.array(
        [proportion_confint(k, n, alpha=2 * alpha, method="beta")[0] for k in n_a]
    )
    abstain = p_lower < 0.5
    assert 0 < abstain.sum() < len(x)  # both cases occur
    np.testing.assert_array_equal(prediction.numpy() == ABSTAIN, abstain)
    np.testing.assert_array_equal(prediction.numpy()[~abstain], c_a.numpy()[~abstain])
    np.testing.assert_allclose(
        radius.numpy()[~abstain], sigma * norm.ppf(p_lower[~abstain]), rtol=1e-9
    )
    assert np.all(radius.numpy()[abstain] == 0)
    assert radius.dtype == torch.float64 and prediction.dtype == torch.int64


def test_predict_uses_binomtest_on_top_two_counts():
    sigma, n, alpha = 0.25, 300, 0.01
    smooth = Smooth(HalfPlane(W, B), 2, sigma)
    x = half_plane_points(
        torch.linspace(-0.2, 0.2, 31, dtype=torch.float64), W, B, CENTRE
    )
    prediction = smooth.predict(
        x, n, alpha, batch_size=256, random_state=torch.Generator().manual_seed(3)
    )
    (counts,) = replay_counts(smooth, x, [n], seed=3, batch_size=256)
    expected = []
    for row in counts.numpy():
        order = np.argsort(-row, kind="stable")
        n_a, n_b = row[order[0]], row[order[1]]
        expected.append(
            order[0] if binomtest(n_a, n_a + n_b, p=0.5).pvalue <= alpha else ABSTAIN
        )
    np.testing.assert_array_equal(prediction.numpy(), expected)
    assert (prediction == ABSTAIN).any() and (prediction != ABSTAIN).any()


def test_selection_and_estimation_are_independent_draws():
    class Recorder(nn.Module):
        def __init__(self):
            super().__init__()
            self.seen = []

        def forward(self, x):
            self.seen.append(x.clone())
            return torch.zeros(x.shape[0], 3, dtype=x.dtype)

    x = torch.full((16,), 0.5, dtype=torch.float64)
    rec = Recorder()
    n0, n = 500, 3000
    Smooth(rec, 3, 0.5).certify(
        x, n0, n, 0.01, batch_size=700, random_state=torch.Generator().manual_seed(0)
    )
    noise = torch.cat(rec.seen) - x
    assert noise.shape == (
        n0 + n,
        16,
    )  # n0 selection draws, then n estimation draws, each used once
    selection, estimation = noise[:n0], noise[n0:]
    # no estimation draw repeats a selection draw
    assert torch.cdist(selection, estimation).min() > 1e-6
    # and they are uncorrelated: every cross-correlation between matching draws is small
    corr = (selection * estimation[:n0]).sum(0) / (
        selection.norm(dim=0) * estimation[:n0].norm(dim=0)
    )
    assert corr.abs().max() < 5 / np.sqrt(n0)
    # both are N(0, sigma^2 I)
    assert noise.std().item() == pytest.approx(0.5, rel=0.03)


# --------------------------------------------------------------------------------------
# the linear classifier: certified radii against the true distance to the boundary
# --------------------------------------------------------------------------------------
def test_linear_radii_never_exceed_distance_and_approach_it():
    sigma, alpha = 0.25, 1e-4
    d = torch.linspace(0.02, 0.45, 12, dtype=torch.float64)
    d = torch.cat([d, -d])  # both sides of the boundary
    x = half_plane_points(d, W, B, CENTRE)
    true_class, true_radius = true_smoothed(x, sigma)
    smooth = Smooth(HalfPlane(W, B), 2, sigma)
    gen = torch.Generator().manual_seed(0)
    gaps = []
    for n in (100, 1000, 10_000, 100_000):
        prediction, radius = smooth.certify(
            x, 100, n, alpha, batch_size=50_000, random_state=gen
        )
        certified = prediction != ABSTAIN
        assert (prediction[certified] == true_class[certified]).all()
        assert (radius <= true_radius + 1e-12).all()  # never claims more than the truth
        assert (radius >= 0).all()
        gaps.append(
            torch.where(certified, true_radius - radius, true_radius).mean().item()
        )
    assert all(a > b for a, b in zip(gaps, gaps[1:]))  # approach it as n grows
    assert gaps[-1] < 0.02  # mean shortfall at n = 100,000, with true radii up to 0.45
    assert (prediction != ABSTAIN).all()


@pytest.mark.parametrize("distance", [0.02, 0.25])
def test_wrong_certificates_rarer_than_alpha(distance):
    """Repeat certify on one input many times: a wrong class or a radius beyond the
    truth is rare.
    """
    sigma, alpha, repeats = 0.25, 0.05, 4000
    x = half_plane_points(
        torch.tensor([distance], dtype=torch.float64), W, B, CENTRE
    ).expand(repeats, 2)
    true_class, true_radius = true_smoothed(x[:1], sigma)
    smooth = Smooth(HalfPlane(W, B), 2, sigma)
    prediction, radius = smooth.certify(
        x,
        10,
        1000,
        alpha,
        batch_size=200_000,
        random_state=torch.Generator().manual_seed(1),
    )
    certified = prediction != ABSTAIN
    wrong = certified & ((prediction != true_class) | (radius > true_radius))
    assert certified.float().mean() > 0.2  # the test is not vacuous
    rate = wrong.double().mean().item()
    assert rate <= alpha + 3 * np.sqrt(alpha * (1 - alpha) / repeats)


def test_predict_wrong_rate_below_alpha():
    sigma, alpha, repeats = 0.25, 0.05, 4000
    x = half_plane_points(
        torch.tensor([0.01], dtype=torch.float64), W, B, CENTRE
    ).expand(repeats, 2)
    true_class, _ = true_smoothed(x[:1], sigma)
    prediction = Smooth(HalfPlane(W, B), 2, sigma).predict(
        x, 200, alpha, batch_size=100_000, random_state=torch.Generator().manual_seed(2)
    )
    wrong = (prediction != ABSTAIN) & (prediction != true_class)
    assert wrong.double().mean().item() <= alpha + 3 * np.sqrt(
        alpha * (1 - alpha) / repeats
    )


# --------------------------------------------------------------------------------------
# bookkeeping, shapes, types, reproducibility
# --------------------------------------------------------------------------------------
def test_counts_bookkeeping_across_batches():
    """With negligible noise every draw votes for the input's side, whatever the batch
    boundaries.
    """
    d = torch.tensor([0.3, -0.2, 0.1, -0.4, 0.25], dtype=torch.float64)
    x = half_plane_points(d, W, B, CENTRE)
    smooth = Smooth(HalfPlane(W, B), 2, 1e-9)
    for batch_size in (1, 7, 13, 1000):
        counts = smooth.sample_counts(x, 11, batch_size)
        assert counts.shape == (5, 2) and counts.dtype == torch.int64
        np.testing.assert_array_equal(
            counts[torch.arange(5), (d > 0).long()].numpy(), 11
        )


def test_single_input_returns_python_numbers_and_batch_returns_tensors():
    smooth = Smooth(HalfPlane(W, B), 2, 0.25)
    x = half_plane_points(torch.tensor([0.3, -0.3], dtype=torch.float64), W, B, CENTRE)
    c, r = smooth.certify(x[0], 10, 200, 0.01)
    assert type(c) is int and type(r) is float and c == 1 and r > 0
    assert type(smooth.predict(x[1], 200, 0.01)) is int
    c, r = smooth.certify(x, 10, 200, 0.01)
    assert isinstance(c, torch.Tensor) and c.shape == (2,) and r.shape == (2,)
    # a float32 batch gives float32 radii; with input_shape, an image (C, H, W) is a
    # single input
    img = Smooth(
        nn.Sequential(nn.Flatten(), nn.Linear(4, 3)), 3, 0.1, input_shape=(1, 2, 2)
    )
    c, r = img.certify(torch.rand(1, 2, 2), 5, 50, 0.1)
    assert type(c) is int and type(r) is float
    c, r = img.certify(torch.rand(6, 1, 2, 2), 5, 50, 0.1)
    assert c.shape == (6,) and r.dtype == torch.float32


def test_generator_makes_runs_reproducible_and_restores_mode():
    base = nn.Sequential(
        nn.Linear(2, 16), nn.Dropout(0.5), nn.ReLU(), nn.Linear(16, 3)
    ).train()
    smooth = Smooth(base, 3, 0.3)
    x = torch.rand(8, 2)
    a = smooth.certify(x, 20, 300, 0.01, random_state=torch.Generator().manual_seed(5))
    b = smooth.certify(x, 20, 300, 0.01, random_state=torch.Generator().manual_seed(5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])  # so dropout was off
    assert base.training  # restored
    p = smooth.predict(x, 300, 0.01, random_state=torch.Generator().manual_seed(5))
    q = smooth.predict(x, 300, 0.01, random_state=torch.Generator().manual_seed(5))
    assert torch.equal(p, q)


@settings(max_examples=25, deadline=None)
@given(
    sigma=st.floats(0.05, 1.0),
    n=st.integers(1, 500),
    alpha=st.floats(1e-4, 0.3),
    seed=st.integers(0, 2**16),
)
def test_radius_nonnegative_and_bounded_by_max_radius(sigma, n, alpha, seed):
    torch.manual_seed(seed)
    smooth = Smooth(nn.Linear(3, 4), 4, sigma)
    prediction, radius = smooth.certify(
        torch.rand(5, 3), 5, n, alpha, random_state=torch.Generator().manual_seed(seed)
    )
    assert (radius >= 0).all()
    assert (radius <= smooth.max_radius(n, alpha) + 1e-6).all()
    assert ((prediction == ABSTAIN) <= (radius == 0)).all()


def test_max_radius_is_reached_by_a_constant_classifier():
    class Constant(nn.Module):
        def forward(self, x):
            return torch.tensor([0.0, 1.0, 0.0]).expand(x.shape[0], 3)

    smooth = Smooth(Constant(), 3, 0.5)
    c, r = smooth.certify(torch.rand(4), 10, 1000, 0.001)
    assert c == 1
    assert r == pytest.approx(0.5 * norm.ppf(0.001 ** (1 / 1000)), rel=1e-9)
    assert r == pytest.approx(smooth.max_radius(1000, 0.001), rel=1e-9)
    assert (
        smooth.max_radius(1, 0.4) == 0.0
    )  # alpha^(1/n) < 1/2: nothing can be certified


def test_soft_forward_is_differentiable_log_probabilities():
    torch.manual_seed(0)
    smooth = Smooth(nn.Linear(4, 3), 3, 0.2, num_noise=16)
    x = torch.rand(5, 4, requires_grad=True)
    out = smooth(x)
    assert out.shape == (5, 3)
    torch.testing.assert_close(out.exp().sum(1), torch.ones(5))
    out[:, 0].sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_soft_forward_matches_closed_form_for_half_plane():
    """For a steep half-plane the soft classifier's class-1 probability tends to
    Phi(distance / sigma).
    """
    torch.manual_seed(0)
    sigma = 0.25
    steep = HalfPlane(W * 1e4, B * 1e4)
    smooth = Smooth(steep, 2, sigma, num_noise=20_000)
    x = half_plane_points(
        torch.tensor([-0.2, 0.0, 0.1], dtype=torch.float64), W, B, CENTRE
    )
    p1 = smooth(x).exp()[:, 1]
    np.testing.assert_allclose(
        p1.detach().numpy(), norm.cdf(np.array([-0.2, 0.0, 0.1]) / sigma), atol=0.015
    )


# --------------------------------------------------------------------------------------
# noise augmentation and certified accuracy
# --------------------------------------------------------------------------------------
def test_noise_augmentation_adds_gaussian_noise():
    transform = noise_augmentation(0.3, random_state=torch.Generator().manual_seed(0))
    x, y = torch.full((2000, 10), 0.5), torch.arange(2000)
    xn, yn = transform(None, x, y)
    assert yn is y and xn.shape == x.shape and xn.dtype == x.dtype
    assert (xn - x).mean().item() == pytest.approx(0.0, abs=0.01)
    assert (xn - x).std().item() == pytest.approx(0.3, rel=0.02)
    again = noise_augmentation(0.3, random_state=torch.Generator().manual_seed(0))(
        None, x, y
    )[0]
    assert torch.equal(xn, again)
    assert not torch.equal(transform(None, x, y)[0], xn)  # fresh noise every batch


def test_noise_augmentation_trains_through_fit():
    training = pytest.importorskip("statlearn.training")
    torch.manual_seed(0)
    x = torch.rand(256, 2)
    y = (x.sum(1) > 1).long()
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    history = training.fit(
        model,
        (x, y),
        epochs=2,
        batch_size=64,
        transform=noise_augmentation(0.1),
        quiet=True,
        random_state=0,
    )
    assert len(history["loss"]) == 2 and np.isfinite(history["loss"]).all()


def test_certified_accuracy_matches_brute_force_and_is_monotone():
    rng = np.random.default_rng(0)
    radii = rng.uniform(0, 1, 200)
    labels = rng.integers(0, 3, 200)
    predictions = np.where(rng.random(200) < 0.2, ABSTAIN, rng.integers(0, 3, 200))
    radii[predictions == ABSTAIN] = 0.0
    grid = np.linspace(0, 1.2, 25)
    acc = certified_accuracy(
        torch.from_numpy(radii), torch.from_numpy(labels), predictions, grid
    )
    expected = [np.mean((predictions == labels) & (radii >= r)) for r in grid]
    np.testing.assert_allclose(acc.numpy(), expected)
    assert (acc[1:] <= acc[:-1]).all() and acc[-1] == 0
    # an abstention never counts, even against a label equal to ABSTAIN's value
    assert certified_accuracy([0.0], [ABSTAIN], [ABSTAIN], [0.0]).item() == 0.0


# --------------------------------------------------------------------------------------
# every ValueError / TypeError path
# --------------------------------------------------------------------------------------
@pytest.fixture
def smooth():
    return Smooth(nn.Linear(2, 3), 3, 0.25)


@pytest.mark.parametrize("sigma", [0.0, -0.5, float("nan")])
def test_bad_sigma(sigma):
    with pytest.raises(ValueError, match="sigma"):
        Smooth(nn.Linear(2, 3), 3, sigma)
    with pytest.raises(ValueError, match="sigma"):
        noise_augmentation(sigma)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="num_classes"):
        Smooth(nn.Linear(2, 3), 1, 0.25)
    with pytest.raises(ValueError, match="num_noise"):
        Smooth(nn.Linear(2, 3), 3, 0.25, num_noise=0)
    with pytest.raises(TypeError, match="base_classifier"):
        Smooth(lambda x: x, 3, 0.25)


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1, 1.5])
def test_bad_alpha(smooth, alpha):
    x = torch.rand(2)
    with pytest.raises(ValueError, match="alpha"):
        smooth.certify(x, 10, 100, alpha)
    with pytest.raises(ValueError, match="alpha"):
        smooth.predict(x, 100, alpha)
    with pytest.raises(ValueError, match="alpha"):
        smooth.max_radius(100, alpha)
    with pytest.raises(ValueError, match="alpha"):
        lower_confidence_bound(5, 10, alpha)


@pytest.mark.parametrize(
    "n0, n, name", [(0, 100, "n0"), (10, 0, "n"), (-3, 100, "n0"), (10, -1, "n")]
)
def test_bad_sample_sizes(smooth, n0, n, name):
    with pytest.raises(ValueError, match=rf"^{name} must"):
        smooth.certify(torch.rand(2), n0, n, 0.01)
    if name == "n":
        with pytest.raises(ValueError, match=r"^n must"):
            smooth.predict(torch.rand(2), n, 0.01)


def test_bad_sample_counts_arguments(smooth):
    with pytest.raises(ValueError, match=r"^n must"):
        smooth.sample_counts(torch.rand(3, 2), 0)
    with pytest.raises(TypeError, match="random_state"):
        smooth.sample_counts(torch.rand(3, 2), 10, random_state="seed")
    with pytest.raises(ValueError, match="batch_size"):
        smooth.sample_counts(torch.rand(3, 2), 10, 0)
    with pytest.raises(ValueError, match="x"):
        smooth.sample_counts(torch.full((3, 2), 2.0), 10)
    assert smooth.sample_counts(torch.rand(2), 10).shape == (1, 3)


def test_bad_batch_size(smooth):
    with pytest.raises(ValueError, match="batch_size"):
        smooth.certify(torch.rand(2), 10, 100, 0.01, batch_size=0)
    with pytest.raises(ValueError, match="batch_size"):
        smooth.predict(torch.rand(2), 100, 0.01, batch_size=0)


@pytest.mark.parametrize(
    "bad",
    [
        torch.tensor([0.5, 1.5]),
        torch.tensor([-0.2, 0.5]),
        torch.tensor([[0.2, float("nan")]]),
    ],
)
def test_x_outside_unit_interval(smooth, bad):
    with pytest.raises(ValueError, match="x"):
        smooth.certify(bad, 10, 100, 0.01)
    with pytest.raises(ValueError, match="x"):
        smooth.predict(bad, 100, 0.01)


def test_bad_x_shape_and_logits(smooth):
    with pytest.raises(ValueError, match="x must"):
        smooth.certify(torch.rand(1, 1, 1, 1, 2), 10, 100, 0.01)
    with pytest.raises(ValueError, match="logits"):
        Smooth(nn.Linear(2, 4), 3, 0.25).certify(torch.rand(2), 10, 100, 0.01)


def test_bad_certified_accuracy_inputs():
    with pytest.raises(ValueError, match="same length"):
        certified_accuracy([0.1, 0.2], [0], [0, 1], [0.0])
    with pytest.raises(ValueError, match=">= 0"):
        certified_accuracy([-0.1], [0], [0], [0.0])
    with pytest.raises(ValueError, match=">= 0"):
        certified_accuracy([0.1], [0], [0], [-1.0])
    with pytest.raises(ValueError, match="integer"):
        certified_accuracy([0.1], [0.5], [0], [0.0])
    with pytest.raises(ValueError, match="1-D"):
        certified_accuracy([0.1], [[0]], [0], [0.0])


def test_bad_counts():
    with pytest.raises(ValueError, match="n_a"):
        lower_confidence_bound(11, 10, 0.01)
    with pytest.raises(ValueError, match="n_a"):
        lower_confidence_bound(-1, 10, 0.01)
    with pytest.raises(ValueError):
        binomial_pvalue(3, 2)


# --------------------------------------------------------------------------------------
# GPU
# --------------------------------------------------------------------------------------
@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_draws_the_noise_on_the_device():
    """The noise is drawn on the inputs' device (no copy of noise per batch): a CUDA
    generator is used as it is, and a CPU generator or an int seeds one there, so the
    same seed repeats the certificates."""
    base = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 4)).double()
    x = torch.rand(10, 8, dtype=torch.float64)
    smooth = Smooth(base.cuda(), 4, 0.3)
    g = torch.Generator("cuda").manual_seed(0)
    before = g.get_state()
    pred = smooth.predict(x.cuda(), 500, 0.01, random_state=g)
    assert pred.device.type == "cuda" and not torch.equal(before, g.get_state())
    for seed in (lambda: torch.Generator().manual_seed(0), lambda: 0):
        a = smooth.certify(x.cuda(), 50, 2000, 0.01, random_state=seed())
        b = smooth.certify(x.cuda(), 50, 2000, 0.01, random_state=seed())
        assert a[0].device.type == "cuda" and torch.equal(a[0], b[0])
        assert torch.equal(a[1], b[1])
    # the training transform draws on the batch's device too
    transform = noise_augmentation(0.3, random_state=0)
    noisy, _ = transform(None, x.cuda(), None)
    assert noisy.device.type == "cuda"


# --------------------------------------------------------------------------------------
# issue 15


def _flat_digit_classifier():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 10))


def test_a_batch_of_2d_images_is_not_read_as_one_image():
    """Defect: certify read an (N, 8, 8) batch as one (C, H, W) image (then failed deep
    in a matmul, or, for a classifier that accepted it, answered for the wrong
    thing)."""
    x = torch.rand(4, 8, 8)
    smooth = Smooth(_flat_digit_classifier(), 10, 0.25)
    with pytest.raises(ValueError, match="ambiguous"):
        smooth.certify(x, 5, 20, 0.1)
    batch = Smooth(_flat_digit_classifier(), 10, 0.25, input_shape=(8, 8))
    c, r = batch.certify(x, 5, 20, 0.1, random_state=torch.Generator().manual_seed(0))
    assert c.shape == r.shape == (4,)
    one_c, one_r = batch.certify(
        x[0], 5, 20, 0.1, random_state=torch.Generator().manual_seed(0)
    )
    assert type(one_c) is int and type(one_r) is float
    with pytest.raises(ValueError, match=r"one input of shape \(8, 8\)"):
        batch.certify(torch.rand(4, 64), 5, 20, 0.1)


def test_forward_rejects_inputs_outside_the_unit_box():
    """Defect: Smooth.forward accepted inputs outside the pixel box [0, 1]."""
    smooth = Smooth(_flat_digit_classifier(), 10, 0.25)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        smooth(torch.full((2, 64), 3.0))
    assert smooth(torch.rand(2, 64)).shape == (2, 10)


def test_numpy_float64_is_cast_to_the_base_classifier():
    """Defect: Smooth.certify on float64 input crashed with "mat1 and mat2 must have the
    same dtype"; forward rejected NumPy."""
    x = np.random.default_rng(0).random((3, 64))  # float64
    smooth = Smooth(_flat_digit_classifier(), 10, 0.25)
    c, r = smooth.certify(x, 5, 20, 0.1)
    assert c.shape == (3,) and r.dtype == torch.float32
    assert smooth.predict(x, 20, 0.1).shape == (3,)
    assert smooth(x).dtype == torch.float32


# --------------------------------------------------------------------------------------
# one set of conventions: random_state everywhere, fit(random_state=) repeats a run
# --------------------------------------------------------------------------------------
def test_every_kind_of_random_state_gives_one_certificate():
    smooth = Smooth(HalfPlane(W, B), 2, 0.25)
    x = half_plane_points(torch.tensor([0.05, 0.1, 0.3]), W, B, CENTRE)
    by_int = smooth.certify(x, 20, 500, 0.01, random_state=4)
    by_gen = smooth.certify(
        x, 20, 500, 0.01, random_state=torch.Generator().manual_seed(4)
    )
    assert torch.equal(by_int[0], by_gen[0]) and torch.equal(by_int[1], by_gen[1])
    rs = [
        smooth.certify(x, 20, 500, 0.01, random_state=np.random.RandomState(1))
        for _ in range(2)
    ]
    assert torch.equal(rs[0][1], rs[1][1])
    torch.manual_seed(0)
    first = smooth.predict(x, 300, 0.01)
    counts = smooth.sample_counts(x, 300)
    torch.manual_seed(0)
    assert torch.equal(first, smooth.predict(x, 300, 0.01))  # None: the global state
    assert torch.equal(counts, smooth.sample_counts(x, 300))


def test_soft_forward_takes_a_random_state():
    smooth = Smooth(nn.Linear(4, 3), 3, 0.2, num_noise=8)
    x = torch.rand(5, 4)
    a = smooth(x, random_state=3)
    assert torch.equal(a, smooth(x, random_state=torch.Generator().manual_seed(3)))
    assert not torch.equal(a, smooth(x, random_state=4))
    torch.manual_seed(1)
    b = smooth(x)
    torch.manual_seed(1)
    assert torch.equal(b, smooth(x))


def test_noise_augmentation_random_state():
    """An int gives one stream, continued batch after batch; None draws each batch
    from the global generator."""
    x, y = torch.full((50, 3), 0.5), torch.arange(50)
    one, two = (
        noise_augmentation(0.3, random_state=7),
        noise_augmentation(0.3, random_state=7),
    )
    first = one(None, x, y)[0]
    assert torch.equal(first, two(None, x, y)[0])
    assert not torch.equal(first, one(None, x, y)[0])
    shared = noise_augmentation(0.3)
    torch.manual_seed(2)
    a = shared(None, x, y)[0]
    torch.manual_seed(2)
    assert torch.equal(a, shared(None, x, y)[0])
    with pytest.raises(TypeError):
        noise_augmentation(0.3, random_state="seven")


def test_noise_augmentation_repeats_under_fit_random_state():
    training = pytest.importorskip("statlearn.training")
    x = torch.rand(64, 2, generator=torch.Generator().manual_seed(0))
    y = (x.sum(1) > 1).long()
    transform = noise_augmentation(0.2)  # one transform, reused by both runs

    def run(global_seed):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
        torch.manual_seed(global_seed)
        training.fit(
            model,
            (x, y),
            epochs=2,
            batch_size=16,
            transform=transform,
            quiet=True,
            random_state=5,
        )
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    assert torch.equal(run(1), run(2))
