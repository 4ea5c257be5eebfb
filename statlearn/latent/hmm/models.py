"""The hidden Markov models ``CategoricalHMM`` and ``GaussianHMM`` (chapter 2).

hmmlearn's contract on scikit-learn's ``BaseEstimator`` (so ``clone``,
``get_params``/``set_params`` and ``GridSearchCV`` work): ``fit(X, lengths)`` with
sequences concatenated along the first axis, ``score``, ``score_samples``, ``decode``,
``predict``, ``predict_proba``, ``sample``, ``aic``, ``bic`` and
``get_stationary_distribution``. The models compute in torch and answer in the caller's
array type: NumPy in gives NumPy results and NumPy fitted attributes, a tensor gives
tensors on its device.

``fit`` is Baum-Welch (Baum et al., 1970), i.e. EM (Dempster, Laird and Rubin, 1977)
with forward-backward as the E-step, cut into hmmlearn's named steps: ``_init``
(starting parameters), ``_do_estep`` (posteriors, then
``_accumulate_sufficient_statistics``) and ``_do_mstep`` (parameters from the
statistics). The E-step computes what :func:`statlearn.latent.hmm.inference.posteriors`
computes, through the faster paths of ``statlearn.latent.hmm._fast``; decoding calls
the Viterbi core of :mod:`statlearn.latent.hmm.inference`.

Differences from hmmlearn that remain on purpose:

* ``decode(algorithm="map")`` returns ``sum_t log max_k gamma_t(k)``, a
  log-probability; hmmlearn returns ``sum_t max_k gamma_t(k)``, a sum of
  probabilities.
* Initialisation: a uniform start distribution and near-uniform transition rows
  (hmmlearn draws Dirichlet rows); ``GaussianHMM`` means by statlearn's k-means on at
  most 10,000 samples. So a seed gives other starting values than in hmmlearn.
* ``fit`` stops before the M-step of the iteration that converged, so the fitted
  parameters are those whose log-likelihood ``history_["log_likelihood"][-1]`` records
  (hmmlearn runs one more M-step), and ``monitor_.converged`` is False when ``n_iter``
  ran out (hmmlearn's is True); a ``ConvergenceWarning`` says so, as in scikit-learn
  (hmmlearn logs nothing).
* ``fit`` warns only when it overwrites a parameter set by hand, not one left by an
  earlier fit.
* ``GaussianHMM`` supports ``covariance_type`` "diag" and "full" (not "spherical",
  "tied").
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from torch import Tensor

from statlearn._arrays import Namespace, from_torch, to_torch
from statlearn._checks import (
    all_finite,
    as_float,
    as_generator,
    as_tensor,
    check_choice,
    check_int,
    check_positive,
)
from statlearn.latent._em import (
    EMProgress,
    check_dtype,
    check_optional_device,
    em_history,
)
from statlearn._threads import limit_threads
from statlearn.latent.hmm._fast import (
    is_long,
    model_log_likelihood,
    model_posteriors,
    paired_emissions,
    posteriors_paired,
)
from statlearn.latent.hmm.inference import Posteriors, choose_method, viterbi_path
from statlearn.latent.kmeans import lloyd

__all__ = ["CategoricalHMM", "GaussianHMM", "ConvergenceMonitor"]

# GaussianHMM initialises its means by k-means on at most this many samples.
_KMEANS_MAX_SAMPLES = 10_000

# Below this many entries per time step (N sequences x K states), the E-step's kernels
# are too small to share between threads: fit and scoring run on one thread.
_ONE_THREAD_BELOW = 2**16


def _threads_for(lengths: Any, K: int) -> Any:
    """One thread for the many small sequential kernels of a batch's recursions.

    Decided from ``lengths`` alone (one sequence when None), so that the conversion
    and checks of the data run on the same threads: a second thread woken for them
    costs more than it saves at these sizes.
    """
    try:
        n_seq = 1 if lengths is None else len(lengths)
    except TypeError:  # not a sequence: _layout says what is wrong with it
        n_seq = 1
    return limit_threads(1 if n_seq * K < _ONE_THREAD_BELOW else 2**30)


def _diag_weights(mu: Tensor, c: Tensor) -> Tensor:
    """(K, 2D + 1) weights with ``log N(x | mu_k, diag(c_k)) = w_k . (x^2, x, 1)``.

    The three parts: ``-1 / (2 c_k)``, ``mu_k / c_k`` and
    ``-(D log 2 pi + log|C_k| + mu_k' C_k^-1 mu_k) / 2``.
    """
    D = mu.shape[1]
    prec = 1.0 / c
    const = -0.5 * (
        D * math.log(2 * math.pi) + torch.log(c).sum(1) + (mu * mu * prec).sum(1)
    )
    return torch.cat([-0.5 * prec, mu * prec, const[:, None]], dim=1)


# The parameters during a fit: (startprob, transmat, emission parameters), tensors.
_Params = tuple[Tensor, Tensor, tuple[Tensor, ...]]


# --------------------------------------------------------------------------------------
# Concatenated sequences <-> a padded batch
# --------------------------------------------------------------------------------------


class _Layout(NamedTuple):
    """How concatenated samples (M, ...) map to a padded (N, T, ...) batch."""

    # (M,) sequence index and time index of each sample; None when ``unpadded`` (a
    # reshape maps samples to the batch then, and these would cost two passes)
    seq: Tensor | None
    pos: Tensor | None
    mask: Tensor  # (N, T) bool
    lengths: Tensor  # (N,) int64
    starts: Tensor  # (N,) index of each sequence's first sample
    unpadded: bool  # all sequences have the same length: (M, ...) is (N, T, ...)
    # arrays derived from X once per call and reused by every E-step of a fit
    cache: dict[str, Any]


def _layout(lengths: Any, n_samples: int, device: torch.device) -> _Layout:
    if lengths is None:
        L = torch.tensor([n_samples], dtype=torch.long)
    else:
        arr = (
            lengths.detach().cpu().numpy()
            if isinstance(lengths, Tensor)
            else np.asarray(lengths)
        )
        if arr.ndim == 0:
            arr = arr.reshape(1)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(
                "lengths must be a 1-D sequence of positive ints; got shape "
                f"{arr.shape}"
            )
        if not np.issubdtype(arr.dtype, np.integer):
            if (
                np.issubdtype(arr.dtype, np.floating)
                and np.all(np.isfinite(arr))
                and np.all(arr == np.round(arr))
            ):
                arr = arr.astype(np.int64)
            else:
                raise ValueError(f"lengths must hold integers; got dtype {arr.dtype}")
        if (arr < 1).any():
            raise ValueError(
                f"lengths must be positive; got a minimum of {int(arr.min())}"
            )
        if int(arr.sum()) != n_samples:
            raise ValueError(
                f"lengths must sum to len(X) = {n_samples}; they sum to "
                f"{int(arr.sum())}"
            )
        L = torch.as_tensor(arr.astype(np.int64))
    N, T = L.numel(), int(L.max())
    unpadded = int(L.min()) == T
    L = L.to(device)
    starts = torch.cumsum(L, 0) - L
    seq = pos = None
    if not unpadded:
        seq = torch.repeat_interleave(torch.arange(N, device=device), L)
        pos = torch.arange(n_samples, device=device) - starts[seq]
    mask = torch.arange(T, device=device) < L[:, None]
    return _Layout(seq, pos, mask, L, starts, unpadded, {})


def _pad(x: Tensor, lay: _Layout, fill: float = 0.0) -> Tensor:
    """(M, ...) concatenated samples as an (N, T, ...) batch padded with ``fill``."""
    N, T = lay.mask.shape
    if lay.unpadded:
        return x.reshape((N, T) + tuple(x.shape[1:]))
    out = torch.full((N, T) + tuple(x.shape[1:]), fill, dtype=x.dtype, device=x.device)
    out[lay.seq, lay.pos] = x
    return out


def _unpad(x: Tensor, lay: _Layout) -> Tensor:
    """An (N, T, ...) batch back to the (M, ...) concatenated samples (X's order)."""
    if lay.unpadded:
        return x.reshape((-1,) + tuple(x.shape[2:]))
    return x[lay.seq, lay.pos]


# Attribute that holds each parameter letter's value (GaussianHMM keeps covars_ in
# _covars_, the shape it was given; the covars_ property returns full matrices, as
# hmmlearn's does).
_ATTRS = {
    "s": "startprob_",
    "t": "transmat_",
    "e": "emissionprob_",
    "m": "means_",
    "c": "_covars_",
}


def _is_float32(value: Any) -> bool:
    """Whether a parameter value is held in single precision (tensor or NumPy array)."""
    return getattr(value, "dtype", None) in (torch.float32, np.float32)


def _normalised_rows(counts: Tensor, old: Tensor) -> Tensor:
    """``counts`` with each row divided by its sum; a row without counts keeps
    ``old``."""
    rows = counts.sum(-1, keepdim=True)
    keep = rows <= 0
    return torch.where(
        keep, old, counts / torch.where(keep, torch.ones_like(rows), rows)
    )


class ConvergenceMonitor:
    """Record of one Baum-Welch run, ``monitor_`` (hmmlearn's ``ConvergenceMonitor``).

    Parameters
    ----------
    tol : float
        The convergence threshold on the gain in log-likelihood per iteration, finite
        (negative: never converged).
    n_iter : int
        The maximum number of iterations, >= 1.
    verbose : bool
        Whether each iteration's log-likelihood is printed.

    Attributes
    ----------
    history : list of float
        Total log-likelihood at each iteration, computed in the E-step before the
        M-step.
    iter : int
        Number of iterations performed.
    converged : bool
        Whether the gain of the last iteration fell below ``tol``. Unlike hmmlearn's
        monitor, reaching ``n_iter`` does not count as converged.
    """

    def __init__(self, tol: float, n_iter: int, verbose: bool) -> None:
        self.tol = as_float(tol, "tol")
        self.n_iter = check_int(n_iter, "n_iter", minimum=1)
        self.verbose = verbose
        self.history: list[float] = []
        self.iter = 0
        self.converged = False
        self._progress = EMProgress(verbose)

    def __repr__(self) -> str:
        return (
            f"ConvergenceMonitor(tol={self.tol!r}, n_iter={self.n_iter!r}, "
            f"iter={self.iter!r}, "
            f"converged={self.converged!r}, history=[{len(self.history)} values])"
        )

    def report(self, log_prob: float) -> bool:
        """Record one iteration's log-likelihood.

        Parameters
        ----------
        log_prob : float
            Total log-likelihood of the data under the current parameters.

        Returns
        -------
        bool
            Whether EM has converged (the gain over the previous iteration is below
            ``tol``).
        """
        delta = log_prob - self.history[-1] if self.history else math.nan
        self.converged = bool(self.history) and delta < self.tol
        self.history.append(log_prob)
        self.iter += 1
        self._progress.iteration(self.iter, log_prob, delta)
        if self.converged or self.iter >= self.n_iter:
            self._progress.end(self.converged, self.iter, log_prob)
        return self.converged


class _BaseHMM(BaseEstimator):
    """Shared machinery: validation, Baum-Welch, scoring, decoding and sampling.

    Subclasses name their emission attributes in ``_emission_attrs`` and implement
    ``_prepare_X``, ``_set_n_features``, ``_fit_dtype``, ``_init_emissions``,
    ``_check_emissions`` (validated emission parameters as a tuple of tensors, in the
    order of ``_emission_attrs``), ``_check_data``, ``_log_emission``,
    ``_sample_emissions`` and ``_n_fit_scalars_per_param``, and extend
    ``_accumulate_sufficient_statistics`` and ``_do_mstep`` with their emissions.
    """

    _param_letters = "st"
    _emission_attrs: tuple[str, ...] = ()

    def __init__(
        self,
        n_components: int = 1,
        *,
        n_iter: int = 10,
        tol: float = 1e-2,
        params: str | None = None,
        init_params: str | None = None,
        random_state: Any = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        verbose: bool = False,
    ) -> None:
        self.n_components = n_components
        self.dtype = dtype
        self.n_iter = n_iter
        self.tol = tol
        self.params = params
        self.init_params = init_params
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    # --- subclass hooks ---------------------------------------------------------------
    def _prepare_X(
        self, X: Any
    ) -> tuple[Tensor, Namespace]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _set_n_features(
        self, X: Tensor, todo: str
    ) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _fit_dtype(
        self, X: Tensor, ns: Namespace, todo: str
    ) -> torch.dtype:  # pragma: no cover - abstract
        raise NotImplementedError

    def _init_emissions(
        self, X: Tensor, g: torch.Generator, letters: str, dtype: torch.dtype
    ) -> None:  # pragma: no cover
        raise NotImplementedError

    def _check_emissions(
        self, dtype: torch.dtype, device: torch.device
    ) -> tuple[Tensor, ...]:  # pragma: no cover
        raise NotImplementedError

    def _check_data(
        self, X: Tensor, em: tuple[Tensor, ...]
    ) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _log_emission(
        self, X: Tensor, em: tuple[Tensor, ...]
    ) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _sample_emissions(
        self, states: Tensor, g: torch.Generator, em: tuple[Tensor, ...]
    ) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    def _n_fit_scalars_per_param(self) -> dict[str, int]:  # pragma: no cover - abstract
        raise NotImplementedError

    # --- helpers ----------------------------------------------------------------------
    def _letters(self, value: str | None) -> str:
        letters = self._param_letters if value is None else value
        if not isinstance(letters, str) or any(
            ch not in self._param_letters for ch in letters
        ):
            raise ValueError(
                "params and init_params must be strings of letters from "
                f"{self._param_letters!r}; got {letters!r}"
            )
        return letters

    def _params_dtype(self, letters: str | None = None) -> torch.dtype | None:
        """float32 when every parameter set (of ``letters``) is float32, float64 if one
        is not (NumPy float64, lists of Python floats), None when none is set."""
        values = [
            getattr(self, _ATTRS[ch], None)
            for ch in (self._param_letters if letters is None else letters)
        ]
        values = [v for v in values if v is not None]
        if not values:
            return None
        return torch.float32 if all(_is_float32(v) for v in values) else torch.float64

    def _params_namespace(self) -> Namespace:
        """Tensors (on the parameters' device) if one is a tensor, else NumPy."""
        values = [getattr(self, _ATTRS[ch], None) for ch in self._param_letters]
        dev = next((v.device for v in values if isinstance(v, Tensor)), None)
        dtype = check_dtype(self.dtype) or self._params_dtype() or torch.float32
        if dev is None:
            return Namespace("numpy", torch.device("cpu"), dtype)
        return Namespace("torch", dev, dtype)

    def _score_dtype(self, X: Tensor) -> torch.dtype:
        """float64 if asked for, or if the parameters or a float input are float64."""
        dtype = check_dtype(self.dtype)
        if dtype is not None:
            return dtype
        if X.dtype == torch.float64 or self._params_dtype() == torch.float64:
            return torch.float64
        return torch.float32

    def _prob_param(
        self,
        name: str,
        shape: tuple[int, ...],
        dtype: torch.dtype,
        device: torch.device,
        *,
        rows: bool,
    ) -> Tensor:
        v = getattr(self, name, None)
        if v is None:
            raise NotFittedError(
                f"{type(self).__name__} has no {name}: call fit first or set it"
            )
        t = as_tensor(v, name=name, dtype=dtype, device=device).detach()
        if tuple(t.shape) != shape:
            raise ValueError(f"{name} must have shape {shape}; got {tuple(t.shape)}")
        if bool((t < 0).any()):
            raise ValueError(f"{name} must be non-negative")
        sums = t.sum(-1)
        # the tolerance follows the precision the parameter was stored in (float32
        # parameters fitted by Baum-Welch sum to 1 only up to float32 rounding) and the
        # one it is computed in
        single = _is_float32(v) or dtype == torch.float32
        tol = 1e-4 if single else 1e-8
        ok = (sums - 1).abs() <= tol * max(1, shape[-1])
        if rows:
            # an all-zero row: a state that is never left (or never entered)
            ok = ok | (sums == 0)
        if not bool(ok.all()):
            what = "each row of " + name if rows else name
            raise ValueError(f"{what} must sum to 1; got sums {sums.tolist()}")
        return t

    def _check_params(self, dtype: torch.dtype, device: torch.device) -> _Params:
        """The parameters set on the model, validated, as tensors (dtype, device)."""
        K = check_int(self.n_components, "n_components", minimum=1)
        pi = self._prob_param("startprob_", (K,), dtype, device, rows=False)
        A = self._prob_param("transmat_", (K, K), dtype, device, rows=True)
        return pi, A, self._check_emissions(dtype, device)

    def _prepare(self, X: Any, lengths: Any) -> tuple[Tensor, Namespace, _Layout]:
        Xt, ns = self._prepare_X(X)
        return Xt, ns, _layout(lengths, Xt.shape[0], Xt.device)

    def _to_initialise(self, init_params: str) -> str:
        """hmmlearn's rule: initialise those in ``init_params`` and any that is missing.

        Warns when a parameter set by hand (not by an earlier ``fit``) is about to be
        overwritten.
        """
        fitted = self.__dict__.get("_fitted_values", {})
        todo = ""
        for ch in self._param_letters:
            attr = _ATTRS[ch]
            value = getattr(self, attr, None)
            if ch in init_params:
                if value is not None and value is not fitted.get(attr):
                    warnings.warn(
                        f"{attr.strip('_')}_ was set, but fit overwrites it because "
                        f"init_params contains {ch!r}; leave {ch!r} out of init_params "
                        "to start from the value set",
                        UserWarning,
                        stacklevel=4,
                    )
                todo += ch
            elif value is None:
                todo += ch
        return todo

    def _check_fitted(self) -> None:
        """NotFittedError naming the first parameter neither fitted nor set by hand."""
        for ch in self._param_letters:
            if getattr(self, _ATTRS[ch], None) is None:
                name = _ATTRS[ch].strip("_") + "_"
                raise NotFittedError(
                    f"{type(self).__name__} has no {name}: call fit first or set it"
                )

    @contextlib.contextmanager
    def _scoring(
        self, X: Any, lengths: Any
    ) -> Iterator[tuple[Namespace, _Layout, Tensor, Tensor, Tensor]]:
        """New data, validated once: its record, layout, log pi (N, K), log A, E; the
        block runs on the threads its recursions want (the emissions too: a second
        thread woken for them costs more than it saves at this size)."""
        self._check_fitted()
        K = check_int(self.n_components, "n_components", minimum=1)
        with _threads_for(lengths, K):
            X, ns, lay = self._prepare(X, lengths)
            pi, A, em = self._check_params(self._score_dtype(X), X.device)
            self._check_data(X, em)
            E = _pad(self._log_emission(X, em), lay, 0.0)
            N = lay.mask.shape[0]
            yield ns, lay, torch.log(pi).expand(N, -1), torch.log(A), E

    # --- Baum-Welch, in named steps ---------------------------------------------------
    def _check_fit_hyperparameters(self) -> tuple[int, float, str, str]:
        """``n_iter``, ``tol``, ``params`` and ``init_params``, validated."""
        check_int(self.n_components, "n_components", minimum=1)
        n_iter = check_int(self.n_iter, "n_iter", minimum=1)
        if (
            isinstance(self.tol, bool)
            or not isinstance(self.tol, (int, float))
            or not math.isfinite(self.tol)
        ):
            raise ValueError(
                "tol must be a finite number (negative: always run n_iter "
                f"iterations); got {self.tol!r}"
            )
        check_dtype(self.dtype)
        return (
            n_iter,
            float(self.tol),
            self._letters(self.params),
            (self._letters(self.init_params)),
        )

    def _init(self, X: Tensor, ns: Namespace, init_params: str) -> torch.dtype:
        """Initialise the parameters in ``init_params`` and any that is not set.

        Returns the dtype the fit computes in.
        """
        K = self.n_components
        g = as_generator(self.random_state)
        todo = self._to_initialise(init_params)
        self._set_n_features(X, todo)
        dtype, dev = self._fit_dtype(X, ns, todo), X.device
        if "s" in todo:
            self.startprob_ = torch.full((K,), 1.0 / K, dtype=dtype, device=dev)
        if "t" in todo:
            # near-uniform rows: a random start far from uniform (hmmlearn draws
            # Dirichlet rows) often lands Baum-Welch in a "switching" local optimum; the
            # emissions break the symmetry
            e = 1.0 + 0.1 * torch.rand(K, K, generator=g, dtype=torch.float64)
            A = e / e.sum(1, keepdim=True)
            self.transmat_ = A.to(dtype=dtype, device=dev)
        self._init_emissions(X, g, todo, dtype)
        return dtype

    def _do_estep(
        self, X: Tensor, lay: _Layout, current: _Params, params: str
    ) -> tuple[dict[str, Any], float]:
        """Forward-backward on every sequence; the statistics the M-step needs.

        Returns the sufficient statistics and the total log-likelihood. The statistics
        also hold the posteriors themselves (``"posteriors"``), so a fit's loop frees
        one E-step's (N, T, K) buffers only once the next E-step has allocated its
        own: freed first, they would leave the top of the heap free, glibc would
        return it to the system, and every E-step would fault its memory back in
        (several times the page faults; about a tenth of a fit's time).
        """
        pi, A, em = current
        E = _pad(self._log_emission(X, em), lay, 0.0)
        post = model_posteriors(
            torch.log(pi).expand(lay.mask.shape[0], -1),
            torch.log(A),
            E,
            lay.mask,
            per_sequence=False,
        )
        stats: dict[str, Any] = {"posteriors": post}
        self._accumulate_sufficient_statistics(stats, X, lay, post, em, params)
        return stats, float(post.log_likelihood.sum())

    def _accumulate_sufficient_statistics(
        self,
        stats: dict[str, Any],
        X: Tensor,
        lay: _Layout,
        post: Posteriors,
        em: tuple[Tensor, ...],
        params: str,
    ) -> Tensor:
        """Expected counts of first states (``"start"``) and transitions (``"trans"``).

        Returns the state posteriors ``gamma : (M, K)`` in the order of ``X``, for the
        emission statistics that subclasses add.
        """
        if "s" in params:
            stats["start"] = post.gamma[:, 0].sum(0)
        if "t" in params:
            stats["trans"] = post.xi[0]
        return _unpad(post.gamma, lay)

    def _do_mstep(
        self, stats: dict[str, Any], params: str, current: _Params
    ) -> _Params:
        """New start and transition probabilities: the expected counts normalised."""
        pi, A, em = current
        if "s" in params:
            pi = stats["start"] / stats["start"].sum()
        if "t" in params:
            A = _normalised_rows(stats["trans"], A)
        return pi, A, em

    def _store_fitted(
        self, current: _Params, ns: Namespace, dtype: torch.dtype
    ) -> None:
        """Fitted attributes in the caller's array type; remembered, to tell them from
        values set by hand."""
        out = Namespace(ns.kind, ns.device, dtype)
        pi, A, em = current
        attrs = ("startprob_", "transmat_") + self._emission_attrs
        fitted = {}
        for attr, value in zip(attrs, (pi, A) + tuple(em)):
            fitted[attr] = from_torch(value.to(dtype), out)
            setattr(self, attr, fitted[attr])
        self._fitted_values = fitted

    def _store_run(self, monitor: ConvergenceMonitor) -> None:
        """``monitor_``, ``history_``, ``converged_``, ``n_iter_``; warn if not
        converged."""
        self.monitor_ = monitor
        self.history_ = em_history(monitor.history)
        self.converged_ = monitor.converged
        self.n_iter_ = monitor.iter
        if monitor.tol >= 0 and not monitor.converged:
            h = monitor.history
            gain = (
                f"the last gain in log-likelihood was {h[-1] - h[-2]:.3g}"
                if len(h) > 1
                else "one iteration measures no gain"
            )
            warnings.warn(
                f"{type(self).__name__} did not converge in n_iter={monitor.n_iter} "
                f"iterations ({gain}, tol={monitor.tol}); "
                "raise n_iter, or pass a negative tol to run exactly n_iter iterations",
                ConvergenceWarning,
                stacklevel=3,
            )

    # --- public API -------------------------------------------------------------------
    def fit(self, X: Any, lengths: Any = None) -> "_BaseHMM":
        """Estimate the parameters by Baum-Welch (EM, forward-backward as the E-step).

        Parameters named in ``init_params``, and any parameter not set, are initialised
        first; the others start from their current values. A parameter set by hand that
        ``init_params`` would overwrite triggers a ``UserWarning``, as in hmmlearn.

        Parameters
        ----------
        X : (M, D) array-like or tensor
            Sequences concatenated along the first axis (``CategoricalHMM``: (M, 1) or
            (M,) integer symbols). NumPy input gives NumPy fitted attributes; a tensor
            gives tensors on its device.
        lengths : (N,) int array-like, optional
            Length of each sequence; must sum to ``M`` (default: one sequence).

        Returns
        -------
        self
            The fitted model.

        Warns
        -----
        sklearn.exceptions.ConvergenceWarning
            When ``tol >= 0`` and the gain in log-likelihood is still above ``tol``
            after ``n_iter`` iterations.
        """
        n_iter, tol, params, init_params = self._check_fit_hyperparameters()
        with _threads_for(lengths, self.n_components):
            X, ns, lay = self._prepare(X, lengths)
            if X.shape[0] < self.n_components:
                raise ValueError(
                    f"n_components must be <= n_samples; got {self.n_components} "
                    f"states for {X.shape[0]} samples"
                )
            dtype = self._init(X, ns, init_params)
            # validated once, before the loop
            current = self._check_params(dtype, X.device)
            self._check_data(X, current[2])
            monitor = ConvergenceMonitor(tol, n_iter, bool(self.verbose))
            for _ in range(n_iter):
                stats, log_prob = self._do_estep(X, lay, current, params)
                if monitor.report(log_prob):
                    # the parameters stay those whose log-likelihood was recorded last
                    break
                current = self._do_mstep(stats, params, current)
        self._store_fitted(current, ns, dtype)
        self._store_run(monitor)
        return self

    def score(self, X: Any, lengths: Any = None) -> float:
        """Total log-likelihood ``sum_n log p(x^{(n)})`` of the sequences.

        Parameters
        ----------
        X : (M, D) array-like or tensor
            Sequences concatenated along the first axis.
        lengths : (N,) int array-like, optional
            Length of each sequence; must sum to ``M`` (default: one sequence).

        Returns
        -------
        float
            The log-likelihood in nats.
        """
        with self._scoring(X, lengths) as (_, lay, log_pi, log_A, E):
            return float(model_log_likelihood(log_pi, log_A, E, lay.mask).sum())

    def aic(self, X: Any, lengths: Any = None) -> float:
        """Akaike's information criterion ``-2 log p(x) + 2 p`` (lower is better).

        ``p`` counts the free parameters as hmmlearn does: ``K - 1`` start
        probabilities, ``K (K - 1)`` transition probabilities and the emission
        parameters, whatever ``params`` says.

        Parameters
        ----------
        X : (M, D) array-like or tensor
            Sequences concatenated along the first axis.
        lengths : (N,) int array-like, optional
            Length of each sequence; must sum to ``M``.

        Returns
        -------
        float
        """
        return -2.0 * self.score(X, lengths) + 2.0 * self._n_free_parameters()

    def bic(self, X: Any, lengths: Any = None) -> float:
        """Bayesian information criterion (lower is better).

        ``BIC = -2 log p(x) + p log M``.

        ``p`` is counted as in :meth:`aic`; ``M`` is the number of samples (time steps),
        as hmmlearn.

        Parameters
        ----------
        X : (M, D) array-like or tensor
            Sequences concatenated along the first axis.
        lengths : (N,) int array-like, optional
            Length of each sequence; must sum to ``M``.

        Returns
        -------
        float
        """
        return -2.0 * self.score(X, lengths) + self._n_free_parameters() * math.log(
            len(X)
        )

    def _n_free_parameters(self) -> int:
        self._check_fitted()
        return int(sum(self._n_fit_scalars_per_param().values()))

    def score_samples(self, X: Any, lengths: Any = None) -> tuple[float, Any]:
        """Log-likelihood and state posteriors.

        Parameters
        ----------
        X : (M, D) array-like or tensor
            Sequences concatenated along the first axis.
        lengths : (N,) int array-like, optional
            Length of each sequence; must sum to ``M``.

        Returns
        -------
        log_prob : float
            Total log-likelihood.
        posteriors : (M, K) array or tensor
            ``gamma_t(k) = p(z_t = k | x)`` for every sample, in the order of
            ``X`` and in its array type.
        """
        with self._scoring(X, lengths) as (ns, lay, log_pi, log_A, E):
            post = model_posteriors(log_pi, log_A, E, lay.mask, per_sequence=False)
        return float(post.log_likelihood.sum()), from_torch(_unpad(post.gamma, lay), ns)

    def predict_proba(self, X: Any, lengths: Any = None) -> Any:
        """State posteriors ``gamma_t(k)``.

        Parameters
        ----------
        X : (M, D) array-like or tensor
            Sequences concatenated along the first axis.
        lengths : (N,) int array-like, optional
            Length of each sequence; must sum to ``M``.

        Returns
        -------
        (M, K) array or tensor
            In the order and array type of ``X``.
        """
        return self.score_samples(X, lengths)[1]

    def decode(
        self, X: Any, lengths: Any = None, algorithm: str = "viterbi"
    ) -> tuple[float, Any]:
        """Most probable state sequence.

        Parameters
        ----------
        X : (M, D) array-like or tensor
            Sequences concatenated along the first axis.
        lengths : (N,) int array-like, optional
            Length of each sequence; must sum to ``M``.
        algorithm : {"viterbi", "map"}
            ``"viterbi"``: the jointly most probable path and its log-probability
            ``log p(x, z^*)``; ``"map"``: the most probable state at each step
            (posterior decoding) and ``sum_t log max_k gamma_t(k)``, the
            log-probability that every step's state is right under the posterior
            marginals. hmmlearn returns the sum of the probabilities
            ``sum_t max_k gamma_t(k)`` instead, which is not a log-probability.

        Returns
        -------
        log_prob : float
        states : (M,) int64 array or tensor
            In the array type of ``X``.
        """
        check_choice(algorithm, "algorithm", ("viterbi", "map"))
        with self._scoring(X, lengths) as (ns, lay, log_pi, log_A, E):
            if algorithm == "map":
                post = model_posteriors(log_pi, log_A, E, lay.mask, per_sequence=False)
                best, states = _unpad(post.gamma, lay).max(-1)
                return float(torch.log(best).sum()), from_torch(states, ns)
            method = choose_method("auto", *E.shape)
            res = viterbi_path(log_pi, log_A, E, lay.mask, method)
        return float(res.log_prob.sum()), from_torch(_unpad(res.states, lay), ns)

    def predict(self, X: Any, lengths: Any = None) -> Any:
        """Viterbi state sequence (as hmmlearn's ``predict``).

        Parameters
        ----------
        X : (M, D) array-like or tensor
            Sequences concatenated along the first axis.
        lengths : (N,) int array-like, optional
            Length of each sequence; must sum to ``M``.

        Returns
        -------
        (M,) int64 array or tensor
            In the array type of ``X``.
        """
        return self.decode(X, lengths)[1]

    def get_stationary_distribution(self) -> Any:
        """Stationary distribution of the hidden chain.

        ``pi_inf`` with ``pi_inf A = pi_inf``: the left eigenvector of ``transmat_``
        for its largest eigenvalue (1), normalised to sum to one, as hmmlearn computes
        it. A chain with several closed classes has
        several stationary distributions; this returns the one of the first such
        eigenvector.

        Returns
        -------
        (K,) array or tensor
            In the array type and dtype of the parameters.
        """
        K = check_int(self.n_components, "n_components", minimum=1)
        ns = self._params_namespace()
        A = self._prob_param(
            "transmat_", (K, K), torch.float64, torch.device("cpu"), rows=True
        )
        vals, vecs = torch.linalg.eig(A.t())
        v = vecs[:, int(torch.argmax(vals.real))].real
        return from_torch((v / v.sum()).to(ns.dtype), ns)

    def sample(
        self,
        n_samples: int = 1,
        *,
        random_state: Any = None,
        currstate: int | None = None,
    ) -> tuple[Any, Any]:
        """Draw one sequence from the model.

        Parameters
        ----------
        n_samples : int
            Its length T.
        random_state : None, int, NumPy RandomState/Generator or torch.Generator
            See statlearn's randomness rule (CONTRIBUTING.md); None falls back to the
            model's ``random_state``, as in hmmlearn. Draws on the CPU, then moves the
            draws to the parameters' device, so a seed gives the same sequence on every
            device.
        currstate : int, optional
            The state of the first sample (default: drawn from ``startprob_``); pass the
            last state of a previous sample to continue it, as in hmmlearn.

        Returns
        -------
        X : (T, D) array or tensor
            The emissions (int64 (T, 1) symbols for ``CategoricalHMM``).
        states : (T,) int64 array or tensor
            The hidden states. Both come back as NumPy arrays when the parameters are
            NumPy arrays (or lists), and as tensors on the parameters' device when they
            are tensors.
        """
        n = check_int(n_samples, "n_samples", minimum=1)
        self._check_fitted()
        g = as_generator(self.random_state if random_state is None else random_state)
        ns = self._params_namespace()
        # validated in the precision they are held in, then drawn from in float64 on the
        # CPU
        pi, A, em = self._check_params(ns.dtype, torch.device("cpu"))
        K = pi.shape[0]
        if currstate is not None:
            currstate = check_int(currstate, "currstate", minimum=0)
            if currstate >= K:
                raise ValueError(
                    f"currstate must be a state in [0, {K}); got {currstate}"
                )
        # state path: inverse-CDF sampling with one uniform per step (the loop is over
        # time only)
        u = torch.rand(n, generator=g, dtype=torch.float64).numpy()
        cum_pi = np.cumsum(pi.double().numpy())
        cum_A = np.cumsum(A.double().numpy(), axis=1)
        z = np.empty(n, dtype=np.int64)
        if currstate is None:
            z[0] = min(
                int(np.searchsorted(cum_pi, u[0] * cum_pi[-1], side="right")), K - 1
            )
        else:
            z[0] = currstate
        for t in range(1, n):
            row = cum_A[z[t - 1]]
            z[t] = min(int(np.searchsorted(row, u[t] * row[-1], side="right")), K - 1)
        states = torch.from_numpy(z)
        X = self._sample_emissions(states, g, em)
        return from_torch((X, states), ns)


class CategoricalHMM(_BaseHMM):
    """Hidden Markov model with categorical emissions (hmmlearn's ``CategoricalHMM``).

    Parameters
    ----------
    n_components : int
        Number of hidden states K, >= 1.
    n_features : int, optional
        Number of symbols F, >= 1. When None, ``fit`` sets it (to the number of
        columns of an ``emissionprob_`` it keeps, else to ``max(X) + 1``), as hmmlearn
        does.
    n_iter : int
        Maximum number of Baum-Welch iterations, >= 1.
    tol : float
        Stop when the log-likelihood gains less than ``tol`` in one iteration (a
        negative ``tol`` runs all ``n_iter`` iterations).
    params : str, optional
        Letters of the parameters that Baum-Welch updates: ``s`` start, ``t``
        transitions, ``e`` emissions (default: all, ``"ste"``).
    init_params : str, optional
        Letters of the parameters that ``fit`` initialises (default: all). A parameter
        left out keeps the value set on the model; one that is not set is initialised
        anyway, as hmmlearn does.
    random_state : None, int, NumPy RandomState/Generator or torch.Generator, optional
        See statlearn's randomness rule (CONTRIBUTING.md): seeds the initialisation and
        ``sample``; None follows ``statlearn.seed_everything``. Draws on the CPU.
    device : torch.device or str, optional
        Where to compute (default: the input's device; the CPU for NumPy input).
    dtype : torch.dtype, optional
        ``torch.float32`` or ``torch.float64``. By default parameters set by hand decide
        (float64 unless all are float32), else the input: float64 for NumPy input and
        float32 for integer tensors, following ``statlearn._arrays.to_torch``.
    verbose : bool
        Print the log-likelihood of each iteration.

    Attributes
    ----------
    startprob_ : (K,) array or tensor
        Start distribution ``pi``.
    transmat_ : (K, K) array or tensor
        Transition matrix ``A``, rows indexed by the previous state.
    emissionprob_ : (K, F) array or tensor
        Emission matrix ``B_{ik} = p(x_t = k | z_t = i)``.
    monitor_ : ConvergenceMonitor
        ``history``, ``iter`` and ``converged`` of the last fit.
    history_ : dict
        ``{"log_likelihood": [...]}``: the total log-likelihood of the training data at
        each iteration, in nats (computed in the E-step, before the M-step), under the
        key the mixtures of chapter 1 use too.
    converged_ : bool
        Whether the last fit stopped because the gain fell below ``tol``.
    n_iter_ : int
        Number of iterations of the last fit.
    n_features_in_ : int
        Columns of ``X`` (1).

    Notes
    -----
    Fitted attributes are NumPy arrays when ``fit`` got NumPy input and tensors
    when it got a tensor; results of ``predict``, ``predict_proba``, ``score_samples``
    and ``decode`` follow their own input, and ``sample`` follows the parameters.
    """

    _param_letters = "ste"
    _emission_attrs = ("emissionprob_",)

    def __init__(
        self,
        n_components: int = 1,
        *,
        n_features: int | None = None,
        n_iter: int = 10,
        tol: float = 1e-2,
        params: str | None = None,
        init_params: str | None = None,
        random_state: Any = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        verbose: bool = False,
    ) -> None:
        super().__init__(
            n_components,
            n_iter=n_iter,
            tol=tol,
            params=params,
            init_params=init_params,
            random_state=random_state,
            device=device,
            dtype=dtype,
            verbose=verbose,
        )
        self.n_features = n_features

    def _prepare_X(self, X: Any) -> tuple[Tensor, Namespace]:
        if isinstance(X, Tensor):
            dtype, is_complex, is_bool = X.dtype, X.is_complex(), X.dtype == torch.bool
        else:
            dtype = np.asarray(X).dtype
            is_complex, is_bool = (
                np.issubdtype(dtype, np.complexfloating),
                dtype == np.bool_,
            )
        if is_complex:
            raise ValueError(
                "Complex data not supported: X must hold integer symbols; got dtype "
                f"{dtype}"
            )
        if is_bool:
            raise ValueError(f"X must hold integer symbols; got dtype {dtype}")
        device = check_optional_device(self.device)
        t, ns = to_torch(X, dtype=torch.float64, device=device)
        if not all_finite(t):
            raise ValueError("X must not contain NaN or infinite values")
        if not bool((t == t.round()).all()):
            raise ValueError("X must hold integer symbols; got non-integer values")
        if t.ndim == 2 and t.shape[1] == 1:
            t = t[:, 0]
        if t.ndim == 2 and t.shape[1] == 0:
            raise ValueError(
                f"0 feature(s) (shape={tuple(t.shape)}) while a minimum of 1 is "
                "required: X must be (n_samples, 1) integer symbols"
            )
        if t.ndim != 1:
            raise ValueError(
                "X must be 2-D (n_samples, 1) or 1-D of integer symbols; got shape "
                f"{tuple(t.shape)}"
            )
        if t.numel() == 0:
            raise ValueError("X must not be empty")
        t = t.long()
        if int(t.min()) < 0:
            raise ValueError(
                "X must hold symbols in [0, n_features); got a minimum of "
                f"{int(t.min())}"
            )
        F = self._n_symbols()
        if F is not None and int(t.max()) >= F:
            raise ValueError(
                f"X must hold symbols in [0, {F}); got a maximum of {int(t.max())}"
            )
        # the dtype integer symbols suggest: float64 from NumPy, float32 from an integer
        # tensor
        natural = (
            torch.float32
            if isinstance(X, Tensor) and X.dtype != torch.float64
            else torch.float64
        )
        return t, Namespace(ns.kind, ns.device, natural)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True  # symbols are non-negative integers
        return tags

    def _n_symbols(self) -> int | None:
        if self.n_features is not None:
            return check_int(self.n_features, "n_features", minimum=1)
        shape = np.shape(getattr(self, "emissionprob_", None))
        return int(shape[1]) if len(shape) == 2 else None

    def _set_n_features(self, X: Tensor, todo: str) -> None:
        top = int(X.max())
        if self.n_features is None:
            F = self._n_symbols() if "e" not in todo else None
            self.n_features = top + 1 if F is None else F
        F = check_int(self.n_features, "n_features", minimum=1)
        if top >= F:
            raise ValueError(f"X must hold symbols in [0, {F}); got a maximum of {top}")
        self.n_features_in_ = 1

    def _fit_dtype(self, X: Tensor, ns: Namespace, todo: str) -> torch.dtype:
        kept = "".join(ch for ch in self._param_letters if ch not in todo)
        return check_dtype(self.dtype) or self._params_dtype(kept) or ns.dtype

    def _init_emissions(
        self, X: Tensor, g: torch.Generator, letters: str, dtype: torch.dtype
    ) -> None:
        if "e" in letters:
            F = check_int(self.n_features, "n_features", minimum=1)
            e = (
                torch.rand(self.n_components, F, generator=g, dtype=torch.float64)
                + 1e-3
            )
            self.emissionprob_ = (e / e.sum(1, keepdim=True)).to(
                dtype=dtype, device=X.device
            )

    def _check_emissions(
        self, dtype: torch.dtype, device: torch.device
    ) -> tuple[Tensor, ...]:
        K = self.n_components
        if getattr(self, "emissionprob_", None) is None:
            raise NotFittedError(
                "CategoricalHMM has no emissionprob_: call fit first or set it"
            )
        e = as_tensor(self.emissionprob_, name="emissionprob_", ndim=2)
        F = self._n_symbols() if self.n_features is not None else e.shape[1]
        return (self._prob_param("emissionprob_", (K, F), dtype, device, rows=False),)

    def _check_data(self, X: Tensor, em: tuple[Tensor, ...]) -> None:
        F = em[0].shape[1]
        if int(X.max()) >= F:
            raise ValueError(
                f"X must hold symbols in [0, {F}); got a maximum of {int(X.max())}"
            )

    def _log_emission(self, X: Tensor, em: tuple[Tensor, ...]) -> Tensor:
        (B,) = em
        return torch.log(B).t()[X]  # (M, K)

    def _accumulate_sufficient_statistics(
        self,
        stats: dict[str, Any],
        X: Tensor,
        lay: _Layout,
        post: Posteriors,
        em: tuple[Tensor, ...],
        params: str,
    ) -> Tensor:
        """Also the expected count of each symbol in each state (``"obs"``)."""
        gamma = super()._accumulate_sufficient_statistics(
            stats, X, lay, post, em, params
        )
        if "e" in params:
            stats["obs"] = torch.zeros_like(em[0]).index_add_(1, X, gamma.t())
        return gamma

    def _do_mstep(
        self, stats: dict[str, Any], params: str, current: _Params
    ) -> _Params:
        """Also the emission probabilities: the expected symbol counts normalised."""
        pi, A, em = super()._do_mstep(stats, params, current)
        if "e" in params:
            em = (_normalised_rows(stats["obs"], em[0]),)
        return pi, A, em

    def _sample_emissions(
        self, states: Tensor, g: torch.Generator, em: tuple[Tensor, ...]
    ) -> Tensor:
        B = em[0].double().cpu()
        return torch.multinomial(B[states], 1, generator=g).long()  # (T, 1)

    def _n_fit_scalars_per_param(self) -> dict[str, int]:
        K = check_int(self.n_components, "n_components", minimum=1)
        F = self._n_symbols()
        if F is None:
            raise NotFittedError(
                "CategoricalHMM has no emissionprob_: call fit first or set it"
            )
        return {"s": K - 1, "t": K * (K - 1), "e": K * (F - 1)}


class GaussianHMM(_BaseHMM):
    """Hidden Markov model with Gaussian emissions (hmmlearn's ``GaussianHMM``).

    Parameters
    ----------
    n_components : int
        Number of hidden states K, >= 1.
    covariance_type : {"diag", "full"}
        Diagonal or full covariance per state.
    min_covar : float
        Floor on the diagonal of the covariances after each M-step, >= 0 (a full
        covariance whose Cholesky factorisation fails also gets ``min_covar * I``
        added); also added to the data covariance at initialisation, as hmmlearn does.
    covars_prior : float
        hmmlearn's conjugate-prior term added to the numerator of the covariance
        update, >= 0.
    covars_weight : float
        hmmlearn's conjugate-prior weight in the denominator of the covariance update
        (finite).
    n_iter : int
        Maximum number of Baum-Welch iterations, >= 1.
    tol : float
        Stop when the log-likelihood gains less than ``tol`` in one iteration (a
        negative ``tol`` runs all ``n_iter`` iterations).
    params : str, optional
        Letters of the parameters that Baum-Welch updates: ``s`` start, ``t``
        transitions, ``m`` means, ``c`` covariances (default: all, ``"stmc"``).
    init_params : str, optional
        Letters of the parameters that ``fit`` initialises (default: all). A parameter
        left out keeps the value set on the model; one that is not set is initialised
        anyway, as hmmlearn does.
    random_state : None, int, NumPy RandomState/Generator or torch.Generator, optional
        See statlearn's randomness rule (CONTRIBUTING.md): seeds the initialisation and
        ``sample``; None follows ``statlearn.seed_everything``. Draws on the CPU.
    device : torch.device or str, optional
        Where to compute (default: the input's device; the CPU for NumPy input).
    dtype : torch.dtype, optional
        ``torch.float32`` or ``torch.float64``; default: the input's (float32 stays
        float32, float64 and integer NumPy input compute in float64).
    verbose : bool
        Print the log-likelihood of each iteration.

    Attributes
    ----------
    startprob_ : (K,) array or tensor
        Start distribution ``pi``.
    transmat_ : (K, K) array or tensor
        Transition matrix ``A``.
    means_ : (K, D) array or tensor
        State means.
    covars_ : (K, D, D) array or tensor
        Full covariance matrices (as hmmlearn's ``covars_``); assign (K, D) variances
        when ``covariance_type="diag"`` or (K, D, D) matrices when ``"full"``.
    n_features : int
        D, set by ``fit`` (as hmmlearn).
    monitor_, history_, converged_, n_iter_, n_features_in_
        As :class:`CategoricalHMM`.

    Notes
    -----
    Means are initialised by k-means (as :class:`statlearn.latent.KMeans`, two k-means++
    seedings on at most 10,000 randomly chosen samples), covariances by the data
    covariance, the start distribution uniformly and the transition rows near-uniformly
    (uniform plus a 10% random perturbation). Fitted attributes are NumPy arrays when
    ``fit`` got NumPy input and tensors when it got a tensor; inputs that carry
    gradients are detached.
    """

    _param_letters = "stmc"
    _emission_attrs = ("means_", "_covars_")

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "diag",
        min_covar: float = 1e-3,
        covars_prior: float = 1e-2,
        covars_weight: float = 1.0,
        n_iter: int = 10,
        tol: float = 1e-2,
        params: str | None = None,
        init_params: str | None = None,
        random_state: Any = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        verbose: bool = False,
    ) -> None:
        super().__init__(
            n_components,
            n_iter=n_iter,
            tol=tol,
            params=params,
            init_params=init_params,
            random_state=random_state,
            device=device,
            dtype=dtype,
            verbose=verbose,
        )
        self.covariance_type = covariance_type
        self.min_covar = min_covar
        self.covars_prior = covars_prior
        self.covars_weight = covars_weight

    @property
    def covars_(self) -> Any:
        """(K, D, D) covariance matrices, whatever shape was assigned (as hmmlearn's).

        Assign (K, D) variances for ``covariance_type="diag"`` or (K, D, D) matrices for
        ``"full"``; the value comes back as a NumPy array or a tensor, as assigned.
        """
        c = getattr(self, "_covars_", None)
        if c is None:
            raise AttributeError("covars_ is not set: call fit first or assign it")
        if isinstance(c, Tensor):
            return torch.diag_embed(c) if c.ndim == 2 else c
        c = np.asarray(c)
        return c[:, :, None] * np.eye(c.shape[1], dtype=c.dtype) if c.ndim == 2 else c

    @covars_.setter
    def covars_(self, value: Any) -> None:
        self._covars_ = value

    def _prepare_X(self, X: Any) -> tuple[Tensor, Namespace]:
        device = check_optional_device(self.device)
        t, ns = to_torch(X, dtype=check_dtype(self.dtype), device=device)
        if t.ndim == 1:
            raise ValueError(
                f"X must be 2-D (n_samples, n_features); got shape {tuple(t.shape)}. "
                "Reshape your data with "
                "X.reshape(-1, 1) if it has a single feature"
            )
        if t.ndim == 2 and t.shape[1] == 0:
            raise ValueError(
                f"0 feature(s) (shape={tuple(t.shape)}) while a minimum of 1 is "
                "required."
            )
        return as_tensor(t, name="X", ndim=2), ns

    def _set_n_features(self, X: Tensor, todo: str) -> None:
        self.n_features = self.n_features_in_ = int(X.shape[1])

    def _check_fit_hyperparameters(self) -> tuple[int, float, str, str]:
        out = super()._check_fit_hyperparameters()
        check_choice(self.covariance_type, "covariance_type", ("diag", "full"))
        check_positive(self.min_covar, "min_covar", strict=False)
        check_positive(self.covars_prior, "covars_prior", strict=False)
        as_float(self.covars_weight, "covars_weight")
        return out

    def _fit_dtype(self, X: Tensor, ns: Namespace, todo: str) -> torch.dtype:
        return check_dtype(self.dtype) or X.dtype

    def _init_emissions(
        self, X: Tensor, g: torch.Generator, letters: str, dtype: torch.dtype
    ) -> None:
        check_choice(self.covariance_type, "covariance_type", ("diag", "full"))
        min_covar = check_positive(self.min_covar, "min_covar", strict=False)
        K, D = self.n_components, X.shape[1]
        X = X.to(dtype)
        if "m" in letters:
            seed = int(torch.randint(0, 2**31 - 1, (1,), generator=g))
            sub = X
            # k-means on a random subset is plenty for an EM start
            if X.shape[0] > _KMEANS_MAX_SAMPLES:
                idx = torch.randperm(X.shape[0], generator=g)[:_KMEANS_MAX_SAMPLES].to(
                    X.device
                )
                sub = X[idx]
            # two k-means++ seedings of Lloyd's algorithm, as KMeans(K, n_init=2,
            # max_iter=100) does
            centers = lloyd(sub, K, "k-means++", 2, 100, 1e-4, as_generator(seed))[0]
            self.means_ = centers.to(dtype=dtype, device=X.device)
        if "c" in letters:
            Xc = X - X.mean(0)
            cv = Xc.t() @ Xc / max(X.shape[0] - 1, 1) + min_covar * torch.eye(
                D, dtype=X.dtype, device=X.device
            )
            if self.covariance_type == "diag":
                self._covars_ = cv.diagonal().expand(K, D).clone()
            else:
                self._covars_ = cv.expand(K, D, D).clone()

    def _check_emissions(
        self, dtype: torch.dtype, device: torch.device
    ) -> tuple[Tensor, ...]:
        check_choice(self.covariance_type, "covariance_type", ("diag", "full"))
        K = self.n_components
        if getattr(self, "means_", None) is None:
            raise NotFittedError("GaussianHMM has no means_: call fit first or set it")
        mu = as_tensor(
            self.means_, name="means_", ndim=2, dtype=dtype, device=device
        ).detach()
        if mu.shape[0] != K:
            raise ValueError(
                f"means_ must have shape ({K}, n_features); got {tuple(mu.shape)}"
            )
        D = mu.shape[1]
        c = getattr(self, "_covars_", None)
        if c is None:
            raise NotFittedError("GaussianHMM has no covars_: call fit first or set it")
        c = as_tensor(c, name="covars_", dtype=dtype, device=device).detach()
        if self.covariance_type == "diag":
            if tuple(c.shape) == (K, D, D):
                c = c.diagonal(dim1=-2, dim2=-1)
            if tuple(c.shape) != (K, D):
                raise ValueError(
                    f"covars_ must have shape ({K}, {D}) for covariance_type='diag'; "
                    f"got {tuple(c.shape)}"
                )
            if bool((c <= 0).any()):
                raise ValueError("covars_ must be positive for covariance_type='diag'")
        else:
            if tuple(c.shape) != (K, D, D):
                raise ValueError(
                    f"covars_ must have shape ({K}, {D}, {D}) for "
                    f"covariance_type='full'; got {tuple(c.shape)}"
                )
            if not torch.allclose(
                c, c.transpose(-1, -2), atol=1e-6 if dtype == torch.float32 else 1e-10
            ):
                raise ValueError("covars_ must be symmetric")
            _, info = torch.linalg.cholesky_ex(c)
            if bool((info > 0).any()):
                raise ValueError("covars_ must be positive definite")
        return mu, c

    def _check_data(self, X: Tensor, em: tuple[Tensor, ...]) -> None:
        D = em[0].shape[1]
        if X.shape[1] != D:
            raise ValueError(
                f"X has {X.shape[1]} features, but GaussianHMM is expecting {D} "
                "features as input (the columns of means_)"
            )

    def _log_emission(self, X: Tensor, em: tuple[Tensor, ...]) -> Tensor:
        mu, c = em
        D = X.shape[1]
        X = X.to(mu.dtype)
        if self.covariance_type == "diag":
            # linear in the features (x^2, x, 1): one wide (K, 2D + 1) @ (2D + 1, M)
            # product (several times faster than (M, D) @ (D, K) ones), transposed
            W = _diag_weights(mu, c)
            Xt = X.t()
            feats = torch.cat([Xt * Xt, Xt], dim=0)  # (2D, M)
            return torch.addmm(W[:, -1:], W[:, :-1], feats).t()
        L = torch.linalg.cholesky(c)  # (K, D, D)
        diff = X.unsqueeze(0) - mu.unsqueeze(1)  # (K, M, D)
        # (K, D, M)
        sol = torch.linalg.solve_triangular(L, diff.transpose(1, 2), upper=False)
        logdet = 2.0 * torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1)
        return (
            -0.5
            * (D * math.log(2 * math.pi) + logdet[:, None] + (sol * sol).sum(1)).t()
        )

    def _do_estep(
        self, X: Tensor, lay: _Layout, current: _Params, params: str
    ) -> tuple[dict[str, Any], float]:
        """The base class's E-step; for diagonal covariances and sequences of one
        length, the same numbers with fewer passes over the data.

        With the features ``f_t = (x_t^2, x_t, 1)`` of each sample, the log-density
        of state k is linear in them, ``log N(x_t | mu_k, diag(c_k)) = w_k . f_t``,
        and the emission statistics are sums of ``gamma_t(k) f_t``: one batched matrix
        product each way, on time-major (T, 2D + 1, N) features built once per fit.
        """
        N, T = lay.mask.shape
        K = self.n_components
        if self.covariance_type != "diag" or not lay.unpadded or is_long(N, T, K):
            return super()._do_estep(X, lay, current, params)
        pi, A, (mu, c) = current
        feats = lay.cache.get("diag_features")
        if feats is None or feats[0] is not X or feats[1].dtype != mu.dtype:
            Xd = X.to(mu.dtype)
            f = torch.cat([Xd * Xd, Xd, torch.ones_like(Xd[:, :1])], dim=1)
            f = f.reshape(N, T, -1)
            # (T, 2D + 1, N) for the statistics, (2D + 1, T * N) for the emissions
            feats = (
                X,
                f.permute(1, 2, 0).contiguous(),
                f.permute(2, 1, 0).reshape(f.shape[2], T * N),
            )
            lay.cache["diag_features"] = feats
        F = feats[1]
        D = mu.shape[1]
        W = _diag_weights(mu, c)  # (K, 2D + 1)
        E = (W @ feats[2]).view(K, T, N)  # one wide product
        B2, shift = paired_emissions(E.permute(1, 0, 2))  # from (T, K, N)
        ll, gamma, xi = posteriors_paired(
            torch.log(pi).expand(N, -1), B2, shift, torch.log(A), False
        )
        if bool(torch.isnan(ll).any()):  # under- or overflow: the careful route
            return super()._do_estep(X, lay, current, params)
        # keep the buffers until the next E-step has its own (see the base class)
        stats: dict[str, Any] = {"posteriors": (B2, gamma)}
        if "s" in params:
            stats["start"] = gamma[0].sum(1)
        if "t" in params:
            stats["trans"] = xi[0]
        if "m" in params or "c" in params:
            S = torch.matmul(gamma, F.transpose(1, 2)).sum(0)  # (K, 2D + 1)
            stats["post"] = S[:, 2 * D]
            stats["obs"] = S[:, D : 2 * D]
            if "c" in params:
                stats["obs**2"] = S[:, :D]
        return stats, float(ll.sum())

    def _accumulate_sufficient_statistics(
        self,
        stats: dict[str, Any],
        X: Tensor,
        lay: _Layout,
        post: Posteriors,
        em: tuple[Tensor, ...],
        params: str,
    ) -> Tensor:
        """Also the state occupancies ``"post"``, the weighted sums ``"obs"`` and, for
        the covariances, the weighted second moments: ``"obs**2"`` (diag) or
        ``"obs*obs.T"`` (full, centred at the current means)."""
        gamma = super()._accumulate_sufficient_statistics(
            stats, X, lay, post, em, params
        )
        if "m" not in params and "c" not in params:
            return gamma
        mu_old = em[0]
        X = X.to(mu_old.dtype)
        stats["post"] = gamma.sum(0)  # (K,)
        stats["obs"] = gamma.t() @ X  # (K, D)
        if "c" in params:
            if self.covariance_type == "diag":
                stats["obs**2"] = gamma.t() @ (X * X)
            else:
                diff = X.unsqueeze(0) - mu_old.unsqueeze(1)  # (K, M, D)
                stats["obs*obs.T"] = torch.einsum("mk,kmd,kme->kde", gamma, diff, diff)
        return gamma

    def _do_mstep(
        self, stats: dict[str, Any], params: str, current: _Params
    ) -> _Params:
        """Also the means and covariances: weighted averages, with hmmlearn's prior."""
        pi, A, em = super()._do_mstep(stats, params, current)
        if "m" not in params and "c" not in params:
            return pi, A, em
        mu_old, c_old = em
        post, obs = stats["post"], stats["obs"]
        visited = post > 1e-10
        denom = post.clamp_min(1e-10)[:, None]
        mu = (
            torch.where(visited[:, None], obs / denom, mu_old)
            if "m" in params
            else mu_old
        )
        if "c" not in params:
            return pi, A, (mu, c_old)
        min_covar = float(self.min_covar)
        prior, weight = float(self.covars_prior), float(self.covars_weight)
        D = mu.shape[1]
        if self.covariance_type == "diag":
            c_n = stats["obs**2"] - 2 * mu * obs + mu * mu * post[:, None]
            c_d = max(weight - 1, 0) + post[:, None]
            cov = ((prior + c_n) / c_d.clamp_min(1e-5)).clamp_min(min_covar)
            return pi, A, (mu, torch.where(visited[:, None], cov, c_old))
        # sum_m gamma (x - mu)(x - mu)^T from the scatter about the old means S, with
        # b = sum_m gamma (x - mu_old) and d = mu - mu_old: S - b d^T - d b^T + N d d^T
        b = obs - post[:, None] * mu_old
        d = mu - mu_old
        c_n = (
            stats["obs*obs.T"]
            - b[:, :, None] * d[:, None, :]
            - d[:, :, None] * b[:, None, :]
            + post[:, None, None] * d[:, :, None] * d[:, None, :]
        )
        c_d = max(weight - D, 0) + post[:, None, None]
        eye = torch.eye(D, dtype=mu.dtype, device=mu.device)
        # hmmlearn adds a scalar prior to every entry
        cov = (prior + c_n) / c_d.clamp_min(1e-5)
        cov = 0.5 * (cov + cov.transpose(-1, -2))
        diag = cov.diagonal(dim1=-2, dim2=-1)
        # floor the diagonal
        cov = cov + torch.diag_embed((min_covar - diag).clamp_min(0))
        _, info = torch.linalg.cholesky_ex(cov)
        # degenerate state
        cov = torch.where((info > 0)[:, None, None], cov + min_covar * eye, cov)
        return pi, A, (mu, torch.where(visited[:, None, None], cov, c_old))

    def _sample_emissions(
        self, states: Tensor, g: torch.Generator, em: tuple[Tensor, ...]
    ) -> Tensor:
        mu, c = em[0].double().cpu(), em[1].double().cpu()
        T, D = states.shape[0], mu.shape[1]
        noise = torch.randn(T, D, generator=g, dtype=torch.float64)
        if self.covariance_type == "diag":
            x = mu[states] + noise * c[states].sqrt()
        else:
            L = torch.linalg.cholesky(c)
            x = mu[states] + (L[states] @ noise.unsqueeze(-1)).squeeze(-1)
        return x.to(em[0].dtype)

    def _n_fit_scalars_per_param(self) -> dict[str, int]:
        K = check_int(self.n_components, "n_components", minimum=1)
        if getattr(self, "means_", None) is None:
            raise NotFittedError("GaussianHMM has no means_: call fit first or set it")
        D = int(np.shape(self.means_)[-1])
        cov = {"diag": K * D, "full": K * D * (D + 1) // 2}[
            check_choice(self.covariance_type, "covariance_type", ("diag", "full"))
        ]
        return {"s": K - 1, "t": K * (K - 1), "m": K * D, "c": cov}
