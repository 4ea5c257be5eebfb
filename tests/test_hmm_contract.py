"""statlearn's HMMs keep hmmlearn's and scikit-learn's contract (issue 14).

Each defect of the issue has a test here that fails on the code before the fix: float32
fit then sample (1), inputs that carry gradients (2), hmmlearn's API (5: list
parameters, aic/bic, get_stationary_distribution, sample(currstate=), monitor_,
n_features, init_params="", the overwrite warning) and array in = same array out (6).
Then scikit-learn's machinery: clone, get_params, GridSearchCV, NotFittedError,
ConvergenceWarning, random_state, and scikit-learn's estimator checks.
"""

from __future__ import annotations

import math
import pickle
import pydoc
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.utils.estimator_checks import parametrize_with_checks

from statlearn.latent import CategoricalHMM, GaussianHMM
from statlearn.latent import hmm as hmm_module
from statlearn.latent.hmm import inference, models

hmmlearn_hmm = pytest.importorskip("hmmlearn.hmm")

no_convergence_warning = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)


def _params(K: int, seed: int):
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.ones(K)), rng.dirichlet(np.ones(K), size=K), rng


def _categorical(seed: int = 0, K: int = 3, F: int = 4):
    pi, A, rng = _params(K, seed)
    model = CategoricalHMM(K, n_features=F)
    model.startprob_, model.transmat_, model.emissionprob_ = (
        pi,
        A,
        rng.dirichlet(np.ones(F), size=K),
    )
    return model


def _gaussian(covariance_type: str = "diag", seed: int = 0, K: int = 3, D: int = 2):
    pi, A, rng = _params(K, seed)
    model = GaussianHMM(K, covariance_type=covariance_type)
    model.startprob_, model.transmat_ = pi, A
    model.means_ = rng.normal(size=(K, D)) * 3
    if covariance_type == "diag":
        model.covars_ = rng.uniform(0.5, 2.0, size=(K, D))
    else:
        model.covars_ = np.stack(
            [np.cov(rng.normal(size=(6, D)).T) + np.eye(D) for _ in range(K)]
        )
    return model


def _hmmlearn_twin(model):
    if isinstance(model, CategoricalHMM):
        ref = hmmlearn_hmm.CategoricalHMM(
            model.n_components, n_features=model.n_features
        )
        ref.emissionprob_ = np.asarray(model.emissionprob_)
    else:
        ref = hmmlearn_hmm.GaussianHMM(
            model.n_components, covariance_type=model.covariance_type
        )
        ref.means_ = np.asarray(model.means_)
        ref.covars_ = np.asarray(model._covars_)
    ref.startprob_, ref.transmat_ = (
        np.asarray(model.startprob_),
        np.asarray(model.transmat_),
    )
    return ref


# --------------------------------------------------------------------------------------
# Defect 1: fit, then sample, in float32
# --------------------------------------------------------------------------------------


@no_convergence_warning
@pytest.mark.parametrize("seed", range(10))
def test_float32_fit_then_sample(seed):
    """Baum-Welch's float32 parameters sum to 1 up to rounding; sample takes them."""
    rng = np.random.default_rng(seed)
    symbols = rng.integers(0, 4, size=(300, 1))
    # float32 by dtype=, and by an integer tensor
    for X in (symbols, torch.as_tensor(symbols)):
        dtype = torch.float32 if X is symbols else None
        cat = CategoricalHMM(3, random_state=seed, n_iter=20, dtype=dtype).fit(X)
        assert cat.transmat_.dtype in (np.float32, torch.float32)
        x, z = cat.sample(10)
        assert tuple(x.shape) == (10, 1) and tuple(z.shape) == (10,)
    Xg = rng.normal(size=(300, 2)).astype(np.float32)
    g = GaussianHMM(3, random_state=seed, n_iter=20).fit(Xg)
    assert g.means_.dtype == np.float32
    assert g.sample(10)[0].shape == (10, 2)
    # float32 parameters also score float64 input (checked in float64 arithmetic)
    assert math.isfinite(g.score(Xg.astype(np.float64)))


# --------------------------------------------------------------------------------------
# Defect 2: inputs that carry gradients
# --------------------------------------------------------------------------------------


@no_convergence_warning
def test_gaussian_hmm_on_a_networks_output():
    g = torch.Generator().manual_seed(0)
    net = torch.nn.Linear(3, 2).double()
    x = net(torch.randn(300, 3, generator=g, dtype=torch.float64))
    assert x.requires_grad
    model = GaussianHMM(2, n_iter=5, random_state=0).fit(x, [150, 150])
    for name in ("startprob_", "transmat_", "means_", "covars_"):
        value = getattr(model, name)
        assert (
            isinstance(value, torch.Tensor)
            and not value.requires_grad
            and value.grad_fn is None
        ), name
    lp, post = model.score_samples(x)
    assert math.isfinite(lp) and not post.requires_grad
    assert not model.predict(x).requires_grad and math.isfinite(model.score(x))
    # parameters that carry gradients are detached too
    model.means_ = model.means_.clone().requires_grad_(True)
    assert math.isfinite(model.score(x)) and not model.predict_proba(x).requires_grad


# --------------------------------------------------------------------------------------
# Defect 5: hmmlearn's API
# --------------------------------------------------------------------------------------


def test_nested_list_parameters_and_empty_emissions():
    """Wikipedia's Viterbi example, every parameter a nested list (as in hmmlearn)."""
    model = CategoricalHMM(2)
    model.startprob_ = [0.6, 0.4]
    model.transmat_ = [[0.7, 0.3], [0.4, 0.6]]
    model.emissionprob_ = [[0.5, 0.4, 0.1], [0.1, 0.3, 0.6]]
    X = [[0], [1], [2]]  # normal, cold, dizzy
    log_prob, states = model.decode(X)
    assert math.exp(log_prob) == pytest.approx(0.01512, rel=1e-9)
    assert states.tolist() == [0, 0, 1] and isinstance(states, np.ndarray)
    assert math.exp(model.score(X)) == pytest.approx(0.03628, abs=1e-5)
    model.emissionprob_ = []
    with pytest.raises(ValueError, match="emissionprob_"):
        model.score(X)
    with pytest.raises(ValueError, match="emissionprob_"):
        model.decode(X)


@pytest.mark.parametrize("kind", ["categorical", "diag", "full"])
def test_aic_bic_and_stationary_distribution_match_hmmlearn(kind):
    model = _categorical(seed=3) if kind == "categorical" else _gaussian(kind, seed=3)
    ref = _hmmlearn_twin(model)
    X, _ = ref.sample(300, random_state=1)
    lengths = [100, 200]
    assert model.aic(X, lengths) == pytest.approx(ref.aic(X, lengths), rel=1e-10)
    assert model.bic(X, lengths) == pytest.approx(ref.bic(X, lengths), rel=1e-10)
    # the counts differ from model to model, so the check is not vacuous
    n_params = (model.bic(X, lengths) - model.aic(X, lengths)) / (math.log(300) - 2)
    expected = {"categorical": 2 + 6 + 9, "diag": 2 + 6 + 6 + 6, "full": 2 + 6 + 6 + 9}[
        kind
    ]
    assert n_params == pytest.approx(expected)
    stationary = model.get_stationary_distribution()
    np.testing.assert_allclose(
        stationary, ref.get_stationary_distribution(), atol=1e-12
    )
    np.testing.assert_allclose(
        stationary @ np.asarray(model.transmat_), stationary, atol=1e-12
    )


def test_stationary_distribution_follows_the_parameters():
    model = _categorical(seed=4)
    model.transmat_ = torch.as_tensor(model.transmat_, dtype=torch.float32)
    model.startprob_ = torch.as_tensor(model.startprob_, dtype=torch.float32)
    model.emissionprob_ = torch.as_tensor(model.emissionprob_, dtype=torch.float32)
    p = model.get_stationary_distribution()
    assert isinstance(p, torch.Tensor) and p.dtype == torch.float32
    np.testing.assert_allclose(
        p.numpy(), _hmmlearn_twin(model).get_stationary_distribution(), atol=1e-6
    )
    with pytest.raises(NotFittedError):
        CategoricalHMM(2).get_stationary_distribution()


def test_sample_currstate_continues_a_sequence():
    model = CategoricalHMM(3, n_features=3)
    model.startprob_ = np.array([1.0, 0.0, 0.0])
    # 0 -> 1 -> 2 -> 0
    model.transmat_ = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    model.emissionprob_ = np.eye(3)
    X, Z = model.sample(5, random_state=0, currstate=2)
    assert Z.tolist() == [2, 0, 1, 2, 0] and X[:, 0].tolist() == Z.tolist()
    _, Z2 = model.sample(3, random_state=0, currstate=Z[-1])
    assert Z2.tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="currstate"):
        model.sample(3, currstate=3)


@pytest.mark.parametrize("tol, n_iter", [(-1.0, 7), (1e6, 7)])
def test_monitor_records_the_run(tol, n_iter):
    X = _gaussian(seed=5).sample(400, random_state=0)[0]
    model = GaussianHMM(3, n_iter=n_iter, tol=tol, random_state=0).fit(X)
    m = model.monitor_
    assert m.history == model.history_["log_likelihood"]
    assert m.iter == model.n_iter_ == len(m.history)
    assert m.converged == model.converged_
    if tol < 0:
        assert m.iter == n_iter and not m.converged
    else:
        # the second iteration's gain is below a huge tol
        assert m.iter == 2 and m.converged
    assert np.all(np.diff(m.history) >= -1e-8 * np.abs(m.history[1:]))


@no_convergence_warning
def test_fit_sets_n_features():
    X = np.array([[0], [4], [2], [1], [3], [0]])
    cat = CategoricalHMM(2, random_state=0).fit(X)
    assert cat.n_features == 5 and cat.emissionprob_.shape == (2, 5)
    kept = CategoricalHMM(2, init_params="st", random_state=0)
    kept.emissionprob_ = np.full((2, 7), 1 / 7)
    # the columns of an emissionprob_ it keeps, as hmmlearn
    assert kept.fit(X).n_features == 7
    g = GaussianHMM(2, random_state=0).fit(
        np.random.default_rng(0).normal(size=(50, 3))
    )
    assert g.n_features == 3 and g.n_features_in_ == 3


@no_convergence_warning
def test_init_params_empty_initialises_what_is_missing():
    X = _categorical(seed=6).sample(200, random_state=0)[0]
    nothing_set = CategoricalHMM(3, init_params="", n_iter=3, random_state=0).fit(X)
    assert nothing_set.emissionprob_.shape == (3, 4)
    np.testing.assert_allclose(
        nothing_set.monitor_.history,
        CategoricalHMM(3, n_iter=3, random_state=0).fit(X).history_["log_likelihood"],
    )
    B = np.array([[0.7, 0.1, 0.1, 0.1], [0.1, 0.7, 0.1, 0.1], [0.1, 0.1, 0.1, 0.7]])
    partial = CategoricalHMM(3, init_params="", params="st", n_iter=1, random_state=0)
    partial.emissionprob_ = B
    partial.fit(X)
    np.testing.assert_array_equal(partial.emissionprob_, B)  # kept, not re-drawn
    g = GaussianHMM(2, init_params="", n_iter=2, random_state=0).fit(
        np.random.default_rng(0).normal(size=(60, 2))
    )
    assert g.means_.shape == (2, 2) and g.covars_.shape == (2, 2, 2)


@no_convergence_warning
def test_fit_warns_when_it_overwrites_parameters_set_by_hand():
    X = _categorical(seed=7).sample(200, random_state=0)[0]
    model = CategoricalHMM(3, n_iter=2, random_state=0)
    model.startprob_ = np.array([0.2, 0.3, 0.5])
    with pytest.warns(UserWarning, match="startprob_ was set, but fit overwrites it"):
        model.fit(X)

    def overwrite_warnings(fn):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fn()
        return [w for w in caught if "overwrites" in str(w.message)]

    # values left by an earlier fit: no warning
    assert overwrite_warnings(lambda: model.fit(X)) == []
    kept = CategoricalHMM(3, n_iter=2, init_params="te", random_state=0)
    kept.startprob_ = np.array([0.2, 0.3, 0.5])
    # not in init_params: used, not overwritten
    assert overwrite_warnings(lambda: kept.fit(X)) == []
    g = GaussianHMM(2, n_iter=2, random_state=0)
    g.covars_ = np.ones((2, 2))
    with pytest.warns(UserWarning, match="covars_ was set"):
        g.fit(np.random.default_rng(0).normal(size=(60, 2)))


def test_map_decode_log_probability_is_a_sum_of_log_posteriors():
    """statlearn's MAP score is a log-probability; hmmlearn's a sum of probabilities."""
    model = _categorical(seed=8)
    ref = _hmmlearn_twin(model)
    X, _ = ref.sample(60, random_state=2)
    post = model.predict_proba(X)
    log_prob, states = model.decode(X, algorithm="map")
    assert log_prob == pytest.approx(float(np.log(post.max(1)).sum()), rel=1e-12)
    ref_prob, ref_states = ref.decode(X, algorithm="map")
    assert ref_prob == pytest.approx(float(post.max(1).sum()), rel=1e-10)
    np.testing.assert_array_equal(states, ref_states)
    assert "sum of the probabilities" in " ".join(CategoricalHMM.decode.__doc__.split())


# --------------------------------------------------------------------------------------
# Defect 6: array in, same array out
# --------------------------------------------------------------------------------------


@no_convergence_warning
@pytest.mark.parametrize("kind", ["categorical", "gaussian"])
def test_numpy_in_numpy_out_and_tensor_in_tensor_out(kind):
    truth = _categorical(seed=9) if kind == "categorical" else _gaussian(seed=9)
    X, Z = truth.sample(300, random_state=0)
    assert (
        isinstance(X, np.ndarray) and isinstance(Z, np.ndarray) and Z.dtype == np.int64
    )
    make = (
        (lambda: CategoricalHMM(3, n_iter=5, random_state=0))
        if kind == "categorical"
        else (lambda: GaussianHMM(3, n_iter=5, random_state=0))
    )
    names = (
        ["startprob_", "transmat_", "emissionprob_"]
        if kind == "categorical"
        else ["startprob_", "transmat_", "means_", "covars_"]
    )
    model = make().fit(X, [100, 200])
    for name in names:
        assert isinstance(getattr(model, name), np.ndarray), name
    labels = model.predict(X)
    assert isinstance(labels, np.ndarray) and labels.dtype == np.int64
    assert 0.0 <= (labels == Z).mean() <= 1.0  # a numpy user's accuracy line works
    assert isinstance(model.predict_proba(X), np.ndarray)
    assert isinstance(model.score_samples(X)[1], np.ndarray)
    for algorithm in ("viterbi", "map"):
        assert isinstance(model.decode(X, algorithm=algorithm)[1], np.ndarray)
    assert all(isinstance(a, np.ndarray) for a in model.sample(5, random_state=0))
    assert isinstance(model.get_stationary_distribution(), np.ndarray)

    Xt = torch.as_tensor(X)
    tmodel = make().fit(Xt, [100, 200])
    for name in names:
        assert isinstance(getattr(tmodel, name), torch.Tensor), name
    assert isinstance(tmodel.predict(Xt), torch.Tensor) and isinstance(
        tmodel.predict_proba(Xt), torch.Tensor
    )
    assert all(isinstance(a, torch.Tensor) for a in tmodel.sample(5, random_state=0))
    # results follow their own input: NumPy to a model fitted on tensors gives NumPy
    assert isinstance(tmodel.predict(X), np.ndarray)
    # the same numbers either way
    np.testing.assert_allclose(
        tmodel.predict_proba(X), model.predict_proba(X), atol=1e-5
    )


# --------------------------------------------------------------------------------------
# scikit-learn's machinery
# --------------------------------------------------------------------------------------


def test_clone_get_params_set_params():
    model = GaussianHMM(
        3, covariance_type="full", n_iter=7, random_state=np.random.RandomState(0)
    )
    params = model.get_params()
    assert (
        params["n_components"] == 3
        and params["covariance_type"] == "full"
        and params["n_iter"] == 7
    )
    assert set(CategoricalHMM().get_params()) >= {
        "n_components",
        "n_features",
        "n_iter",
        "tol",
        "params",
        "init_params",
    }
    copy = clone(model)
    assert copy is not model and copy.get_params()["covariance_type"] == "full"
    assert (
        copy.set_params(n_components=2, tol=0.5) is copy
        and copy.n_components == 2
        and copy.tol == 0.5
    )
    assert "GaussianHMM(" in repr(copy) and "n_components=2" in repr(copy)
    fitted = _gaussian(seed=1)
    fresh = clone(fitted)
    with pytest.raises(NotFittedError):
        fresh.score(np.zeros((5, 2)))


@no_convergence_warning
def test_grid_search_scores_with_score():
    truth = GaussianHMM(2)
    truth.startprob_, truth.transmat_ = (
        np.array([0.5, 0.5]),
        np.array([[0.95, 0.05], [0.05, 0.95]]),
    )
    truth.means_, truth.covars_ = np.array([[0.0, 0.0], [6.0, 6.0]]), np.ones((2, 2))
    X, _ = truth.sample(900, random_state=0)
    search = GridSearchCV(
        GaussianHMM(random_state=0, n_iter=20), {"n_components": [1, 2]}, cv=3
    ).fit(X)
    assert search.best_params_ == {"n_components": 2}
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


@pytest.mark.parametrize("make", [lambda: CategoricalHMM(2), lambda: GaussianHMM(2)])
def test_unfitted_models_raise_not_fitted_error(make):
    X = np.zeros((4, 1), dtype=int)
    for call in (
        lambda m: m.score(X),
        lambda m: m.predict(X),
        lambda m: m.predict_proba(X),
        lambda m: m.decode(X),
        lambda m: m.sample(3),
        lambda m: m.aic(X),
        lambda m: m.bic(X),
        lambda m: m.get_stationary_distribution(),
    ):
        with pytest.raises(NotFittedError, match="call fit first"):
            call(make())


def test_convergence_warning_is_scikit_learns():
    X = _gaussian(seed=2).sample(300, random_state=0)[0]
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        GaussianHMM(3, n_iter=2, tol=1e-12, random_state=0).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        # a negative tol: n_iter by request
        GaussianHMM(3, n_iter=2, tol=-1.0, random_state=0).fit(X)
        GaussianHMM(3, n_iter=200, random_state=0).fit(X)


@no_convergence_warning
def test_random_state_kinds():
    X = _gaussian(seed=3).sample(300, random_state=0)[0]

    def history(random_state):
        fit = GaussianHMM(3, n_iter=3, random_state=random_state).fit(X)
        return fit.history_["log_likelihood"]

    assert history(np.random.RandomState(0)) == history(np.random.RandomState(0))
    assert history(torch.Generator().manual_seed(5)) == history(
        torch.Generator().manual_seed(5)
    )
    assert history(np.random.default_rng(1)) == history(np.random.default_rng(1))
    assert history(4) == history(np.int64(4))
    # one instance advances: two fits start differently
    shared = np.random.RandomState(0)
    assert history(shared) != history(shared)
    with pytest.raises(TypeError, match="random_state"):
        history("0")
    model = _gaussian(seed=3)
    a, _ = model.sample(20, random_state=np.random.RandomState(7))
    b, _ = model.sample(20, random_state=np.random.RandomState(7))
    np.testing.assert_array_equal(a, b)


@no_convergence_warning
@pytest.mark.parametrize("kind", ["categorical", "gaussian"])
def test_pickle_and_fit_idempotent(kind):
    truth = _categorical(seed=10) if kind == "categorical" else _gaussian(seed=10)
    X, _ = truth.sample(200, random_state=0)
    model = (CategoricalHMM(3) if kind == "categorical" else GaussianHMM(3)).set_params(
        random_state=0, n_iter=5
    )
    model.fit(X)
    before = {
        k: v.copy() if isinstance(v, np.ndarray) else v for k, v in vars(model).items()
    }
    post = model.predict_proba(X)
    model.predict(X), model.score(X), model.decode(X)
    assert set(vars(model)) == set(before)  # predicting stores nothing on the model
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict_proba(X), post)
    np.testing.assert_allclose(clone(model).fit(X).predict_proba(X), post, atol=1e-12)


class _YIgnoredGaussianHMM(GaussianHMM):
    """GaussianHMM for scikit-learn's checks, which pass ``y`` where hmmlearn's API
    takes ``lengths``."""

    def fit(self, X, y=None):
        return super().fit(X)

    def score(self, X, y=None):
        return super().score(X)


class _YIgnoredCategoricalHMM(CategoricalHMM):
    """CategoricalHMM for scikit-learn's checks (see :class:`_YIgnoredGaussianHMM`)."""

    def fit(self, X, y=None):
        return super().fit(X)

    def score(self, X, y=None):
        return super().score(X)


_SEQUENCE = (
    "a sequence model: a step's posterior depends on its neighbours, and score_samples "
    "returns hmmlearn's (log_prob, posteriors)"
)
_BY_DESIGN = {
    "check_methods_sample_order_invariance": _SEQUENCE,
    "check_methods_subset_invariance": _SEQUENCE,
    "check_dont_overwrite_parameters": "fit sets n_features (public), as hmmlearn",
    "check_dtype_object": "statlearn._arrays.to_torch rejects object arrays",
    "check_complex_data": "to_torch says 'complex data is not supported'",
}
_CONTINUOUS = (
    "scikit-learn's checks fit continuous data; CategoricalHMM takes integer symbols"
)
_CATEGORICAL_FAILS = [
    "check_fit_score_takes_y",
    "check_estimators_overwrite_params",
    "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self",
    "check_readonly_memmap_input",
    "check_n_features_in_after_fitting",
    "check_estimators_dtypes",
    "check_pipeline_consistency",
    "check_estimators_nan_inf",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_fit2d_1sample",
    "check_fit2d_1feature",
    "check_dict_unchanged",
    "check_fit_idempotent",
    "check_fit_check_is_fitted",
    "check_n_features_in",
    "check_fit2d_predict1d",
    "check_positive_only_tag_during_fit",
]


def _expected_failed_checks(estimator):
    if isinstance(estimator, CategoricalHMM):
        failed = {name: _CONTINUOUS for name in _CATEGORICAL_FAILS}
        failed["check_dtype_object"] = _BY_DESIGN["check_dtype_object"]
        return failed
    return dict(_BY_DESIGN)


@no_convergence_warning
@parametrize_with_checks(
    [
        _YIgnoredGaussianHMM(2, random_state=0),
        _YIgnoredCategoricalHMM(2, random_state=0),
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_estimator_checks(estimator, check):
    """scikit-learn's estimator checks, with the y that they pass dropped (fit's second
    argument is hmmlearn's ``lengths``); the checks that cannot hold for an HMM are
    named with the reason."""
    check(estimator)


def test_help_shows_no_book_markup():
    for obj in (
        hmm_module,
        inference,
        models,
        CategoricalHMM,
        GaussianHMM,
        hmm_module.ConvergenceMonitor,
    ):
        text = pydoc.render_doc(obj, renderer=pydoc.plaintext)
        for markup in ("{cite}", ":cite:", "\\N{", "\\N(", "\\fwd", "\\bwd"):
            assert markup not in text, (obj, markup)


@pytest.mark.parametrize("cls", [CategoricalHMM, GaussianHMM])
def test_every_constructor_parameter_is_documented(cls):
    doc = cls.__doc__
    section = doc[doc.index("Parameters") : doc.index("Attributes")]
    for name in cls().get_params():
        assert f"\n    {name} :" in section or f"\n    {name}\n" in section, name
