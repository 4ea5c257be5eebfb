"""Tests for statlearn.latent.mixture (GaussianMixture, BernoulliMixture) and
statlearn.latent.kmeans (KMeans).

Cross-checks against scikit-learn on identical inputs and parameters, EM invariants,
degenerate inputs, every ValueError path, and the EM driver's shared pieces
(statlearn.latent._em: verbose output, history_).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp

from statlearn.latent import (
    BernoulliMixture,
    GaussianHMM,
    GaussianMixture,
    KMeans,
    _em,
)
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
        return sk_mixture.GaussianMixture(
            k, covariance_type=cov, max_iter=max_iter, random_state=seed
        ).fit(X)


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
    a = (
        a.detach().cpu().double().numpy()
        if isinstance(a, torch.Tensor)
        else np.asarray(a, dtype=float)
    )
    b = np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12)))


# --------------------------------------------------------------------------------------
# Cross-checks against scikit-learn
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("cov", COV_TYPES)
def test_score_and_proba_match_sklearn_float64(cov):
    X, _ = blobs(seed=1)
    sk = fitted_sklearn(X, 3, cov)
    ours = ours_from(sk, cov, max_iter=0).fit(X)
    assert rel(ours.score_samples(X), sk.score_samples(X)) < 1e-8
    np.testing.assert_allclose(
        ours.predict_proba(X), sk.predict_proba(X), rtol=1e-8, atol=1e-12
    )
    np.testing.assert_array_equal(ours.predict(X), sk.predict(X))
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
    assert ours.means_.dtype == np.float32
    X32 = X.astype(np.float32)
    assert rel(ours.score_samples(X32), sk.score_samples(X32.astype(np.float64))) < 1e-4
    np.testing.assert_allclose(
        ours.predict_proba(X32), sk.predict_proba(X32.astype(np.float64)), atol=1e-4
    )


@pytest.mark.parametrize("cov", COV_TYPES)
@pytest.mark.parametrize("steps", [1, 4])
def test_em_steps_match_sklearn(cov, steps):
    X, _ = blobs(
        n=400, d=4, k=4, sep=2.0, seed=3
    )  # overlapping blobs: the steps move the parameters
    start = fitted_sklearn(X, 4, cov, max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = sk_mixture.GaussianMixture(
            4,
            covariance_type=cov,
            weights_init=start.weights_,
            means_init=start.means_,
            precisions_init=start.precisions_,
            max_iter=steps,
            tol=0,
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
    sk = sk_mixture.GaussianMixture(
        3, covariance_type=cov, n_init=3, random_state=0, tol=1e-8, max_iter=500
    ).fit(X)
    ours = GaussianMixture(
        3, covariance_type=cov, n_init=3, random_state=0, tol=1e-8, max_iter=500
    ).fit(X)
    assert ours.converged_
    assert abs(ours.score(X) - sk.score(X)) < 1e-6 * abs(sk.score(X))
    order = np.argsort(ours.means_[:, 0]), np.argsort(sk.means_[:, 0])
    np.testing.assert_allclose(
        ours.means_[order[0]], sk.means_[order[1]], rtol=1e-5, atol=1e-6
    )


def test_gaussian_log_prob_matches_sklearn_helper():
    from sklearn.mixture._gaussian_mixture import _estimate_log_gaussian_prob

    from statlearn.latent.mixture import _gaussian_log_prob

    X, _ = blobs(n=100, d=5, k=2, seed=5)
    for cov in COV_TYPES:
        sk = fitted_sklearn(X, 2, cov)
        ref = _estimate_log_gaussian_prob(X, sk.means_, sk.precisions_cholesky_, cov)
        got = _gaussian_log_prob(
            torch.from_numpy(X),
            torch.from_numpy(sk.means_),
            torch.from_numpy(sk.precisions_cholesky_),
            cov,
        )
        assert rel(got, ref) < 1e-10


def test_kmeans_matches_sklearn_from_same_init():
    X, _ = blobs(n=500, d=3, k=4, sep=3.0, seed=6)
    init = X[:4]
    sk = sk_cluster.KMeans(
        4, init=init, n_init=1, tol=0.0, max_iter=300, algorithm="lloyd"
    ).fit(X)
    ours = KMeans(4, init=init, tol=0.0).fit(X)
    np.testing.assert_allclose(
        ours.cluster_centers_, sk.cluster_centers_, rtol=1e-10, atol=1e-12
    )
    np.testing.assert_array_equal(ours.labels_, sk.labels_)
    assert abs(ours.inertia_ - sk.inertia_) < 1e-8 * sk.inertia_
    np.testing.assert_array_equal(ours.predict(X), ours.labels_)
    assert ours.n_iter_ == sk.n_iter_


def test_kmeans_plusplus_finds_separated_clusters():
    X, z = blobs(n=400, d=2, k=5, sep=20.0, seed=7)
    km = KMeans(5, n_init=3, random_state=0).fit(X)
    sk = sk_cluster.KMeans(5, n_init=10, random_state=0).fit(X)
    assert km.inertia_ <= sk.inertia_ * (1 + 1e-6)
    assert km.cluster_centers_.shape == (5, 2) and km.labels_.shape == (400,)
    assert km.transform(X).shape == (400, 5)
    assert abs(km.score(X) + km.inertia_) < 1e-6 * km.inertia_
    np.testing.assert_array_equal(km.fit_predict(X), km.labels_)


# --------------------------------------------------------------------------------------
# EM invariants
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("cov", COV_TYPES)
@pytest.mark.parametrize("seed", [0, 1])
def test_bound_is_monotone_without_regularisation(cov, seed):
    rng = np.random.default_rng(seed)
    X = np.concatenate(
        [
            rng.standard_t(5, size=(150, 3)),
            rng.normal(size=(150, 3)) @ rng.normal(size=(3, 3)) + 2,
        ]
    )
    gm = GaussianMixture(
        4, covariance_type=cov, reg_covar=0.0, tol=0, max_iter=40, random_state=seed
    )
    with pytest.warns(ConvergenceWarning):
        gm.fit(X)
    b = np.array(gm.history_["lower_bound"])
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
            np.testing.assert_array_equal(a.fit_predict(X), b.fit(X).predict(X))
    bm = BernoulliMixture(3, random_state=1, max_iter=5, tol=0)
    Xb = (X > 0).astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        again = BernoulliMixture(3, random_state=1, max_iter=5, tol=0).fit(Xb)
        np.testing.assert_array_equal(bm.fit_predict(Xb), again.predict(Xb))


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
    gm = GaussianMixture(
        k,
        covariance_type=cov,
        max_iter=3,
        tol=0,
        random_state=seed,
        reg_covar=1e-6 * scale**2,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(X)
    R = gm.predict_proba(X)
    assert R.shape == (40, k)
    assert np.isfinite(R).all() and (R >= 0).all()
    np.testing.assert_allclose(R.sum(1), 1.0, atol=1e-5 if not double else 1e-12)
    assert np.isfinite(gm.score_samples(X)).all()


@pytest.mark.parametrize("cov", COV_TYPES)
def test_sample_moments_match_parameters(cov):
    X, _ = blobs(n=300, d=2, k=2, sep=10.0, seed=9)
    gm = GaussianMixture(2, covariance_type=cov, random_state=0).fit(X)
    S, labels = gm.sample(40_000)
    assert (
        isinstance(S, np.ndarray)
        and S.shape == (40_000, 2)
        and labels.dtype == np.int64
    )
    assert np.array_equal(
        labels, np.sort(labels)
    )  # grouped by component, as in scikit-learn
    frac = np.bincount(labels, minlength=2) / 40_000
    np.testing.assert_allclose(frac, gm.weights_, atol=0.01)
    for k in range(2):
        Sk = S[labels == k]
        if cov == "full":
            full = gm.covariances_[k]
        elif cov == "tied":
            full = gm.covariances_
        elif cov == "diag":
            full = np.diag(gm.covariances_[k])
        else:
            full = gm.covariances_[k] * np.eye(2)
        emp = np.cov(Sk.T)
        np.testing.assert_allclose(
            Sk.mean(0), gm.means_[k], atol=0.05 * np.sqrt(full.diagonal().max())
        )
        assert np.abs(emp - full).max() < 0.05 * np.abs(full).max()
    # an integer random_state gives the same draws every call, and is what
    # random_state=None falls back to
    np.testing.assert_array_equal(gm.sample(10)[0], gm.sample(10)[0])
    np.testing.assert_array_equal(gm.sample(10)[0], gm.sample(10, random_state=0)[0])
    assert not np.array_equal(gm.sample(10)[0], gm.sample(10, random_state=1)[0])


def test_float32_and_float64_agree():
    X, _ = blobs(n=500, d=3, k=3, sep=4.0, seed=10)
    g64 = GaussianMixture(3, random_state=0, tol=1e-6).fit(X)
    g32 = GaussianMixture(3, random_state=0, tol=1e-6).fit(X.astype(np.float32))
    assert g32.means_.dtype == np.float32 and g64.means_.dtype == np.float64
    assert abs(g32.score(X) - g64.score(X)) < 1e-4 * abs(g64.score(X))
    np.testing.assert_allclose(g32.means_, g64.means_, atol=1e-3)
    g = GaussianMixture(3, random_state=0, dtype=torch.float64).fit(
        X.astype(np.float32)
    )
    assert g.means_.dtype == np.float64
    g = GaussianMixture(3, random_state=0, dtype=torch.float32).fit(X)
    assert g.means_.dtype == np.float32


def test_integer_input_is_computed_in_float64():
    """Issue 14, defect 3: integer input gave float32 centres; scikit-learn: float64."""
    X, _ = blobs(n=300, d=2, k=3, sep=6.0, seed=10)
    Xi = np.round(X * 100).astype(int)
    gm = GaussianMixture(3, random_state=0).fit(Xi)
    assert gm.means_.dtype == np.float64
    ref = GaussianMixture(3, random_state=0).fit(Xi.astype(np.float64))
    np.testing.assert_array_equal(
        gm.means_, ref.means_
    )  # the same numbers as float64 data
    assert KMeans(3, random_state=0).fit(Xi).cluster_centers_.dtype == np.float64
    assert (
        BernoulliMixture(2, random_state=0).fit((Xi > 0).astype(int)).means_.dtype
        == np.float64
    )
    # integer tensors follow torch's default float dtype
    assert (
        GaussianMixture(3, random_state=0).fit(torch.from_numpy(Xi)).means_.dtype
        == torch.float32
    )


def test_torch_input_and_chunking():
    """The chunked E-step (several blocks of rows) equals scikit-learn's unchunked."""
    from statlearn.latent._em import chunk_size

    X, _ = blobs(n=60_000, d=16, k=3, seed=11)
    assert chunk_size(3, 16) < 30_000
    Xt = torch.from_numpy(X)
    gm = GaussianMixture(3, random_state=0, max_iter=5, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(Xt)
    from sklearn.mixture._gaussian_mixture import _estimate_log_gaussian_prob

    ref = logsumexp(
        _estimate_log_gaussian_prob(
            X, gm.means_.numpy(), gm.precisions_cholesky_.numpy(), "full"
        )
        + np.log(gm.weights_.numpy()),
        axis=1,
    )
    assert rel(gm.score_samples(Xt), ref) < 1e-10
    assert gm.score_samples(Xt).dtype == torch.float64
    assert (
        rel(gm.score_samples(X), ref) < 1e-10
    )  # numpy in: numpy out, from a tensor-fitted model
    assert isinstance(gm.score_samples(X), np.ndarray)


def test_float64_full_covariance_fast_path_matches_centred_route(monkeypatch):
    """Float64 full-covariance EM through quadratic features (issue 14's speed-up) gives
    the centred route's numbers, and falls back to it where expanded forms cancel."""
    from statlearn.latent.mixture import _QuadraticFeatures

    X, _ = blobs(n=3000, d=6, k=4, sep=3.0, seed=15)
    start = fitted_sklearn(X, 4, "full", max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fast = ours_from(start, "full", max_iter=10, tol=0).fit(X)
        slow_cls = type(
            "Centred", (GaussianMixture,), {"_workspace": lambda self, X: None}
        )
        slow = slow_cls(
            4,
            weights_init=start.weights_,
            means_init=start.means_,
            precisions_init=start.precisions_,
            max_iter=10,
            tol=0,
        ).fit(X)
        sk = sk_mixture.GaussianMixture(
            4,
            weights_init=start.weights_,
            means_init=start.means_,
            precisions_init=start.precisions_,
            max_iter=10,
            tol=0,
        ).fit(X)
    ws = _QuadraticFeatures(torch.from_numpy(X))
    assert ws.accurate(
        torch.from_numpy(fast.precisions_cholesky_)
    )  # the fast path was taken
    for name in ["weights_", "means_", "covariances_", "precisions_cholesky_"]:
        assert rel(getattr(fast, name), getattr(slow, name)) < 1e-10, name
        assert rel(getattr(fast, name), getattr(sk, name)) < 1e-9, name
    np.testing.assert_allclose(fast.lower_bounds_, slow.lower_bounds_, rtol=1e-12)
    # data too large to keep the features: they are rebuilt block by block, same numbers
    monkeypatch.setattr(_QuadraticFeatures, "_BUDGET_BYTES", 0)
    assert _QuadraticFeatures(torch.from_numpy(X)).F is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        blocked = ours_from(start, "full", max_iter=10, tol=0).fit(X)
    assert rel(blocked.covariances_, fast.covariances_) < 1e-12
    # a tight cluster 1e5 standard deviations from the rest: the centred route is taken
    rng = np.random.default_rng(0)
    Xf = np.concatenate(
        [rng.normal(size=(200, 2)), 1e5 + 1e-2 * rng.normal(size=(200, 2))]
    )
    gm = GaussianMixture(2, covariance_type="full", random_state=0).fit(Xf)
    assert not _QuadraticFeatures(torch.from_numpy(Xf)).accurate(
        torch.from_numpy(gm.precisions_cholesky_)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = sk_mixture.GaussianMixture(
            2,
            weights_init=gm.weights_,
            means_init=gm.means_,
            precisions_init=gm.precisions_,
            max_iter=1,
        ).fit(Xf)
        again = GaussianMixture(
            2,
            weights_init=gm.weights_,
            means_init=gm.means_,
            precisions_init=gm.precisions_,
            max_iter=1,
        ).fit(Xf)
    assert rel(again.covariances_, sk.covariances_) < 1e-8


# --------------------------------------------------------------------------------------
# Array in, same array out; inputs with gradients (issue 14, defects 2 and 6)
# --------------------------------------------------------------------------------------


def test_numpy_in_numpy_out():
    """Issue 14, defect 6: `(gmm.predict(X) == labels).mean()` failed for NumPy."""
    X, z = blobs(n=300, d=2, k=3, sep=8.0, seed=20)
    gm = GaussianMixture(3, random_state=0).fit(X)
    for name in [
        "weights_",
        "means_",
        "covariances_",
        "precisions_",
        "precisions_cholesky_",
    ]:
        assert isinstance(getattr(gm, name), np.ndarray), name
    for out in (
        gm.predict(X),
        gm.predict_proba(X),
        gm.score_samples(X),
        gm.fit_predict(X),
        *gm.sample(5),
    ):
        assert isinstance(out, np.ndarray)
    acc = (gm.predict(X) == z).mean()  # a NumPy user's line
    assert isinstance(acc, np.floating)
    km = KMeans(3, random_state=0).fit(X)
    for out in (
        km.cluster_centers_,
        km.labels_,
        km.predict(X),
        km.transform(X),
        km.fit_transform(X),
    ):
        assert isinstance(out, np.ndarray)
    bm = BernoulliMixture(2, random_state=0).fit(X > 0)
    assert isinstance(bm.means_, np.ndarray) and isinstance(
        bm.predict(X > 0), np.ndarray
    )


def test_tensor_in_tensor_out():
    X, _ = blobs(n=300, d=2, k=3, sep=8.0, seed=21)
    Xt = torch.from_numpy(X).float()
    gm = GaussianMixture(3, random_state=0).fit(Xt)
    assert isinstance(gm.means_, torch.Tensor) and gm.means_.dtype == torch.float32
    assert isinstance(gm.predict(Xt), torch.Tensor) and isinstance(
        gm.sample(3)[0], torch.Tensor
    )
    km = KMeans(3, random_state=0).fit(Xt)
    assert isinstance(km.cluster_centers_, torch.Tensor) and isinstance(
        km.fit_transform(Xt), torch.Tensor
    )
    # the same numbers whichever array type came in
    np.testing.assert_allclose(
        GaussianMixture(3, random_state=0).fit(X).means_,
        GaussianMixture(3, random_state=0).fit(torch.from_numpy(X)).means_.numpy(),
    )


def test_em_on_a_network_output():
    """Issue 14, defect 2: fitting on a tensor with grad raised an autograd error;
    KMeans kept a grad_fn on cluster_centers_."""
    X, _ = blobs(n=200, d=3, k=3, sep=6.0, seed=22)
    net = torch.nn.Linear(3, 3).double()
    Z = net(torch.from_numpy(X))
    assert Z.requires_grad
    gm = GaussianMixture(3, random_state=0).fit(Z)
    bm = BernoulliMixture(2, random_state=0).fit((Z > 0).double().requires_grad_())
    km = KMeans(3, random_state=0).fit(Z)
    for t in (
        gm.means_,
        gm.covariances_,
        gm.predict_proba(Z),
        bm.means_,
        km.cluster_centers_,
        km.transform(Z),
    ):
        assert t.grad_fn is None and not t.requires_grad
    assert net.weight.grad is None


def test_far_point_has_finite_log_likelihood():
    """Issue 14, defect 7: score_samples of a point at 1e20 (float64) was NaN.

    scikit-learn's is finite."""
    X, _ = blobs(n=300, d=2, k=3, seed=23)
    far = np.full((1, 2), 1e20)
    for cov in COV_TYPES:
        for data in (X, X.astype(np.float32)):
            gm = GaussianMixture(3, covariance_type=cov, random_state=0).fit(data)
            sk = sk_mixture.GaussianMixture(3, covariance_type=cov, random_state=0).fit(
                data
            )
            got = gm.score_samples(far)
            assert got.dtype == np.float64 and np.isfinite(got).all()
            assert got[0] == pytest.approx(sk.score_samples(far)[0], rel=1e-4)
    # beyond float64's range: -inf, never NaN
    assert (
        GaussianMixture(3, random_state=0)
        .fit(X)
        .score_samples(np.full((1, 2), 1e200))[0]
        == -np.inf
    )


# --------------------------------------------------------------------------------------
# scikit-learn's contract: clone, pipelines, grid search, errors, warnings, random state
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("Est", [GaussianMixture, KMeans, BernoulliMixture])
def test_clone_and_params(Est):
    """Issue 14, defect 3: no get_params/set_params, so clone failed."""
    from sklearn.base import clone

    est = Est(3, random_state=0)
    params = est.get_params()
    assert params["random_state"] == 0 and "device" in params
    c = clone(est.set_params(max_iter=7))
    assert c.get_params() == est.get_params() and c is not est
    assert (
        clone(Est(2, random_state=torch.Generator().manual_seed(1))).get_params()[
            "random_state"
        ]
        is not None
    )


def test_pipeline_grid_search_and_cross_val_score():
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, _ = blobs(n=300, d=2, k=3, sep=8.0, seed=24)
    gs = GridSearchCV(
        GaussianMixture(random_state=0),
        {"n_components": [1, 3], "covariance_type": ["full", "diag"]},
        cv=3,
    ).fit(X)
    assert gs.best_params_["n_components"] == 3
    scores = cross_val_score(
        make_pipeline(StandardScaler(), GaussianMixture(3, random_state=0)), X, cv=3
    )
    assert scores.shape == (3,) and np.isfinite(scores).all()
    km = cross_val_score(KMeans(3, random_state=0), X, cv=3)
    assert (km < 0).all()  # minus the inertia
    Xb = (X > 0).astype(float)
    gs = GridSearchCV(
        BernoulliMixture(random_state=0), {"n_components": [1, 2]}, cv=3
    ).fit(Xb)
    assert gs.best_params_["n_components"] in (1, 2)


@pytest.mark.parametrize("Est", [GaussianMixture, KMeans, BernoulliMixture])
def test_unfitted_raises_not_fitted_error(Est):
    """Issue 14, defect 3: unfitted models raised ValueError, not NotFittedError."""
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        Est(2).predict(X_OK)
    assert issubclass(
        NotFittedError, ValueError
    )  # old `except ValueError` code keeps working


def test_convergence_warning_is_sklearns():
    """Issue 14, defect 3: statlearn's ConvergenceWarning escaped sklearn's filters."""
    import sklearn.exceptions

    assert ConvergenceWarning is sklearn.exceptions.ConvergenceWarning
    X, _ = blobs(n=200, d=2, k=3, sep=1.0, seed=25)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings(
            "ignore", category=sklearn.exceptions.ConvergenceWarning
        )
        GaussianMixture(3, max_iter=1, random_state=0).fit(
            X
        )  # silenced by scikit-learn's class
    with pytest.warns(sklearn.exceptions.ConvergenceWarning):
        GaussianMixture(3, max_iter=1, random_state=0).fit(X)


@pytest.mark.parametrize("Est", [GaussianMixture, KMeans, BernoulliMixture])
def test_random_state_accepts_numpy_random_state(Est):
    """Issue 14, defect 3: random_state=np.random.RandomState(0) raised TypeError."""
    X, _ = blobs(n=100, d=2, k=2, seed=26)
    X = (X > 0).astype(float) if Est is BernoulliMixture else X
    a = Est(2, random_state=np.random.RandomState(0)).fit(X)
    b = Est(2, random_state=np.random.RandomState(0)).fit(X)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    Est(2, random_state=torch.Generator().manual_seed(0)).fit(X)
    Est(2, random_state=None).fit(X)
    with pytest.raises(ValueError, match="cannot be used to seed"):
        Est(2, random_state="seed").fit(X)


def test_warm_start_continues_em():
    """Issue 14, defect 3: no warm_start. Two warm fits of 5 steps = one of 10 steps."""
    X, _ = blobs(n=300, d=2, k=3, sep=2.0, seed=27)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ten = GaussianMixture(3, max_iter=10, tol=0, random_state=0).fit(X)
        warm = GaussianMixture(
            3, max_iter=5, tol=0, random_state=0, warm_start=True
        ).fit(X)
        first = warm.means_.copy()
        warm.fit(X)
        sk = sk_mixture.GaussianMixture(
            3,
            max_iter=5,
            tol=0,
            random_state=0,
            warm_start=True,
            means_init=first,
            weights_init=warm.weights_,
        )
    np.testing.assert_allclose(warm.means_, ten.means_, rtol=1e-10)
    assert not np.allclose(first, warm.means_)
    assert warm.n_iter_ == 5 and sk.warm_start
    cold = GaussianMixture(3, max_iter=5, tol=0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cold.fit(X)
        cold.fit(X)
    np.testing.assert_allclose(
        cold.means_, first
    )  # without warm_start, a refit starts afresh


def test_verbose_prints_progress(capsys):
    """Issue 14, defect 3: no verbose."""
    X, _ = blobs(n=200, d=2, k=2, seed=28)
    GaussianMixture(2, verbose=2, verbose_interval=1, random_state=0).fit(X)
    out = capsys.readouterr().out
    assert "Initialization 0" in out and "Iteration 1  lower bound" in out
    assert "converged after" in out and "time lapse" in out
    KMeans(2, verbose=1, random_state=0).fit(X)
    assert "Iteration 1  inertia" in capsys.readouterr().out
    GaussianMixture(2, random_state=0).fit(X)
    KMeans(2, random_state=0).fit(X)
    GaussianHMM(2, n_iter=3, tol=-1.0, random_state=0).fit(X)
    assert capsys.readouterr().out == ""


def test_verbose_output_goes_through_one_shared_helper(capsys, monkeypatch):
    """The mixtures, KMeans and the HMMs print only through statlearn.latent._em's
    EMProgress: with its print replaced, nothing reaches stdout, and every estimator's
    lines arrive there."""
    X, _ = blobs(n=200, d=2, k=2, seed=28)
    lines = []
    monkeypatch.setattr(_em, "print", lines.append, raising=False)
    fits = {
        "GaussianMixture": lambda: GaussianMixture(
            2, verbose=2, verbose_interval=1, random_state=0
        ).fit(X),
        "BernoulliMixture": lambda: BernoulliMixture(
            2, verbose=1, verbose_interval=1, random_state=0
        ).fit((X > 0).astype(float)),
        "KMeans": lambda: KMeans(2, verbose=2, random_state=0).fit(X),
        "GaussianHMM": lambda: GaussianHMM(
            2, n_iter=4, tol=-1.0, verbose=True, random_state=0
        ).fit(X),
    }
    for name, fit in fits.items():
        lines.clear()
        fit()
        assert any("Iteration 1" in line for line in lines), name
        assert any("converge" in line for line in lines), name
    assert capsys.readouterr().out == ""


def test_history_is_a_dict_with_the_hmms_key():
    """The mixtures' and the HMMs' history_ are dicts; "log_likelihood" is the total
    log-likelihood of the training data at each iteration in both."""
    X, _ = blobs(n=200, d=2, k=2, seed=29)
    gm = GaussianMixture(2, random_state=0).fit(X)
    assert set(gm.history_) == {"log_likelihood", "lower_bound"}
    assert gm.history_["lower_bound"] == gm.lower_bounds_
    np.testing.assert_allclose(
        gm.history_["log_likelihood"], np.array(gm.lower_bounds_) * len(X), rtol=1e-12
    )
    # the bound after an E-step is the mean log-likelihood of the parameters it used
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        one = GaussianMixture(2, max_iter=1, random_state=0).fit(X)
        start = GaussianMixture(2, max_iter=0, random_state=0).fit(X)
    assert one.history_["log_likelihood"][0] == pytest.approx(
        start.score(X) * len(X), rel=1e-10
    )
    assert not hasattr(gm, "history")  # no chapter reads the old name any more
    hmm = GaussianHMM(2, n_iter=5, tol=-1.0, random_state=0).fit(X)
    assert hmm.history_ == {"log_likelihood": hmm.monitor_.history}


# --------------------------------------------------------------------------------------
# KMeans: scikit-learn's API and the relocation of empty clusters
# --------------------------------------------------------------------------------------


def test_kmeans_relocation_matches_sklearn():
    """Issue 14, defect 4: the farthest point moved into the empty cluster but stayed
    counted in its old one: centres [-1.65, 10, 9.5], not scikit-learn's
    [-4.5, 10, 9.5], after one step."""
    X = np.array([-10.0, -9.5, -9, -8.5, -8, -1, 1, 9, 9.5, 10]).reshape(-1, 1)
    init = np.array([[-10.0], [-10.0], [-10.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = KMeans(3, init=init, n_init=1, max_iter=1).fit(X)
    sk = sk_cluster.KMeans(3, init=init, n_init=1, max_iter=1).fit(X)
    np.testing.assert_allclose(ours.cluster_centers_.ravel(), [-4.5, 10.0, 9.5])
    np.testing.assert_allclose(ours.cluster_centers_, sk.cluster_centers_)
    # and to convergence: same centres, labels and iterations as scikit-learn
    ours = KMeans(3, init=init, tol=0).fit(X)
    sk = sk_cluster.KMeans(3, init=init, n_init=1, tol=0).fit(X)
    np.testing.assert_allclose(ours.cluster_centers_, sk.cluster_centers_)
    assert ours.n_iter_ == sk.n_iter_
    np.testing.assert_array_equal(ours.labels_, sk.labels_)


def test_kmeans_relocates_empty_cluster():
    X = np.array([[0.0, 0.0], [0.1, 0.0], [10.0, 0.0], [10.1, 0.0]])
    km = KMeans(2, init=[[0.05, 0.0], [100.0, 0.0]], tol=0).fit(
        X
    )  # the far centre owns nothing at first
    assert sorted(np.bincount(km.labels_).tolist()) == [2, 2]
    assert km.inertia_ < 0.02 + 1e-12


def test_kmeans_defaults_and_fit_transform():
    """Issue 14, defect 3: no default n_clusters (sklearn's: 8); no fit_transform."""
    assert KMeans().n_clusters == 8 and KMeans().n_init == "auto"
    X, _ = blobs(n=200, d=2, k=8, sep=10.0, seed=30)
    km = KMeans(random_state=0)
    D = km.fit_transform(X)
    assert D.shape == (200, 8)
    np.testing.assert_allclose(D, km.transform(X))
    np.testing.assert_array_equal(D.argmin(1), km.labels_)
    assert list(km.get_feature_names_out()) == [f"kmeans{i}" for i in range(8)]


def test_kmeans_sample_weight_equals_repetition():
    """Issue 14, defect 3: no sample_weight. Integer weights = repeated rows."""
    X, _ = blobs(n=60, d=2, k=3, sep=3.0, seed=31)
    w = np.random.default_rng(0).integers(0, 4, size=60)
    init = X[w > 0][:3]
    ours = KMeans(3, init=init, tol=0).fit(X, sample_weight=w)
    rep = KMeans(3, init=init, tol=0).fit(np.repeat(X, w, axis=0))
    sk = sk_cluster.KMeans(3, init=init, n_init=1, tol=0).fit(X, sample_weight=w)
    np.testing.assert_allclose(ours.cluster_centers_, rep.cluster_centers_, rtol=1e-12)
    np.testing.assert_allclose(ours.cluster_centers_, sk.cluster_centers_, rtol=1e-10)
    assert (
        ours.inertia_
        == pytest.approx(rep.inertia_, rel=1e-12)
        == pytest.approx(sk.inertia_, rel=1e-10)
    )
    assert ours.score(X, sample_weight=w) == pytest.approx(-ours.inertia_, rel=1e-12)
    # weighted k-means++ and random seeding never pick a zero-weight row
    for init in ("k-means++", "random"):
        for seed in range(5):
            c = KMeans(3, init=init, n_init=1, max_iter=1, random_state=seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                c = c.fit(X, sample_weight=(np.arange(60) < 10).astype(float))
            assert (c.labels_[:10] >= 0).all() and np.isfinite(c.cluster_centers_).all()
    with pytest.raises(ValueError, match="sample_weight.shape"):
        KMeans(3).fit(X, sample_weight=np.ones(5))
    with pytest.raises(ValueError, match="Negative"):
        KMeans(3).fit(X, sample_weight=-np.ones(60))


def test_kmeans_callable_init():
    """Issue 14, defect 3: no callable init."""
    X, _ = blobs(n=100, d=2, k=3, sep=8.0, seed=32)
    seen = {}

    def first_rows(data, n_clusters, random_state):
        seen["type"], seen["rs"] = type(data), random_state
        return data[:n_clusters]

    km = KMeans(3, init=first_rows, n_init=1, tol=0).fit(X)
    sk = sk_cluster.KMeans(3, init=X[:3], n_init=1, tol=0).fit(X)
    np.testing.assert_allclose(km.cluster_centers_, sk.cluster_centers_)
    assert seen["type"] is np.ndarray and isinstance(seen["rs"], np.random.RandomState)
    with pytest.raises(ValueError, match="shape"):
        KMeans(3, init=lambda data, k, random_state: data[:2], n_init=1).fit(X)


def test_kmeans_warnings_as_sklearn():
    """Issue 14, defect 3: no warning for fewer distinct points than clusters, nor
    init with n_init > 1."""
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0]]), 5, axis=0)
    with pytest.warns(
        ConvergenceWarning,
        match=r"Number of distinct clusters \(2\) found smaller than n_clusters \(3\)",
    ):
        KMeans(3, random_state=0).fit(X)
    X, _ = blobs(n=50, d=2, k=2, seed=33)
    with pytest.warns(RuntimeWarning, match="performing only one init"):
        KMeans(2, init=X[:2], n_init=3).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        KMeans(2, init=X[:2]).fit(
            X
        )  # n_init="auto" with given centres: one init, no warning


# --------------------------------------------------------------------------------------
# Degenerate inputs
# --------------------------------------------------------------------------------------


def test_duplicate_points_give_a_sound_fit():
    X = np.ones((20, 2))
    for cov in COV_TYPES:
        gm = GaussianMixture(2, covariance_type=cov, random_state=0).fit(X)
        assert np.isfinite(gm.score_samples(X)).all()
        assert np.isfinite(gm.means_).all() and np.isfinite(gm.covariances_).all()
    with pytest.warns(ConvergenceWarning, match="distinct clusters"):
        km = KMeans(3, random_state=0).fit(X)
    assert km.inertia_ == 0.0 and np.isfinite(km.cluster_centers_).all()


def test_collapse_without_regularisation_raises_clear_error():
    X = np.ones((20, 2))
    with pytest.raises(ValueError, match="increase reg_covar"):
        GaussianMixture(2, reg_covar=0.0, random_state=0).fit(X)


def test_emptied_component_stays_finite():
    X, _ = blobs(n=200, d=2, k=1, seed=12)
    means = np.stack([X.mean(0), X.mean(0) + 1e3])  # the second component owns no point
    gm = GaussianMixture(
        2,
        means_init=means,
        weights_init=[0.5, 0.5],
        precisions_init=np.stack([np.eye(2)] * 2),
        max_iter=10,
        random_state=0,
    ).fit(X)
    assert np.isfinite(gm.score_samples(X)).all()
    assert gm.weights_[1] < 1e-10
    assert np.isfinite(gm.covariances_).all()


def test_max_iter_zero_keeps_the_initial_parameters():
    X, _ = blobs(n=100, d=2, k=2, seed=13)
    P = np.stack([np.eye(2) * 2.0] * 2)
    gm = GaussianMixture(
        2, weights_init=[0.3, 0.7], means_init=X[:2], precisions_init=P, max_iter=0
    ).fit(X)
    assert gm.n_iter_ == 0 and gm.history_["lower_bound"] == []
    np.testing.assert_allclose(gm.covariances_, np.linalg.inv(P))
    np.testing.assert_allclose(gm.weights_, [0.3, 0.7])


# --------------------------------------------------------------------------------------
# BernoulliMixture
# --------------------------------------------------------------------------------------


def binary_mixture(n=2000, d=12, seed=0):
    rng = np.random.default_rng(seed)
    protos = np.array(
        [
            [0.9] * (d // 2) + [0.1] * (d - d // 2),
            [0.1] * (d // 2) + [0.9] * (d - d // 2),
        ]
    )
    z = rng.integers(2, size=n)
    return (rng.random((n, d)) < protos[z]).astype(np.float32), z, protos


def test_bernoulli_score_samples_is_exact_log_likelihood():
    X, _, _ = binary_mixture(n=300, seed=1)
    bm = BernoulliMixture(3, random_state=0, max_iter=20).fit(X)
    w, mu = bm.weights_.astype(np.float64), bm.means_.astype(np.float64)
    Xd = X.astype(np.float64)
    ref = logsumexp(np.log(w) + Xd @ np.log(mu).T + (1 - Xd) @ np.log1p(-mu).T, axis=1)
    assert rel(bm.score_samples(X), ref) < 1e-5
    np.testing.assert_allclose(bm.predict_proba(X).sum(1), 1.0, atol=1e-5)
    n_par = 3 * 12 + 2
    assert abs(bm.bic(X) - (-2 * ref.sum() + n_par * np.log(300))) < 1e-4 * abs(
        bm.bic(X)
    )
    assert abs(bm.aic(X) - (-2 * ref.sum() + 2 * n_par)) < 1e-4 * abs(bm.aic(X))


@pytest.mark.parametrize("init", ["random", "random_from_data", "kmeans", "k-means++"])
def test_bernoulli_recovers_prototypes(init):
    X, z, protos = binary_mixture(seed=2)
    bm = BernoulliMixture(
        2, init_params=init, random_state=0, tol=1e-6, max_iter=200
    ).fit(X)
    assert bm.converged_
    order = np.argsort(bm.means_[:, 0])[::-1]
    np.testing.assert_allclose(bm.means_[order], protos, atol=0.05)
    acc = (bm.predict(X) == z).mean()
    assert max(acc, 1 - acc) > 0.98
    b = np.array(bm.history_["lower_bound"])
    assert np.all(np.diff(b) >= -1e-5)


def test_bernoulli_means_stay_inside_unit_interval_and_sample():
    X = np.zeros((50, 6), dtype=np.float32)
    X[:25, :3] = (
        1.0  # columns that are constant within a component push the MLE to 0 or 1
    )
    bm = BernoulliMixture(
        2, init_params="kmeans", random_state=0, pseudo_count=0.0
    ).fit(X)
    assert (bm.means_ > 0).all() and (bm.means_ < 1).all()
    assert np.isfinite(bm.score_samples(X)).all()
    S, labels = bm.sample(5000)
    assert set(np.unique(S).tolist()) <= {0.0, 1.0}
    for k in range(2):
        if (labels == k).sum() > 500:
            np.testing.assert_allclose(S[labels == k].mean(0), bm.means_[k], atol=0.05)


def test_bernoulli_float64_and_inits():
    X, _, _ = binary_mixture(n=200, seed=3)
    bm = BernoulliMixture(
        2,
        weights_init=[0.5, 0.5],
        means_init=np.full((2, 12), 0.5) + np.eye(2, 12) * 0.1,
        dtype=torch.float64,
        max_iter=50,
    ).fit(X)
    assert bm.means_.dtype == np.float64
    assert np.isfinite(bm.score_samples(X)).all()


def test_bernoulli_warm_start():
    X, _, _ = binary_mixture(n=300, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ten = BernoulliMixture(2, max_iter=10, tol=0, random_state=0).fit(X)
        warm = (
            BernoulliMixture(2, max_iter=5, tol=0, random_state=0, warm_start=True)
            .fit(X)
            .fit(X)
        )
    np.testing.assert_allclose(warm.means_, ten.means_, rtol=1e-5)


def test_bernoulli_checks_on_binary_data():
    """What scikit-learn's estimator checks ask, on binary data.

    Its own checks feed continuous data; tests/test_sklearn_contract.py names them."""
    import pickle

    from sklearn.base import clone

    X, _, _ = binary_mixture(n=300, seed=5)
    bm = BernoulliMixture(2, random_state=0, max_iter=20).fit(X)
    again = pickle.loads(pickle.dumps(bm))
    np.testing.assert_array_equal(again.predict_proba(X), bm.predict_proba(X))
    refit = clone(bm).fit(X)  # fitting is idempotent
    np.testing.assert_array_equal(refit.score_samples(X), bm.score_samples(X))
    whole = bm.score_samples(X)  # rows are scored independently of each other
    parts = np.concatenate([bm.score_samples(X[:100]), bm.score_samples(X[100:])])
    np.testing.assert_allclose(parts, whole, rtol=1e-6)
    order = np.random.default_rng(0).permutation(300)
    np.testing.assert_allclose(bm.score_samples(X[order]), whole[order], rtol=1e-6)
    with pytest.raises(ValueError, match="X has 5 features, but BernoulliMixture"):
        bm.predict(X[:, :5])
    assert bm.n_features_in_ == 12 and "weights_" in vars(bm)


def test_bernoulli_rejects_non_binary():
    with pytest.raises(ValueError, match="binary"):
        BernoulliMixture(2).fit(np.array([[0.0, 0.5], [1.0, 1.0], [0.0, 0.0]]))
    bm = BernoulliMixture(1, random_state=0).fit(np.array([[0.0, 1.0], [1.0, 1.0]]))
    with pytest.raises(ValueError, match="binary"):
        bm.score_samples(np.array([[2.0, 0.0]]))


# --------------------------------------------------------------------------------------
# Every ValueError path
# --------------------------------------------------------------------------------------

X_OK = np.random.default_rng(0).normal(size=(10, 2))


@pytest.mark.parametrize(
    "kwargs, X, match",
    [
        ({}, np.zeros(5), "Expected 2D array"),
        ({}, np.zeros((2, 3, 4)), "dim 3"),
        ({}, np.array([[0.0, np.nan], [1.0, 2.0]]), "NaN"),
        ({}, np.array([[0.0, np.inf], [1.0, 2.0]]), "infinity"),
        ({"n_components": 11}, X_OK, "n_samples >= n_components"),
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
        (
            {"precisions_init": np.stack([np.eye(2), [[1.0, 2.0], [0.0, 1.0]]])},
            X_OK,
            "symmetric",
        ),
        ({"precisions_init": np.ones((2, 3, 3))}, X_OK, "shape"),
        ({"precisions_init": np.ones((2, 2)), "covariance_type": "diag"}, X_OK, None),
        (
            {"precisions_init": -np.ones((2, 2)), "covariance_type": "diag"},
            X_OK,
            "positive",
        ),
        (
            {"precisions_init": -np.ones(2), "covariance_type": "spherical"},
            X_OK,
            "positive",
        ),
        ({}, np.zeros((1, 2)), "minimum of 2"),
        ({"device": "banana"}, X_OK, "device"),
    ],
)
def test_gaussian_mixture_value_errors(kwargs, X, match):
    kwargs = {"n_components": 2, **kwargs}
    if match is None:  # the valid counterpart of the lines around it
        GaussianMixture(**kwargs).fit(X)
        return
    with pytest.raises(ValueError, match=match):
        GaussianMixture(**kwargs).fit(X)


@pytest.mark.parametrize(
    "X, match",
    [
        (torch.zeros(5), "2-D"),
        (torch.tensor([[0.0, float("nan")], [1.0, 2.0]]), "NaN"),
        (torch.tensor([[0.0, float("inf")], [1.0, 2.0]]), "infinity"),
        (torch.zeros(1, 2), "minimum of 2"),
        (torch.zeros(3, 0), "0 feature"),
    ],
)
def test_tensor_value_errors(X, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixture(1).fit(X)


def test_value_errors_after_fit():
    gm = GaussianMixture(2, random_state=0).fit(X_OK)
    with pytest.raises(
        ValueError, match="X has 3 features, but GaussianMixture is expecting 2"
    ):
        gm.predict(np.zeros((3, 3)))
    with pytest.raises(
        ValueError, match="X has 3 features, but GaussianMixture is expecting 2"
    ):
        gm.predict(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="n_samples must be >= 1"):
        gm.sample(0)


def test_kmeans_value_errors():
    with pytest.raises(ValueError, match="n_samples=10 should be >= n_clusters=11"):
        KMeans(11).fit(X_OK)
    with pytest.raises(ValueError, match="init centres must have shape"):
        KMeans(2, init=np.zeros((3, 2))).fit(X_OK)
    with pytest.raises(ValueError, match="init"):
        KMeans(2, init="best").fit(X_OK)
    with pytest.raises(ValueError, match="n_init"):
        KMeans(2, n_init="many").fit(X_OK)
    with pytest.raises(ValueError, match="Expected 2D array"):
        KMeans(2).fit(np.zeros(4))
    with pytest.raises(ValueError, match="tol"):
        KMeans(2, tol=-1).fit(X_OK)
    km = KMeans(2, random_state=0).fit(X_OK)
    with pytest.raises(ValueError, match="X has 5 features, but KMeans is expecting 2"):
        km.predict(np.zeros((2, 5)))


def test_bernoulli_value_errors():
    Xb = (X_OK > 0).astype(float)
    for kwargs, match in [
        ({"pseudo_count": -1.0}, "pseudo_count"),
        ({"init_params": "magic"}, "init_params"),
        ({"n_components": 20}, "n_samples >= n_components"),
        ({"means_init": np.full((2, 2), 1.0)}, r"inside \(0, 1\)"),
        ({"means_init": np.full((3, 2), 0.5)}, "shape"),
        ({"weights_init": [0.2, 0.2]}, "sum to 1"),
    ]:
        with pytest.raises(ValueError, match=match):
            BernoulliMixture(**{"n_components": 2, **kwargs}).fit(Xb)


# --------------------------------------------------------------------------------------
# GPU
# --------------------------------------------------------------------------------------


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
        on_device = ours_from(start, cov, max_iter=10, tol=0, device="cuda").fit(X)
    assert gpu.means_.device.type == "cuda"
    np.testing.assert_allclose(
        gpu.means_.cpu().numpy(), cpu.means_, rtol=1e-8, atol=1e-10
    )
    np.testing.assert_allclose(gpu.score_samples(X), cpu.score_samples(X), rtol=1e-8)
    assert gpu.score_samples(torch.from_numpy(X).cuda()).device.type == "cuda"
    assert isinstance(
        on_device.means_, np.ndarray
    )  # numpy in, numpy out, computed on the GPU
    np.testing.assert_allclose(on_device.means_, cpu.means_, rtol=1e-8, atol=1e-10)
    km = KMeans(3, random_state=0).fit(torch.from_numpy(X).float().cuda())
    assert km.cluster_centers_.device.type == "cuda"
    bm = BernoulliMixture(3, random_state=0).fit(torch.from_numpy(X > 0).float().cuda())
    assert bm.sample(10)[0].device.type == "cuda"
