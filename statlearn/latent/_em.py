"""What the EM-style estimators of Part I share (chapters 1, 2).

The mixtures of :mod:`statlearn.latent.mixture` (EM, Dempster, Laird and Rubin, 1977;
chapter 1), the hidden Markov models of :mod:`statlearn.latent.hmm` (Baum-Welch,
chapter 2) and :class:`statlearn.latent.KMeans` (Lloyd's algorithm, chapters 1, 2) take
their hyperparameter checks, their verbose output and the shape of their ``history_``
from here, so that the drivers agree:

- :func:`check_dtype` and :func:`check_optional_device`: the ``dtype`` and ``device``
  hyperparameters;
- :class:`EMProgress`: every line an estimator prints with ``verbose``;
- :func:`em_history`: the fitted ``history_``, a dict of per-iteration lists whose key
  ``"log_likelihood"`` is the total log-likelihood of the training data (nats) in
  every estimator;
- :func:`validate_X` and :func:`chunk_size`: the mixtures' and k-means' data checks and
  block size.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np
import torch
from sklearn.utils.validation import validate_data
from torch import Tensor

from statlearn._arrays import Namespace, to_torch
from statlearn._checks import all_finite, check_device

__all__ = [
    "check_dtype",
    "check_optional_device",
    "EMProgress",
    "em_history",
    "validate_X",
    "chunk_size",
]

# Elements of the largest (chunk, K, D) intermediate the E- and M-steps build. On a CPU,
# 2**20 (8 MB in float64) keeps a block near the cache while keeping the number of
# parallel regions (and their thread barriers, costly on a busy machine) small; on a
# GPU, bigger blocks amortise the kernel launches.
CHUNK_ELEMENTS = {"cpu": 1 << 20, "other": 1 << 24}


# --------------------------------------------------------------------------------------
# Hyperparameters
# --------------------------------------------------------------------------------------


def check_dtype(dtype: Any) -> torch.dtype | None:
    """The ``dtype`` hyperparameter: None, ``torch.float32`` or ``torch.float64``.

    Parameters
    ----------
    dtype : torch.dtype or None
        The estimator's ``dtype``.

    Returns
    -------
    torch.dtype or None
        ``dtype``, checked.
    """
    if dtype is not None and dtype not in (torch.float32, torch.float64):
        raise ValueError(
            f"dtype must be None, torch.float32 or torch.float64; got {dtype!r}"
        )
    return dtype


def check_optional_device(device: Any) -> torch.device | None:
    """The ``device`` hyperparameter: None (follow the input) or an available device.

    Parameters
    ----------
    device : torch.device, str or None
        The estimator's ``device``.

    Returns
    -------
    torch.device or None
        A device this machine has (a clear ``ValueError`` otherwise), or None.
    """
    return None if device is None else check_device(device)


# --------------------------------------------------------------------------------------
# Verbose output and history
# --------------------------------------------------------------------------------------


class EMProgress:
    """The lines an iterative estimator prints when ``verbose`` is set.

    Parameters
    ----------
    verbose : int or bool
        0 (or False): print nothing; 1 (or True): the start of each run, every
        ``interval``-th iteration and the end of the run; 2: also the time each took.
    interval : int
        Iterations between two printed lines.
    quantity : str
        What the iterations report, e.g. ``"log-likelihood"``.
    """

    def __init__(
        self, verbose: int | bool, interval: int = 1, quantity: str = "log-likelihood"
    ) -> None:
        self.verbose = int(verbose)
        self.interval = max(1, int(interval))
        self.quantity = quantity
        self._t_run = self._t_iter = time.perf_counter()

    def start(self, run: int | None = None) -> None:
        """A run begins: ``Initialization {run}`` when restarts are counted.

        Parameters
        ----------
        run : int, optional
            The run's number among the restarts (None: print no line).
        """
        if not self.verbose:
            return
        if run is not None:
            print(f"Initialization {run}")
        self._t_run = self._t_iter = time.perf_counter()

    def iteration(self, n_iter: int, value: float, change: float) -> None:
        """One iteration's line, every ``interval``-th iteration.

        Parameters
        ----------
        n_iter : int
            The iteration, counted from 1.
        value : float
            What it reached (the estimator's ``quantity``).
        change : float
            ``value`` minus the previous iteration's (NaN or inf for the first).
        """
        if not self.verbose or n_iter % self.interval:
            return
        line = (
            f"  Iteration {n_iter}  {self.quantity} {value:.6f}  change {change:+.6f}"
        )
        if self.verbose >= 2:
            now = time.perf_counter()
            line += f"  time lapse {now - self._t_iter:.5f}s"
            self._t_iter = now
        print(line)

    def end(self, converged: bool, n_iter: int, value: float) -> None:
        """The run's last line.

        Parameters
        ----------
        converged : bool
            Whether it met its stopping rule (else it ran out of iterations).
        n_iter : int
            Iterations it ran.
        value : float
            What the last iteration reached.
        """
        if not self.verbose:
            return
        what = "converged" if converged else "did not converge"
        line = f"  {what} after {n_iter} iterations: {self.quantity} {value:.6f}"
        if self.verbose >= 2:
            line += f"  time lapse {time.perf_counter() - self._t_run:.5f}s"
        print(line)


def em_history(log_likelihood: Sequence[float], **more: Sequence[float]) -> dict:
    """The fitted ``history_``: ``{"log_likelihood": [...], **more}``, lists of floats.

    Parameters
    ----------
    log_likelihood : sequence of float
        The total log-likelihood of the training data (nats) at each iteration,
        computed in the E-step before the M-step.
    **more : sequence of float
        An estimator's own per-iteration records, by name.

    Returns
    -------
    dict of str to list of float
    """
    out = {"log_likelihood": [float(v) for v in log_likelihood]}
    out.update({k: [float(v) for v in vals] for k, vals in more.items()})
    return out


# --------------------------------------------------------------------------------------
# Data checks of the mixtures and k-means
# --------------------------------------------------------------------------------------


def _n_features_message(est: Any, got: int) -> str:
    return (
        f"X has {got} features, but {type(est).__name__} is expecting "
        f"{est.n_features_in_} features as input"
    )


def validate_X(
    est: Any,
    X: Any,
    *,
    reset: bool,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    min_samples: int = 1,
) -> tuple[Tensor, Namespace]:
    """``X`` as a finite (N, D) floating tensor, and the record of what came in.

    NumPy input and lists go through scikit-learn's ``validate_data`` (its messages,
    dtypes, ``n_features_in_`` and ``feature_names_in_``); tensors are checked here the
    same way, without leaving their device.

    Parameters
    ----------
    est : estimator
        The estimator ``X`` is for (its ``n_features_in_`` is set or checked).
    X : (N, D) array-like or tensor
        The data.
    reset : bool
        True in ``fit``: record the number of features; False: check it against the
        fitted model.
    dtype : torch.dtype, optional
        The dtype to compute in (default: the input's, as ``to_torch``).
    device : torch.device or str, optional
        Where to compute (default: the input's device, the CPU for NumPy input).
    min_samples : int
        The least number of rows.

    Returns
    -------
    X : (N, D) tensor
    ns : Namespace
        What came in, for ``from_torch``.
    """
    if isinstance(X, torch.Tensor):
        t, ns = to_torch(X, dtype=dtype, device=device)
        if t.ndim != 2:
            raise ValueError(
                f"X must be 2-D (n_samples, n_features); got shape {tuple(t.shape)}"
            )
        if t.shape[0] < min_samples:
            raise ValueError(
                f"Found array with {t.shape[0]} sample(s) (shape={tuple(t.shape)}) "
                f"while a minimum of {min_samples} is required: X needs at least "
                f"{min_samples} row(s)."
            )
        if t.shape[1] < 1:
            raise ValueError(
                f"Found array with 0 feature(s) (shape={tuple(t.shape)}) "
                "while a minimum of 1 is required: X needs at least one column."
            )
        if not all_finite(t):
            raise ValueError("Input X contains NaN or infinity")
        if reset:
            est.n_features_in_ = t.shape[1]
            if hasattr(est, "feature_names_in_"):
                del est.feature_names_in_
        elif t.shape[1] != est.n_features_in_:
            raise ValueError(_n_features_message(est, t.shape[1]))
        return t, ns
    X = validate_data(
        est,
        X,
        reset=reset,
        dtype=[np.float64, np.float32],
        ensure_min_samples=min_samples,
    )
    return to_torch(X, dtype=dtype, device=device)


def chunk_size(
    n_components: int, n_features: int, device: torch.device | None = None
) -> int:
    """Rows per block so that a (rows, K, D) intermediate has ``CHUNK_ELEMENTS``.

    Parameters
    ----------
    n_components : int
        K.
    n_features : int
        D.
    device : torch.device, optional
        Where the block lives (the CPU when None).

    Returns
    -------
    int
    """
    budget = CHUNK_ELEMENTS[
        "cpu" if device is None or device.type == "cpu" else "other"
    ]
    return max(1, budget // max(1, n_components * n_features))
