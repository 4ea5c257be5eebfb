"""Mixture models fitted by expectation-maximisation, and k-means (Chapter 1).

The chapter "Gaussian mixtures and EM" builds on this module; the VAE chapter compares its
:class:`BernoulliMixture` with a VAE on binarised digits, and the HMM chapter initialises Gaussian
HMMs with :class:`KMeans`.

Implements

- EM for finite mixtures {cite}`dempster1977em`, read as coordinate ascent on the free energy
  (the ELBO) {cite}`neal1998em`; Gaussian and Bernoulli mixtures as in {cite}`bishop2006prml`
  (sections 9.2 and 9.3.3);
- k-means (Lloyd's algorithm) with k-means++ seeding {cite}`arthur2007kmeanspp`;
- the Bayesian information criterion {cite}`schwarz1978bic`.

The classes follow scikit-learn's contract (``fit`` returns ``self``, fitted state ends in ``_``) and
reproduce its numbers: :class:`GaussianMixture` uses the same parametrisation by Cholesky factors of
the precision matrices (``precisions_cholesky_``), the same M-step and the same stopping rule, so
with identical initial parameters both libraries follow the same EM path. The work is done in torch
on the input's device (or ``device=``), batched over components and chunked over samples so that
memory stays bounded for large ``N``; float32 by default, float64 when the input (or ``dtype=``) is.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable

import torch
from torch import Tensor

from statlearn._checks import as_generator, as_tensor, check_choice, check_int, check_positive

__all__ = ["KMeans", "GaussianMixture", "BernoulliMixture", "ConvergenceWarning"]

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
GMM_INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")
BMM_INIT_PARAMS = ("random", "random_from_data", "kmeans", "k-means++")

# Elements of the largest (chunk, K, D) intermediate the E- and M-steps build. On a CPU, 2**20 (4 MB in
# float32) keeps a block near the cache, which is worth 3-4x over one big block, while keeping the number
# of parallel regions (and their thread barriers, costly on a busy machine) small; on a GPU, bigger blocks
# amortise the kernel launches.
_CHUNK_ELEMENTS = {"cpu": 1 << 20, "other": 1 << 24}


class ConvergenceWarning(UserWarning):
    """EM or k-means stopped at ``max_iter`` before the change fell below ``tol``."""


# ----------------------------------------------------------------------------------------------------
# Shared internals: input checks, chunked log-sum-exp E-step, k-means++ seeding
# ----------------------------------------------------------------------------------------------------




def _check_dtype(dtype: torch.dtype | None) -> torch.dtype | None:
    if dtype is not None and dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be None, torch.float32 or torch.float64; got {dtype!r}")
    return dtype


def _check_data(
    X: Any,
    *,
    name: str = "X",
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    n_features: int | None = None,
    min_samples: int = 1,
) -> Tensor:
    """``X`` as a finite (N, D) floating tensor; checks D against the fitted model and N >= min_samples."""
    X = as_tensor(X, name=name, ndim=2, dtype=dtype, device=device)
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"{name} must have {n_features} features, as the data the model was fitted on; "
            f"got shape {tuple(X.shape)}"
        )
    if X.shape[0] < min_samples:
        raise ValueError(f"{name} must have at least {min_samples} samples; got shape {tuple(X.shape)}")
    return X


def _check_binary(X: Tensor, name: str = "X") -> Tensor:
    if not bool(((X == 0) | (X == 1)).all()):
        bad = X[(X != 0) & (X != 1)][0].item()
        raise ValueError(
            f"{name} must be binary (every value 0 or 1), e.g. pixels thresholded at 0.5; got a value {bad:.4g}"
        )
    return X


def _check_weights_init(weights: Any, n_components: int, X: Tensor) -> Tensor | None:
    """User-given mixture weights as a (K,) tensor like ``X``: in [0, 1] and summing to one."""
    if weights is None:
        return None
    w = as_tensor(weights, name="weights_init", ndim=1, dtype=X.dtype, device=X.device)
    if w.shape != (n_components,):
        raise ValueError(f"weights_init must have shape ({n_components},); got {tuple(w.shape)}")
    if bool((w < 0).any()) or bool((w > 1).any()):
        lo, hi = float(w.min()), float(w.max())
        raise ValueError(f"weights_init must lie in [0, 1]; got values in [{lo:.5g}, {hi:.5g}]")
    atol = 1e-6 if X.dtype == torch.float32 else 1e-8
    if abs(float(w.sum()) - 1.0) > atol:
        raise ValueError(f"weights_init must sum to 1; got sum {float(w.sum()):.8g}")
    return w


def _check_means_init(means: Any, n_components: int, X: Tensor) -> Tensor | None:
    """User-given component means as a (K, D) tensor like ``X``."""
    if means is None:
        return None
    mu = as_tensor(means, name="means_init", ndim=2, dtype=X.dtype, device=X.device)
    if mu.shape != (n_components, X.shape[1]):
        raise ValueError(f"means_init must have shape ({n_components}, {X.shape[1]}); got {tuple(mu.shape)}")
    return mu


def _chunk_size(n_components: int, n_features: int, device: torch.device | None = None) -> int:
    """Rows per block so that an (rows, K, D) intermediate holds about ``_CHUNK_ELEMENTS`` elements."""
    budget = _CHUNK_ELEMENTS["cpu" if device is None or device.type == "cpu" else "other"]
    return max(1, budget // max(1, n_components * n_features))


def _e_step(
    log_prob: Callable[[Tensor], Tensor], log_weights: Tensor, X: Tensor, chunk: int
) -> tuple[Tensor, Tensor]:
    """Chunked E-step in log space.

    Responsibilities below ``tiny**0.8`` of the dtype (about 1e-31 in float32, 1e-246 in float64)
    are set to exactly zero: they change no sum at the dtype's precision, and letting them reach the
    subnormal range slows every later product on a CPU several-fold.

    Parameters
    ----------
    log_prob : callable
        Maps an (n, D) block of ``X`` to the (n, K) component log-densities ``log p(x | z = k)``.
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
        w = log_prob(X[s : s + chunk]) + log_weights
        top = w.max(dim=1, keepdim=True).values
        w -= top
        small = w < floor
        e = w.clamp_min_(floor).exp_().masked_fill_(small, 0.0)
        total = e.sum(dim=1, keepdim=True)
        log_norm[s : s + chunk] = (top + total.log()).squeeze(1)
        torch.div(e, total, out=resp[s : s + chunk])
    return log_norm, resp


def _sq_distances(X: Tensor, centers: Tensor) -> Tensor:
    """(n, K) squared Euclidean distances, clamped at zero."""
    d = (X * X).sum(1, keepdim=True) - 2.0 * (X @ centers.T) + (centers * centers).sum(1)
    return d.clamp_min_(0.0)


def _assign(X: Tensor, centers: Tensor, chunk: int) -> tuple[Tensor, Tensor]:
    """Nearest centre of every row: labels (N,) and squared distances (N,), chunked over rows."""
    N = X.shape[0]
    labels = torch.empty(N, dtype=torch.long, device=X.device)
    dist = X.new_empty(N)
    for s in range(0, N, chunk):
        d, l = _sq_distances(X[s : s + chunk], centers).min(dim=1)
        labels[s : s + chunk] = l
        dist[s : s + chunk] = d
    return labels, dist


def _kmeans_plusplus(X: Tensor, n_clusters: int, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """Greedy k-means++ seeding (as scikit-learn's ``kmeans_plusplus``): 2 + log K trials per centre.

    Returns
    -------
    centers : (K, D) tensor
    indices : (K,) int64 tensor
        The rows of ``X`` chosen as centres.
    """
    N = X.shape[0]
    trials = 2 + int(math.log(n_clusters))
    indices = torch.empty(n_clusters, dtype=torch.long)
    indices[0] = torch.randint(N, (1,), generator=g)
    indices = indices.to(X.device)
    closest = _sq_distances(X, X[indices[:1]])[:, 0]
    for c in range(1, n_clusters):
        u = torch.rand(trials, generator=g, dtype=torch.float64).to(X.device)
        cum = torch.cumsum(closest.double(), 0)
        cand = torch.searchsorted(cum, u * cum[-1]).clamp_max_(N - 1)
        d = torch.minimum(closest[None, :], _sq_distances(X, X[cand]).T)  # (trials, N)
        best = torch.argmin(d.sum(1))
        closest = d[best]
        indices[c] = cand[best]
    return X[indices], indices


def _one_hot(labels: Tensor, n_classes: int, dtype: torch.dtype) -> Tensor:
    r = torch.zeros(labels.shape[0], n_classes, dtype=dtype, device=labels.device)
    r[torch.arange(labels.shape[0], device=labels.device), labels] = 1.0
    return r


def _counts_and_labels(weights: Tensor, n: int, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """Component counts ~ Multinomial(n, weights) and the labels sorted by component (as scikit-learn)."""
    z = torch.multinomial(weights.detach().double().cpu(), n, replacement=True, generator=g)
    counts = torch.bincount(z, minlength=weights.shape[0])
    labels = torch.repeat_interleave(torch.arange(weights.shape[0]), counts)
    return counts, labels


def _initial_resp(
    X: Tensor, n_components: int, init_params: str, g: torch.Generator
) -> Tensor:
    """Initial responsibilities (N, K) as scikit-learn builds them for each ``init_params``."""
    N = X.shape[0]
    if init_params == "kmeans":
        km = KMeans(n_components, n_init=1, random_state=g).fit(X)
        return _one_hot(km.labels_, n_components, X.dtype)
    if init_params == "random":
        r = torch.rand(N, n_components, generator=g, dtype=torch.float64).to(device=X.device, dtype=X.dtype)
        return r / r.sum(1, keepdim=True)
    resp = torch.zeros(N, n_components, dtype=X.dtype, device=X.device)
    if init_params == "random_from_data":
        idx = torch.randperm(N, generator=g)[:n_components].to(X.device)
    else:  # "k-means++"
        _, idx = _kmeans_plusplus(X, n_components, g)
    resp[idx, torch.arange(n_components, device=X.device)] = 1.0
    return resp


# ----------------------------------------------------------------------------------------------------
# k-means
# ----------------------------------------------------------------------------------------------------


class KMeans:
    """k-means clustering by Lloyd's algorithm with k-means++ seeding.

    Parameters
    ----------
    n_clusters : int
        Number of clusters K.
    init : {"k-means++", "random"} or (K, D) array-like
        Seeding: greedy k-means++, K distinct random rows of ``X``, or given centres.
    n_init : int
        Number of seedings; the run with the lowest inertia is kept.
    max_iter : int
        Maximum Lloyd iterations per run.
    tol : float
        Stop when the squared movement of the centres, summed, is at most ``tol`` times the mean
        per-feature variance of ``X`` (scikit-learn's rule), or when no label changes.
    random_state : int, torch.Generator or None
        Seed of the CPU generator used for seeding; ``None`` draws from torch's global generator.
    device : torch.device or str, optional
        Where to compute; default: the input's device.

    Attributes
    ----------
    cluster_centers_ : (K, D) tensor
    labels_ : (N,) int64 tensor
    inertia_ : float
        Sum of squared distances of the samples to their closest centre.
    n_iter_ : int
    n_features_in_ : int
    """

    def __init__(
        self,
        n_clusters: int,
        *,
        init: str | Any = "k-means++",
        n_init: int = 1,
        max_iter: int = 300,
        tol: float = 1e-4,
        random_state: int | torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.device = device

    def __repr__(self) -> str:
        return f"KMeans(n_clusters={self.n_clusters!r})"

    def fit(self, X: Any, y: Any = None) -> "KMeans":
        """Cluster ``X``.

        Parameters
        ----------
        X : (N, D) array-like or tensor
        y : ignored

        Returns
        -------
        self
        """
        K = check_int(self.n_clusters, "n_clusters", minimum=1)
        n_init = check_int(self.n_init, "n_init", minimum=1)
        max_iter = check_int(self.max_iter, "max_iter", minimum=1)
        tol = check_positive(self.tol, "tol", strict=False)
        X = _check_data(X, device=self.device)
        N, D = X.shape
        if N < K:
            raise ValueError(f"n_clusters must be <= n_samples; got n_clusters={K} for {N} samples")
        given = None
        if not isinstance(self.init, str):
            given = as_tensor(self.init, name="init", ndim=2, dtype=X.dtype, device=X.device)
            if given.shape != (K, D):
                raise ValueError(f"init centres must have shape ({K}, {D}); got {tuple(given.shape)}")
            n_init = 1
        else:
            check_choice(self.init, "init", ("k-means++", "random"))
        g = as_generator(self.random_state)
        chunk = _chunk_size(K, D, X.device)
        tol_abs = tol * float(X.var(dim=0, unbiased=False).mean())
        best = None
        for _ in range(n_init):
            if given is not None:
                centers = given.clone()
            elif self.init == "k-means++":
                centers, _ = _kmeans_plusplus(X, K, g)
            else:
                centers = X[torch.randperm(N, generator=g)[:K].to(X.device)]
            labels = None
            for n_iter in range(1, max_iter + 1):
                new_labels, dist = _assign(X, centers, chunk)
                new_centers = self._update(X, new_labels, dist, centers)
                shift = float(((new_centers - centers) ** 2).sum())
                centers = new_centers
                unchanged = labels is not None and bool((new_labels == labels).all())
                labels = new_labels
                if unchanged or shift <= tol_abs:
                    break
            labels, dist = _assign(X, centers, chunk)
            inertia = float(dist.sum())
            if best is None or inertia < best[0]:
                best = (inertia, centers, labels, n_iter)
        self.inertia_, self.cluster_centers_, self.labels_, self.n_iter_ = best
        self.n_features_in_ = D
        return self

    @staticmethod
    def _update(X: Tensor, labels: Tensor, dist: Tensor, centers: Tensor) -> Tensor:
        """Lloyd's centre update; an emptied cluster moves to the point farthest from its centre."""
        K = centers.shape[0]
        counts = torch.bincount(labels, minlength=K).to(X.dtype)
        sums = torch.zeros_like(centers).index_add_(0, labels, X)
        empty = counts == 0
        if bool(empty.any()):
            n_empty = int(empty.sum())
            far = torch.topk(dist, n_empty).indices
            new = sums / counts.clamp_min(1)[:, None]
            new[empty] = X[far]
            return new
        return sums / counts[:, None]

    def _fitted(self) -> None:
        if not hasattr(self, "cluster_centers_"):
            raise ValueError("this KMeans is not fitted yet; call fit(X) first")

    def predict(self, X: Any) -> Tensor:
        """Index of the closest centre for each row of ``X``: (N,) int64 tensor."""
        self._fitted()
        c = self.cluster_centers_
        X = _check_data(X, dtype=c.dtype, device=c.device, n_features=self.n_features_in_)
        return _assign(X, c, _chunk_size(c.shape[0], c.shape[1], c.device))[0]

    def fit_predict(self, X: Any, y: Any = None) -> Tensor:
        """``fit(X)`` and return ``labels_``: (N,) int64 tensor."""
        return self.fit(X).labels_

    def transform(self, X: Any) -> Tensor:
        """Euclidean distances to every centre: (N, K) tensor."""
        self._fitted()
        c = self.cluster_centers_
        X = _check_data(X, dtype=c.dtype, device=c.device, n_features=self.n_features_in_)
        return _sq_distances(X, c).sqrt_()

    def score(self, X: Any, y: Any = None) -> float:
        """Minus the inertia of ``X`` under the fitted centres (higher is better)."""
        self._fitted()
        c = self.cluster_centers_
        X = _check_data(X, dtype=c.dtype, device=c.device, n_features=self.n_features_in_)
        return -float(_assign(X, c, _chunk_size(c.shape[0], c.shape[1], c.device))[1].sum())


# ----------------------------------------------------------------------------------------------------
# The EM driver shared by the Gaussian and the Bernoulli mixture
# ----------------------------------------------------------------------------------------------------


class _EMMixture:
    """Fit, predict and score a finite mixture by EM; subclasses supply the component family.

    A subclass defines ``_validate`` (hyperparameters), ``_prepare`` (data checks), ``_initialize``
    (parameters from the data), ``_log_prob_fn`` (a function giving the component log-densities of
    a block of rows), ``_m_step``, ``_get_params``/``_set_params``, ``_n_parameters`` and
    ``_sample_components``. The E-step, the EM loop with restarts and the stopping rule, scoring,
    prediction, BIC/AIC and sampling of the component labels live here, once.
    """

    n_components: int
    tol: float
    max_iter: int
    n_init: int
    init_params: str
    random_state: Any
    device: Any
    dtype: Any

    # -- hooks ---------------------------------------------------------------------------------------
    def _validate(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _prepare(self, X: Tensor) -> Tensor:
        return X

    def _initialize(self, X: Tensor, g: torch.Generator) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _log_prob_fn(self) -> Callable[[Tensor], Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _m_step(self, X: Tensor, resp: Tensor) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _get_params(self) -> tuple:  # pragma: no cover - abstract
        raise NotImplementedError

    def _set_params(self, params: tuple) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _n_parameters(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def _sample_components(self, counts: Tensor, g: torch.Generator) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    # -- shared machinery ----------------------------------------------------------------------------
    def _validate_common(self, allowed_init: tuple[str, ...]) -> None:
        check_int(self.n_components, "n_components", minimum=1)
        check_positive(self.tol, "tol", strict=False)
        check_int(self.max_iter, "max_iter", minimum=0)
        check_int(self.n_init, "n_init", minimum=1)
        check_choice(self.init_params, "init_params", allowed_init)
        _check_dtype(self.dtype)

    def _e_step(self, X: Tensor) -> tuple[Tensor, Tensor]:
        chunk = _chunk_size(self.n_components, X.shape[1], X.device)
        return _e_step(self._log_prob_fn(), torch.log(self.weights_), X, chunk)

    def _fitted(self) -> None:
        if not hasattr(self, "weights_"):
            raise ValueError(f"this {type(self).__name__} is not fitted yet; call fit(X) first")

    def _check_X(self, X: Any) -> Tensor:
        self._fitted()
        X = _check_data(X, dtype=self.means_.dtype, device=self.means_.device, n_features=self.n_features_in_)
        return self._prepare(X)

    def fit(self, X: Any, y: Any = None) -> "_EMMixture":
        """Estimate the parameters by EM; the best of ``n_init`` runs (highest bound) is kept.

        Parameters
        ----------
        X : (N, D) array-like or tensor
        y : ignored

        Returns
        -------
        self
        """
        self._fit(X)
        return self

    def fit_predict(self, X: Any, y: Any = None) -> Tensor:
        """Fit, then return the most responsible component of each row: (N,) int64 tensor.

        A final E-step with the kept parameters makes this equal ``fit(X).predict(X)``.
        """
        X = self._fit(X)
        return self._e_step(X)[1].argmax(dim=1)

    def _fit(self, X: Any) -> Tensor:
        self._validate()
        X = _check_data(X, dtype=self.dtype, device=self.device, min_samples=2)
        X = self._prepare(X)
        N = X.shape[0]
        if N < self.n_components:
            raise ValueError(
                f"n_components must be <= n_samples; got n_components={self.n_components} for {N} samples"
            )
        self.n_features_in_ = X.shape[1]
        g = as_generator(self.random_state)
        best_bound, best = -math.inf, None
        for _ in range(self.n_init):
            self._initialize(X, g)
            bound, bounds, converged, n_iter = -math.inf, [], False, 0
            for n_iter in range(1, self.max_iter + 1):
                prev = bound
                log_norm, resp = self._e_step(X)
                bound = float(log_norm.mean())
                self._m_step(X, resp)
                bounds.append(bound)
                if abs(bound - prev) < self.tol:
                    converged = True
                    break
            if best is None or bound > best_bound:
                best_bound = bound
                best = (self._get_params(), n_iter, bounds, converged)
        params, self.n_iter_, bounds, self.converged_ = best
        self._set_params(params)
        self.lower_bound_ = best_bound
        self.lower_bounds_ = bounds
        self.history = {"lower_bound": list(bounds)}
        if not self.converged_ and self.max_iter > 0:
            warnings.warn(
                f"{type(self).__name__}: the best run did not converge in max_iter={self.max_iter} "
                f"iterations (tol={self.tol}); raise max_iter or tol, or try other init_params",
                ConvergenceWarning,
                stacklevel=3,
            )
        return X

    def predict(self, X: Any) -> Tensor:
        """Most probable component of each row: (N,) int64 tensor."""
        return self._e_step(self._check_X(X))[1].argmax(dim=1)

    def predict_proba(self, X: Any) -> Tensor:
        """Responsibilities ``r_nk = p(z_n = k | x_n)``: (N, K) tensor, rows summing to one."""
        return self._e_step(self._check_X(X))[1]

    def score_samples(self, X: Any) -> Tensor:
        """Exact log-likelihood ``log p(x_n)`` of each row, in nats: (N,) tensor."""
        return self._e_step(self._check_X(X))[0]

    def score(self, X: Any, y: Any = None) -> float:
        """Mean log-likelihood per sample, in nats."""
        return float(self.score_samples(X).mean())

    def bic(self, X: Any) -> float:
        """Bayesian information criterion ``-2 log L + p log N`` on ``X`` (lower is better)."""
        n = self._check_X(X).shape[0]
        return -2.0 * self.score(X) * n + self._n_parameters() * math.log(n)

    def aic(self, X: Any) -> float:
        """Akaike information criterion ``-2 log L + 2 p`` on ``X`` (lower is better)."""
        n = self._check_X(X).shape[0]
        return -2.0 * self.score(X) * n + 2.0 * self._n_parameters()

    def sample(self, n_samples: int = 1) -> tuple[Tensor, Tensor]:
        """Draw from the fitted mixture.

        Samples are grouped by component, as in scikit-learn. With an integer ``random_state`` every
        call returns the same draws; with ``None`` they follow torch's global generator.

        Parameters
        ----------
        n_samples : int

        Returns
        -------
        X : (n_samples, D) tensor
        labels : (n_samples,) int64 tensor
            The component of each draw.
        """
        self._fitted()
        n = check_int(n_samples, "n_samples", minimum=1)
        g = as_generator(self.random_state)
        counts, labels = _counts_and_labels(self.weights_, n, g)
        X = self._sample_components(counts, g)
        return X, labels.to(self.means_.device)


# ----------------------------------------------------------------------------------------------------
# Gaussian mixture
# ----------------------------------------------------------------------------------------------------


def _flip(A: Tensor) -> Tensor:
    return torch.flip(A, dims=(-2, -1))


def _precision_cholesky(covariances: Tensor, covariance_type: str) -> Tensor:
    """Upper-triangular ``P`` with ``P P^T = Sigma^{-1}`` (``P = L^{-T}``, ``L`` = chol(Sigma)).

    Full: (K, D, D) -> (K, D, D); tied: (D, D) -> (D, D); diag (K, D) and spherical (K,): 1 / sqrt.
    Raises ValueError, saying what to change, when a covariance is not positive definite.
    """
    msg = (
        "Fitting the mixture model failed because some components have ill-defined empirical "
        "covariance (for instance caused by singleton or collapsed samples). Try to decrease "
        "n_components, increase reg_covar, or scale the input data"
    )
    if covariances.dtype == torch.float32:
        msg += "; float64 input also improves the numerical accuracy"
    if covariance_type in ("full", "tied"):
        L, info = torch.linalg.cholesky_ex(covariances)
        if bool((info != 0).any()):
            raise ValueError(msg)
        eye = torch.eye(covariances.shape[-1], dtype=covariances.dtype, device=covariances.device)
        P = torch.linalg.solve_triangular(L, eye.expand_as(L), upper=False).transpose(-2, -1)
    else:
        if bool((covariances <= 0).any()):
            raise ValueError(msg)
        P = covariances.rsqrt()
    if not bool(torch.isfinite(P).all()):
        raise ValueError(msg)
    return P


def _precision_cholesky_from_precisions(precisions: Tensor, covariance_type: str) -> Tensor:
    """Upper-triangular ``P`` with ``P P^T = Lambda`` (scikit-learn's flip trick: ``J chol(J Lambda J) J``)."""
    if covariance_type in ("full", "tied"):
        L, info = torch.linalg.cholesky_ex(_flip(precisions))
        if bool((info != 0).any()):
            raise ValueError("precisions_init must be symmetric positive-definite matrices")
        return _flip(L)
    return precisions.sqrt()


def _log_det_precision_cholesky(P: Tensor, covariance_type: str, n_features: int) -> Tensor:
    """``log det P`` (= ``-1/2 log det Sigma``) per component: (K,) tensor, or a scalar for tied."""
    if covariance_type in ("full", "tied"):
        return torch.log(torch.diagonal(P, dim1=-2, dim2=-1)).sum(-1)
    if covariance_type == "diag":
        return torch.log(P).sum(-1)
    return n_features * torch.log(P)


def _gaussian_log_prob_fn(means: Tensor, P: Tensor, covariance_type: str) -> Callable[[Tensor], Tensor]:
    """Component log-densities ``log N(x_n; mu_k, Sigma_k)`` through Cholesky factors.

    Returns a function mapping an (n, D) block of rows to the (n, K) log-densities; what does not
    depend on the rows is computed once. Full covariance: one GEMM of the block with all K factors side
    by side gives ``y_nk = P_k^T (x_n - mu_k)``, and a second GEMM with a block-indicator matrix sums
    ``|y_nk|^2`` per component; then ``log N = -1/2 (D log 2 pi + |y_nk|^2) + log det P_k``.
    """
    K, D = means.shape
    const = D * math.log(2 * math.pi)
    log_det = _log_det_precision_cholesky(P, covariance_type, D) - 0.5 * const
    if covariance_type in ("full", "tied"):
        Pk = P.expand(K, D, D) if covariance_type == "tied" else P
        Pcat = Pk.permute(1, 0, 2).reshape(D, K * D)  # Pcat[d, k*D + e] = P[k, d, e]
        muP = torch.einsum("kd,kde->ke", means, Pk).reshape(K * D)
        blocks = torch.zeros(K * D, K, dtype=P.dtype, device=P.device)
        blocks[torch.arange(K * D, device=P.device), torch.arange(K * D, device=P.device) // D] = -0.5

        def log_prob(X: Tensor) -> Tensor:
            y = torch.addmm(-muP, X, Pcat).square_()
            return torch.addmm(log_det, y, blocks)

    elif covariance_type == "diag":

        def log_prob(X: Tensor) -> Tensor:
            maha = ((X[:, None, :] - means[None]) * P[None]).square_().sum(-1)
            return log_det - 0.5 * maha

    else:
        prec = P.square()

        def log_prob(X: Tensor) -> Tensor:
            return log_det - 0.5 * (X[:, None, :] - means[None]).square_().sum(-1) * prec

    return log_prob


def _gaussian_log_prob(X: Tensor, means: Tensor, P: Tensor, covariance_type: str) -> Tensor:
    """``log N(x_n; mu_k, Sigma_k)`` for all rows and components: (N, K) tensor, chunked over rows."""
    fn = _gaussian_log_prob_fn(means, P, covariance_type)
    chunk = _chunk_size(means.shape[0], X.shape[1], X.device)
    return torch.cat([fn(X[s : s + chunk]) for s in range(0, X.shape[0], chunk)])


def _gaussian_m_step(
    X: Tensor, resp: Tensor, reg_covar: float, covariance_type: str
) -> tuple[Tensor, Tensor, Tensor]:
    """M-step of a Gaussian mixture (scikit-learn's estimates), batched over components.

    Returns
    -------
    nk : (K,) tensor
        Soft counts plus ``10 eps`` (as scikit-learn), so an emptied component stays finite.
    means : (K, D) tensor
    covariances : (K, D, D), (D, D), (K, D) or (K,) tensor by ``covariance_type``
        Weighted scatter about each component's own mean (centred, chunked over samples), plus
        ``reg_covar`` on the diagonal.
    """
    N, D = X.shape
    K = resp.shape[1]
    nk = resp.sum(0) + 10 * torch.finfo(resp.dtype).eps
    means = (resp.T @ X) / nk[:, None]
    chunk = _chunk_size(K, D, X.device)
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


class GaussianMixture(_EMMixture):
    r"""Gaussian mixture model fitted by EM, following scikit-learn's ``GaussianMixture``.

    .. math:: p(x) = \sum_k \pi_k \, \N(x; \mu_k, \Sigma_k)

    Parameters
    ----------
    n_components : int
        Number of components K.
    covariance_type : {"full", "tied", "diag", "spherical"}
        Each component its own full matrix; one shared full matrix; diagonal; a multiple of I.
    tol : float
        Stop when the mean log-likelihood changes by less than ``tol`` (``0``: run ``max_iter``).
    reg_covar : float
        Added to the covariance diagonals; keeps them positive definite.
    max_iter : int
        EM iterations per run (``0``: keep the initial parameters).
    n_init : int
        Number of initialisations; the one with the highest final bound is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}
        Initial responsibilities: k-means labels, k-means++ seeds, random soft, or random rows.
    weights_init : (K,) array-like, optional
    means_init : (K, D) array-like, optional
    precisions_init : array-like, optional
        Inverse covariances, shaped by ``covariance_type``: (K, D, D), (D, D), (K, D) or (K,).
        With all three given, no initial responsibilities are computed.
    random_state : int, torch.Generator or None
        Seed of the CPU generator; ``None`` draws from torch's global generator.
    device : torch.device or str, optional
        Where to compute; default: the input's device.
    dtype : torch.dtype, optional
        float32 or float64; default float64 for float64 input, float32 otherwise.

    Attributes
    ----------
    weights_ : (K,) tensor
    means_ : (K, D) tensor
    covariances_ : tensor shaped by ``covariance_type``
    precisions_cholesky_ : tensor shaped by ``covariance_type``
        Upper-triangular ``P_k`` with ``P_k P_k^T = Sigma_k^{-1}`` (scikit-learn's convention).
    precisions_ : tensor shaped by ``covariance_type``
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Mean log-likelihood of the training data at the last E-step of the kept run.
    lower_bounds_ : list of float
        That bound at every iteration (non-decreasing, up to ``reg_covar``).
    history : dict
        ``{"lower_bound": lower_bounds_}``, ready for ``statlearn.plotting.training_curves``.
    n_features_in_ : int
    """

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
        random_state: int | torch.Generator | None = None,
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
        self.device = device
        self.dtype = dtype

    def __repr__(self) -> str:
        return f"GaussianMixture(n_components={self.n_components!r}, covariance_type={self.covariance_type!r})"

    def _validate(self) -> None:
        self._validate_common(GMM_INIT_PARAMS)
        check_choice(self.covariance_type, "covariance_type", COVARIANCE_TYPES)
        check_positive(self.reg_covar, "reg_covar", strict=False)

    def _checked_inits(self, X: Tensor) -> tuple[Tensor | None, Tensor | None, Tensor | None]:
        K, D = self.n_components, X.shape[1]
        kw = dict(dtype=X.dtype, device=X.device)
        prec = None
        w = _check_weights_init(self.weights_init, K, X)
        mu = _check_means_init(self.means_init, K, X)
        if self.precisions_init is not None:
            shape = {"full": (K, D, D), "tied": (D, D), "diag": (K, D), "spherical": (K,)}[self.covariance_type]
            prec = as_tensor(self.precisions_init, name="precisions_init", ndim=len(shape), **kw)
            if tuple(prec.shape) != shape:
                raise ValueError(
                    f"precisions_init must have shape {shape} for covariance_type={self.covariance_type!r}; "
                    f"got {tuple(prec.shape)}"
                )
            if self.covariance_type in ("full", "tied"):
                tol = 1e-5 if X.dtype == torch.float32 else 1e-8
                if not torch.allclose(prec, prec.transpose(-2, -1), atol=tol * float(prec.abs().max())):
                    raise ValueError("precisions_init must be symmetric")
                if bool((torch.linalg.eigvalsh(prec) <= 0).any()):
                    raise ValueError("precisions_init must be positive-definite")
            elif bool((prec <= 0).any()):
                raise ValueError("precisions_init must be positive")
        return w, mu, prec

    def _initialize(self, X: Tensor, g: torch.Generator) -> None:
        w, mu, prec = self._checked_inits(X)
        if w is None or mu is None or prec is None:
            resp = _initial_resp(X, self.n_components, self.init_params, g)
            nk, means, cov = _gaussian_m_step(X, resp, self.reg_covar, self.covariance_type)
            self.weights_ = nk / X.shape[0] if w is None else w
            self.means_ = means if mu is None else mu
        else:
            self.weights_, self.means_ = w, mu
        if prec is None:
            self.covariances_ = cov
            self.precisions_cholesky_ = _precision_cholesky(cov, self.covariance_type)
        else:
            self.covariances_ = None
            self.precisions_cholesky_ = _precision_cholesky_from_precisions(prec, self.covariance_type)

    def _log_prob_fn(self) -> Callable[[Tensor], Tensor]:
        return _gaussian_log_prob_fn(self.means_, self.precisions_cholesky_, self.covariance_type)

    def _m_step(self, X: Tensor, resp: Tensor) -> None:
        nk, self.means_, self.covariances_ = _gaussian_m_step(X, resp, self.reg_covar, self.covariance_type)
        self.weights_ = nk / nk.sum()
        self.precisions_cholesky_ = _precision_cholesky(self.covariances_, self.covariance_type)

    def _get_params(self) -> tuple:
        return self.weights_, self.means_, self.covariances_, self.precisions_cholesky_

    def _set_params(self, params: tuple) -> None:
        self.weights_, self.means_, covariances, self.precisions_cholesky_ = params
        P = self.precisions_cholesky_
        if self.covariance_type in ("full", "tied"):
            self.precisions_ = P @ P.transpose(-2, -1)
        else:
            self.precisions_ = P.square()
        if covariances is None:  # max_iter=0 with precisions_init: covariances from the precisions
            if self.covariance_type in ("full", "tied"):
                eye = torch.eye(P.shape[-1], dtype=P.dtype, device=P.device).expand_as(P)
                Pinv = torch.linalg.solve_triangular(P, eye, upper=True)  # Sigma = P^{-T} P^{-1}
                covariances = Pinv.transpose(-2, -1) @ Pinv
            else:
                covariances = 1.0 / self.precisions_
        self.covariances_ = covariances

    def _n_parameters(self) -> int:
        K, D = self.means_.shape
        cov = {"full": K * D * (D + 1) / 2, "diag": K * D, "tied": D * (D + 1) / 2, "spherical": K}
        return int(cov[self.covariance_type] + K * D + K - 1)

    def _sample_components(self, counts: Tensor, g: torch.Generator) -> Tensor:
        mu, P = self.means_, self.precisions_cholesky_
        n, D = int(counts.sum()), mu.shape[1]
        labels = torch.repeat_interleave(torch.arange(len(counts)), counts).to(mu.device)
        eps = torch.randn(n, D, generator=g, dtype=torch.float64).to(device=mu.device, dtype=mu.dtype)
        if self.covariance_type == "full":
            # x = mu_k + P_k^{-T} eps: cov = P^{-T} P^{-1} = Sigma_k; one triangular solve per component
            out = torch.empty_like(eps)
            start = 0
            for k, c in enumerate(counts.tolist()):
                if c:
                    z = torch.linalg.solve_triangular(P[k].T, eps[start : start + c].T, upper=False)
                    out[start : start + c] = z.T
                start += c
            return mu[labels] + out
        if self.covariance_type == "tied":
            z = torch.linalg.solve_triangular(P.T, eps.T, upper=False).T
            return mu[labels] + z
        scale = 1.0 / P[labels]
        return mu[labels] + eps * (scale if self.covariance_type == "diag" else scale[:, None])


# ----------------------------------------------------------------------------------------------------
# Bernoulli mixture
# ----------------------------------------------------------------------------------------------------


class BernoulliMixture(_EMMixture):
    r"""Mixture of multivariate Bernoulli distributions for binary data, fitted by EM.

    .. math:: p(x) = \sum_k \pi_k \prod_d \mu_{kd}^{x_d} (1 - \mu_{kd})^{1 - x_d}

    Same contract as :class:`GaussianMixture`; ``score_samples`` is the exact ``log p(x)`` in nats.

    Parameters
    ----------
    n_components : int
        Number of components K.
    tol : float
        Stop when the mean log-likelihood changes by less than ``tol``.
    max_iter : int
        EM iterations per run.
    n_init : int
        Number of initialisations; the one with the highest final bound is kept.
    init_params : {"random", "random_from_data", "kmeans", "k-means++"}
        ``"random"``: means uniform in [0.25, 0.75] and equal weights (Bishop, section 9.3.3);
        ``"random_from_data"``: K random rows shrunk to 0.25 / 0.75; ``"kmeans"``: an M-step from the
        k-means labels; ``"k-means++"``: k-means++ seeds shrunk as for random rows.
    alpha : float
        Pseudo-count of the M-step, ``mu_kd = (sum_n r_nk x_nd + alpha) / (N_k + 2 alpha)``
        (a Beta(1 + alpha, 1 + alpha) prior); the means are also clipped to
        ``[eps, 1 - eps]`` of the dtype, so every log-density stays finite.
    random_state : int, torch.Generator or None
    device : torch.device or str, optional
    dtype : torch.dtype, optional
    weights_init : (K,) array-like, optional
    means_init : (K, D) array-like, optional
        Initial probabilities in (0, 1); override ``init_params``.

    Attributes
    ----------
    weights_ : (K,) tensor
    means_ : (K, D) tensor
        Bernoulli probabilities, strictly inside (0, 1).
    converged_, n_iter_, lower_bound_, lower_bounds_, history, n_features_in_
        As in :class:`GaussianMixture`.
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        tol: float = 1e-3,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "random",
        alpha: float = 1e-6,
        random_state: int | torch.Generator | None = None,
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
        self.alpha = alpha
        self.random_state = random_state
        self.device = device
        self.dtype = dtype
        self.weights_init = weights_init
        self.means_init = means_init

    def __repr__(self) -> str:
        return f"BernoulliMixture(n_components={self.n_components!r})"

    def _validate(self) -> None:
        self._validate_common(BMM_INIT_PARAMS)
        check_positive(self.alpha, "alpha", strict=False)

    def _prepare(self, X: Tensor) -> Tensor:
        return _check_binary(X)

    def _clip(self, means: Tensor) -> Tensor:
        eps = torch.finfo(means.dtype).eps
        return means.clamp(eps, 1.0 - eps)

    def _initialize(self, X: Tensor, g: torch.Generator) -> None:
        N, D = X.shape
        K = self.n_components
        kw = dict(dtype=X.dtype, device=X.device)
        if self.init_params == "kmeans":
            resp = _initial_resp(X, K, "kmeans", g)
            self._m_step(X, resp)
        else:
            if self.init_params == "random":
                means = 0.25 + 0.5 * torch.rand(K, D, generator=g, dtype=torch.float64).to(**kw)
            else:
                rows = _initial_resp(X, K, self.init_params, g).argmax(0)  # the seeded row of each k
                means = 0.25 + 0.5 * X[rows]
            self.means_ = means
            self.weights_ = torch.full((K,), 1.0 / K, **kw)
        w = _check_weights_init(self.weights_init, K, X)
        if w is not None:
            self.weights_ = w
        mu = _check_means_init(self.means_init, K, X)
        if mu is not None:
            if bool((mu <= 0).any()) or bool((mu >= 1).any()):
                raise ValueError("means_init must hold probabilities strictly inside (0, 1)")
            self.means_ = mu

    def _log_prob_fn(self) -> Callable[[Tensor], Tensor]:
        log1m = torch.log1p(-self.means_)
        logit = (torch.log(self.means_) - log1m).T.contiguous()
        bias = log1m.sum(1)
        return lambda X: torch.addmm(bias, X, logit)  # sum_d x_d log mu_kd + (1 - x_d) log(1 - mu_kd)

    def _m_step(self, X: Tensor, resp: Tensor) -> None:
        nk = resp.sum(0) + 10 * torch.finfo(resp.dtype).eps
        self.means_ = self._clip((resp.T @ X + self.alpha) / (nk[:, None] + 2 * self.alpha))
        self.weights_ = nk / nk.sum()

    def _get_params(self) -> tuple:
        return self.weights_, self.means_

    def _set_params(self, params: tuple) -> None:
        self.weights_, self.means_ = params

    def _n_parameters(self) -> int:
        K, D = self.means_.shape
        return int(K * D + K - 1)

    def _sample_components(self, counts: Tensor, g: torch.Generator) -> Tensor:
        mu = self.means_
        labels = torch.repeat_interleave(torch.arange(len(counts)), counts).to(mu.device)
        u = torch.rand(int(counts.sum()), mu.shape[1], generator=g, dtype=torch.float64).to(mu.device)
        return (u < mu[labels]).to(mu.dtype)
