"""statlearn.robust.theory: the Gaussian model's exact standard and robust errors."""

import math

import numpy as np
import pytest
import torch

from statlearn.robust import theory


def _worst_case_error(w, x, y, eps, norm):
    """Monte Carlo robust error with the exact worst-case perturbation."""
    if norm == "linf":
        delta = -eps * y[:, None] * torch.sign(w)
    else:
        delta = -eps * y[:, None] * w / torch.linalg.vector_norm(w)
    return ((y * ((x + delta) @ w)) <= 0).double().mean().item()


@pytest.mark.parametrize("norm", ["linf", "l2"])
@pytest.mark.parametrize("eps", [0.0, 0.1, 0.3])
def test_closed_form_matches_monte_carlo_with_the_worst_perturbation(norm, eps):
    dim, sigma = 50, 3.0
    theta = torch.ones(dim, dtype=torch.float64)
    w = theory.sample_averaging_learner(2, theta, sigma, random_state=1)[0]
    x, y = theory.sample_gaussian_model(40_000, theta, sigma, random_state=2)
    exact = theory.linear_robust_error(w, theta, sigma, eps, norm).item()
    mc = _worst_case_error(w, x, y.double(), eps, norm)
    se = math.sqrt(exact * (1 - exact) / 40_000)
    assert 0.01 < exact < 0.99  # a regime where the comparison can fail
    assert abs(mc - exact) < 4 * se + 1e-4


def test_robust_error_is_at_least_standard_and_equal_at_zero_budget():
    theta = torch.ones(20, dtype=torch.float64)
    w = theory.sample_averaging_learner(3, theta, 2.0, draws=64, random_state=0)
    std = theory.linear_standard_error(w, theta, 2.0)
    assert std.shape == (64,)
    torch.testing.assert_close(theory.linear_robust_error(w, theta, 2.0, 0.0), std)
    for norm in ("linf", "l2"):
        rob = theory.linear_robust_error(w, theta, 2.0, 0.2, norm)
        assert bool((rob >= std).all()) and bool((rob > std).any())
    # against l_inf the shift is eps ||w||_1 >= eps ||w||_2: never easier than l_2
    assert bool(
        (
            theory.linear_robust_error(w, theta, 2.0, 0.2, "linf")
            >= theory.linear_robust_error(w, theta, 2.0, 0.2, "l2")
        ).all()
    )


def test_standard_error_of_theta_itself_is_the_bayes_error():
    theta = torch.full((9,), 0.5, dtype=torch.float64)
    err = theory.linear_standard_error(theta, theta, 1.5).item()
    z = -torch.linalg.vector_norm(theta).item() / 1.5
    assert err == pytest.approx(0.5 * math.erfc(-z / math.sqrt(2)), rel=1e-12)


def test_sufficient_statistic_has_the_averaging_learners_distribution():
    theta = torch.linspace(-1, 1, 6, dtype=torch.float64)
    n, sigma, reps = 5, 2.0, 4000
    gen = torch.Generator().manual_seed(0)
    ws = []
    for _ in range(reps):
        x, y = theory.sample_gaussian_model(n, theta, sigma, random_state=gen)
        ws.append(theory.averaging_learner(x, y))
    w_data = torch.stack(ws)
    w_stat = theory.sample_averaging_learner(
        n, theta, sigma, draws=reps, random_state=1
    )
    sd = sigma / math.sqrt(n)
    for w in (w_data, w_stat):
        assert torch.allclose(w.mean(0), theta, atol=4 * sd / math.sqrt(reps))
        assert torch.allclose(w.std(0), torch.full_like(theta, sd), rtol=0.06)


def test_sampler_is_deterministic_with_labels_plus_minus_one():
    theta = np.ones(4)
    x1, y1 = theory.sample_gaussian_model(100, theta, 1.0, random_state=7)
    x2, y2 = theory.sample_gaussian_model(100, theta, 1.0, random_state=7)
    torch.testing.assert_close(x1, x2)
    assert set(y1.tolist()) == {-1, 1} and torch.equal(y1, y2)
    assert x1.shape == (100, 4)


def test_samples_needed_is_monotone_in_eps_and_target():
    """With one random_state every call sees the same draws, so the answer is monotone
    in eps and in the target."""
    dims = [256, 1024]
    sigma = [d**0.25 for d in dims]
    by_eps = [
        theory.samples_needed(dims, sigma, eps, 0.05, draws=50, random_state=0)
        for eps in (0.1, 0.25, 0.4)
    ]
    assert all((a <= b).all() for a, b in zip(by_eps, by_eps[1:]))
    assert (by_eps[0] < by_eps[-1]).all()
    by_target = [
        theory.samples_needed(1024, 32**0.5, 0.5, t, draws=50, random_state=0)
        for t in (0.2, 0.1, 0.05)
    ]
    assert by_target[0] <= by_target[1] <= by_target[2] and by_target[0] < by_target[2]


def test_samples_needed_is_the_smallest_n_reaching_the_target():
    dim, sigma = 1024, 1024**0.25
    n = theory.samples_needed(dim, sigma, 0.5, 0.05, draws=40, random_state=3)
    g = torch.Generator().manual_seed(3)
    noise = torch.randn(40, dim, generator=g, dtype=torch.float64)
    theta = torch.ones(dim, dtype=torch.float64)

    def err(m):
        w = theta + sigma / math.sqrt(m) * noise
        return theory.linear_robust_error(w, theta, sigma, 0.5).mean().item()

    assert err(n) <= 0.05 < err(n - 1)
    standard = theory.samples_needed(
        dim, sigma, 0.5, 0.05, robust=False, draws=40, random_state=3
    )
    assert standard < n


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: theory.samples_needed(0, 1.0, 0.1, 0.1), "dim"),
        (lambda: theory.samples_needed(4, 0.0, 0.1, 0.1), "sigma"),
        (lambda: theory.samples_needed(4, 1.0, -0.1, 0.1), "eps"),
        (lambda: theory.samples_needed(4, 1.0, 0.1, 0.1, norm="l1"), "norm"),
        (lambda: theory.samples_needed(4, 1.0, 0.1, 1.5), "target"),
        (lambda: theory.samples_needed([4, 8], [1.0], 0.1, 0.1), "one entry"),
        (lambda: theory.samples_needed(16, 2.0, 0.5, 0.05), "stays above"),
        (lambda: theory.linear_robust_error([1.0, 1.0], [1.0], 1.0, 0.1), "w must"),
        (lambda: theory.linear_robust_error([0.0], [1.0], 1.0, 0.1), "zero vector"),
        (lambda: theory.linear_robust_error([1.0], [1.0], 1.0, 0.1, "l3"), "norm"),
        (lambda: theory.linear_standard_error([1.0], [1.0], -1.0), "sigma"),
        (lambda: theory.sample_gaussian_model(0, [1.0], 1.0), "n"),
        (lambda: theory.sample_gaussian_model(3, [[1.0]], 1.0), "theta"),
        (lambda: theory.averaging_learner(np.ones((3, 2)), [1, 0, 1]), "-1 or"),
        (lambda: theory.averaging_learner(np.ones((3, 2)), [1, 1]), "x must"),
    ],
)
def test_value_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_samples_needed_follows_the_randomness_rule():
    """random_state=None (the default) follows the global generator; an int, a NumPy
    generator and a torch.Generator seeded alike give one answer."""
    args = (1024, 1024**0.25, 0.5, 0.05)
    torch.manual_seed(0)
    a = theory.samples_needed(*args, draws=20)
    torch.manual_seed(0)
    b = theory.samples_needed(*args, draws=20)
    assert a == b
    by_int = theory.samples_needed(*args, draws=20, random_state=5)
    by_gen = theory.samples_needed(
        *args, draws=20, random_state=torch.Generator().manual_seed(5)
    )
    assert by_int == by_gen
    with pytest.raises(TypeError):
        theory.samples_needed(*args, draws=20, random_state="five")


@pytest.mark.parametrize("scale", [1e-170, 1e-300, 1.0, 1e160, 1e300])
@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_robust_error_does_not_depend_on_the_scale_of_w(scale, norm):
    d = 50
    theta = torch.ones(d, dtype=torch.float64)
    w = torch.linspace(0.5, 1.5, d, dtype=torch.float64)
    ref = theory.linear_robust_error(w, theta, 4.0, 0.1, norm)
    got = theory.linear_robust_error(scale * w, theta, 4.0, 0.1, norm)
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=0)
    std = theory.linear_standard_error(scale * w, theta, 4.0)
    torch.testing.assert_close(std, theory.linear_standard_error(w, theta, 4.0))


def test_robust_error_of_a_tiny_all_ones_w_is_the_closed_form():
    # w = c * ones: Phi((eps * D - D) / (sigma * sqrt(D))) whatever c > 0 is
    d, sigma, eps = 100, 2.0, 0.3
    want = 0.5 * math.erfc(-((eps - 1) * math.sqrt(d) / sigma) / math.sqrt(2))
    for c in (1e-170, 1e160):
        w = c * torch.ones(d, dtype=torch.float64)
        got = theory.linear_robust_error(w, torch.ones(d), sigma, eps)
        assert math.isclose(float(got), want, rel_tol=1e-12)


@pytest.mark.parametrize(
    "dim, exc, match",
    [
        (10.0, TypeError, "dim must be an int or a sequence of ints; got float"),
        ([], ValueError, "dim must hold at least one"),
        ([10, 2.5], TypeError, "dim must be an int"),
        (True, TypeError, "dim must be an int"),
    ],
)
def test_samples_needed_says_what_dim_must_be(dim, exc, match):
    with pytest.raises(exc, match=match):
        theory.samples_needed(dim, 1.0, 0.1, 0.2, draws=4)


def test_samples_needed_returns_counts_as_python_and_numpy_integers():
    one = theory.samples_needed(4, 1.0, 0.1, 0.2, draws=4, random_state=0)
    many = theory.samples_needed(
        np.array([4, 8]), 1.0, 0.1, 0.2, draws=4, random_state=0
    )
    assert isinstance(one, int)
    assert isinstance(many, np.ndarray) and many.dtype == np.int64
    assert many[0] == one
    with pytest.raises(TypeError, match="sigma must be a number or a sequence"):
        theory.samples_needed(4, "1", 0.1, 0.2)
