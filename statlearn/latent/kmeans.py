"""k-means: Lloyd's algorithm with k-means++ seeding (chapters 1, 2).

Chapter 1 ("Gaussian mixtures and EM") starts from k-means' hard assignments before it
softens them into a mixture's responsibilities, and starts its mixtures from k-means;
chapter 2's ``GaussianHMM`` starts its means from k-means too. Implements Lloyd's
algorithm (Lloyd, 1982) with the greedy k-means++ seeding of Arthur and Vassilvitskii
(2007), as scikit-learn's ``KMeans`` does (same seeding, same stopping rule, same
relocation of emptied clusters).

:class:`KMeans` is the estimator. Its cores, ``kmeans_plusplus`` and ``lloyd``,
trust their (validated) input; the mixtures of :mod:`statlearn.latent.mixture` and the
HMMs of :mod:`statlearn.latent.hmm` call them to initialise.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, Callable

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted
from torch import Tensor

from statlearn._arrays import Namespace, from_torch, to_torch
from statlearn._checks import as_generator, check_choice, check_int, check_positive
from statlearn.latent._em import (
    EMProgress,
    check_optional_device,
    chunk_size,
    validate_X,
)

__all__ = ["KMeans"]


# --------------------------------------------------------------------------------------
# The cores: distances, k-means++ seeding, Lloyd's iterations
# --------------------------------------------------------------------------------------


def _sq_distances(X: Tensor, centers: Tensor) -> Tensor:
    """(n, K) squared Euclidean distances, clamped at zero."""
    d = (
        (X * X).sum(1, keepdim=True)
        - 2.0 * (X @ centers.T)
        + (centers * centers).sum(1)
    )
    return d.clamp_min_(0.0)


def _assign(X: Tensor, centers: Tensor, chunk: int) -> tuple[Tensor, Tensor]:
    """Nearest centre of every row: labels (N,) and squared distances (N,), chunked."""
    N = X.shape[0]
    labels = torch.empty(N, dtype=torch.long, device=X.device)
    dist = X.new_empty(N)
    for s in range(0, N, chunk):
        d, lab = _sq_distances(X[s : s + chunk], centers).min(dim=1)
        labels[s : s + chunk] = lab
        dist[s : s + chunk] = d
    return labels, dist


def kmeans_plusplus(
    X: Tensor, n_clusters: int, g: torch.Generator, sample_weight: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Greedy k-means++ seeding (as scikit-learn's ``kmeans_plusplus``).

    Each centre is the best of ``2 + log K`` candidates drawn with probability
    proportional to ``w_n D(x_n)^2`` (``w_n = 1`` without weights); the first is drawn
    in proportion to ``w_n``.

    Returns
    -------
    centers : (K, D) tensor
    indices : (K,) int64 tensor
        The rows of ``X`` chosen as centres.
    """
    N = X.shape[0]
    trials = 2 + int(math.log(n_clusters))
    indices = torch.empty(n_clusters, dtype=torch.long)
    if sample_weight is None:
        indices[0] = torch.randint(N, (1,), generator=g)
    else:
        p = sample_weight.detach().double().cpu()
        indices[0] = torch.multinomial(p / p.sum(), 1, generator=g)
    indices = indices.to(X.device)
    closest = _sq_distances(X, X[indices[:1]])[:, 0]
    for c in range(1, n_clusters):
        u = torch.rand(trials, generator=g, dtype=torch.float64).to(X.device)
        mass = closest if sample_weight is None else closest * sample_weight
        cum = torch.cumsum(mass.double(), 0)
        cand = torch.searchsorted(cum, u * cum[-1]).clamp_max_(N - 1)
        d = torch.minimum(closest[None, :], _sq_distances(X, X[cand]).T)  # (trials, N)
        pot = d.sum(1) if sample_weight is None else d @ sample_weight
        best = torch.argmin(pot)
        closest = d[best]
        indices[c] = cand[best]
    return X[indices], indices


def _lloyd_update(
    X: Tensor, labels: Tensor, dist: Tensor, K: int, sample_weight: Tensor | None
) -> Tensor:
    """Lloyd's centre update; an emptied cluster takes the farthest point.

    As scikit-learn: the ``m`` emptied clusters take the ``m`` points farthest from
    their assigned centres, farthest first, and each point moved leaves its old
    cluster's sum and weight, so no point counts twice.
    """
    Xw = X if sample_weight is None else X * sample_weight[:, None]
    ones = X.new_ones(X.shape[0]) if sample_weight is None else sample_weight
    weight = X.new_zeros(K).index_add_(0, labels, ones)
    sums = X.new_zeros(K, X.shape[1]).index_add_(0, labels, Xw)
    empty = torch.nonzero(weight == 0).flatten()
    if empty.numel():
        far = torch.topk(dist, empty.numel()).indices  # farthest first
        old = labels[far]
        sums.index_add_(0, old, -Xw[far])
        weight.index_add_(0, old, -ones[far])
        sums[empty] = Xw[far]
        weight[empty] = ones[far]
        zero = weight <= 0  # a relocated point of weight zero: the point itself
        centers = sums / weight.clamp_min(torch.finfo(X.dtype).tiny)[:, None]
        if bool(zero[empty].any()):
            centers[empty[zero[empty]]] = X[far[zero[empty]]]
        return centers
    return sums / weight[:, None]


def lloyd(
    X: Tensor,
    K: int,
    init: Any,
    n_init: int,
    max_iter: int,
    tol: float,
    g: torch.Generator,
    sample_weight: Tensor | None = None,
    progress: EMProgress | None = None,
) -> tuple[Tensor, float, Tensor, int]:
    """Best of ``n_init`` Lloyd runs: its centres, inertia, labels and iterations.

    ``init`` is "k-means++", "random", a (K, D) tensor of centres, or a function of the
    generator returning them. A run stops when no label changes or when the centres
    move (squared, summed) by at most ``tol`` times the mean per-feature variance of
    ``X``. ``progress`` prints the inertia of each iteration.
    """
    N = X.shape[0]
    chunk = chunk_size(K, X.shape[1], X.device)
    tol_abs = tol * float(X.var(dim=0, unbiased=False).mean())
    verbose = progress is not None and progress.verbose
    best = None
    for run in range(n_init):
        if isinstance(init, Tensor):
            centers = init.clone()
        elif callable(init):
            centers = init(g)
        elif init == "k-means++":
            centers, _ = kmeans_plusplus(X, K, g, sample_weight)
        elif sample_weight is None:
            centers = X[torch.randperm(N, generator=g)[:K].to(X.device)]
        else:
            p = sample_weight.detach().double().cpu()
            idx = torch.multinomial(p / p.sum(), K, replacement=False, generator=g)
            centers = X[idx.to(X.device)]
        if verbose:
            progress.start(run)
            inertia = _inertia(X, centers, sample_weight, chunk)
        labels, converged = None, False
        for n_iter in range(1, max_iter + 1):
            new_labels, dist = _assign(X, centers, chunk)
            new_centers = _lloyd_update(X, new_labels, dist, K, sample_weight)
            shift = float(((new_centers - centers) ** 2).sum())
            centers = new_centers
            if verbose:
                prev, inertia = inertia, _inertia(X, centers, sample_weight, chunk)
                progress.iteration(n_iter, inertia, inertia - prev)
            # no label changed, or the centres moved by at most tol
            converged = bool(labels is not None and (new_labels == labels).all())
            labels = new_labels
            if converged or shift <= tol_abs:
                converged = True
                break
        labels, dist = _assign(X, centers, chunk)  # labels that match the centres
        inertia = float(dist.sum() if sample_weight is None else dist @ sample_weight)
        if verbose:
            progress.end(converged, n_iter, inertia)
        if best is None or inertia < best[1]:
            best = (centers, inertia, labels, n_iter)
    return best


def _inertia(X: Tensor, centers: Tensor, sample_weight: Tensor | None, chunk: int):
    dist = _assign(X, centers, chunk)[1]
    return float(dist.sum() if sample_weight is None else dist @ sample_weight)


def _check_sample_weight(sample_weight: Any, X: Tensor) -> Tensor | None:
    """``sample_weight`` as a (N,) non-negative tensor like ``X``, or None."""
    if sample_weight is None:
        return None
    N = X.shape[0]
    if isinstance(sample_weight, numbers.Number):
        return X.new_full((N,), float(sample_weight))
    w, _ = to_torch(sample_weight, dtype=X.dtype, device=X.device, name="sample_weight")
    if w.ndim != 1 or w.shape[0] != N:
        raise ValueError(f"sample_weight.shape == {tuple(w.shape)}, expected ({N},)!")
    if not bool(torch.isfinite(w).all()):
        raise ValueError("sample_weight must not contain NaN or infinite values")
    if bool((w < 0).any()):
        raise ValueError("Negative values in data passed to sample_weight")
    if float(w.sum()) <= 0:
        raise ValueError("sample_weight must not sum to zero")
    return w


class KMeans(
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    ClusterMixin,
    BaseEstimator,
):
    """k-means clustering by Lloyd's algorithm with k-means++ seeding.

    A scikit-learn estimator (``clone``, pipelines and grid search work) that computes
    in torch. NumPy input gives NumPy results and attributes; a tensor gives tensors on
    its device.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters K, >= 1.
    init : {"k-means++", "random"}, callable or (K, D) array-like, default="k-means++"
        Seeding: greedy k-means++ (Arthur and Vassilvitskii, 2007), K distinct random
        rows of ``X``, given centres, or a function ``init(X, n_clusters,
        random_state)`` returning the (K, D) centres; it receives ``X`` as it was given
        (validated) and a ``numpy.random.RandomState`` drawn from ``random_state``.
    n_init : "auto" or int, default="auto"
        Number of seedings; the run with the lowest inertia is kept. "auto": 1 for
        "k-means++" and given centres, 10 for "random" and a callable (scikit-learn's
        rule). Given centres are used once, with a warning when ``n_init`` asks for
        more.
    max_iter : int, default=300
        Maximum Lloyd iterations per run, >= 1.
    tol : float, default=1e-4
        >= 0. Stop when the squared movement of the centres, summed, is at most
        ``tol`` times the mean per-feature variance of ``X`` (scikit-learn's rule), or
        when no label changes.
    verbose : int, default=0
        >= 0: 1 prints the inertia at every iteration and how each run ended; 2 also the
        time each took.
    random_state : None, int, NumPy RandomState/Generator or torch.Generator, optional
        See statlearn's randomness rule (CONTRIBUTING.md): seeds the seeding; ``None``
        follows torch's global generator (``statlearn.seed_everything`` controls it).
        Draws on the CPU.
    device : torch.device or str, optional
        Where to compute; default: the input's device (the CPU for NumPy input).

    Attributes
    ----------
    cluster_centers_ : (K, D) ndarray or tensor
    labels_ : (N,) int64 ndarray or tensor
    inertia_ : float
        Sum of (weighted) squared distances of the samples to their closest centre.
    n_iter_ : int
        Lloyd iterations of the kept run.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had column names (a pandas DataFrame).

    Notes
    -----
    Unlike scikit-learn's ``KMeans``, ``labels_`` are int64 (scikit-learn: int32), there
    is no ``algorithm="elkan"`` and no ``copy_x`` (``X`` is never modified), and sparse
    input is not accepted.
    """

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: str | Callable | Any = "k-means++",
        n_init: str | int = "auto",
        max_iter: int = 300,
        tol: float = 1e-4,
        verbose: int = 0,
        random_state: Any = None,
        device: torch.device | str | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.device = device

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    @property
    def _n_features_out(self) -> int:
        return self.cluster_centers_.shape[0]

    def _resolved_n_init(self) -> int:
        if isinstance(self.n_init, str):
            check_choice(self.n_init, "n_init", ("auto",))
            if isinstance(self.init, str) and self.init == "k-means++":
                return 1
            if (isinstance(self.init, str) and self.init == "random") or callable(
                self.init
            ):
                return 10
            return 1
        return check_int(self.n_init, "n_init", minimum=1)

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> "KMeans":
        """Cluster ``X``.

        Parameters
        ----------
        X : (N, D) array-like or tensor
            Training data; NumPy input gives NumPy attributes, a tensor gives tensors.
        y : None
            Ignored; present for scikit-learn's API.
        sample_weight : (N,) array-like or tensor, optional
            Non-negative weight of each row in the centres, the inertia and the
            k-means++ draws; ``None``: all ones.

        Returns
        -------
        self : KMeans
            The fitted estimator.
        """
        K = check_int(self.n_clusters, "n_clusters", minimum=1)
        n_init = self._resolved_n_init()
        max_iter = check_int(self.max_iter, "max_iter", minimum=1)
        tol = check_positive(self.tol, "tol", strict=False)
        check_int(self.verbose, "verbose", minimum=0)
        Xt, ns = validate_X(
            self, X, reset=True, device=check_optional_device(self.device)
        )
        N, D = Xt.shape
        if N < K:
            raise ValueError(f"n_samples={N} should be >= n_clusters={K}.")
        sw = _check_sample_weight(sample_weight, Xt)
        g = as_generator(self.random_state)
        init = self.init
        if isinstance(init, str):
            check_choice(init, "init", ("k-means++", "random"))
        elif callable(init):
            user_init = init
            X_user = from_torch(Xt, ns) if ns.is_numpy else Xt

            def init(gen: torch.Generator) -> Tensor:
                seed = int(torch.randint(0, 2**31 - 1, (1,), generator=gen))
                rs = np.random.RandomState(seed)
                c = user_init(X_user, K, random_state=rs)
                return self._checked_centers(c, Xt, K, "the centres init returned")

        else:
            init = self._checked_centers(init, Xt, K, "init centres")
            if not isinstance(self.n_init, str) and n_init != 1:
                warnings.warn(
                    "Explicit initial center position passed: performing only one "
                    f"init in KMeans instead of n_init={n_init}.",
                    RuntimeWarning,
                    stacklevel=2,
                )
            n_init = 1
        centers, inertia, labels, n_iter = lloyd(
            Xt,
            K,
            init,
            n_init,
            max_iter,
            tol,
            g,
            sw,
            EMProgress(self.verbose, quantity="inertia"),
        )
        distinct = int(torch.unique(labels).numel())
        if distinct < K:
            warnings.warn(
                f"Number of distinct clusters ({distinct}) found smaller than "
                f"n_clusters ({K}). Possibly due to duplicate points in X.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.cluster_centers_ = from_torch(centers, ns)
        self.labels_ = from_torch(labels, ns)
        self.inertia_ = inertia
        self.n_iter_ = n_iter
        return self

    @staticmethod
    def _checked_centers(c: Any, X: Tensor, K: int, what: str) -> Tensor:
        c, _ = to_torch(c, dtype=X.dtype, device=X.device, name="init")
        if tuple(c.shape) != (K, X.shape[1]):
            raise ValueError(
                f"{what} must have shape ({K}, {X.shape[1]}); got {tuple(c.shape)}"
            )
        if not bool(torch.isfinite(c).all()):
            raise ValueError(f"{what} must not contain NaN or infinite values")
        return c

    def _centers_for(self, X: Any) -> tuple[Tensor, Tensor, Namespace]:
        """The fitted centres and ``X`` as tensors on one device; X's record."""
        check_is_fitted(self)
        c = self.cluster_centers_
        dev = check_optional_device(self.device)
        if dev is None:
            if isinstance(X, torch.Tensor):
                dev = X.device
            elif isinstance(c, torch.Tensor):
                dev = c.device
        Xt, ns = validate_X(self, X, reset=False, device=dev)
        ct, _ = to_torch(c, device=Xt.device)
        dtype = torch.promote_types(Xt.dtype, ct.dtype)
        return Xt.to(dtype), ct.to(dtype), ns

    def predict(self, X: Any) -> Any:
        """Index of the closest centre for each row of ``X``.

        Parameters
        ----------
        X : (N, D) array-like or tensor
            New data.

        Returns
        -------
        labels : (N,) int64 ndarray or tensor
            The type of ``X``.
        """
        Xt, c, ns = self._centers_for(X)
        return from_torch(_assign(Xt, c, chunk_size(*c.shape, c.device))[0], ns)

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
        """``fit(X)`` and return ``labels_``.

        Parameters
        ----------
        X : (N, D) array-like or tensor
            Training data.
        y : None
            Ignored.
        sample_weight : (N,) array-like or tensor, optional
            As in :meth:`fit`.

        Returns
        -------
        labels : (N,) int64 ndarray or tensor
        """
        return self.fit(X, sample_weight=sample_weight).labels_

    def transform(self, X: Any) -> Any:
        """Euclidean distances to every centre.

        Parameters
        ----------
        X : (N, D) array-like or tensor
            New data.

        Returns
        -------
        distances : (N, K) ndarray or tensor
            The type of ``X``.
        """
        Xt, c, ns = self._centers_for(X)
        return from_torch(_sq_distances(Xt, c).sqrt_(), ns)

    def fit_transform(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:
        """``fit(X)``, then the distances of ``X`` to the centres.

        Parameters
        ----------
        X : (N, D) array-like or tensor
            Training data.
        y : None
            Ignored.
        sample_weight : (N,) array-like or tensor, optional
            As in :meth:`fit`.

        Returns
        -------
        distances : (N, K) ndarray or tensor
        """
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Minus the (weighted) inertia of ``X`` under the fitted centres.

        Higher is better, as for every scikit-learn score.

        Parameters
        ----------
        X : (N, D) array-like or tensor
            New data.
        y : None
            Ignored.
        sample_weight : (N,) array-like or tensor, optional
            Weights of the rows; ``None``: all ones.

        Returns
        -------
        score : float
        """
        Xt, c, _ = self._centers_for(X)
        sw = _check_sample_weight(sample_weight, Xt)
        return -_inertia(Xt, c, sw, chunk_size(*c.shape, c.device))
