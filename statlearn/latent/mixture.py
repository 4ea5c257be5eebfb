"""Mixture models fitted by expectation-maximisation (chapters 1, 3, 4).

Chapter 1 ("Gaussian mixtures and EM") builds on this module; chapter 3 compares its
:class:`BernoulliMixture` with a VAE on binarised digits, and chapter 4 compares its
:class:`GaussianMixture` with a diffusion model on a ring of Gaussians. k-means, which
starts the mixtures, lives in :mod:`statlearn.latent.kmeans`.

Implements

- EM for finite mixtures (Dempster, Laird and Rubin, 1977), read as coordinate ascent on
  the free energy, the ELBO (Neal and Hinton, 1998); Gaussian and Bernoulli mixtures as
  in Bishop (2006), sections 9.2 and 9.3.3;
- the Bayesian information criterion (Schwarz, 1978).

The classes are scikit-learn estimators, built on its ``BaseEstimator`` and mixins, so
that ``clone``, ``Pipeline``, ``GridSearchCV`` and ``cross_val_score`` work, and they
reproduce its numbers: :class:`GaussianMixture` uses the same parametrisation by
Cholesky factors of the precision matrices (``precisions_cholesky_``), the same M-step
and the same stopping rule, so with identical initial parameters both libraries follow
the same EM path.

Arrays in, the same arrays out (as scikit-learn's array-API support): NumPy input (or
lists) gives NumPy results and NumPy fitted attributes; a torch tensor gives tensors on
its device. The work is done in torch either way, on the input's device (or
``device=``), batched over components and chunked over samples so that memory stays
bounded for large ``N``. NumPy float64 and integer input is computed in float64, float32
in float32, as scikit-learn does; integer tensors in torch's default float dtype. Inputs
that carry gradients (a network's output) are detached.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable

import torch
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils.validation import check_is_fitted
from torch import Tensor

from statlearn._arrays import Namespace, from_torch, to_torch
from statlearn._checks import (
    as_generator,
    check_choice,
    check_int,
    check_positive,
)
from statlearn.latent._em import (
    CHUNK_ELEMENTS,
    EMProgress,
    check_dtype,
    check_optional_device,
    chunk_size,
    em_history,
    validate_X,
)
from statlearn.latent.kmeans import kmeans_plusplus, lloyd

__all__ = [
    "GaussianMixture",
    "BernoulliMixture",
    "ConvergenceWarning",
    "NotFittedError",
]

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
GMM_INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")
BMM_INIT_PARAMS = ("random", "random_from_data", "kmeans", "k-means++")

# --------------------------------------------------------------------------------------
# Shared internals: parameter checks, the chunked E-step, initial responsibilities
# --------------------------------------------------------------------------------------


def _param_tensor(
    value: Any, name: str, ndim: int, like: Tensor, *, positive: bool = False
) -> Tensor:
    """A parameter the user gave as a finite tensor like ``like``."""
    t, _ = to_torch(value, dtype=like.dtype, device=like.device, name=name)
    if t.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D; got shape {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must not contain NaN or infinite values")
    return t


def _check_weights_init(weights: Any, n_components: int, X: Tensor) -> Tensor | None:
    """Mixture weights given by the user as a (K,) tensor like ``X``; checked."""
    if weights is None:
        return None
    w = _param_tensor(weights, "weights_init", 1, X)
    if w.shape != (n_components,):
        raise ValueError(
            f"weights_init must have shape ({n_components},); got {tuple(w.shape)}"
        )
    if bool((w < 0).any()) or bool((w > 1).any()):
        lo, hi = float(w.min()), float(w.max())
        raise ValueError(
            f"weights_init must lie in [0, 1]; got values in [{lo:.5g}, {hi:.5g}]"
        )
    atol = 1e-6 if X.dtype == torch.float32 else 1e-8
    if abs(float(w.sum()) - 1.0) > atol:
        raise ValueError(f"weights_init must sum to 1; got sum {float(w.sum()):.8g}")
    return w


def _check_means_init(means: Any, n_components: int, X: Tensor) -> Tensor | None:
    """User-given component means as a (K, D) tensor like ``X``."""
    if means is None:
        return None
    mu = _param_tensor(means, "means_init", 2, X)
    if mu.shape != (n_components, X.shape[1]):
        raise ValueError(
            f"means_init must have shape ({n_components}, {X.shape[1]}); "
            f"got {tuple(mu.shape)}"
        )
    return mu


def _e_step(
    log_prob: Callable[[Tensor], Tensor], log_weights: Tensor, X: Tensor, chunk: int
) -> tuple[Tensor, Tensor]:
    """Chunked E-step in log space.

    Responsibilities below ``tiny**0.8`` of the dtype (about 1e-31 in float32, 1e-246 in
    float64) are set to exactly zero: they change no sum at the dtype's precision, and
    letting them reach the subnormal range slows every later product on a CPU
    several-fold. A row whose every component log-density is ``-inf`` (a point too far
    for the dtype) gets ``log p(x) = -inf``, never NaN.

    Parameters
    ----------
    log_prob : callable
        Maps an (n, D) block of ``X`` to the (n, K) log-densities ``log p(x | z = k)``.
    log_weights : (K,) tensor
    X : (N, D) tensor
    chunk : int
        Rows per block.

    Returns
    -------
    log_norm : (N,) tensor
        ``log p(x_n) = logsumexp_k (log pi_k + log p(x_n | k))``.
    resp : (N, K) tensor
        Responsibilities ``r_nk = p(z_n = k | x_n)``; rows sum to one.
    """
    N, K = X.shape[0], log_weights.shape[0]
    floor = 0.8 * math.log(torch.finfo(X.dtype).tiny)
    log_norm = X.new_empty(N)
    resp = X.new_empty(N, K)
    for s in range(0, N, chunk):
        w = log_prob(X[s : s + chunk])  # a new (n, K) tensor: updated in place
        w += log_weights
        top = w.max(dim=1, keepdim=True).values
        top.masked_fill_(top == -math.inf, 0.0)
        w -= top
        e = w.masked_fill_(w < floor, -math.inf).exp_()
        total = e.sum(dim=1, keepdim=True)
        log_norm[s : s + chunk] = (top + total.log()).squeeze(1)
        torch.div(e, total, out=resp[s : s + chunk])
    return log_norm, resp


def _e_step_kn(
    log_prob: Callable[[Tensor], Tensor], log_weights: Tensor, X: Tensor, chunk: int
) -> tuple[Tensor, Tensor]:
    """:func:`_e_step`, component-major: ``log_prob`` maps a block to (K, n).

    The log-sum-exp then runs down K rows, each contiguous over the block's samples:
    on a CPU, faster than along the short rows of an (n, K) block (1.2 to 1.7 times on
    this book's 2-core machine). The responsibilities are returned as the (N, K)
    transpose of a (K, N) tensor, the layout the M-step reads (``resp.T``, contiguous).
    """
    N, K = X.shape[0], log_weights.shape[0]
    floor = 0.8 * math.log(torch.finfo(X.dtype).tiny)
    log_norm = X.new_empty(N)
    resp = X.new_empty(K, N)
    lw = log_weights[:, None]
    for s in range(0, N, chunk):
        w = log_prob(X[s : s + chunk])  # a new (K, n) tensor: updated in place
        n = w.shape[1]
        w += lw
        top = w.max(dim=0, keepdim=True).values
        top.masked_fill_(top == -math.inf, 0.0)
        w -= top
        e = w.masked_fill_(w < floor, -math.inf).exp_()
        total = e.sum(dim=0, keepdim=True)
        log_norm[s : s + n] = (top + total.log()).squeeze(0)
        torch.div(e, total, out=resp[:, s : s + n])
    return log_norm, resp.T


def _one_hot(labels: Tensor, n_classes: int, dtype: torch.dtype) -> Tensor:
    r = torch.zeros(labels.shape[0], n_classes, dtype=dtype, device=labels.device)
    r[torch.arange(labels.shape[0], device=labels.device), labels] = 1.0
    return r


def _counts_and_labels(
    weights: Tensor, n: int, g: torch.Generator
) -> tuple[Tensor, Tensor]:
    """Counts ~ Multinomial(n, weights), labels sorted by component (as sklearn)."""
    w = weights.detach().double().cpu()
    z = torch.multinomial(w, n, replacement=True, generator=g)
    counts = torch.bincount(z, minlength=weights.shape[0])
    labels = torch.repeat_interleave(torch.arange(weights.shape[0]), counts)
    return counts, labels


def _initial_resp(
    X: Tensor, n_components: int, init_params: str, g: torch.Generator
) -> Tensor:
    """Initial responsibilities (N, K) as scikit-learn builds them."""
    N = X.shape[0]
    if init_params == "kmeans":
        labels = lloyd(X, n_components, "k-means++", 1, 300, 1e-4, g)[2]
        return _one_hot(labels, n_components, X.dtype)
    if init_params == "random":
        r = torch.rand(N, n_components, generator=g, dtype=torch.float64)
        r = r.to(device=X.device, dtype=X.dtype)
        return r / r.sum(1, keepdim=True)
    resp = torch.zeros(N, n_components, dtype=X.dtype, device=X.device)
    if init_params == "random_from_data":
        idx = torch.randperm(N, generator=g)[:n_components].to(X.device)
    else:  # "k-means++"
        _, idx = kmeans_plusplus(X, n_components, g)
    resp[idx, torch.arange(n_components, device=X.device)] = 1.0
    return resp


# --------------------------------------------------------------------------------------
# The EM driver shared by the Gaussian and the Bernoulli mixture
# --------------------------------------------------------------------------------------


class _EMMixture(DensityMixin, BaseEstimator):
    """Fit, predict and score a finite mixture by EM; subclasses supply the components.

    Parameters travel as tuples of tensors. A subclass defines ``_PARAMS`` (the names of
    the fitted attributes in its tuple), ``_validate`` (hyperparameters), ``_prepare``
    (data checks), ``_initialize`` (parameters from the data), ``_log_prob_fn`` (a
    function giving the component log-densities of a block of rows), ``_m_step``,
    ``_publish`` (the fitted attributes from a tuple), ``_n_parameters`` and
    ``_sample_components``. The E-step, the EM loop with restarts, warm starts and the
    stopping rule, scoring, prediction, BIC/AIC and the sampling of component labels
    live here, once.
    """

    _PARAMS: tuple[str, ...] = ()

    # -- hooks
    # ----------------------------------------------------------------------------
    def _validate(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _prepare(self, X: Tensor) -> Tensor:
        return X

    def _initialize(self, X: Tensor, g: torch.Generator) -> tuple:  # pragma: no cover
        raise NotImplementedError

    def _log_prob_fn(
        self, params: tuple
    ) -> Callable[[Tensor], Tensor]:  # pragma: no cover
        raise NotImplementedError

    def _m_step(
        self, X: Tensor, resp: Tensor, ws: Any = None
    ) -> tuple:  # pragma: no cover
        raise NotImplementedError

    def _publish(self, params: tuple, ns: Namespace) -> None:  # pragma: no cover
        raise NotImplementedError

    def _n_parameters(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def _sample_components(
        self, params: tuple, counts: Tensor, g: torch.Generator
    ) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    # -- shared machinery
    # -----------------------------------------------------------------
    def _validate_common(self, allowed_init: tuple[str, ...]) -> None:
        check_int(self.n_components, "n_components", minimum=1)
        check_positive(self.tol, "tol", strict=False)
        check_int(self.max_iter, "max_iter", minimum=0)
        check_int(self.n_init, "n_init", minimum=1)
        check_choice(self.init_params, "init_params", allowed_init)
        check_int(self.verbose, "verbose", minimum=0)
        check_int(self.verbose_interval, "verbose_interval", minimum=1)
        check_dtype(self.dtype)

    def _fitted_params(self, dtype: torch.dtype, device: torch.device) -> tuple:
        """The fitted attributes named in ``_PARAMS`` as tensors (dtype, device)."""
        return tuple(
            to_torch(getattr(self, name), dtype=dtype, device=device, name=name)[0]
            for name in self._PARAMS
        )

    def _workspace(self, X: Tensor) -> Any:
        """Precomputation shared by a fit's EM iterations (None: nothing to share)."""
        return None

    def _e_step(
        self, X: Tensor, params: tuple, ws: Any = None
    ) -> tuple[Tensor, Tensor]:
        chunk = chunk_size(self.n_components, X.shape[1], X.device)
        return _e_step(self._log_prob_fn(params), torch.log(params[0]), X, chunk)

    def _check_X(self, X: Any) -> tuple[Tensor, tuple, Namespace]:
        """New data and the fitted parameters as tensors on one device, in one dtype.

        The dtype is the wider of the data's and the parameters' (as NumPy promotes), so
        a float64 point is scored in float64 by a model fitted in float32.
        """
        check_is_fitted(self)
        w = getattr(self, self._PARAMS[0])
        dev = check_optional_device(self.device)
        if dev is None:
            if isinstance(X, torch.Tensor):
                dev = X.device
            elif isinstance(w, torch.Tensor):
                dev = w.device
        Xt, ns = validate_X(self, X, reset=False, device=dev)
        wdtype = w.dtype if isinstance(w, torch.Tensor) else to_torch(w)[1].dtype
        dtype = torch.promote_types(Xt.dtype, wdtype)
        Xt = self._prepare(Xt.to(dtype))
        return Xt, self._fitted_params(dtype, Xt.device), ns

    def fit(self, X: Any, y: Any = None) -> "_EMMixture":
        """Estimate the parameters by EM; the best of ``n_init`` runs is kept.

        The best run is the one with the highest final bound.

        Parameters
        ----------
        X : (N, D) array-like or tensor
            Training data; NumPy input gives NumPy attributes, a tensor gives tensors.
        y : None
            Ignored; present for scikit-learn's API.

        Returns
        -------
        self
            The fitted estimator.
        """
        self._fit(X)
        return self

    def fit_predict(self, X: Any, y: Any = None) -> Any:
        """Fit, then return the most responsible component of each row.

        A final E-step with the kept parameters makes this equal ``fit(X).predict(X)``.

        Parameters
        ----------
        X : (N, D) array-like or tensor
            Training data.
        y : None
            Ignored.

        Returns
        -------
        labels : (N,) int64 ndarray or tensor
        """
        Xt, params, ns = self._fit(X)
        return from_torch(self._e_step(Xt, params)[1].argmax(dim=1), ns)

    def _fit(self, X: Any) -> tuple[Tensor, tuple, Namespace]:
        self._validate()
        K = self.n_components
        warm = bool(self.warm_start) and hasattr(self, "converged_")
        dev = check_optional_device(self.device)
        if warm:
            dtype = self.dtype
            if dtype is None:
                w = getattr(self, self._PARAMS[0])
                dtype = w.dtype if isinstance(w, torch.Tensor) else to_torch(w)[1].dtype
            Xt, ns = validate_X(
                self, X, reset=False, dtype=dtype, device=dev, min_samples=2
            )
        else:
            Xt, ns = validate_X(
                self, X, reset=True, dtype=self.dtype, device=dev, min_samples=2
            )
        Xt = self._prepare(Xt)
        N = Xt.shape[0]
        if N < K:
            raise ValueError(
                f"Expected n_samples >= n_components but got n_components = {K}, "
                f"n_samples = {N}"
            )
        g = as_generator(self.random_state)
        n_init = 1 if warm else self.n_init
        progress = EMProgress(self.verbose, self.verbose_interval, "lower bound")
        best, best_bound = None, -math.inf
        ws = self._workspace(Xt) if self.max_iter > 0 else None
        for init in range(n_init):
            progress.start(init)
            if warm:
                params = self._fitted_params(Xt.dtype, Xt.device)
                bound = self.lower_bound_
            else:
                params = self._initialize(Xt, g)
                bound = -math.inf
            bounds, converged, n_iter = [], False, 0
            for n_iter in range(1, self.max_iter + 1):
                prev = bound
                log_norm, resp = self._e_step(Xt, params, ws)
                bound = float(log_norm.mean())
                params = self._m_step(Xt, resp, ws)
                bounds.append(bound)
                progress.iteration(n_iter, bound, bound - prev)
                if abs(bound - prev) < self.tol:
                    converged = True
                    break
            if self.max_iter > 0:
                progress.end(converged, n_iter, bound)
            if self.max_iter == 0:  # scikit-learn keeps the last initialisation
                best = (params, 0, [], False)
            elif best is None or bound > best_bound:
                best_bound = bound
                best = (params, n_iter, bounds, converged)
        params, n_iter, bounds, converged = best
        if not converged and self.max_iter > 0:
            warnings.warn(
                f"{type(self).__name__}: the best initialization did not converge in "
                f"max_iter={self.max_iter} iterations (tol={self.tol}). Try different "
                "init parameters, or increase max_iter, tol, or check for degenerate "
                "data.",
                ConvergenceWarning,
                stacklevel=3,
            )
        self._publish(params, ns)
        self.converged_ = converged
        self.n_iter_ = n_iter
        self.lower_bound_ = best_bound
        self.lower_bounds_ = list(bounds)
        # the bound after each E-step is the mean log-likelihood per sample
        self.history_ = em_history([b * N for b in bounds], lower_bound=bounds)
        return Xt, params, ns

    def predict(self, X: Any) -> Any:
        """Most probable component of each row.

        Parameters
        ----------
        X : (N, D) array-like or tensor
            New data.

        Returns
        -------
        labels : (N,) int64 ndarray or tensor
            The type of ``X``.
        """
        Xt, params, ns = self._check_X(X)
        return from_torch(self._e_step(Xt, params)[1].argmax(dim=1), ns)

    def predict_proba(self, X: Any) -> Any:
        """Responsibilities ``r_nk = p(z_n = k | x_n)``, rows summing to one.

        Parameters
        ----------
        X : (N, D) array-like or tensor
            New data.

        Returns
        -------
        resp : (N, K) ndarray or tensor
            The type of ``X``.
        """
        Xt, params, ns = self._check_X(X)
        return from_torch(self._e_step(Xt, params)[1].contiguous(), ns)

    def score_samples(self, X: Any) -> Any:
        """Exact log-likelihood ``log p(x_n)`` of each row, in nats.

        Parameters
        ----------
        X : (N, D) array-like or tensor
            New data.

        Returns
        -------
        log_prob : (N,) ndarray or tensor
            The type of ``X``.
        """
        Xt, params, ns = self._check_X(X)
        return from_torch(self._e_step(Xt, params)[0], ns)

    def score(self, X: Any, y: Any = None) -> float:
        """Mean log-likelihood per sample, in nats.

        Parameters
        ----------
        X : (N, D) array-like or tensor
            New data.
        y : None
            Ignored.

        Returns
        -------
        score : float
        """
        Xt, params, _ = self._check_X(X)
        return float(self._e_step(Xt, params)[0].mean())

    def bic(self, X: Any) -> float:
        """BIC ``-2 log L + p log N`` on ``X`` (Schwarz, 1978); lower is better.

        Parameters
        ----------
        X : (N, D) array-like or tensor
            Data.

        Returns
        -------
        bic : float
        """
        Xt, params, _ = self._check_X(X)
        n = Xt.shape[0]
        log_l = float(self._e_step(Xt, params)[0].sum())
        return -2.0 * log_l + self._n_parameters() * math.log(n)

    def aic(self, X: Any) -> float:
        """Akaike information criterion ``-2 log L + 2 p`` on ``X`` (lower is better).

        Parameters
        ----------
        X : (N, D) array-like or tensor
            Data.

        Returns
        -------
        aic : float
        """
        Xt, params, _ = self._check_X(X)
        log_l = float(self._e_step(Xt, params)[0].sum())
        return -2.0 * log_l + 2.0 * self._n_parameters()

    def sample(
        self, n_samples: int = 1, *, random_state: Any = None
    ) -> tuple[Any, Any]:
        """Draw from the fitted mixture.

        Samples are grouped by component, as in scikit-learn.

        Parameters
        ----------
        n_samples : int, default=1
            Number of draws.
        random_state : None, int, NumPy RandomState/Generator or torch.Generator
            See statlearn's randomness rule (CONTRIBUTING.md); None falls back to the
            estimator's ``random_state``, so with an integer there every call returns
            the same draws, and with None there they follow torch's global generator.
            Draws on the CPU, then moves the draws to the device of ``means_``, so a
            seed gives the same samples on every device.

        Returns
        -------
        X : (n_samples, D) ndarray or tensor
            The type of the fitted ``means_``.
        labels : (n_samples,) int64 ndarray or tensor
            The component of each draw.
        """
        check_is_fitted(self)
        n = check_int(n_samples, "n_samples", minimum=1)
        means = self.means_
        if isinstance(means, torch.Tensor):
            ns = Namespace("torch", means.device, means.dtype)
        else:
            ns = Namespace("numpy", torch.device("cpu"), to_torch(means)[1].dtype)
        params = self._fitted_params(ns.dtype, ns.device)
        g = as_generator(self.random_state if random_state is None else random_state)
        counts, labels = _counts_and_labels(params[0], n, g)
        X = self._sample_components(params, counts, g)
        return from_torch(X, ns), from_torch(labels.to(ns.device), ns)


# --------------------------------------------------------------------------------------
# Gaussian mixture
# --------------------------------------------------------------------------------------


def _flip(A: Tensor) -> Tensor:
    return torch.flip(A, dims=(-2, -1))


def _precision_cholesky(covariances: Tensor, covariance_type: str) -> Tensor:
    """Upper-triangular ``P`` with ``P P^T = Sigma^-1``: P = L^-T, L = chol(Sigma).

    Full: (K, D, D) -> (K, D, D); tied: (D, D) -> (D, D); diag (K, D) and spherical
    (K,): 1 / sqrt. Raises ValueError, saying what to change, when a covariance is not
    positive definite.
    """
    msg = (
        "Fitting the mixture model failed because some components have ill-defined "
        "empirical covariance (for instance caused by singleton or collapsed samples). "
        "Try to decrease n_components, increase reg_covar, or scale the input data"
    )
    if covariances.dtype == torch.float32:
        msg += "; float64 input also improves the numerical accuracy"
    if covariance_type in ("full", "tied"):
        L, info = torch.linalg.cholesky_ex(covariances)
        if bool((info != 0).any()):
            raise ValueError(msg)
        eye = torch.eye(
            covariances.shape[-1], dtype=covariances.dtype, device=covariances.device
        )
        P = torch.linalg.solve_triangular(L, eye.expand_as(L), upper=False).transpose(
            -2, -1
        )
    else:
        if bool((covariances <= 0).any()):
            raise ValueError(msg)
        P = covariances.rsqrt()
    if not bool(torch.isfinite(P).all()):
        raise ValueError(msg)
    return P


def _precision_cholesky_from_precisions(
    precisions: Tensor, covariance_type: str
) -> Tensor:
    """Upper-triangular ``P`` with ``P P^T = Lambda``.

    scikit-learn's flip trick: ``P = J chol(J Lambda J) J`` with ``J`` the reversal.
    """
    if covariance_type in ("full", "tied"):
        L, info = torch.linalg.cholesky_ex(_flip(precisions))
        if bool((info != 0).any()):
            raise ValueError(
                "precisions_init must be symmetric positive-definite matrices"
            )
        return _flip(L)
    return precisions.sqrt()


def _log_det_precision_cholesky(
    P: Tensor, covariance_type: str, n_features: int
) -> Tensor:
    """``log det P`` (= ``-1/2 log det Sigma``) per component; a scalar for tied."""
    if covariance_type in ("full", "tied"):
        return torch.log(torch.diagonal(P, dim1=-2, dim2=-1)).sum(-1)
    if covariance_type == "diag":
        return torch.log(P).sum(-1)
    return n_features * torch.log(P)


def _gaussian_log_prob_fn(
    means: Tensor, P: Tensor, covariance_type: str
) -> Callable[[Tensor], Tensor]:
    """Component log-densities ``log N(x_n; mu_k, Sigma_k)`` through Cholesky factors.

    Returns a function mapping an (n, D) block of rows to the (n, K) log-densities; what
    does not depend on the rows is computed once. Full covariance: one GEMM of the block
    with all K factors side by side gives ``y_nk = P_k^T (x_n - mu_k)``; then
    ``log N = -1/2 (D log 2 pi + |y_nk|^2) + log det P_k``. A point too far for the
    dtype gets ``-inf``, never NaN.
    """
    K, D = means.shape
    const = D * math.log(2 * math.pi)
    log_det = _log_det_precision_cholesky(P, covariance_type, D) - 0.5 * const
    if covariance_type in ("full", "tied"):
        Pk = P.expand(K, D, D) if covariance_type == "tied" else P
        Pcat = Pk.permute(1, 0, 2).reshape(D, K * D)  # Pcat[d, k*D + e] = P[k, d, e]
        muP = torch.einsum("kd,kde->ke", means, Pk).reshape(K * D)

        def log_prob(X: Tensor) -> Tensor:
            y = torch.addmm(-muP, X, Pcat).square_()
            return log_det - 0.5 * y.view(X.shape[0], K, D).sum(-1)

    elif covariance_type == "diag":

        def log_prob(X: Tensor) -> Tensor:
            maha = ((X[:, None, :] - means[None]) * P[None]).square_().sum(-1)
            return log_det - 0.5 * maha

    else:
        prec = P.square()

        def log_prob(X: Tensor) -> Tensor:
            return (
                log_det - 0.5 * (X[:, None, :] - means[None]).square_().sum(-1) * prec
            )

    return log_prob


def _gaussian_log_prob_kn_fn(
    means: Tensor, P: Tensor, covariance_type: str
) -> Callable[[Tensor], Tensor]:
    """As :func:`_gaussian_log_prob_fn` for full and tied covariances, component-major.

    Maps an (n, D) block to the (K, n) log-densities: ``y = Pcat^T x`` is one (K D, n)
    product whose squares are summed over each component's D rows.
    """
    K, D = means.shape
    log_det = _log_det_precision_cholesky(P, covariance_type, D)
    log_det = (log_det - 0.5 * D * math.log(2 * math.pi)).reshape(-1, 1)
    Pk = P.expand(K, D, D) if covariance_type == "tied" else P
    PcatT = Pk.transpose(-2, -1).reshape(K * D, D)  # row k*D + e is column e of P_k
    muP = torch.einsum("kd,kde->ke", means, Pk).reshape(K * D, 1)

    def log_prob(X: Tensor) -> Tensor:
        y = torch.addmm(-muP, PcatT, X.T).square_()
        return y.view(K, D, X.shape[0]).sum(1).mul_(-0.5).add_(log_det)

    return log_prob


def _gaussian_log_prob(
    X: Tensor, means: Tensor, P: Tensor, covariance_type: str
) -> Tensor:
    """``log N(x_n; mu_k, Sigma_k)`` of all rows and components: (N, K), chunked."""
    fn = _gaussian_log_prob_fn(means, P, covariance_type)
    chunk = chunk_size(means.shape[0], X.shape[1], X.device)
    return torch.cat([fn(X[s : s + chunk]) for s in range(0, X.shape[0], chunk)])


def _gaussian_m_step(
    X: Tensor, resp: Tensor, reg_covar: float, covariance_type: str
) -> tuple[Tensor, Tensor, Tensor]:
    """M-step of a Gaussian mixture (scikit-learn's estimates), batched over components.

    Returns
    -------
    nk : (K,) tensor
        Soft counts plus ``10 eps`` (as scikit-learn), so an emptied component stays
        finite.
    means : (K, D) tensor
    covariances : (K, D, D), (D, D), (K, D) or (K,) tensor by ``covariance_type``
        Weighted scatter about each component's own mean (centred, chunked over
        samples), plus ``reg_covar`` on the diagonal.
    """
    N, D = X.shape
    K = resp.shape[1]
    nk = resp.sum(0) + 10 * torch.finfo(resp.dtype).eps
    means = (resp.T @ X) / nk[:, None]
    chunk = chunk_size(K, D, X.device)
    if covariance_type in ("full", "tied"):
        S = X.new_zeros(K, D, D)
        for s in range(0, N, chunk):
            diff = X[None, s : s + chunk, :] - means[:, None, :]  # (K, n, D)
            w = diff * resp[s : s + chunk].T[:, :, None]
            S.baddbmm_(w.transpose(1, 2), diff)
        if covariance_type == "full":
            cov = S / nk[:, None, None]
            cov.diagonal(dim1=-2, dim2=-1).add_(reg_covar)
        else:
            cov = S.sum(0) / nk.sum()
            cov.diagonal().add_(reg_covar)
    else:
        S = X.new_zeros(K, D)
        for s in range(0, N, chunk):
            diff = X[None, s : s + chunk, :] - means[:, None, :]
            S += torch.einsum("kn,knd->kd", resp[s : s + chunk].T, diff.square_())
        cov = S / nk[:, None] + reg_covar
        if covariance_type == "spherical":
            cov = cov.mean(1)
    return nk, means, cov


class _QuadraticFeatures:
    """EM for full covariances in float64 through quadratic features of the data.

    With ``c`` the mean of the data and ``u_n = x_n - c``, the features
    ``f_n = (u_nd u_ne for d <= e, u_n)`` (D(D+1)/2 + D of them) are computed once per
    fit. Then both steps are single matrix products with no (N, K, D) intermediate:

    - E-step: ``|P_k^T (x_n - mu_k)|^2 = u^T L_k u - 2 u^T L_k m_k + m_k^T L_k m_k``
      with ``L_k = P_k P_k^T`` and ``m_k = mu_k - c``, a product of the (N, F) features
      with an (F, K) matrix;
    - M-step: ``sum_n r_nk f_n`` for every k at once, a (K, N) by (N, F) product, gives
      ``N_k``-weighted sums of ``u`` and ``u u^T``; the covariance is
      ``sum_n r_nk u u^T / N_k - m_k m_k^T`` (+ ``reg_covar``).

    These expanded forms cancel where the centred ones do not: their rounding error is
    about ``eps * |u|^2 * |L_k|``. :meth:`accurate` estimates it by
    ``eps * max_n |u_n|^2 * |P_k|_F^2`` and the caller takes the centred route whenever
    that exceeds 1e-9 (a relative 1e-9 of a covariance, an absolute 1e-9 in a
    log-density): with float64's eps this admits data up to about ``2000 / sqrt(D)``
    standard deviations of the narrowest component from the data's mean (500 for
    D = 16), and results agree with the centred route to about 1e-12 in practice.
    float32 always takes the centred route.
    """

    # the features are kept for the whole fit up to 256 MB, else rebuilt block by block
    _BUDGET_BYTES = 1 << 28

    def __init__(self, X: Tensor) -> None:
        N, D = X.shape
        self.X = X
        self.center = X.mean(0)
        self.iu = torch.triu_indices(D, D, device=X.device)
        self.n_features = self.iu.shape[1] + D
        U = X - self.center
        self.radius2 = float(U.square().sum(1).max())
        budget = CHUNK_ELEMENTS["cpu" if X.device.type == "cpu" else "other"]
        self.chunk = max(1, budget // self.n_features)
        whole = N * self.n_features * X.element_size() <= self._BUDGET_BYTES
        self.F = self._features(U) if whole else None

    def _features(self, U: Tensor) -> Tensor:
        n, D = U.shape
        F = U.new_empty(n, self.n_features)
        start = 0
        for d in range(D):  # the products u_d u_e, e >= d, one slice of columns per d
            torch.mul(U[:, d : d + 1], U[:, d:], out=F[:, start : start + D - d])
            start += D - d
        F[:, start:] = U
        return F

    def blocks(self):
        """(start, features of rows start:start + chunk) over the data."""
        N = self.X.shape[0]
        for s in range(0, N, self.chunk):
            if self.F is not None:
                yield s, self.F[s : s + self.chunk]
            else:
                yield s, self._features(self.X[s : s + self.chunk] - self.center)

    def accurate(self, P: Tensor) -> bool:
        """Whether the expanded forms' rounding error is below 1e-9 with factors P."""
        eps = torch.finfo(P.dtype).eps
        scale = float(P.square().sum((-2, -1)).max())
        return bool(eps * self.radius2 * scale <= 1e-9)

    def _weights(self, means: Tensor, P: Tensor) -> tuple[Tensor, Tensor]:
        K, D = means.shape
        L = P @ P.transpose(-2, -1)
        m = means - self.center
        Lm = torch.einsum("kde,ke->kd", L, m)
        i, j = self.iu
        quad = L[:, i, j] * torch.where(i == j, 1.0, 2.0).to(L.dtype)
        W = torch.cat([-0.5 * quad, Lm], dim=1).T.contiguous()  # (F, K)
        log_det = _log_det_precision_cholesky(P, "full", D)
        bias = log_det - 0.5 * (D * math.log(2 * math.pi) + (m * Lm).sum(1))
        return W, bias

    def e_step(
        self, weights: Tensor, means: Tensor, P: Tensor
    ) -> tuple[Tensor, Tensor]:
        """The E-step, component-major (:func:`_e_step_kn`): W^T F^T per block."""
        W, bias = self._weights(means, P)
        Wt, b = W.T.contiguous(), bias[:, None]
        if self.F is not None:
            return _e_step_kn(
                lambda F: torch.addmm(b, Wt, F.T),
                torch.log(weights),
                self.F,
                self.chunk,
            )

        def log_prob(Xb: Tensor) -> Tensor:
            return torch.addmm(b, Wt, self._features(Xb - self.center).T)

        return _e_step_kn(log_prob, torch.log(weights), self.X, self.chunk)

    def m_step(self, resp: Tensor, reg_covar: float) -> tuple[Tensor, Tensor, Tensor]:
        """Soft counts, means and full covariances, as :func:`_gaussian_m_step`.

        ``resp`` is read as (K, N) rows: best the transpose that :meth:`e_step` returns.
        """
        K, D = resp.shape[1], self.X.shape[1]
        T = self.iu.shape[1]
        nk = resp.sum(0) + 10 * torch.finfo(resp.dtype).eps
        G = resp.new_zeros(K, self.n_features)
        for s, F in self.blocks():
            G.addmm_(resp[s : s + F.shape[0]].T, F)
        G /= nk[:, None]
        m = G[:, T:]  # mu_k - c
        second = G[:, :T] - m[:, self.iu[0]] * m[:, self.iu[1]]
        cov = resp.new_empty(K, D, D)
        cov[:, self.iu[0], self.iu[1]] = second
        cov[:, self.iu[1], self.iu[0]] = second
        cov.diagonal(dim1=-2, dim2=-1).add_(reg_covar)
        return nk, m + self.center, cov


class GaussianMixture(_EMMixture):
    """Gaussian mixture model fitted by EM, as scikit-learn's ``GaussianMixture``.

    The density is ``p(x) = sum_k pi_k N(x; mu_k, Sigma_k)``. A scikit-learn estimator
    (``clone``, pipelines and grid search work) that computes in torch: NumPy input
    gives NumPy results and attributes, a tensor gives tensors on its device.

    Parameters
    ----------
    n_components : int, default=1
        Number of components K, >= 1.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
        Each component its own full matrix; one shared full matrix; diagonal; a multiple
        of the identity.
    tol : float, default=1e-3
        Stop when the mean log-likelihood changes by less than ``tol``, >= 0 (0: run
        ``max_iter``).
    reg_covar : float, default=1e-6
        Added to the covariance diagonals, >= 0 (as in scikit-learn; 0 adds nothing):
        keeps them invertible when a component collapses.
    max_iter : int, default=100
        EM iterations per run, >= 0 (0: keep the initial parameters).
    n_init : int, default=1
        Number of initialisations, >= 1; the one with the highest final bound is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"},
    default="kmeans"
        Initial responsibilities: k-means labels, k-means++ seeds, random soft, or
        random rows.
    weights_init : (K,) array-like or tensor, optional
        Initial mixture weights.
    means_init : (K, D) array-like or tensor, optional
        Initial means.
    precisions_init : array-like or tensor, optional
        Initial inverse covariances, shaped by ``covariance_type``: (K, D, D), (D, D),
        (K, D) or (K,). With all three given, no initial responsibilities are computed.
    random_state : None, int, NumPy RandomState/Generator or torch.Generator, optional
        See statlearn's randomness rule (CONTRIBUTING.md): seeds the initialisation and
        ``sample``; ``None`` follows torch's global generator
        (``statlearn.seed_everything`` controls it). Draws on the CPU.
    warm_start : bool, default=False
        If True, a further ``fit`` starts from the fitted parameters (one run;
        ``n_init`` is ignored), as in scikit-learn.
    verbose : int, default=0
        1 prints each initialisation, every ``verbose_interval``-th iteration (its bound
        and the change) and how the run ended; 2 also the time each took.
    verbose_interval : int, default=10
        Iterations between two printed lines, >= 1.
    device : torch.device or str, optional
        Where to compute; default: the input's device (the CPU for NumPy input).
    dtype : torch.dtype, optional
        float32 or float64; default: float32 for float32 input, float64 otherwise (NumPy
        integers included), torch's default float dtype for integer tensors.

    Attributes
    ----------
    weights_ : (K,) ndarray or tensor
    means_ : (K, D) ndarray or tensor
    covariances_ : ndarray or tensor shaped by ``covariance_type``
    precisions_cholesky_ : ndarray or tensor shaped by ``covariance_type``
        Upper-triangular ``P_k`` with ``P_k P_k^T = Sigma_k^-1`` (scikit-learn's
        convention).
    precisions_ : ndarray or tensor shaped by ``covariance_type``
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Mean log-likelihood of the training data at the last E-step of the kept run.
    lower_bounds_ : list of float
        That bound at every iteration (non-decreasing, up to ``reg_covar``).
    history_ : dict
        Per-iteration records of the kept run, ready for
        ``statlearn.plotting.training_curves``: ``"log_likelihood"``, the total
        log-likelihood of the training data in nats (the key the HMMs of chapter 2 use
        too), and ``"lower_bound"``, that value per sample (``lower_bounds_``).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had column names (a pandas DataFrame).

    Notes
    -----
    EM maximises the likelihood (Dempster, Laird and Rubin, 1977); each iteration is a
    coordinate ascent step on the free energy (Neal and Hinton, 1998). The fitted
    attributes are NumPy arrays or tensors by the type of the data given to ``fit``.
    """

    _PARAMS = ("weights_", "means_", "precisions_cholesky_")

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        weights_init: Any = None,
        means_init: Any = None,
        precisions_init: Any = None,
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.device = device
        self.dtype = dtype

    def _validate(self) -> None:
        self._validate_common(GMM_INIT_PARAMS)
        check_choice(self.covariance_type, "covariance_type", COVARIANCE_TYPES)
        check_positive(self.reg_covar, "reg_covar", strict=False)

    def _checked_precisions(self, X: Tensor) -> Tensor | None:
        if self.precisions_init is None:
            return None
        K, D = self.n_components, X.shape[1]
        shape = {"full": (K, D, D), "tied": (D, D), "diag": (K, D), "spherical": (K,)}[
            self.covariance_type
        ]
        prec = _param_tensor(self.precisions_init, "precisions_init", len(shape), X)
        if tuple(prec.shape) != shape:
            raise ValueError(
                f"precisions_init must have shape {shape} for "
                f"covariance_type={self.covariance_type!r}; got {tuple(prec.shape)}"
            )
        if self.covariance_type in ("full", "tied"):
            tol = 1e-5 if X.dtype == torch.float32 else 1e-8
            atol = tol * float(prec.abs().max())
            if not torch.allclose(prec, prec.transpose(-2, -1), atol=atol):
                raise ValueError("precisions_init must be symmetric")
            if bool((torch.linalg.eigvalsh(prec) <= 0).any()):
                raise ValueError("precisions_init must be positive-definite")
        elif bool((prec <= 0).any()):
            raise ValueError("precisions_init must be positive")
        return prec

    def _initialize(self, X: Tensor, g: torch.Generator) -> tuple:
        K = self.n_components
        w = _check_weights_init(self.weights_init, K, X)
        mu = _check_means_init(self.means_init, K, X)
        prec = self._checked_precisions(X)
        cov = None
        if w is None or mu is None or prec is None:
            resp = _initial_resp(X, K, self.init_params, g)
            nk, means, cov = _gaussian_m_step(
                X, resp, self.reg_covar, self.covariance_type
            )
            w = nk / X.shape[0] if w is None else w
            mu = means if mu is None else mu
        if prec is None:
            P = _precision_cholesky(cov, self.covariance_type)
        else:
            cov = None
            P = _precision_cholesky_from_precisions(prec, self.covariance_type)
        return w, mu, P, cov

    def _log_prob_fn(self, params: tuple) -> Callable[[Tensor], Tensor]:
        return _gaussian_log_prob_fn(params[1], params[2], self.covariance_type)

    def _workspace(self, X: Tensor) -> _QuadraticFeatures | None:
        if self.covariance_type == "full" and X.dtype == torch.float64:
            return _QuadraticFeatures(X)
        return None

    def _e_step(
        self, X: Tensor, params: tuple, ws: _QuadraticFeatures | None = None
    ) -> tuple[Tensor, Tensor]:
        if ws is not None and ws.accurate(params[2]):
            return ws.e_step(*params[:3])
        if self.covariance_type in ("full", "tied"):
            log_prob = _gaussian_log_prob_kn_fn(
                params[1], params[2], self.covariance_type
            )
            chunk = chunk_size(self.n_components, X.shape[1], X.device)
            return _e_step_kn(log_prob, torch.log(params[0]), X, chunk)
        return super()._e_step(X, params)

    def _m_step(
        self, X: Tensor, resp: Tensor, ws: _QuadraticFeatures | None = None
    ) -> tuple:
        if ws is not None:
            nk, means, cov = ws.m_step(resp, self.reg_covar)
            P = _precision_cholesky(cov, self.covariance_type)
            if ws.accurate(P):
                return nk / nk.sum(), means, P, cov
        nk, means, cov = _gaussian_m_step(X, resp, self.reg_covar, self.covariance_type)
        return nk / nk.sum(), means, _precision_cholesky(cov, self.covariance_type), cov

    def _publish(self, params: tuple, ns: Namespace) -> None:
        weights, means, P = params[:3]
        covariances = params[3] if len(params) > 3 else None
        if self.covariance_type in ("full", "tied"):
            precisions = P @ P.transpose(-2, -1)
        else:
            precisions = P.square()
        if covariances is None:  # max_iter=0 with precisions_init: from the precisions
            if self.covariance_type in ("full", "tied"):
                eye = torch.eye(P.shape[-1], dtype=P.dtype, device=P.device).expand_as(
                    P
                )
                Pinv = torch.linalg.solve_triangular(P, eye, upper=True)
                covariances = Pinv.transpose(-2, -1) @ Pinv  # Sigma = P^-T P^-1
            else:
                covariances = 1.0 / precisions
        self.weights_ = from_torch(weights, ns)
        self.means_ = from_torch(means, ns)
        self.covariances_ = from_torch(covariances, ns)
        self.precisions_cholesky_ = from_torch(P, ns)
        self.precisions_ = from_torch(precisions, ns)

    def _n_parameters(self) -> int:
        K, D = self.means_.shape
        cov = {
            "full": K * D * (D + 1) / 2,
            "diag": K * D,
            "tied": D * (D + 1) / 2,
            "spherical": K,
        }
        return int(cov[self.covariance_type] + K * D + K - 1)

    def _sample_components(
        self, params: tuple, counts: Tensor, g: torch.Generator
    ) -> Tensor:
        _, mu, P = params
        n, D = int(counts.sum()), mu.shape[1]
        labels = torch.repeat_interleave(torch.arange(len(counts)), counts).to(
            mu.device
        )
        noise = torch.randn(n, D, generator=g, dtype=torch.float64)
        noise = noise.to(device=mu.device, dtype=mu.dtype)
        if self.covariance_type == "full":
            # x = mu_k + P_k^-T noise: cov = P^-T P^-1 = Sigma_k; a solve per component
            out = torch.empty_like(noise)
            start = 0
            for k, c in enumerate(counts.tolist()):
                if c:
                    z = torch.linalg.solve_triangular(
                        P[k].T, noise[start : start + c].T, upper=False
                    )
                    out[start : start + c] = z.T
                start += c
            return mu[labels] + out
        if self.covariance_type == "tied":
            z = torch.linalg.solve_triangular(P.T, noise.T, upper=False).T
            return mu[labels] + z
        scale = 1.0 / P[labels]
        return mu[labels] + noise * (
            scale if self.covariance_type == "diag" else scale[:, None]
        )


# --------------------------------------------------------------------------------------
# Bernoulli mixture
# --------------------------------------------------------------------------------------


def _check_binary(X: Tensor, name: str = "X") -> Tensor:
    if not bool(((X == 0) | (X == 1)).all()):
        bad = X[(X != 0) & (X != 1)][0].item()
        raise ValueError(
            f"{name} must be binary (every value 0 or 1), e.g. pixels thresholded at "
            f"0.5; got a value {bad:.4g}"
        )
    return X


class BernoulliMixture(_EMMixture):
    """Mixture of multivariate Bernoulli distributions for binary data, fitted by EM.

    The density is ``p(x) = sum_k pi_k prod_d mu_kd^x_d (1 - mu_kd)^(1 - x_d)`` (Bishop,
    2006, section 9.3.3). Same contract as :class:`GaussianMixture`; ``score_samples``
    is the exact ``log p(x)`` in nats.

    Parameters
    ----------
    n_components : int, default=1
        Number of components K, >= 1.
    tol : float, default=1e-3
        Stop when the mean log-likelihood changes by less than ``tol``, >= 0.
    max_iter : int, default=100
        EM iterations per run, >= 0.
    n_init : int, default=1
        Number of initialisations, >= 1; the one with the highest final bound is kept.
    init_params : {"random", "random_from_data", "kmeans", "k-means++"},
    default="random"
        "random": means uniform in [0.25, 0.75] and equal weights (Bishop, section
        9.3.3); "random_from_data": K random rows shrunk to 0.25 / 0.75; "kmeans": an
        M-step from the k-means labels; "k-means++": k-means++ seeds shrunk as for
        random rows.
    pseudo_count : float, default=1e-6
        Pseudo-count ``c`` of the M-step, ``mu_kd = (sum_n r_nk x_nd + c) / (N_k + 2
        c)`` (a Beta(1 + c, 1 + c) prior); the means are also clipped to
        ``[eps, 1 - eps]`` of the dtype, so every log-density stays finite.
    random_state : None, int, NumPy RandomState/Generator or torch.Generator, optional
        See statlearn's randomness rule (CONTRIBUTING.md): seeds the initialisation and
        ``sample``. Draws on the CPU.
    warm_start : bool, default=False
        If True, a further ``fit`` starts from the fitted parameters (one run).
    verbose : int, default=0
        As in :class:`GaussianMixture`.
    verbose_interval : int, default=10
        As in :class:`GaussianMixture`.
    device : torch.device or str, optional
        Where to compute; default: the input's device (the CPU for NumPy input).
    dtype : torch.dtype, optional
        float32 or float64; default as in :class:`GaussianMixture`.
    weights_init : (K,) array-like or tensor, optional
        Initial mixture weights.
    means_init : (K, D) array-like or tensor, optional
        Initial probabilities in (0, 1); override ``init_params``.

    Attributes
    ----------
    weights_ : (K,) ndarray or tensor
    means_ : (K, D) ndarray or tensor
        Bernoulli probabilities, strictly inside (0, 1).
    converged_, n_iter_, lower_bound_, lower_bounds_, history_, n_features_in_
        As in :class:`GaussianMixture`.
    """

    _PARAMS = ("weights_", "means_")

    def __init__(
        self,
        n_components: int = 1,
        *,
        tol: float = 1e-3,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "random",
        pseudo_count: float = 1e-6,
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        weights_init: Any = None,
        means_init: Any = None,
    ) -> None:
        self.n_components = n_components
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.pseudo_count = pseudo_count
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.device = device
        self.dtype = dtype
        self.weights_init = weights_init
        self.means_init = means_init

    def _validate(self) -> None:
        self._validate_common(BMM_INIT_PARAMS)
        check_positive(self.pseudo_count, "pseudo_count", strict=False)

    def _prepare(self, X: Tensor) -> Tensor:
        return _check_binary(X)

    def _initialize(self, X: Tensor, g: torch.Generator) -> tuple:
        N, D = X.shape
        K = self.n_components
        kw = dict(dtype=X.dtype, device=X.device)
        if self.init_params == "kmeans":
            weights, means = self._m_step(X, _initial_resp(X, K, "kmeans", g))
        else:
            if self.init_params == "random":
                u = torch.rand(K, D, generator=g, dtype=torch.float64)
                means = 0.25 + 0.5 * u.to(**kw)
            else:  # the seeded row of each component
                rows = _initial_resp(X, K, self.init_params, g).argmax(0)
                means = 0.25 + 0.5 * X[rows]
            weights = torch.full((K,), 1.0 / K, **kw)
        w = _check_weights_init(self.weights_init, K, X)
        if w is not None:
            weights = w
        mu = _check_means_init(self.means_init, K, X)
        if mu is not None:
            if bool((mu <= 0).any()) or bool((mu >= 1).any()):
                raise ValueError(
                    "means_init must hold probabilities strictly inside (0, 1)"
                )
            means = mu
        return weights, means

    def _log_prob_fn(self, params: tuple) -> Callable[[Tensor], Tensor]:
        means = params[1]
        log1m = torch.log1p(-means)
        logit = (torch.log(means) - log1m).T.contiguous()
        bias = log1m.sum(1)
        # sum_d x_d log mu_kd + (1 - x_d) log(1 - mu_kd)
        return lambda X: torch.addmm(bias, X, logit)

    def _m_step(self, X: Tensor, resp: Tensor, ws: Any = None) -> tuple:
        nk = resp.sum(0) + 10 * torch.finfo(resp.dtype).eps
        c = self.pseudo_count
        means = (resp.T @ X + c) / (nk[:, None] + 2 * c)
        eps = torch.finfo(means.dtype).eps
        return nk / nk.sum(), means.clamp(eps, 1.0 - eps)

    def _publish(self, params: tuple, ns: Namespace) -> None:
        self.weights_ = from_torch(params[0], ns)
        self.means_ = from_torch(params[1], ns)

    def _n_parameters(self) -> int:
        K, D = self.means_.shape
        return int(K * D + K - 1)

    def _sample_components(
        self, params: tuple, counts: Tensor, g: torch.Generator
    ) -> Tensor:
        mu = params[1]
        labels = torch.repeat_interleave(torch.arange(len(counts)), counts).to(
            mu.device
        )
        u = torch.rand(int(counts.sum()), mu.shape[1], generator=g, dtype=torch.float64)
        return (u.to(mu.device) < mu[labels]).to(mu.dtype)
