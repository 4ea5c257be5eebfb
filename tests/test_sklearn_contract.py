"""scikit-learn's own estimator checks on statlearn's classical estimators (issue 14).

GaussianMixture and KMeans pass ``check_estimator``; each check expected to fail is
named here with its reason. Small settings (``max_iter=5``, ``n_init=2``) are the ones
scikit-learn's own test suite uses for its GaussianMixture and KMeans. Then the one
``sample`` signature of statlearn's randomness rule, shared by the mixtures and the HMMs
(whose own estimator checks are in test_hmm_contract.py).
"""

from __future__ import annotations

import pytest

pytest.importorskip("sklearn")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import inspect  # noqa: E402

import numpy as np  # noqa: E402

from statlearn.latent import (  # noqa: E402
    BernoulliMixture,
    CategoricalHMM,
    GaussianHMM,
    GaussianMixture,
    KMeans,
)

_SAMPLE_WEIGHT_REASON = (
    "k-means++ draws its seeds in proportion to the weights, which spends the "
    "random generator differently from draws over repeated rows, so the seeds and then "
    "the local optimum differ (scikit-learn's own KMeans fails this check too, with "
    "these settings and with its defaults). "
    "From the same initial centres, integer weights and repeated rows give the same "
    "centres: test_kmeans_sample_weight_equals_repetition in test_mixture.py."
)

# BernoulliMixture models binary data and rejects anything else with a ValueError; these
# checks fit it on continuous (or negative, or 1-feature continuous) data.
_BINARY_REASON = "fits continuous data; BernoulliMixture accepts binary X only"
_BERNOULLI_NEEDS_BINARY = [
    "check_fit_score_takes_y",
    "check_estimators_overwrite_params",
    "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self",
    "check_readonly_memmap_input",
    "check_n_features_in_after_fitting",
    "check_positive_only_tag_during_fit",
    "check_estimators_dtypes",
    "check_dtype_object",
    "check_pipeline_consistency",
    "check_estimators_nan_inf",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_fit2d_1feature",
    "check_dict_unchanged",
    "check_fit_idempotent",
    "check_fit_check_is_fitted",
    "check_n_features_in",
    "check_fit2d_predict1d",
]


def expected_failed_checks(estimator) -> dict[str, str]:
    if isinstance(estimator, KMeans):
        return {"check_sample_weight_equivalence_on_dense_data": _SAMPLE_WEIGHT_REASON}
    if isinstance(estimator, BernoulliMixture):
        return {name: _BINARY_REASON for name in _BERNOULLI_NEEDS_BINARY}
    return {}


@parametrize_with_checks(
    [
        GaussianMixture(n_init=2, max_iter=5),
        KMeans(n_clusters=2, n_init=2, max_iter=5),
        BernoulliMixture(n_init=2, max_iter=5),
    ],
    expected_failed_checks=expected_failed_checks,
    xfail_strict=True,
)
def test_sklearn_estimator_checks(estimator, check):
    """scikit-learn's check_estimator, one check per test."""
    check(estimator)


def _fitted_samplers():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2))
    symbols = rng.integers(0, 3, size=(120, 1))
    return {
        "GaussianMixture": GaussianMixture(2, random_state=3).fit(X),
        "BernoulliMixture": BernoulliMixture(2, random_state=3).fit(
            (X > 0).astype(float)
        ),
        "GaussianHMM": GaussianHMM(2, n_iter=3, tol=-1.0, random_state=3).fit(X),
        "CategoricalHMM": CategoricalHMM(2, n_iter=3, tol=-1.0, random_state=3).fit(
            symbols
        ),
    }


def test_sample_has_one_signature():
    """Rule 1: sample(n_samples=1, *, random_state=None, ...) on every estimator that
    draws; random_state=None falls back to the estimator's own random_state."""
    for name, model in _fitted_samplers().items():
        params = inspect.signature(model.sample).parameters
        assert list(params)[:2] == ["n_samples", "random_state"], name
        assert params["n_samples"].default == 1, name
        rs = params["random_state"]
        assert rs.kind is inspect.Parameter.KEYWORD_ONLY and rs.default is None, name
        # extra options (hmmlearn's currstate) come after random_state, keyword-only
        assert all(
            p.kind is inspect.Parameter.KEYWORD_ONLY for p in list(params.values())[1:]
        ), name
        np.testing.assert_array_equal(
            model.sample(7)[0], model.sample(7, random_state=3)[0], err_msg=name
        )
        a = model.sample(50, random_state=np.random.RandomState(4))[0]
        b = model.sample(50, random_state=np.random.RandomState(4))[0]
        np.testing.assert_array_equal(a, b, err_msg=name)
        assert not np.array_equal(a, model.sample(50, random_state=5)[0]), name
