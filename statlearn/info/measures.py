"""Information measures of discrete distributions, and the Gaussian closed form
(chapters 6, 7, 8, 10, 20).

Entropy, conditional entropy, Kullback-Leibler divergence and mutual information of
probability tables, as in chapter 2 of Cover and Thomas (2006), plus the mutual
information of correlated Gaussians, the ground truth of the sample-based estimators in
:mod:`statlearn.info.estimators`. Chapter 6 introduces them; chapter 7 measures the
information bottleneck's tables with them, and chapters 8, 10 and 20 the entropy of
labels and predictions.

Every function works in torch, on the input's device, batched over leading dimensions,
with the convention 0 log 0 = 0. Information is in **bits** by default; ``base=math.e``
gives nats. An input that is not a probability table (a negative entry, or entries that
do not sum to one within a tolerance of ``1e-4`` in float32 and ``1e-8`` in float64)
raises ``ValueError``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from statlearn._checks import as_tensor, check_int, check_positive

__all__ = [
    "entropy",
    "conditional_entropy",
    "kl_divergence",
    "mutual_information",
    "gaussian_mutual_information",
]


def _log_base(base: Any) -> float:
    """Natural log of ``base``, checking that ``base`` is a valid logarithm base."""
    b = check_positive(base, "base")
    if b == 1.0:
        raise ValueError("base must be a positive number other than 1; got 1.0")
    return math.log(b)


def _sum_tolerance(t: torch.Tensor) -> float:
    return 1e-8 if t.dtype == torch.float64 else 1e-4


def _as_distribution(
    p: Any, name: str, dims: tuple[int, ...], *, min_ndim: int = 1
) -> torch.Tensor:
    """Return ``p`` as a floating tensor whose entries over ``dims`` are >= 0 and sum to
    one.
    """
    t = as_tensor(p, name=name)
    if t.ndim < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dimension(s); got shape "
            f"{tuple(t.shape)}"
        )
    return _check_distribution(t, name, dims)


def _check_distribution(
    t: torch.Tensor, name: str, dims: tuple[int, ...]
) -> torch.Tensor:
    """Check that the (converted) tensor ``t`` is >= 0 and sums to one over ``dims``."""
    v = t.detach()
    if bool((v < 0).any()):
        raise ValueError(
            f"{name} must be a probability distribution (entries >= 0); got a minimum "
            f"of {float(v.min()):.4g}"
        )
    sums = v.sum(dim=dims)
    tol = _sum_tolerance(t)
    worst = float((sums - 1).abs().max())
    if worst > tol:
        raise ValueError(
            f"{name} must be a probability distribution (entries summing to 1 over dim "
            f"{dims if len(dims) > 1 else dims[0]}); "
            f"got sums off by up to {worst:.4g}"
        )
    return t


def _xlogx(p: torch.Tensor) -> torch.Tensor:
    """p log p with 0 log 0 = 0, with a finite gradient everywhere."""
    positive = p > 0
    return torch.where(
        positive,
        p * torch.log(torch.where(positive, p, torch.ones_like(p))),
        torch.zeros_like(p),
    )


def _check_dim(t: torch.Tensor, dim: Any, name: str = "dim") -> int:
    d = check_int(dim, name)
    if not -t.ndim <= d < t.ndim:
        raise ValueError(
            f"{name} must index a dimension of a tensor of shape {tuple(t.shape)}; got "
            f"{d}"
        )
    return d


def entropy(p: Any, *, dim: int = -1, base: float = 2.0) -> torch.Tensor:
    """Shannon entropy H(X) = -Σ_x p(x) log p(x).

    Parameters
    ----------
    p : (..., K) tensor or array-like
        Probability tables; the distribution runs along ``dim`` and other dimensions are
        a batch.
    dim : int
        The dimension that holds the outcomes.
    base : float
        Logarithm base: 2 for bits (default), ``math.e`` for nats.

    Returns
    -------
    (...) tensor
        The entropy of each distribution (``p`` with ``dim`` removed).

    Raises
    ------
    ValueError
        If ``p`` has a negative entry or does not sum to one along ``dim``.
    """
    t = as_tensor(p, name="p")
    d = _check_dim(t, dim)
    t = _check_distribution(t, "p", (d,))
    return -_xlogx(t).sum(dim=d) / _log_base(base)


def conditional_entropy(p_xy: Any, base: float = 2.0) -> torch.Tensor:
    """Conditional entropy H(Y | X) = H(X, Y) - H(X) of a joint table.

    ``X`` runs along the rows (dimension ``-2``) and ``Y`` along the columns (dimension
    ``-1``), so H(X | Y) is ``conditional_entropy(p_xy.transpose(-2, -1))``.

    Parameters
    ----------
    p_xy : (..., |X|, |Y|) tensor or array-like
        Joint probability tables, each summing to one over its last two dimensions.
    base : float
        Logarithm base: 2 for bits (default), ``math.e`` for nats.

    Returns
    -------
    (...) tensor
        H(Y | X) of each joint.

    Raises
    ------
    ValueError
        If ``p_xy`` is not 2-D or more, has a negative entry or does not sum to one.
    """
    t = _as_distribution(p_xy, "p_xy", (-2, -1), min_ndim=2)
    h_xy = -_xlogx(t).sum(dim=(-2, -1))
    h_x = -_xlogx(t.sum(dim=-1)).sum(dim=-1)
    return (h_xy - h_x).clamp_min(0.0) / _log_base(base)


def kl_divergence(p: Any, q: Any, *, dim: int = -1, base: float = 2.0) -> torch.Tensor:
    """Kullback-Leibler divergence KL(p ‖ q) = Σ_x p(x) log p(x)/q(x).

    Terms with p(x) = 0 contribute zero; a term with p(x) > 0 = q(x) makes the
    divergence infinite.

    Parameters
    ----------
    p, q : (..., K) tensors or array-likes
        Probability tables along ``dim``; their other dimensions broadcast against each
        other.
    dim : int
        The dimension that holds the outcomes.
    base : float
        Logarithm base: 2 for bits (default), ``math.e`` for nats.

    Returns
    -------
    (...) tensor
        The divergence of each pair (the broadcast shape with ``dim`` removed), ``>=
        0``.

    Raises
    ------
    ValueError
        If ``p`` or ``q`` is not a distribution along ``dim``, or their sizes along
        ``dim`` differ.
    """
    tp = as_tensor(p, name="p", min_ndim=1)
    tq = as_tensor(q, name="q", min_ndim=1)
    dp, dq = (
        _check_dim(tp, dim) % tp.ndim - tp.ndim,
        _check_dim(tq, dim) % tq.ndim - tq.ndim,
    )
    if dp != dq:
        raise ValueError(
            f"dim must name the same trailing dimension of p and q; got dim={dim} for "
            "shapes "
            f"{tuple(tp.shape)} and {tuple(tq.shape)} (use a negative dim when their "
            "ranks differ)"
        )
    if tp.shape[dp] != tq.shape[dq]:
        raise ValueError(
            f"p and q must have the same number of outcomes along dim {dim}; got "
            f"{tp.shape[dp]} and {tq.shape[dq]}"
        )
    tp = _check_distribution(tp, "p", (dp,))
    tq = _check_distribution(tq, "q", (dq,))
    dtype = torch.promote_types(tp.dtype, tq.dtype)
    tp, tq = tp.to(dtype), tq.to(device=tp.device, dtype=dtype)
    try:
        tp, tq = torch.broadcast_tensors(tp, tq)
    except RuntimeError as exc:
        raise ValueError(
            f"p and q must broadcast; got shapes {tuple(tp.shape)} and "
            f"{tuple(tq.shape)}"
        ) from exc
    positive = tp > 0
    safe_q = torch.where(positive, tq, torch.ones_like(tq))
    terms = torch.where(
        positive, _xlogx(tp) - tp * torch.log(safe_q), torch.zeros_like(tp)
    )
    kl = terms.sum(dim=dp)
    return kl.clamp_min(0.0) / _log_base(base)


def mutual_information(p_xy: Any, *, base: float = 2.0) -> torch.Tensor:
    """Mutual information I(X; Y) = KL(p(x, y) ‖ p(x) p(y)) of a joint table.

    Parameters
    ----------
    p_xy : (..., |X|, |Y|) tensor or array-like
        Joint probability tables (``X`` on rows, ``Y`` on columns), each summing to one
        over its last two dimensions; leading dimensions are a batch.
    base : float
        Logarithm base: 2 for bits (default), ``math.e`` for nats.

    Returns
    -------
    (...) tensor
        I(X; Y) ≥ 0 of each joint.

    Raises
    ------
    ValueError
        If ``p_xy`` is not 2-D or more, has a negative entry or does not sum to one.
    """
    t = _as_distribution(p_xy, "p_xy", (-2, -1), min_ndim=2)
    p_x = t.sum(dim=-1, keepdim=True)
    p_y = t.sum(dim=-2, keepdim=True)
    positive = t > 0
    denom = torch.where(positive, p_x * p_y, torch.ones_like(t))
    terms = torch.where(positive, _xlogx(t) - t * torch.log(denom), torch.zeros_like(t))
    return terms.sum(dim=(-2, -1)).clamp_min(0.0) / _log_base(base)


def gaussian_mutual_information(
    rho: Any, dim: int, *, base: float = 2.0
) -> torch.Tensor:
    """Mutual information of ``dim`` independent pairs of correlated standard Gaussians.

    For (x_i, y_i) ~ N(0, [[1, ρ], [ρ, 1]]), independent over
    i = 1, ..., d,

        I(X; Y) = -d/2 log_2 (1 - ρ^2) bits.

    This is the ground truth of :func:`statlearn.info.estimators.correlated_gaussians`.

    Parameters
    ----------
    rho : float or (...) tensor
        Correlation of each pair, ``|rho| < 1``.
    dim : int
        Number of pairs d ≥ 1.
    base : float
        Logarithm base: 2 for bits (default), ``math.e`` for nats.

    Returns
    -------
    (...) tensor
        The mutual information (a 0-d tensor for a scalar ``rho``).

    Raises
    ------
    ValueError
        If some ``|rho| >= 1`` or ``dim < 1``.
    """
    r = as_tensor(rho, name="rho")
    if not isinstance(rho, torch.Tensor):
        r = r.reshape(np.shape(rho))  # keep a scalar's shape ()
    d = check_int(dim, "dim", minimum=1)
    if bool((r.detach().abs() >= 1).any()):
        raise ValueError(
            "rho must lie in (-1, 1); got values up to |rho| = "
            f"{float(r.detach().abs().max()):.4g}"
        )
    return -0.5 * d * torch.log1p(-r * r) / _log_base(base)
