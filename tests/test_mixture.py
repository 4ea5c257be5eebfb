"""Tests for statlearn.latent.mixture: KMeans, GaussianMixture, BernoulliMixture.

Cross-checks against scikit-learn on identical inputs and parameters, EM invariants, degenerate
inputs and every ValueError path.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp

from statlearn.latent import BernoulliMixture, GaussianMixture, KMeans
from statlearn.latent.mixture import ConvergenceWarning

sk_mixture = pytest.importorskip("sklearn.mixture")
sk_cluster = pytest.importorskip("sklearn.cluster")

COV_TYPES = ["full", "tied", "diag", "spherical"]


def blobs(n=300, d=3, k=3, sep=6.0, seed=0, dtype=np.float64):
    """Well-separated anisotropic Gaussian blobs."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, d)) * sep
    z = rng.integers(k, size=n)
    A = rng.normal(size=(k, d, d)) * 0.5 + np.eye(d)
    X = centers[z] + np.einsum("nij,nj->ni", A[z], rng.normal(size=(n, d)))
    return X.astype(dtype), z


def fitted_sklearn(X, k, cov, seed=0, max_iter=3):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sk_mixture.GaussianMixture(k, covariance_type=cov, max_iter=max_iter, random_state=seed).fit(X)


def ours_from(sk, cov, **kw):
    """A statlearn mixture started at scikit-learn's fitted parameters."""
    return GaussianMixture(
        sk.n_components,
        covariance_type=cov,
        weights_init=sk.weights_,
        means_init=sk.means_,
        precisions_init=sk.precisions_,
        **kw,
    )


def rel(a, b):
    a = a.detach().cpu().double().numpy() if isinstance(a, torch.Tensor) else np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12)))


# ----------------------------------------------------------------------------------------------------
# Cross-checks against scikit-learn
# ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cov", COV_TYPES)
def test_score_and_proba_match_sklearn_float64(cov):
    X, _ = blobs(seed=1)
    sk = fitted_sklearn(X, 3, cov)
    ours = ours_from(sk, cov, max_iter=0).fit(X)
    assert rel(ours.score_samples(X), sk.score_samples(X)) < 1e-8
    np.testing.assert_allclose(ours.predict_proba(X).numpy(), sk.predict_proba(X), rtol=1e-8, atol=1e-12)
    assert torch.equal(ours.predict(X), torch.from_numpy(sk.predict(X)))
    assert rel(ours.precisions_cholesky_, sk.precisions_cholesky_) < 1e-8
    assert rel(ours.covariances_, sk.covariances_) < 1e-8
    assert abs(ours.bic(X) - sk.bic(X)) < 1e-8 * abs(sk.bic(X))
    assert abs(ours.aic(X) - sk.aic(X)) < 1e-8 * abs(sk.aic(X))
    assert abs(ours.score(X) - sk.score(X)) < 1e-8 * abs(sk.score(X))


@pytest.mark.parametrize("cov", COV_TYPES)
def test_score_and_proba_match_sklearn_float32(cov):
    X, _ = blobs(seed=2)
    sk = fitted_sklearn(X, 3, cov)
    ours = ours_from(sk, cov, max_iter=0).fit(X.astype(np.float32))
    assert ours.means_.dtype == torch.float32
    X32 = X.astype(np.float32)
    assert rel(ours.score_samples(X32), sk.score_samples(X32.astype(np.float64))) < 1e-4
    np.testing.assert_allclose(ours.predict_proba(X32).numpy(), sk.predict_proba(X32.astype(np.float64)), atol=1e-4)


@pytest.mark.parametrize("cov", COV_TYPES)
@pytest.mark.parametrize("steps", [1, 4])
def test_em_steps_match_sklearn(cov, steps):
    X, _ = blobs(n=400, d=4, k=4, sep=2.0, seed=3)  # overlapping blobs: the steps move the parameters
    start = fitted_sklearn(X, 4, cov, max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = sk_mixture.GaussianMixture(
            4, covariance_type=cov, weights_init=start.weights_, means_init=start.means_,
            precisions_init=start.precisions_, max_iter=steps, tol=0,
        ).fit(X)
        ours = ours_from(start, cov, max_iter=steps, tol=0).fit(X)
    assert ours.n_iter_ == sk.n_iter_ == steps
    assert rel(ours.weights_, sk.weights_) < 1e-8
    assert rel(ours.means_, sk.means_) < 1e-8
    assert rel(ours.covariances_, sk.covariances_) < 1e-8
    assert rel(ours.precisions_cholesky_, sk.precisions_cholesky_) < 1e-8
    assert rel(ours.precisions_, sk.precisions_) < 1e-8
    assert abs(ours.lower_bound_ - sk.lower_bound_) < 1e-8 * abs(sk.lower_bound_)
    np.testing.assert_allclose(ours.lower_bounds_, sk.lower_bounds_, rtol=1e-8)
    # the step really moved the parameters (the comparison is not vacuous)
    assert rel(ours.means_, start.means_) > 1e-6


@pytest.mark.parametrize("cov", COV_TYPES)
def test_fitted_likelihood_matches_sklearn_optimum(cov):
    X, _ = blobs(n=600, d=2, k=3, sep=8.0, seed=4)
    sk = sk_mixture.GaussianMixture(3, covariance_type=cov, n_init=3, random_state=0, tol=1e-8, max_iter=500).fit(X)
    ours = GaussianMixture(3, covariance_type=cov, n_init=3, random_state=0, tol=1e-8, max_iter=500).fit(X)
    assert ours.converged_
    assert abs(ours.score(X) - sk.score(X)) < 1e-6 * abs(sk.score(X))
    order = np.argsort(ours.means_[:, 0].numpy()), np.argsort(sk.means_[:, 0])
    np.testing.assert_allclose(ours.means_.numpy()[order[0]], sk.means_[order[1]], rtol=1e-5, atol=1e-6)


def test_gaussian_log_prob_matches_sklearn_helper():
    from sklearn.mixture._gaussian_mixture import _estimate_log_gaussian_prob

    from statlearn.latent.mixture import _gaussian_log_prob

    X, _ = blobs(n=100, d=5, k=2, seed=5)
    for cov in COV_TYPES:
        sk = fitted_sklearn(X, 2, cov)
        ref = _estimate_log_gaussian_prob(X, sk.means_, sk.precisions_cholesky_, cov)
        got = _gaussian_log_prob(torch.from_numpy(X), torch.from_numpy(sk.means_),
                                 torch.from_numpy(sk.precisions_cholesky_), cov)
        assert rel(got, ref) < 1e-10


def test_kmeans_matches_sklearn_from_same_init():
    X, _ = blobs(n=500, d=3, k=4, sep=3.0, seed=6)
    init = X[:4]
    sk = sk_cluster.KMeans(4, init=init, n_init=1, tol=0.0, max_iter=300, algorithm="lloyd").fit(X)
    ours = KMeans(4, init=init, tol=0.0).fit(X)
    np.testing.assert_allclose(ours.cluster_centers_.numpy(), sk.cluster_centers_, rtol=1e-10, atol=1e-12)
    assert torch.equal(ours.labels_, torch.from_numpy(sk.labels_.astype(np.int64)))
    assert abs(ours.inertia_ - sk.inertia_) < 1e-8 * sk.inertia_
    assert torch.equal(ours.predict(X), ours.labels_)


def test_kmeans_plusplus_finds_separated_clusters():
    X, z = blobs(n=400, d=2, k=5, sep=20.0, seed=7)
    km = KMeans(5, n_init=3, random_state=0).fit(X)
    sk = sk_cluster.KMeans(5, n_init=10, random_state=0).fit(X)
    assert km.inertia_ <= sk.inertia_ * (1 + 1e-6)
    assert km.cluster_centers_.shape == (5, 2) and km.labels_.shape == (400,)
    assert km.transform(X).shape == (400, 5)
    assert abs(km.score(X) + km.inertia_) < 1e-6 * km.inertia_
    assert torch.equal(km.fit_predict(X), km.labels_)


# ----------------------------------------------------------------------------------------------------
# EM invariants
# ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cov", COV_TYPES)
@pytest.mark.parametrize("seed", [0, 1])
def test_bound_is_monotone_without_regularisation(cov, seed):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.standard_t(5, size=(150, 3)), rng.normal(size=(150, 3)) @ rng.normal(size=(3, 3)) + 2])
    gm = GaussianMixture(4, covariance_type=cov, reg_covar=0.0, tol=0, max_iter=40, random_state=seed)
    with pytest.warns(ConvergenceWarning):
        gm.fit(X)
    b = np.array(gm.history["lower_bound"])
    assert len(b) == gm.n_iter_ == 40
    assert np.all(np.diff(b) >= -1e-10 * np.abs(b[1:]))
    assert np.diff(b)[0] > 0
    assert gm.lower_bound_ == b[-1] and gm.lower_bounds_ == list(b)


def test_fit_predict_equals_fit_then_predict():
    X, _ = blobs(n=300, d=2, k=3, sep=2.0, seed=8)
    for cov in COV_TYPES:
        a = GaussianMixture(3, covariance_type=cov, random_state=3, max_iter=5, tol=0)
        b = GaussianMixture(3, covariance_type=cov, random_state=3, max_iter=5, tol=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            assert torch.equal(a.fit_predict(X), b.fit(X).predict(X))
    bm = BernoulliMixture(3, random_state=1, max_iter=5, tol=0)
    Xb = (X > 0).astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        again = BernoulliMixture(3, random_state=1, max_iter=5, tol=0).fit(Xb)
        assert torch.equal(bm.fit_predict(Xb), again.predict(Xb))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    k=st.integers(1, 4),
    d=st.integers(1, 4),
    cov=st.sampled_from(COV_TYPES),
    scale=st.floats(1e-3, 1e3),
    double=st.booleans(),
)
def test_responsibilities_sum_to_one(seed, k, d, cov, scale, double):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, d)) * scale + rng.normal(size=d) * scale * 3
    X = X if double else X.astype(np.float32)
    gm = GaussianMixture(k, covariance_type=cov, max_iter=3, tol=0, random_state=seed, reg_covar=1e-6 * scale**2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(X)
    R = gm.predict_proba(X)
    assert R.shape == (40, k)
    assert bool(torch.isfinite(R).all()) and bool((R >= 0).all())
    assert torch.allclose(R.sum(1), torch.ones(40, dtype=R.dtype), atol=1e-5 if not double else 1e-12)
    ll = gm.score_samples(X)
    assert bool(torch.isfinite(ll).all())


@pytest.mark.parametrize("cov", COV_TYPES)
def test_sample_moments_match_parameters(cov):
    X, _ = blobs(n=300, d=2, k=2, sep=10.0, seed=9)
    gm = GaussianMixture(2, covariance_type=cov, random_state=0).fit(X)
    S, labels = gm.sample(40_000)
    assert S.shape == (40_000, 2) and labels.dtype == torch.int64
    assert torch.equal(labels, labels.sort().values)  # grouped by component, as in scikit-learn
    frac = torch.bincount(labels, minlength=2).double() / 40_000
    assert torch.allclose(frac, gm.weights_, atol=0.01)
    for k in range(2):
        Sk = S[labels == k]
        if cov == "full":
            full = gm.covariances_[k]
        elif cov == "tied":
            full = gm.covariances_
        elif cov == "diag":
            full = torch.diag(gm.covariances_[k])
        else:
            full = gm.covariances_[k] * torch.eye(2, dtype=S.dtype)
        emp = torch.cov(Sk.T)
        assert torch.allclose(Sk.mean(0), gm.means_[k], atol=0.05 * float(full.diagonal().max().sqrt()))
        assert float((emp - full).abs().max()) < 0.05 * float(full.abs().max())
    # an integer random_state gives the same draws every call
    assert torch.equal(gm.sample(10)[0], gm.sample(10)[0])


def test_float32_and_float64_agree():
    X, _ = blobs(n=500, d=3, k=3, sep=4.0, seed=10)
    g64 = GaussianMixture(3, random_state=0, tol=1e-6).fit(X)
    g32 = GaussianMixture(3, random_state=0, tol=1e-6).fit(X.astype(np.float32))
    assert g32.means_.dtype == torch.float32 and g64.means_.dtype == torch.float64
    assert abs(g32.score(X) - g64.score(X)) < 1e-4 * abs(g64.score(X))
    assert torch.allclose(g32.means_.double(), g64.means_, atol=1e-3)
    g = GaussianMixture(3, random_state=0, dtype=torch.float64).fit(X.astype(np.float32))
    assert g.means_.dtype == torch.float64
    assert GaussianMixture(3, random_state=0).fit(np.round(X * 100).astype(int)).means_.dtype == torch.float32


def test_torch_input_and_chunking():
    """The chunked E-step (several blocks of rows) equals scikit-learn's unchunked one."""
    from statlearn.latent.mixture import _chunk_size

    X, _ = blobs(n=60_000, d=16, k=3, seed=11)
    assert _chunk_size(3, 16) < 30_000
    Xt = torch.from_numpy(X)
    gm = GaussianMixture(3, random_state=0, max_iter=5, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(Xt)
    from sklearn.mixture._gaussian_mixture import _estimate_log_gaussian_prob

    ref = logsumexp(_estimate_log_gaussian_prob(X, gm.means_.numpy(), gm.precisions_cholesky_.numpy(), "full")
                    + np.log(gm.weights_.numpy()), axis=1)
    assert rel(gm.score_samples(Xt), ref) < 1e-10
    assert gm.score_samples(Xt).dtype == torch.float64


# ----------------------------------------------------------------------------------------------------
# Degenerate inputs
# ----------------------------------------------------------------------------------------------------


def test_duplicate_points_give_a_sound_fit():
    X = np.ones((20, 2))
    for cov in COV_TYPES:
        gm = GaussianMixture(2, covariance_type=cov, random_state=0).fit(X)
        assert bool(torch.isfinite(gm.score_samples(X)).all())
        assert bool(torch.isfinite(gm.means_).all()) and bool(torch.isfinite(gm.covariances_).all())
    km = KMeans(3, random_state=0).fit(X)
    assert km.inertia_ == 0.0 and bool(torch.isfinite(km.cluster_centers_).all())


def test_collapse_without_regularisation_raises_clear_error():
    X = np.ones((20, 2))
    with pytest.raises(ValueError, match="increase reg_covar"):
        GaussianMixture(2, reg_covar=0.0, random_state=0).fit(X)


def test_emptied_component_stays_finite():
    X, _ = blobs(n=200, d=2, k=1, seed=12)
    means = np.stack([X.mean(0), X.mean(0) + 1e3])  # the second component owns no point
    gm = GaussianMixture(2, means_init=means, weights_init=[0.5, 0.5], precisions_init=np.stack([np.eye(2)] * 2),
                         max_iter=10, random_state=0).fit(X)
    assert bool(torch.isfinite(gm.score_samples(X)).all())
    assert float(gm.weights_[1]) < 1e-10
    assert bool(torch.isfinite(gm.covariances_).all())


def test_kmeans_relocates_empty_cluster():
    X = np.array([[0.0, 0.0], [0.1, 0.0], [10.0, 0.0], [10.1, 0.0]])
    km = KMeans(2, init=[[0.05, 0.0], [100.0, 0.0]], tol=0).fit(X)  # the far centre owns nothing at first
    assert sorted(torch.bincount(km.labels_).tolist()) == [2, 2]
    assert km.inertia_ < 0.02 + 1e-12


def test_max_iter_zero_keeps_the_initial_parameters():
    X, _ = blobs(n=100, d=2, k=2, seed=13)
    P = np.stack([np.eye(2) * 2.0] * 2)
    gm = GaussianMixture(2, weights_init=[0.3, 0.7], means_init=X[:2], precisions_init=P, max_iter=0).fit(X)
    assert gm.n_iter_ == 0 and gm.history["lower_bound"] == []
    assert torch.allclose(gm.covariances_, torch.from_numpy(np.linalg.inv(P)))
    assert torch.allclose(gm.weights_, torch.tensor([0.3, 0.7], dtype=torch.float64))


# ----------------------------------------------------------------------------------------------------
# BernoulliMixture
# ----------------------------------------------------------------------------------------------------


def binary_mixture(n=2000, d=12, seed=0):
    rng = np.random.default_rng(seed)
    protos = np.array([[0.9] * (d // 2) + [0.1] * (d - d // 2), [0.1] * (d // 2) + [0.9] * (d - d // 2)])
    z = rng.integers(2, size=n)
    return (rng.random((n, d)) < protos[z]).astype(np.float32), z, protos


def test_bernoulli_score_samples_is_exact_log_likelihood():
    X, _, _ = binary_mixture(n=300, seed=1)
    bm = BernoulliMixture(3, random_state=0, max_iter=20).fit(X)
    w, mu = bm.weights_.double().numpy(), bm.means_.double().numpy()
    Xd = X.astype(np.float64)
    ref = logsumexp(np.log(w) + Xd @ np.log(mu).T + (1 - Xd) @ np.log1p(-mu).T, axis=1)
    assert rel(bm.score_samples(X), ref) < 1e-5
    R = bm.predict_proba(X)
    assert torch.allclose(R.sum(1), torch.ones(300), atol=1e-5)
    n_par = 3 * 12 + 2
    assert abs(bm.bic(X) - (-2 * ref.sum() + n_par * np.log(300))) < 1e-4 * abs(bm.bic(X))
    assert abs(bm.aic(X) - (-2 * ref.sum() + 2 * n_par)) < 1e-4 * abs(bm.aic(X))


@pytest.mark.parametrize("init", ["random", "random_from_data", "kmeans", "k-means++"])
def test_bernoulli_recovers_prototypes(init):
    X, z, protos = binary_mixture(seed=2)
    bm = BernoulliMixture(2, init_params=init, random_state=0, tol=1e-6, max_iter=200).fit(X)
    assert bm.converged_
    order = np.argsort(bm.means_[:, 0].numpy())[::-1]
    np.testing.assert_allclose(bm.means_.numpy()[order], protos, atol=0.05)
    acc = (bm.predict(X).numpy() == z).mean()
    assert max(acc, 1 - acc) > 0.98
    b = np.array(bm.history["lower_bound"])
    assert np.all(np.diff(b) >= -1e-5)


def test_bernoulli_means_stay_inside_unit_interval_and_sample():
    X = np.zeros((50, 6), dtype=np.float32)
    X[:25, :3] = 1.0  # columns that are constant within a component push the MLE to 0 or 1
    bm = BernoulliMixture(2, init_params="kmeans", random_state=0, alpha=0.0).fit(X)
    assert bool((bm.means_ > 0).all()) and bool((bm.means_ < 1).all())
    assert bool(torch.isfinite(bm.score_samples(X)).all())
    S, labels = bm.sample(5000)
    assert set(torch.unique(S).tolist()) <= {0.0, 1.0}
    for k in range(2):
        if int((labels == k).sum()) > 500:
            assert torch.allclose(S[labels == k].mean(0), bm.means_[k], atol=0.05)


def test_bernoulli_float64_and_inits():
    X, _, _ = binary_mixture(n=200, seed=3)
    bm = BernoulliMixture(2, weights_init=[0.5, 0.5], means_init=np.full((2, 12), 0.5) + np.eye(2, 12) * 0.1,
                          dtype=torch.float64, max_iter=50).fit(X)
    assert bm.means_.dtype == torch.float64
    assert bool(torch.isfinite(bm.score_samples(X)).all())


def test_bernoulli_rejects_non_binary():
    with pytest.raises(ValueError, match="binary"):
        BernoulliMixture(2).fit(np.array([[0.0, 0.5], [1.0, 1.0], [0.0, 0.0]]))
    bm = BernoulliMixture(1, random_state=0).fit(np.array([[0.0, 1.0], [1.0, 1.0]]))
    with pytest.raises(ValueError, match="binary"):
        bm.score_samples(np.array([[2.0, 0.0]]))


# ----------------------------------------------------------------------------------------------------
# Every ValueError path
# ----------------------------------------------------------------------------------------------------

X_OK = np.random.default_rng(0).normal(size=(10, 2))


@pytest.mark.parametrize(
    "kwargs, X, match",
    [
        ({}, np.zeros(5), "2-D"),
        ({}, np.zeros((2, 3, 4)), "2-D"),
        ({}, np.array([[0.0, np.nan], [1.0, 2.0]]), "NaN"),
        ({}, np.array([[0.0, np.inf], [1.0, 2.0]]), "NaN or infinite"),
        ({"n_components": 11}, X_OK, "n_components must be <= n_samples"),
        ({"n_components": 0}, X_OK, "n_components"),
        ({"covariance_type": "banana"}, X_OK, "covariance_type"),
        ({"init_params": "magic"}, X_OK, "init_params"),
        ({"tol": -1.0}, X_OK, "tol"),
        ({"reg_covar": -1.0}, X_OK, "reg_covar"),
        ({"max_iter": -1}, X_OK, "max_iter"),
        ({"n_init": 0}, X_OK, "n_init"),
        ({"dtype": torch.int64}, X_OK, "dtype"),
        ({"weights_init": [0.5, 0.6]}, X_OK, "sum to 1"),
        ({"weights_init": [1.5, -0.5]}, X_OK, r"\[0, 1\]"),
        ({"weights_init": [1.0]}, X_OK, "shape"),
        ({"means_init": np.zeros((3, 2))}, X_OK, "shape"),
        ({"precisions_init": np.ones((2, 2, 2))}, X_OK, "positive-definite"),
        ({"precisions_init": np.stack([np.eye(2), [[1.0, 2.0], [0.0, 1.0]]])}, X_OK, "symmetric"),
        ({"precisions_init": np.ones((2, 3, 3))}, X_OK, "shape"),
        ({"precisions_init": np.ones((2, 2)), "covariance_type": "diag"} , X_OK, None),
        ({"precisions_init": -np.ones((2, 2)), "covariance_type": "diag"}, X_OK, "positive"),
        ({"precisions_init": -np.ones(2), "covariance_type": "spherical"}, X_OK, "positive"),
        ({}, np.zeros((1, 2)), "at least 2 samples"),
    ],
)
def test_gaussian_mixture_value_errors(kwargs, X, match):
    kwargs = {"n_components": 2, **kwargs}
    if match is None:  # the valid counterpart of the lines around it
        GaussianMixture(**kwargs).fit(X)
        return
    with pytest.raises(ValueError, match=match):
        GaussianMixture(**kwargs).fit(X)


def test_value_errors_after_fit():
    gm = GaussianMixture(2, random_state=0).fit(X_OK)
    with pytest.raises(ValueError, match="2 features"):
        gm.predict(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="n_samples must be >= 1"):
        gm.sample(0)
    with pytest.raises(ValueError, match="not fitted"):
        GaussianMixture(2).predict(X_OK)
    with pytest.raises(ValueError, match="not fitted"):
        BernoulliMixture(2).score_samples(X_OK)
    with pytest.raises(ValueError, match="not fitted"):
        KMeans(2).predict(X_OK)
    with pytest.raises(TypeError):
        GaussianMixture(2, random_state="seed").fit(X_OK)


def test_kmeans_value_errors():
    with pytest.raises(ValueError, match="n_clusters must be <= n_samples"):
        KMeans(11).fit(X_OK)
    with pytest.raises(ValueError, match="init centres must have shape"):
        KMeans(2, init=np.zeros((3, 2))).fit(X_OK)
    with pytest.raises(ValueError, match="init"):
        KMeans(2, init="best").fit(X_OK)
    with pytest.raises(ValueError, match="2-D"):
        KMeans(2).fit(np.zeros(4))
    with pytest.raises(ValueError, match="tol"):
        KMeans(2, tol=-1).fit(X_OK)
    km = KMeans(2, random_state=0).fit(X_OK)
    with pytest.raises(ValueError, match="2 features"):
        km.predict(np.zeros((2, 5)))


def test_bernoulli_value_errors():
    Xb = (X_OK > 0).astype(float)
    for kwargs, match in [
        ({"alpha": -1.0}, "alpha"),
        ({"init_params": "magic"}, "init_params"),
        ({"n_components": 20}, "n_components must be <= n_samples"),
        ({"means_init": np.full((2, 2), 1.0)}, r"inside \(0, 1\)"),
        ({"means_init": np.full((3, 2), 0.5)}, "shape"),
        ({"weights_init": [0.2, 0.2]}, "sum to 1"),
    ]:
        with pytest.raises(ValueError, match=match):
            BernoulliMixture(**{"n_components": 2, **kwargs}).fit(Xb)


# ----------------------------------------------------------------------------------------------------
# GPU
# ----------------------------------------------------------------------------------------------------


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("cov", COV_TYPES)
def test_gpu_matches_cpu(cov):
    X, _ = blobs(n=2000, d=5, k=3, sep=3.0, seed=14)
    start = fitted_sklearn(X, 3, cov, max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cpu = ours_from(start, cov, max_iter=10, tol=0).fit(X)
        gpu = ours_from(start, cov, max_iter=10, tol=0).fit(torch.from_numpy(X).cuda())
    assert gpu.means_.device.type == "cuda"
    assert torch.allclose(gpu.means_.cpu(), cpu.means_, rtol=1e-8, atol=1e-10)
    assert torch.allclose(gpu.score_samples(X).cpu(), cpu.score_samples(X), rtol=1e-8)
    km = KMeans(3, random_state=0).fit(torch.from_numpy(X).float().cuda())
    assert km.cluster_centers_.device.type == "cuda"
    bm = BernoulliMixture(3, random_state=0).fit(torch.from_numpy(X > 0).float().cuda())
    assert bm.sample(10)[0].device.type == "cuda"
