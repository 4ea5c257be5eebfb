"""Tests for statlearn.latent.hmm.

hmmlearn cross-checks, brute force, scan vs sequential, robustness, and the models'
E-step against the taught log-space posteriors.
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from statlearn.latent import (
    CategoricalHMM,
    GaussianHMM,
    backward,
    forward,
    posteriors,
    viterbi,
)
from statlearn.latent.hmm import _fast

hmmlearn_hmm = pytest.importorskip("hmmlearn.hmm")

F64 = dict(dtype=torch.float64)


def _random_params(K: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return rng.dirichlet(np.ones(K)), rng.dirichlet(np.ones(K), size=K)


def _gaussian_pair(covariance_type: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    K, D = 3, 2
    pi, A = _random_params(K, rng)
    means = rng.normal(size=(K, D)) * 3
    if covariance_type == "diag":
        covars = rng.uniform(0.5, 2.0, size=(K, D))
    else:
        covars = np.stack(
            [np.cov(rng.normal(size=(6, D)).T) + np.eye(D) for _ in range(K)]
        )
    ref = hmmlearn_hmm.GaussianHMM(K, covariance_type=covariance_type)
    ours = GaussianHMM(K, covariance_type=covariance_type)
    for model in (ref, ours):
        model.startprob_, model.transmat_, model.means_, model.covars_ = (
            pi,
            A,
            means,
            covars,
        )
    X, _ = ref.sample(240, random_state=seed + 1)
    return ref, ours, X, [100, 90, 50]


def _categorical_pair(seed: int = 0):
    rng = np.random.default_rng(seed)
    K, F = 3, 4
    pi, A = _random_params(K, rng)
    B = rng.dirichlet(np.ones(F), size=K)
    ref = hmmlearn_hmm.CategoricalHMM(K, n_features=F)
    ours = CategoricalHMM(K, n_features=F)
    for model in (ref, ours):
        model.startprob_, model.transmat_, model.emissionprob_ = pi, A, B
    X, _ = ref.sample(200, random_state=seed + 1)
    return ref, ours, X, [120, 1, 79]


# --------------------------------------------------------------------------------------
# Agreement with hmmlearn on identical parameters
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["diag", "full", "categorical"])
def test_matches_hmmlearn(kind):
    ref, ours, X, lengths = (
        _categorical_pair() if kind == "categorical" else _gaussian_pair(kind)
    )
    assert ours.score(X, lengths) == pytest.approx(ref.score(X, lengths), rel=1e-10)
    lp_ref, post_ref = ref.score_samples(X, lengths)
    lp, post = ours.score_samples(X, lengths)
    assert lp == pytest.approx(lp_ref, rel=1e-10)
    np.testing.assert_allclose(post, post_ref, atol=1e-9)
    np.testing.assert_allclose(
        ours.predict_proba(X, lengths), ref.predict_proba(X, lengths), atol=1e-9
    )
    vp_ref, path_ref = ref.decode(X, lengths)
    vp, path = ours.decode(X, lengths)
    assert vp == pytest.approx(vp_ref, rel=1e-10)
    np.testing.assert_array_equal(path, path_ref)
    np.testing.assert_array_equal(ours.predict(X, lengths), ref.predict(X, lengths))
    mp_ref, map_ref = ref.decode(X, lengths, algorithm="map")
    mp, map_path = ours.decode(X, lengths, algorithm="map")
    assert math.exp(mp) == pytest.approx(float(np.prod(post_ref.max(1))), rel=1e-8)
    np.testing.assert_array_equal(map_path, map_ref)


@pytest.mark.parametrize("kind", ["diag", "full"])
def test_emission_log_likelihood_and_covars_shape_match_hmmlearn(kind):
    ref, ours, X, lengths = _gaussian_pair(kind)
    em = ours._check_emissions(torch.float64, torch.device("cpu"))
    np.testing.assert_allclose(
        ours._log_emission(torch.as_tensor(X), em).numpy(),
        ref._compute_log_likelihood(X),
        atol=1e-10,
    )
    assert tuple(ours.covars_.shape) == ref.covars_.shape == (3, 2, 2)
    np.testing.assert_allclose(ours.covars_, ref.covars_)


@pytest.mark.parametrize("kind", ["diag", "full", "categorical"])
def test_one_baum_welch_step_matches_hmmlearn(kind):
    """From the same parameters, one E- and M-step gives hmmlearn's new parameters."""
    ref, ours, X, lengths = (
        _categorical_pair(1) if kind == "categorical" else _gaussian_pair(kind, 1)
    )
    ref.init_params, ref.n_iter, ours.init_params, ours.n_iter = "", 1, "", 1
    ours.tol = -1.0  # exactly one step, by request (no ConvergenceWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref.fit(X, lengths)
    ours.fit(X, lengths)
    np.testing.assert_allclose(ours.startprob_, ref.startprob_, atol=1e-9)
    np.testing.assert_allclose(ours.transmat_, ref.transmat_, atol=1e-9)
    if kind == "categorical":
        np.testing.assert_allclose(ours.emissionprob_, ref.emissionprob_, atol=1e-9)
    else:
        np.testing.assert_allclose(ours.means_, ref.means_, atol=1e-9)
        np.testing.assert_allclose(ours.covars_, ref.covars_, atol=1e-8)
    assert ours.history_["log_likelihood"][0] == pytest.approx(
        ref.monitor_.history[0], rel=1e-10
    )


# --------------------------------------------------------------------------------------
# Brute force and a worked example
# --------------------------------------------------------------------------------------


def _brute_force(log_pi, log_A, E):
    T, K = E.shape
    paths = list(itertools.product(range(K), repeat=T))
    logp = []
    for z in paths:
        lp = log_pi[z[0]] + E[0, z[0]]
        for t in range(1, T):
            lp += log_A[z[t - 1], z[t]] + E[t, z[t]]
        logp.append(lp)
    logp = torch.stack(logp)
    ll = torch.logsumexp(logp, 0)
    w = torch.exp(logp - ll)
    gamma = torch.zeros(T, K, dtype=E.dtype)
    xi = torch.zeros(K, K, dtype=E.dtype)
    for wz, z in zip(w, paths):
        for t in range(T):
            gamma[t, z[t]] += wz
        for t in range(1, T):
            xi[z[t - 1], z[t]] += wz
    best = int(torch.argmax(logp))
    return ll, gamma, xi, logp[best], torch.tensor(paths[best])


@pytest.mark.parametrize("method", ["sequential", "scan"])
@pytest.mark.parametrize("seed", [0, 1])
def test_brute_force_enumeration(method, seed):
    g = torch.Generator().manual_seed(seed)
    K, T = 3, 5
    log_pi = torch.log_softmax(torch.randn(K, generator=g, dtype=torch.float64), 0)
    log_A = torch.log_softmax(torch.randn(K, K, generator=g, dtype=torch.float64), 1)
    E = torch.randn(T, K, generator=g, dtype=torch.float64) * 2
    ll, gamma, xi, best_lp, best_path = _brute_force(log_pi, log_A, E)
    post = posteriors(log_pi, log_A, E, method=method)
    assert float(
        forward(log_pi, log_A, E, method=method).log_likelihood
    ) == pytest.approx(float(ll), rel=1e-12)
    assert float(post.log_likelihood) == pytest.approx(float(ll), rel=1e-12)
    torch.testing.assert_close(post.gamma, gamma)
    torch.testing.assert_close(post.xi, xi)
    vit = viterbi(log_pi, log_A, E, method=method)
    assert float(vit.log_prob) == pytest.approx(float(best_lp), rel=1e-12)
    torch.testing.assert_close(vit.states, best_path)
    # alpha_t * beta_t sums to p(x) at every step
    la = forward(log_pi, log_A, E, method=method).log_alpha
    lb = backward(log_A, E, method=method)
    torch.testing.assert_close(torch.logsumexp(la + lb, -1), ll.expand(T))


def test_textbook_viterbi_example():
    """Wikipedia's Viterbi example (Healthy/Fever; observations normal, cold, dizzy)."""
    pi = torch.tensor([0.6, 0.4], dtype=torch.float64)
    A = torch.tensor([[0.7, 0.3], [0.4, 0.6]], dtype=torch.float64)
    B = torch.tensor([[0.5, 0.4, 0.1], [0.1, 0.3, 0.6]], dtype=torch.float64)
    obs = torch.tensor([0, 1, 2])
    res = viterbi(pi.log(), A.log(), B.log().t()[obs])
    assert math.exp(float(res.log_prob)) == pytest.approx(0.01512, rel=1e-9)
    assert res.states.tolist() == [0, 0, 1]
    model = CategoricalHMM(2, n_features=3)
    model.startprob_, model.transmat_, model.emissionprob_ = pi, A, B
    # p(normal, cold, dizzy) by hand: alpha_3 = (0.0077 * ... ) summed; equals the brute
    # force sum
    total = sum(
        float(pi[a] * B[a, 0] * A[a, b] * B[b, 1] * A[b, c] * B[c, 2])
        for a in range(2)
        for b in range(2)
        for c in range(2)
    )
    assert math.exp(model.score(obs[:, None])) == pytest.approx(total, rel=1e-12)
    assert total == pytest.approx(0.03628, abs=1e-5)


# --------------------------------------------------------------------------------------
# Batching, scan vs sequential
# --------------------------------------------------------------------------------------


def _random_core(seed, N, T, K, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    log_pi = torch.log_softmax(torch.randn(K, generator=g, dtype=dtype), 0)
    log_A = torch.log_softmax(torch.randn(K, K, generator=g, dtype=dtype) * 2, 1)
    E = torch.randn(N, T, K, generator=g, dtype=dtype) * 3
    lengths = torch.randint(1, T + 1, (N,), generator=g)
    lengths[0] = T
    return log_pi, log_A, E, lengths


@pytest.mark.parametrize("method", ["sequential", "scan"])
def test_padded_batch_equals_each_sequence_alone(method):
    log_pi, log_A, E, lengths = _random_core(0, 5, 37, 4)
    E_noisy = E.clone()
    mask = torch.arange(37) < lengths[:, None]
    E_noisy[~mask] = 1e3  # padding content must not matter
    f = forward(log_pi, log_A, E_noisy, lengths=lengths, method=method)
    b = backward(log_A, E_noisy, mask=mask, method=method)
    p = posteriors(log_pi, log_A, E_noisy, lengths=lengths, method=method)
    v = viterbi(log_pi, log_A, E_noisy, lengths=lengths, method=method)
    for n, L in enumerate(lengths.tolist()):
        f1 = forward(log_pi, log_A, E[n, :L], method=method)
        torch.testing.assert_close(f.log_likelihood[n], f1.log_likelihood)
        torch.testing.assert_close(f.log_alpha[n, :L], f1.log_alpha)
        torch.testing.assert_close(b[n, :L], backward(log_A, E[n, :L], method=method))
        p1 = posteriors(log_pi, log_A, E[n, :L], method=method)
        torch.testing.assert_close(p.gamma[n, :L], p1.gamma)
        torch.testing.assert_close(p.xi[n], p1.xi)
        v1 = viterbi(log_pi, log_A, E[n, :L], method=method)
        torch.testing.assert_close(v.log_prob[n], v1.log_prob)
        torch.testing.assert_close(v.states[n, :L], v1.states)
        assert bool((v.states[n, L:] == -1).all()) and bool((p.gamma[n, L:] == 0).all())


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    N=st.integers(1, 4),
    T=st.integers(1, 70),
    K=st.integers(1, 5),
)
def test_scan_equals_sequential(seed, N, T, K):
    log_pi, log_A, E, lengths = _random_core(seed, N, T, K)
    kw = dict(lengths=lengths)
    fs, fq = (
        forward(log_pi, log_A, E, method="sequential", **kw),
        forward(log_pi, log_A, E, method="scan", **kw),
    )
    torch.testing.assert_close(fs.log_likelihood, fq.log_likelihood)
    torch.testing.assert_close(fs.log_alpha, fq.log_alpha)
    torch.testing.assert_close(
        backward(log_A, E, method="sequential", **kw),
        backward(log_A, E, method="scan", **kw),
    )
    ps, pq = (
        posteriors(log_pi, log_A, E, method="sequential", **kw),
        posteriors(log_pi, log_A, E, method="scan", **kw),
    )
    torch.testing.assert_close(ps.gamma, pq.gamma)
    torch.testing.assert_close(ps.xi, pq.xi)
    vs, vq = (
        viterbi(log_pi, log_A, E, method="sequential", **kw),
        viterbi(log_pi, log_A, E, method="scan", **kw),
    )
    torch.testing.assert_close(vs.log_prob, vq.log_prob)
    torch.testing.assert_close(vs.states, vq.states)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), T=st.integers(2, 60), K=st.integers(1, 4))
def test_posteriors_are_distributions(seed, T, K):
    log_pi, log_A, E, lengths = _random_core(seed, 3, T, K)
    p = posteriors(log_pi, log_A, E, lengths=lengths)
    torch.testing.assert_close(
        p.gamma.sum(-1), (torch.arange(T) < lengths[:, None]).double()
    )
    torch.testing.assert_close(p.xi.sum((1, 2)), (lengths - 1).double())
    assert bool((p.gamma >= 0).all()) and bool((p.xi >= 0).all())
    # summing xi over the next state gives gamma over all but the last step
    last = (lengths - 1)[:, None, None]
    torch.testing.assert_close(
        p.xi.sum(2),
        p.gamma.sum(1) - p.gamma.gather(1, last.expand(-1, 1, K)).squeeze(1),
    )


def test_model_fast_paths_match_log_space():
    """The models' scaled recursion and probability scan agree with log space."""
    log_pi, log_A, E, lengths = _random_core(3, 4, 50, 3)
    mask = torch.arange(50) < lengths[:, None]
    ref = posteriors(log_pi, log_A, E, lengths=lengths, method="sequential")
    fast = _fast.posteriors_scaled(log_pi.expand(4, 3), log_A, E, mask, True)
    scan = _fast.posteriors_prob_scan(log_pi.expand(4, 3), log_A, E, mask)
    for other in (fast, scan):
        torch.testing.assert_close(other.log_likelihood, ref.log_likelihood)
        torch.testing.assert_close(other.gamma, ref.gamma)
        torch.testing.assert_close(other.xi, ref.xi)
    torch.testing.assert_close(
        _fast.log_likelihood_reduce(log_pi.expand(4, 3), log_A, E, mask),
        ref.log_likelihood,
    )
    for T in (1, 2, 17, 50):  # blockwise products need unpadded sequences
        full = posteriors(log_pi, log_A, E[:, :T], method="sequential").log_likelihood
        torch.testing.assert_close(
            _fast.log_likelihood_blocked(log_pi.expand(4, 3), log_A, E[:, :T]),
            full,
        )


def _random_model(kind: str, seed: int, K: int = 3):
    """A model with random parameters (not fitted), and random data for it."""
    rng = np.random.default_rng(seed)
    pi, A = _random_params(K, rng)
    if kind == "categorical":
        F = 5
        model = CategoricalHMM(K, n_features=F)
        model.emissionprob_ = rng.dirichlet(np.ones(F), size=K)
        draw = lambda n: rng.integers(0, F, size=(n, 1))  # noqa: E731
    else:
        D = 2
        model = GaussianHMM(K, covariance_type=kind)
        model.means_ = rng.normal(size=(K, D)) * 2
        if kind == "diag":
            model.covars_ = rng.uniform(0.5, 2.0, size=(K, D))
        else:
            G = rng.normal(size=(K, D, D))
            model.covars_ = G @ G.transpose(0, 2, 1) + 0.5 * np.eye(D)
        draw = lambda n: rng.normal(size=(n, D)) * 3  # noqa: E731
    model.startprob_, model.transmat_ = pi, A
    return model, draw


@pytest.mark.parametrize("kind", ["categorical", "diag", "full"])
@pytest.mark.parametrize(
    "lengths",
    # ragged and equal-length sequences take the scaled recursion, long ones the
    # probability scan
    [[61, 1, 38, 100], [50, 50, 50], [1500, 700]],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_model_e_step_equals_the_taught_posteriors(kind, lengths, seed):
    """The models' E-step (the fast paths through _do_estep, score_samples and score)
    gives the log-likelihood and posteriors of the log-space ``posteriors`` that
    chapter 2 teaches, on random parameters and random data."""
    model, draw = _random_model(kind, seed)
    X = draw(sum(lengths))
    Xt, _, lay = model._prepare(X, lengths)
    current = model._check_params(torch.float64, torch.device("cpu"))
    stats, log_prob = model._do_estep(Xt, lay, current, model._param_letters)
    pi, A, em = current
    # the taught route: pad the emissions of each sequence, then forward-backward
    E = model._log_emission(Xt, em)
    E_pad = torch.zeros(len(lengths), max(lengths), model.n_components, **F64)
    for n, piece in enumerate(torch.split(E, lengths)):
        E_pad[n, : len(piece)] = piece
    ref = posteriors(pi.log(), A.log(), E_pad, lengths=lengths)
    gamma = torch.cat([ref.gamma[n, :L] for n, L in enumerate(lengths)])

    assert log_prob == pytest.approx(float(ref.log_likelihood.sum()), rel=1e-12)
    assert model.score(X, lengths) == pytest.approx(log_prob, rel=1e-12)
    lp, post = model.score_samples(X, lengths)
    assert lp == pytest.approx(log_prob, rel=1e-12)
    np.testing.assert_allclose(post, gamma.numpy(), rtol=0, atol=1e-10)
    tight = dict(rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(stats["start"], ref.gamma[:, 0].sum(0), **tight)
    torch.testing.assert_close(stats["trans"], ref.xi.sum(0), **tight)
    if kind == "categorical":
        one_hot = torch.nn.functional.one_hot(Xt, 5).to(torch.float64)
        torch.testing.assert_close(stats["obs"], gamma.T @ one_hot, **tight)
    else:
        torch.testing.assert_close(stats["post"], gamma.sum(0), **tight)
        torch.testing.assert_close(stats["obs"], gamma.T @ Xt, **tight)


def test_long_ragged_sequences_in_models_match_hmmlearn():
    """Two long sequences of different lengths take the models' padded scan paths."""
    model, X, _ = _casino_like_gaussian(T=5000, seed=2)
    ref = hmmlearn_hmm.GaussianHMM(2)
    ref.startprob_, ref.transmat_ = model.startprob_, model.transmat_
    ref.means_, ref.covars_ = model.means_, np.array([[1.0], [0.5]])
    lengths = [3800, 1200]
    assert model.score(X, lengths) == pytest.approx(ref.score(X, lengths), rel=1e-10)
    lp, post = model.score_samples(X, lengths)
    lp_ref, post_ref = ref.score_samples(X, lengths)
    assert lp == pytest.approx(lp_ref, rel=1e-10)
    np.testing.assert_allclose(post, post_ref, atol=1e-8)
    vp, path = model.decode(X, lengths)
    vp_ref, path_ref = ref.decode(X, lengths)
    assert vp == pytest.approx(vp_ref, rel=1e-10)
    assert (path == path_ref).mean() > 0.999  # exact ties aside, the same path


# --------------------------------------------------------------------------------------
# Robustness: long sequences, outliers, unvisited states, zero rows
# --------------------------------------------------------------------------------------


def _casino_like_gaussian(T=100_000, seed=0):
    model = GaussianHMM(2)
    model.startprob_ = np.array([0.5, 0.5])
    model.transmat_ = np.array([[0.95, 0.05], [0.1, 0.9]])
    model.means_ = np.array([[0.0], [3.0]])
    model.covars_ = np.array([[1.0], [0.5]])
    X, Z = model.sample(T, random_state=seed)
    return model, X, Z


def test_long_sequence_with_outlier_is_finite():
    model, X, Z = _casino_like_gaussian()
    X = X.copy()
    X[50_000] = 1e6  # far from every state
    ref = hmmlearn_hmm.GaussianHMM(2)
    ref.startprob_, ref.transmat_, ref.means_, ref.covars_ = (
        np.array([0.5, 0.5]),
        np.array([[0.95, 0.05], [0.1, 0.9]]),
        np.array([[0.0], [3.0]]),
        np.array([[1.0], [0.5]]),
    )
    score = model.score(X)
    assert math.isfinite(score)
    assert score == pytest.approx(ref.score(X), rel=1e-6)
    lp, post = model.score_samples(X)
    assert math.isfinite(lp) and np.isfinite(post).all()
    np.testing.assert_allclose(post.sum(1), 1.0, atol=1e-4, rtol=0)
    vlp, states = model.decode(X)
    assert math.isfinite(vlp) and states.shape == (100_000,)
    assert (states == Z).mean() > 0.8


def test_long_sequence_scan_functions_match_sequential_on_a_prefix():
    model, X, _ = _casino_like_gaussian(T=3000, seed=1)
    X = torch.as_tensor(X)
    E = model._log_emission(
        X, model._check_emissions(torch.float64, torch.device("cpu"))
    )
    log_pi, log_A = (
        torch.log(torch.as_tensor(model.startprob_)),
        torch.log(torch.as_tensor(model.transmat_)),
    )
    for fn in (forward, posteriors, viterbi):
        a, b = (
            fn(log_pi, log_A, E, method="scan"),
            fn(log_pi, log_A, E, method="sequential"),
        )
        for x, y in zip(a, b):
            torch.testing.assert_close(x, y)


def test_zero_transition_row_and_impossible_sequence_give_no_nan():
    log_pi = torch.log(torch.tensor([0.5, 0.5, 0.0], dtype=torch.float64))
    # state 2: zero row
    A = torch.tensor(
        [[0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.0, 0.0, 0.0]], dtype=torch.float64
    )
    E = torch.randn(2, 20, 3, dtype=torch.float64)
    E[1, 5] = -math.inf  # observation impossible in every state: p(x) = 0
    for method in ("sequential", "scan"):
        p = posteriors(log_pi, A.log(), E, method=method)
        assert (
            math.isfinite(float(p.log_likelihood[0]))
            and float(p.log_likelihood[1]) == -math.inf
        )
        assert not bool(torch.isnan(p.gamma).any()) and not bool(
            torch.isnan(p.xi).any()
        )
        f = forward(log_pi, A.log(), E, method=method)
        assert not bool(torch.isnan(f.log_alpha).any())
        assert not bool(torch.isnan(backward(A.log(), E, method=method)).any())
        v = viterbi(log_pi, A.log(), E, method=method)
        assert not bool(torch.isnan(v.log_prob).any())
    model = GaussianHMM(3)
    model.startprob_, model.transmat_ = np.array([0.5, 0.5, 0.0]), A.numpy()
    model.means_, model.covars_ = np.array([[0.0], [2.0], [50.0]]), np.ones((3, 1))
    X = np.random.default_rng(0).normal(size=(300, 1))
    assert math.isfinite(model.score(X))
    assert np.isfinite(model.predict_proba(X)).all()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_unvisited_state_and_outlier_during_fit_stay_finite():
    rng = np.random.default_rng(0)
    X = np.concatenate(
        [rng.normal(0, 1, size=(400, 2)), [[1e4, -1e4]], rng.normal(0, 1, size=(99, 2))]
    )
    model = GaussianHMM(4, n_iter=15, random_state=0, init_params="stc")
    # states 2, 3: no data near
    model.means_ = np.array([[0.0, 0.0], [0.5, 0.5], [100.0, 100.0], [-100.0, 100.0]])
    model.fit(X, [250, 250])
    for name in ("startprob_", "transmat_", "means_"):
        assert np.isfinite(getattr(model, name)).all(), name
    assert np.isfinite(model.covars_).all()
    assert all(math.isfinite(h) for h in model.history_["log_likelihood"])
    # symbols 2..4 unseen
    cat = CategoricalHMM(3, n_features=5, random_state=0).fit(
        rng.integers(0, 2, size=(300, 1))
    )
    assert np.isfinite(cat.emissionprob_).all() and np.isfinite(cat.transmat_).all()


# --------------------------------------------------------------------------------------
# Baum-Welch
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_baum_welch_is_monotone(seed):
    rng = np.random.default_rng(seed)
    truth = CategoricalHMM(2, n_features=6)
    truth.startprob_ = np.array([0.5, 0.5])
    truth.transmat_ = np.array([[0.95, 0.05], [0.1, 0.9]])
    truth.emissionprob_ = np.vstack([np.full(6, 1 / 6), [0.1] * 5 + [0.5]])
    X, _ = truth.sample(2000, random_state=seed)
    cat = CategoricalHMM(2, n_iter=60, tol=-1.0, random_state=seed).fit(X, [500] * 4)
    h = np.array(cat.history_["log_likelihood"])
    assert len(h) == 60 and np.all(np.diff(h) >= -1e-3 * np.abs(h[1:]) * 1e-3)
    Xg = np.concatenate(
        [rng.normal(0, 1, size=(300, 2)), rng.normal(4, 1, size=(300, 2))]
    )
    for cov in ("diag", "full"):
        g = GaussianHMM(
            3, covariance_type=cov, n_iter=30, tol=-1.0, random_state=seed
        ).fit(Xg, [200, 400])
        hg = np.array(g.history_["log_likelihood"])
        assert np.all(np.diff(hg) >= -1e-6 * np.abs(hg[1:])), cov


def test_fit_recovers_the_dishonest_casino():
    truth = CategoricalHMM(2, n_features=6)
    truth.startprob_ = np.array([0.5, 0.5])
    truth.transmat_ = np.array([[0.95, 0.05], [0.1, 0.9]])
    truth.emissionprob_ = np.vstack([np.full(6, 1 / 6), [0.1] * 5 + [0.5]])
    X, Z = truth.sample(20_000, random_state=0)
    model = CategoricalHMM(2, n_iter=500, tol=1e-2, random_state=0).fit(X, [2000] * 10)
    perm = (
        [0, 1]
        if float(model.emissionprob_[0, 5]) < float(model.emissionprob_[1, 5])
        else [1, 0]
    )
    np.testing.assert_allclose(
        model.emissionprob_[perm], truth.emissionprob_, atol=0.03
    )
    np.testing.assert_allclose(
        model.transmat_[perm][:, perm], truth.transmat_, atol=0.03
    )
    assert model.converged_ and model.n_iter_ < 500
    acc = (model.predict(X, [2000] * 10) == np.array(perm)[Z]).mean()
    assert acc > 0.75


def test_gaussian_fit_recovers_means_and_variances():
    model, X, Z = _casino_like_gaussian(T=5000, seed=3)
    fit = GaussianHMM(2, n_iter=100, random_state=0).fit(X)
    order = np.argsort(fit.means_[:, 0])
    np.testing.assert_allclose(fit.means_[order], [[0.0], [3.0]], atol=0.1, rtol=0)
    np.testing.assert_allclose(fit.covars_[order, 0, 0], [1.0, 0.5], atol=0.1, rtol=0)
    np.testing.assert_allclose(
        fit.transmat_[order][:, order], [[0.95, 0.05], [0.1, 0.9]], atol=0.03, rtol=0
    )


def test_sample_shapes_and_frequencies():
    truth = CategoricalHMM(2, n_features=3, random_state=0)
    truth.startprob_ = np.array([1.0, 0.0])
    truth.transmat_ = np.array([[0.0, 1.0], [1.0, 0.0]])
    truth.emissionprob_ = np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])
    X, Z = truth.sample(1000)
    assert X.shape == (1000, 1) and Z.shape == (1000,)
    assert Z[:4].tolist() == [0, 1, 0, 1]
    assert (X[Z == 0] == 0).all() and 0.4 < (X[Z == 1] == 1).mean() < 0.6
    g = GaussianHMM(1, covariance_type="full")
    g.startprob_, g.transmat_, g.means_, g.covars_ = (
        [1.0],
        [[1.0]],
        [[1.0, -1.0]],
        [[[1.0, 0.8], [0.8, 1.0]]],
    )
    Xg, _ = g.sample(20_000, random_state=1)
    assert Xg.shape == (20_000, 2)
    np.testing.assert_allclose(np.cov(Xg.T), [[1.0, 0.8], [0.8, 1.0]], atol=0.05)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_float32_input_and_torch_tensors():
    _, ours, X, lengths = _gaussian_pair("diag")
    ref_score = ours.score(X, lengths)
    s32 = ours.score(torch.as_tensor(X, dtype=torch.float32), torch.tensor(lengths))
    assert s32 == pytest.approx(ref_score, rel=1e-5)
    fit = GaussianHMM(3, random_state=0).fit(
        torch.as_tensor(X, dtype=torch.float32), lengths
    )
    assert fit.means_.dtype == torch.float32 and fit.transmat_.dtype == torch.float32


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------


def test_value_errors_models():
    _, ours, X, lengths = _categorical_pair()
    with pytest.raises(ValueError, match="symbols in"):
        ours.score(np.array([[0], [4]]))
    with pytest.raises(ValueError, match="symbols in"):
        ours.score(np.array([[0], [-1]]))
    with pytest.raises(ValueError, match="integer symbols"):
        ours.score(np.array([[0.5], [1.0]]))
    with pytest.raises(ValueError, match="sum to len"):
        ours.score(X, [100, 50])
    with pytest.raises(ValueError, match="positive"):
        ours.score(X, [250, -50])
    with pytest.raises(ValueError, match="integers"):
        ours.score(X, [199.5, 0.5])
    with pytest.raises(ValueError, match="2-D"):
        ours.score(np.zeros((4, 2), dtype=int))
    _, g, Xg, lg = _gaussian_pair("diag")
    with pytest.raises(ValueError, match="2-D"):
        g.score(Xg[:, 0])
    with pytest.raises(ValueError, match="NaN"):
        bad = Xg.copy()
        bad[3, 1] = np.nan
        g.score(bad)
    with pytest.raises(ValueError, match="features"):
        g.score(np.zeros((10, 3)))
    with pytest.raises(ValueError, match="covariance_type"):
        GaussianHMM(2, covariance_type="tied").fit(Xg)
    with pytest.raises(ValueError, match="n_components"):
        GaussianHMM(500).fit(Xg[:10])
    with pytest.raises(ValueError, match="params"):
        GaussianHMM(2, params="stx").fit(Xg)
    with pytest.raises(ValueError, match="tol"):
        GaussianHMM(2, tol=float("nan")).fit(Xg)
    with pytest.raises(ValueError, match="n_iter"):
        GaussianHMM(2, n_iter=0).fit(Xg)
    with pytest.raises(ValueError, match="algorithm"):
        g.decode(Xg, algorithm="beam")
    g.transmat_ = np.array([[0.5, 0.4, 0.0], [0.3, 0.3, 0.4], [0.2, 0.2, 0.6]])
    with pytest.raises(ValueError, match="sum to 1"):
        g.score(Xg)
    _, g2, _, _ = _gaussian_pair("diag")
    g2.covars_ = -np.ones((3, 2))
    with pytest.raises(ValueError, match="positive"):
        g2.score(Xg)
    _, g3, _, _ = _gaussian_pair("full")
    g3.covars_ = np.stack([np.array([[1.0, 2.0], [2.0, 1.0]])] * 3)
    with pytest.raises(ValueError, match="positive definite"):
        g3.score(Xg)
    with pytest.raises(ValueError, match="no (startprob_|means_)"):
        GaussianHMM(2).score(Xg)
    with pytest.raises(ValueError, match="no startprob_"):
        CategoricalHMM(2).score(X)


def test_value_errors_core_functions():
    log_pi, log_A, E, lengths = _random_core(0, 3, 10, 2)
    with pytest.raises(ValueError, match="method"):
        forward(log_pi, log_A, E, method="parallel")
    with pytest.raises(ValueError, match="log_transmat"):
        forward(log_pi, torch.zeros(3, 3), E)
    with pytest.raises(ValueError, match="log_startprob"):
        forward(torch.zeros(3), log_A, E)
    with pytest.raises(ValueError, match="log_emission"):
        forward(log_pi, log_A, E[0, 0])
    with pytest.raises(ValueError, match="NaN"):
        bad = E.clone()
        bad[0, 0, 0] = math.nan
        posteriors(log_pi, log_A, bad)
    with pytest.raises(ValueError, match="lengths"):
        viterbi(log_pi, log_A, E, lengths=[10, 11, 3])
    with pytest.raises(ValueError, match="lengths"):
        backward(log_A, E, lengths=[10, 0, 3])
    with pytest.raises(ValueError, match="lengths"):
        backward(log_A, E, lengths=[10, 3])
    with pytest.raises(ValueError, match="left-aligned"):
        mask = torch.ones(3, 10, dtype=torch.bool)
        mask[1, 2] = False
        forward(log_pi, log_A, E, mask=mask)
    with pytest.raises(ValueError, match="not both"):
        forward(
            log_pi, log_A, E, mask=torch.ones(3, 10, dtype=torch.bool), lengths=lengths
        )


# --------------------------------------------------------------------------------------
# GPU
# --------------------------------------------------------------------------------------


@pytest.mark.gpu
def test_cuda_matches_cpu():
    _, ours, X, lengths = _gaussian_pair("diag")
    cpu = ours.score_samples(X, lengths)
    Xc = torch.as_tensor(X, device="cuda")
    gpu = ours.score_samples(Xc, lengths)
    assert gpu[1].device.type == "cuda"
    assert gpu[0] == pytest.approx(cpu[0], rel=1e-9)
    torch.testing.assert_close(gpu[1].cpu(), torch.as_tensor(cpu[1]))
    log_pi, log_A, E, L = _random_core(0, 3, 3000, 4)
    for method in ("sequential", "scan"):
        a = posteriors(log_pi, log_A, E, lengths=L, method=method)
        b = posteriors(
            log_pi.cuda(), log_A.cuda(), E.cuda(), lengths=L.cuda(), method=method
        )
        torch.testing.assert_close(b.gamma.cpu(), a.gamma)
        torch.testing.assert_close(b.xi.cpu(), a.xi)
    fit = GaussianHMM(3, random_state=0, n_iter=5).fit(Xc.float(), lengths)
    assert fit.means_.device.type == "cuda" and all(
        math.isfinite(h) for h in fit.history_["log_likelihood"]
    )
    # NumPy in, computed on the GPU by device=: NumPy out
    on_gpu = GaussianHMM(3, random_state=0, n_iter=5, device="cuda").fit(X, lengths)
    assert isinstance(on_gpu.means_, np.ndarray)
    assert isinstance(on_gpu.predict_proba(X, lengths), np.ndarray)


def test_scaled_fast_path_falls_back_to_log_space_on_underflow():
    """float32 transitions of exp(-230) underflow in probability space; the E-step
    recovers."""
    log_pi = torch.log(torch.tensor([[0.5, 0.5], [0.5, 0.5]]))
    log_A = torch.tensor([[0.0, -230.0], [-230.0, 0.0]])
    E = torch.zeros(2, 10, 2)
    E[0, :5, 1] = -1000.0
    E[0, 5:, 0] = -1000.0  # sequence 0 must switch once; sequence 1 is uninformative
    mask = torch.ones(2, 10, dtype=torch.bool)
    fast = _fast.posteriors_scaled(log_pi, log_A, E, mask, True)
    assert math.isnan(float(fast.log_likelihood[0])) and math.isfinite(
        float(fast.log_likelihood[1])
    )
    for per_sequence in (True, False):
        post = _fast.model_posteriors(log_pi, log_A, E, mask, per_sequence=per_sequence)
        ref = posteriors(log_pi, log_A, E)
        torch.testing.assert_close(post.log_likelihood, ref.log_likelihood)
        torch.testing.assert_close(post.gamma, ref.gamma)
        torch.testing.assert_close(
            post.xi, ref.xi if per_sequence else ref.xi.sum(0, keepdim=True)
        )
    assert float(ref.log_likelihood[0]) == pytest.approx(
        math.log(0.5) - 230.0, abs=1e-3
    )
