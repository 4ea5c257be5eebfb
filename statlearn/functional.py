"""Shared mathematical helpers, below the three Parts.

One copy of each small formula that more than one Part uses, so that Part III never
imports Part II or Part I and no module imports another's private name:

- :func:`gaussian_log_prob`: the diagonal-Gaussian log-density (the VAE's and the
  Wyner model's decoders, the TEB's predictor, DVCLUB's decoder, CLUB's variational
  conditional; chapters 3, 6, 10, 11, 12);
- :func:`gaussian_kl` and :func:`gaussian_kl_between`: KL divergences between diagonal
  Gaussians in closed form (chapters 3, 8, 10, 11, 12);
- :func:`log_mean_softmax`: the averaged prediction of a stochastic classifier (the VIB,
  randomized smoothing, EOT; chapters 8, 16, 17);
- :func:`log_softmax_at`: each row's log-softmax at one column, the core of InfoNCE and
  NT-Xent (chapters 6, 9);
- :func:`rows_norm`: per-example l2 norms that broadcast (the l2 attacks, chapters 13,
  14, 16, 19).

Log-densities and KL divergences here are in **nats** (their names say log or KL);
modules that report information convert to bits.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from statlearn._checks import as_tensor

__all__ = [
    "gaussian_log_prob",
    "gaussian_kl",
    "gaussian_kl_between",
    "log_mean_softmax",
    "log_softmax_at",
    "rows_norm",
]

_LOG_2PI = math.log(2.0 * math.pi)


def gaussian_log_prob(
    x: Tensor, mean: Tensor | float = 0.0, logvar: Tensor | float = 0.0
) -> Tensor:
    r"""Log-density of a diagonal Gaussian, summed over the last axis (nats).

        log N(x; μ, diag σ²) = -1/2 Σ_j ((x_j - μ_j)² / σ_j² + log σ_j² + log 2π).

    Parameters
    ----------
    x : (..., d) tensor
        The points.
    mean : (..., d) tensor or float
        The means μ; broadcast against ``x`` (0 by default).
    logvar : (..., d) tensor or float
        The natural-log variances log σ²; broadcast against ``x`` (0 by default, so
        that ``gaussian_log_prob(z)`` is the standard normal's log-density).

    Returns
    -------
    (...) tensor
        Differentiable in every tensor argument.
    """
    if not isinstance(logvar, Tensor):
        precision = math.exp(-logvar)
        return -0.5 * ((x - mean).square() * precision + logvar + _LOG_2PI).sum(-1)
    return -0.5 * ((x - mean).square() * torch.exp(-logvar) + logvar + _LOG_2PI).sum(-1)


def gaussian_kl(mean: Tensor, logvar: Tensor) -> Tensor:
    r"""KL divergence of a diagonal Gaussian from the standard normal (nats).

        KL(N(μ, diag σ²) ‖ N(0, I)) = 1/2 Σ_j (μ_j² + σ_j² - 1 - log σ_j²).

    Parameters
    ----------
    mean : (..., d) tensor
        Means μ.
    logvar : (..., d) tensor
        Natural-log variances log σ², the same shape as ``mean``.

    Returns
    -------
    (...) tensor
        The KL divergence of each row, summed over the ``d`` coordinates.
        Differentiable in ``mean`` and ``logvar``.

    Raises
    ------
    ValueError
        If ``mean`` and ``logvar`` differ in shape.
    """
    _check_pair(mean, logvar, "mean", "logvar")
    return 0.5 * (mean.square() + logvar.exp() - 1.0 - logvar).sum(dim=-1)


def gaussian_kl_between(
    mean_q: Tensor, logvar_q: Tensor, mean_p: Tensor, logvar_p: Tensor
) -> Tensor:
    r"""KL divergence between two diagonal Gaussians in closed form (nats).

        KL(N(μ_q, diag σ_q²) ‖ N(μ_p, diag σ_p²))
            = 1/2 Σ_j (log σ_p²/σ_q² + (σ_q² + (μ_q - μ_p)²)/σ_p² - 1).

    Parameters
    ----------
    mean_q, logvar_q : (..., d) tensors
        Mean and natural-log variance of the first distribution.
    mean_p, logvar_p : (..., d) tensors
        Mean and natural-log variance of the second; broadcast against the first.

    Returns
    -------
    (...) tensor
        Summed over the last axis; differentiable in all four arguments.

    Raises
    ------
    ValueError
        If a mean and its log-variance differ in shape.
    """
    _check_pair(mean_q, logvar_q, "mean_q", "logvar_q")
    _check_pair(mean_p, logvar_p, "mean_p", "logvar_p")
    ratio = torch.exp(logvar_q - logvar_p)
    gap = (mean_q - mean_p).square() * torch.exp(-logvar_p)
    return 0.5 * (ratio + gap - 1.0 - (logvar_q - logvar_p)).sum(dim=-1)


def _check_pair(mean: Any, logvar: Any, m: str, v: str) -> None:
    if not isinstance(mean, Tensor) or not isinstance(logvar, Tensor):
        raise TypeError(
            f"{m} and {v} must be tensors; got {type(mean).__name__} and "
            f"{type(logvar).__name__}"
        )
    if mean.shape != logvar.shape:
        raise ValueError(
            f"{m} and {v} must have the same shape; got {tuple(mean.shape)} and "
            f"{tuple(logvar.shape)}"
        )


def log_mean_softmax(logits: Any, dim: int = 0) -> Tensor:
    """The log of the softmax averaged over draws: log 1/L Σ_(l=1)^L softmax(f_l).

    The prediction of a stochastic classifier from L draws (the VIB's samples of z,
    randomized smoothing's noise, an attack's expectation over random input maps),
    computed stably with ``logsumexp``. Its softmax is the averaged prediction, so it
    can be used as logits.

    Parameters
    ----------
    logits : (..., L, ..., C) array or tensor
        Logits of each draw; classes on the last axis. A tensor keeps its device and
        dtype; a NumPy array becomes a tensor (float64 stays float64).
    dim : int
        The axis of the L draws (not the last one).

    Returns
    -------
    tensor
        ``logits``'s shape without ``dim``: log-probabilities (nats).

    Raises
    ------
    ValueError
        If ``logits`` has fewer than two axes or ``dim`` is the class axis.
    """
    if not isinstance(logits, Tensor):
        logits = as_tensor(logits, name="logits")
    if logits.ndim < 2 or logits.numel() == 0:
        raise ValueError(
            "logits must have a draws axis and a class axis, with at least one draw "
            f"and one class; got shape {tuple(logits.shape)}"
        )
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"dim must be an int; got {type(dim).__name__}")
    if not -logits.ndim <= dim < logits.ndim:
        raise ValueError(f"dim must be in [{-logits.ndim}, {logits.ndim}); got {dim}")
    d = dim % logits.ndim
    if d == logits.ndim - 1:
        raise ValueError("dim must be the draws axis, not the last (class) axis")
    log_p = torch.log_softmax(logits, dim=-1)
    return torch.logsumexp(log_p, dim=d) - math.log(logits.shape[d])


def log_softmax_at(
    scores: Tensor, positives: Tensor, *, check_input: bool = True
) -> Tensor:
    """Each row's log-softmax at its positive column (nats): the core of InfoNCE.

    ``log_softmax_at(s, p)[i] = s[i, p_i] - log Σ_j e^(s_ij)``. Entries set to
    ``-inf`` drop out of the sum (SimCLR's NT-Xent masks self-similarity this way).

    Parameters
    ----------
    scores : (N, M) tensor
        ``scores[i, j]`` scores candidate ``j`` for row ``i``.
    positives : (N,) int64 tensor
        The column of each row's positive candidate, in [0, M).
    check_input : bool
        Check shapes and that every positive is a column of ``scores`` (one host
        read). Estimators that build ``positives`` themselves pass ``False``.

    Returns
    -------
    (N,) tensor
        Differentiable in ``scores``.

    Raises
    ------
    ValueError
        If the shapes disagree or a positive is not a column of ``scores``.
    TypeError
        If ``positives`` is not an integer tensor.
    """
    if check_input:
        if not isinstance(scores, Tensor) or not isinstance(positives, Tensor):
            raise TypeError("scores and positives must be tensors")
        if scores.ndim != 2 or positives.shape != scores.shape[:1]:
            raise ValueError(
                "scores must be (N, M) and positives (N,); got shapes "
                f"{tuple(scores.shape)} and {tuple(positives.shape)}"
            )
        if positives.dtype.is_floating_point or positives.dtype == torch.bool:
            raise TypeError(f"positives must be integers; got {positives.dtype}")
        if positives.numel():
            low, high = torch.aminmax(positives)
            low, high = int(low), int(high)
            if low < 0 or high >= scores.shape[1]:
                raise ValueError(
                    f"positives must be columns of scores, in [0, {scores.shape[1]}); "
                    f"got values from {low} to {high}"
                )
    picked = scores.gather(1, positives.unsqueeze(1)).squeeze(1)
    return picked - torch.logsumexp(scores, dim=1)


def rows_norm(t: Tensor) -> Tensor:
    """Per-example l2 norm, shaped ``(N, 1, ..., 1)`` to broadcast against ``t``.

    Parameters
    ----------
    t : (N, ...) tensor

    Returns
    -------
    (N, 1, ..., 1) tensor

    Raises
    ------
    ValueError
        If ``t`` has no batch axis.
    """
    if t.ndim == 0:
        raise ValueError("t must be a batch (N, ...); got a 0-d tensor")
    return t.flatten(1).norm(dim=1).reshape((-1,) + (1,) * (t.ndim - 1))
