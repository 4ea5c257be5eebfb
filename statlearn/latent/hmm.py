"""Hidden Markov models: forward-backward, Viterbi and Baum-Welch (chapter 2).

A hidden Markov model is a mixture whose component depends on the previous one: a Markov
chain of hidden states :math:`z_t` with initial distribution :math:`\\pi`
(``startprob_``) and transition matrix :math:`A` (``transmat_``), and an emission
:math:`p(x_t \\mid z_t)` per state. Inference is the forward-backward algorithm of Baum
et al. (1970) (tutorial: Rabiner, 1989), decoding is the algorithm of Viterbi (1967),
and fitting is Baum-Welch, i.e. EM (Dempster, Laird and Rubin, 1977) with
forward-backward as the E-step.

Two layers:

* **Core functions** ``forward``, ``backward``, ``posteriors`` and ``viterbi`` work in
  log space on a padded batch of sequences ``log_emission : (N, T, K)`` with ``lengths``
  or a left-aligned ``mask``. Pairwise marginals are returned summed over time, ``xi :
  (N, K, K)``; no ``(N, T, K, K)`` tensor of pairwise marginals is ever built. Each
  function has a sequential path (a Python loop over time, batched over sequences) and a
  parallel path (``method="scan"``): an associative scan over time of ``K x K`` matrix
  products in the log (sum-product or max-product) semiring, O(log T) depth, as in
  Sarkka and Garcia-Fernandez (2021). The scan multiplies log-semiring matrices by
  shifting each row and column by its maximum, exponentiating and calling
  ``torch.matmul`` in float64 (exact log-sum-exp up to float64 underflow, i.e. relative
  weights below ``exp(-700)``).
* **Models** ``CategoricalHMM`` and ``GaussianHMM`` follow hmmlearn's contract on
  scikit-learn's ``BaseEstimator`` (so ``clone``, ``get_params``/``set_params`` and
  ``GridSearchCV`` work): ``fit(X, lengths)`` with sequences concatenated along the
  first axis, ``score``, ``score_samples``, ``decode``, ``predict``, ``predict_proba``,
  ``sample``, ``aic``, ``bic`` and ``get_stationary_distribution``. They compute in
  torch and answer in the caller's array type: NumPy in gives NumPy results and NumPy
  fitted attributes, a tensor gives tensors on its device. For speed their E-step works
  in rescaled probability space: for ordinary lengths a forward-backward loop with
  Rabiner's scaling (a few batched kernels per time step, emissions shifted by their
  per-step maximum); from 1024 steps on, parallel prefix/suffix scans of renormalised
  matrix products; and ``score`` of long unpadded sequences multiplies blocks of
  ~sqrt(T) steps at once, then reduces the block products by a tree. Any sequence on
  which these under- or overflow is recomputed in log space, so results are never NaN.

Differences from hmmlearn that remain on purpose:

* ``decode(algorithm="map")`` returns :math:`\\sum_t \\log \\max_k \\gamma_t(k)`, a
  log-probability; hmmlearn returns :math:`\\sum_t \\max_k \\gamma_t(k)`, a sum of
  probabilities.
* Initialisation: a uniform start distribution and near-uniform transition rows
  (hmmlearn draws Dirichlet rows); ``GaussianHMM`` means by statlearn's k-means on at
  most 10,000 samples. So a seed gives other starting values than in hmmlearn.
* ``fit`` stops before the M-step of the iteration that converged, so the fitted
  parameters are those whose log-likelihood ``history_[-1]`` records (hmmlearn runs one
  more M-step), and ``monitor_.converged`` is False when ``n_iter`` ran out (hmmlearn's
  is True); a ``ConvergenceWarning`` says so, as in scikit-learn (hmmlearn logs
  nothing).
* ``fit`` warns only when it overwrites a parameter set by hand, not one left by an
  earlier fit.
* ``GaussianHMM`` supports ``covariance_type`` "diag" and "full" (not "spherical",
  "tied").
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from torch import Tensor

from statlearn._arrays import Namespace, from_torch, to_torch
from statlearn._checks import (
    as_generator,
    as_tensor,
    check_choice,
    check_int,
    check_positive,
)

__all__ = [
    "forward",
    "backward",
    "posteriors",
    "viterbi",
    "ForwardResult",
    "Posteriors",
    "ViterbiResult",
    "CategoricalHMM",
    "GaussianHMM",
    "ConvergenceMonitor",
]

_METHODS = ("auto", "sequential", "scan")
# method="auto" uses the scan from this many time steps on (when the (N, T, K, K) scan
# buffers are small).
_SCAN_MIN_T = 1024
_SCAN_MAX_ELEMENTS = 2**26
# GaussianHMM initialises its means by k-means on at most this many samples.
_KMEANS_MAX_SAMPLES = 10_000


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------


class ForwardResult(NamedTuple):
    """Result of :func:`forward`.

    Attributes
    ----------
    log_likelihood : (N,) tensor
        :math:`\\log p(x_{1:T_n})` of each sequence.
    log_alpha : (N, T, K) tensor
        Forward messages :math:`\\log \\alpha_t(i) = \\log p(x_{1:t}, z_t = i)`; 0 at
        padded steps.
    """

    log_likelihood: Tensor
    log_alpha: Tensor


class Posteriors(NamedTuple):
    """Result of :func:`posteriors`.

    Attributes
    ----------
    log_likelihood : (N,) tensor
        :math:`\\log p(x_{1:T_n})` of each sequence.
    gamma : (N, T, K) tensor
        State marginals :math:`\\gamma_t(i) = p(z_t = i \\mid x_{1:T})`; 0 at padded
        steps.
    xi : (N, K, K) tensor
        Pairwise marginals summed over time, :math:`\\sum_{t \\ge 2} \\xi_t(i, j)`, the
        expected number of ``i -> j`` transitions in each sequence.
    """

    log_likelihood: Tensor
    gamma: Tensor
    xi: Tensor


class ViterbiResult(NamedTuple):
    """Result of :func:`viterbi`.

    Attributes
    ----------
    log_prob : (N,) tensor
        :math:`\\max_z \\log p(x_{1:T}, z_{1:T})` of each sequence.
    states : (N, T) int64 tensor
        The most probable state path; -1 at padded steps.
    """

    log_prob: Tensor
    states: Tensor


# --------------------------------------------------------------------------------------
# Validation of the core functions' inputs
# --------------------------------------------------------------------------------------


def _check_core(
    log_startprob: Any,
    log_transmat: Any,
    log_emission: Any,
    lengths: Any,
    mask: Any,
    method: str,
    *,
    need_start: bool = True,
) -> tuple[Tensor | None, Tensor, Tensor, Tensor, bool, str]:
    """Validate and broadcast.

    Returns (log_pi (N, K), log_A, E (N, T, K), mask (N, T), squeeze, method).
    """
    check_choice(method, "method", _METHODS)
    E = as_tensor(log_emission, name="log_emission", ndim=(2, 3), allow_nonfinite=True)
    if torch.isnan(E).any() or torch.isposinf(E).any():
        raise ValueError(
            "log_emission must not contain NaN or +inf (-inf, a zero probability, is "
            "allowed)"
        )
    squeeze = E.ndim == 2
    if squeeze:
        E = E.unsqueeze(0)
    N, T, K = E.shape
    dtype, dev = E.dtype, E.device
    log_A = as_tensor(
        log_transmat,
        name="log_transmat",
        ndim=2,
        dtype=dtype,
        device=dev,
        allow_nonfinite=True,
    )
    if log_A.shape != (K, K):
        raise ValueError(
            f"log_transmat must have shape ({K}, {K}) to match log_emission; got "
            f"{tuple(log_A.shape)}"
        )
    if torch.isnan(log_A).any() or torch.isposinf(log_A).any():
        raise ValueError("log_transmat must not contain NaN or +inf")
    log_pi = None
    if need_start:
        log_pi = as_tensor(
            log_startprob,
            name="log_startprob",
            ndim=(1, 2),
            dtype=dtype,
            device=dev,
            allow_nonfinite=True,
        )
        if log_pi.shape not in ((K,), (N, K)):
            raise ValueError(
                f"log_startprob must have shape ({K},) or ({N}, {K}); got "
                f"{tuple(log_pi.shape)}"
            )
        if torch.isnan(log_pi).any() or torch.isposinf(log_pi).any():
            raise ValueError("log_startprob must not contain NaN or +inf")
        log_pi = log_pi.expand(N, K)
    m = _mask_from(lengths, mask, N, T, dev)
    if method == "auto":
        method = (
            "scan"
            if (T >= _SCAN_MIN_T and N * T * K * K <= _SCAN_MAX_ELEMENTS)
            else "sequential"
        )
    return log_pi, log_A, E, m, squeeze, method


def _mask_from(lengths: Any, mask: Any, N: int, T: int, dev: torch.device) -> Tensor:
    """A left-aligned (N, T) bool mask from ``lengths`` or ``mask`` (or all True)."""
    if lengths is not None and mask is not None:
        raise ValueError("give lengths or mask, not both")
    steps = torch.arange(T, device=dev)
    if lengths is not None:
        L = torch.as_tensor(
            np.asarray(lengths) if not isinstance(lengths, Tensor) else lengths
        ).to(dev)
        if L.dtype.is_floating_point or L.dtype == torch.bool:
            raise ValueError(f"lengths must hold integers; got dtype {L.dtype}")
        if L.shape != (N,):
            raise ValueError(
                f"lengths must have shape ({N},), one length per sequence; got "
                f"{tuple(L.shape)}"
            )
        if bool((L < 1).any()) or bool((L > T).any()):
            raise ValueError(
                f"lengths must lie in [1, {T}]; got values in [{int(L.min())}, "
                f"{int(L.max())}]"
            )
        return steps < L[:, None]
    if mask is not None:
        m = torch.as_tensor(mask, device=dev)
        if m.shape != (N, T):
            raise ValueError(f"mask must have shape ({N}, {T}); got {tuple(m.shape)}")
        m = m.bool()
        L = m.sum(1)
        if bool((L < 1).any()) or not bool((m == (steps < L[:, None])).all()):
            raise ValueError(
                "mask must be left-aligned (True for the first lengths[n] steps) with "
                "at least one step"
            )
        return m
    return torch.ones(N, T, dtype=torch.bool, device=dev)


# --------------------------------------------------------------------------------------
# Semiring products and the associative scan
# --------------------------------------------------------------------------------------


def _finite_or_zero(x: Tensor) -> Tensor:
    return torch.where(
        torch.isfinite(x), x, torch.zeros((), dtype=x.dtype, device=x.device)
    )


def _log_matmul(a: Tensor, b: Tensor) -> Tensor:
    """Log-semiring product ``c[i, j] = logsumexp_k a[i, k] + b[k, j]`` (..., K, K).

    Rows of ``a`` and columns of ``b`` are shifted by their maxima, exponentiated and
    multiplied with ``matmul``; an all ``-inf`` row or column gives ``-inf``, never NaN.
    """
    sa = _finite_or_zero(a.amax(-1, keepdim=True))
    sb = _finite_or_zero(b.amax(-2, keepdim=True))
    return torch.matmul(torch.exp(a - sa), torch.exp(b - sb)).log() + sa + sb


def _max_matmul(a: Tensor, b: Tensor) -> Tensor:
    """Max-plus product ``c[i, j] = max_k a[i, k] + b[k, j]``, batched (..., K, K)."""
    return (a.unsqueeze(-1) + b.unsqueeze(-3)).amax(-2)


def _compose(f: Tensor, g: Tensor) -> Tensor:
    """Composition ``(f then g)`` of (..., K) int64 index maps: ``out[j] = f[g[j]]``."""
    return torch.gather(f, -1, g)


def _associative_scan(x: Tensor, op: Callable[[Tensor, Tensor], Tensor]) -> Tensor:
    """Inclusive scan along dim 1 of O(log T) depth.

    ``y[:, t] = x[:, 0] op x[:, 1] op ... op x[:, t]``.

    ``op`` must be associative and batched over leading dimensions. The recursion
    combines adjacent pairs, scans the half-length sequence, then fills in the even
    positions (Blelloch's odd-even scheme).
    """
    T = x.shape[1]
    if T == 1:
        return x
    pairs = op(x[:, 0 : T - 1 : 2], x[:, 1::2])  # x0x1, x2x3, ...  (floor(T/2) entries)
    sub = _associative_scan(pairs, op)  # prefixes ending at odd positions 1, 3, 5, ...
    out = torch.empty_like(x)
    out[:, 1::2] = sub
    out[:, 0] = x[:, 0]
    n_even = (T + 1) // 2
    if n_even > 1:
        out[:, 2::2] = op(sub[:, : n_even - 1], x[:, 2::2])
    return out


def _log_identity(K: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    eye = torch.full((K, K), -math.inf, dtype=dtype, device=device)
    eye.diagonal().zero_()
    return eye


def _step_matrices(log_pi: Tensor, log_A: Tensor, E: Tensor, m: Tensor) -> Tensor:
    """(N, T, K, K) float64 log matrices M_t = log A + log B_t.

    Row-constant start at t = 0, identity on padding.
    """
    N, T, K = E.shape
    E = E.double()
    M = log_A.double().expand(N, T, K, K) + E.unsqueeze(2)
    M = M.clone()
    M[:, 0] = (log_pi.double() + E[:, 0]).unsqueeze(1).expand(N, K, K)
    eye = _log_identity(K, torch.float64, E.device)
    return torch.where(m[:, :, None, None], M, eye)


def _forward_scan(log_pi: Tensor, log_A: Tensor, E: Tensor, m: Tensor) -> Tensor:
    """log alpha (N, T, K) in float64 by a parallel prefix scan."""
    M = _step_matrices(log_pi, log_A, E, m)
    return _associative_scan(M, _log_matmul)[:, :, 0, :]


def _backward_scan(log_A: Tensor, E: Tensor, m: Tensor) -> Tensor:
    """log beta (N, T, K) in float64 by a parallel suffix scan."""
    N, T, K = E.shape
    out = torch.zeros(N, T, K, dtype=torch.float64, device=E.device)
    if T == 1:
        return out
    # unused row 0 is sliced off below
    log_pi = torch.zeros(N, K, dtype=E.dtype, device=E.device)
    M = _step_matrices(log_pi, log_A, E, m)[:, 1:]
    rev = torch.flip(M, dims=(1,))
    suffix = torch.flip(
        _associative_scan(rev, lambda a, b: _log_matmul(b, a)), dims=(1,)
    )
    out[:, :-1] = torch.logsumexp(suffix, dim=-1)
    return out


# --------------------------------------------------------------------------------------
# Sequential log-space recursions
# --------------------------------------------------------------------------------------


def _forward_seq(log_pi: Tensor, log_A: Tensor, E: Tensor, m: Tensor) -> Tensor:
    N, T, K = E.shape
    out = torch.empty_like(E)
    la = log_pi + E[:, 0]
    out[:, 0] = la
    log_A = log_A.unsqueeze(0)
    for t in range(1, T):
        nxt = torch.logsumexp(la.unsqueeze(2) + log_A, dim=1) + E[:, t]
        la = torch.where(m[:, t, None], nxt, la)
        out[:, t] = la
    return out


def _backward_seq(log_A: Tensor, E: Tensor, m: Tensor) -> Tensor:
    N, T, K = E.shape
    out = torch.empty_like(E)
    lb = torch.zeros(N, K, dtype=E.dtype, device=E.device)
    out[:, T - 1] = lb
    log_A = log_A.unsqueeze(0)
    for t in range(T - 2, -1, -1):
        nxt = torch.logsumexp(log_A + (E[:, t + 1] + lb).unsqueeze(1), dim=2)
        lb = torch.where(m[:, t + 1, None], nxt, lb)
        out[:, t] = lb
    return out


def _safe_logsumexp(x: Tensor, dim: int) -> Tensor:
    # torch returns -inf (not NaN) when every entry is -inf
    return torch.logsumexp(x, dim=dim)


def _last(x: Tensor, m: Tensor) -> Tensor:
    """x[n, lengths[n] - 1] for (N, T, K) x."""
    idx = (m.sum(1) - 1).clamp_min(0)
    return x[torch.arange(x.shape[0], device=x.device), idx]


def _posteriors_log(
    log_pi: Tensor, log_A: Tensor, E: Tensor, m: Tensor, method: str
) -> Posteriors:
    """Log-space posteriors on a checked batch (float64 for the pairwise sums)."""
    dtype = E.dtype
    if method == "scan":
        la = _forward_scan(log_pi, log_A, E, m)
        lb = _backward_scan(log_A, E, m)
    else:
        la = _forward_seq(log_pi, log_A, E, m).double()
        lb = _backward_seq(log_A, E, m).double()
    ll = _safe_logsumexp(_last(la, m), dim=-1)  # (N,)
    ok = torch.isfinite(ll)
    ll_f = torch.where(ok, ll, torch.zeros_like(ll))
    mm = m & ok[:, None]
    gamma = torch.exp(la + lb - ll_f[:, None, None])
    gamma = torch.where(mm[:, :, None], gamma, torch.zeros_like(gamma))
    N, T, K = E.shape
    if T > 1:
        # xi_sum[n, i, j] = A_ij * sum_t exp(la_t(i) - s_t) * exp(E_{t+1}(j) +
        # lb_{t+1}(j) + s_t - ll)
        left = la[:, :-1]
        s = _finite_or_zero(left.amax(-1, keepdim=True))
        u = torch.exp(left - s)
        v = torch.exp(E[:, 1:].double() + lb[:, 1:] + s - ll_f[:, None, None])
        v = torch.where(mm[:, 1:, None], v, torch.zeros_like(v))
        xi = torch.exp(log_A.double()) * torch.bmm(u.transpose(1, 2), v)
    else:
        xi = torch.zeros(N, K, K, dtype=torch.float64, device=E.device)
    xi = torch.where(torch.isfinite(xi), xi, torch.zeros_like(xi))
    return Posteriors(ll.to(dtype), gamma.to(dtype), xi.to(dtype))


# --------------------------------------------------------------------------------------
# Public core functions
# --------------------------------------------------------------------------------------


def forward(
    log_startprob: Tensor,
    log_transmat: Tensor,
    log_emission: Tensor,
    *,
    lengths: Tensor | Sequence[int] | None = None,
    mask: Tensor | None = None,
    method: str = "auto",
) -> ForwardResult:
    """Forward algorithm in log space over a padded batch of sequences.

    Parameters
    ----------
    log_startprob : (K,) or (N, K) tensor
        :math:`\\log \\pi`.
    log_transmat : (K, K) tensor
        :math:`\\log A`, rows indexed by the previous state.
    log_emission : (N, T, K) or (T, K) tensor
        :math:`\\log p(x_t \\mid z_t = k)`, padded after each sequence's end.
    lengths : (N,) int array-like, optional
        Length of each sequence (default: all ``T``).
    mask : (N, T) bool tensor, optional
        Alternative to ``lengths``: True on the first ``lengths[n]`` steps.
    method : {"auto", "sequential", "scan"}
        ``"sequential"`` loops over time; ``"scan"`` runs a parallel prefix scan of
        log-semiring matrix products (O(log T) depth); ``"auto"`` picks the scan for
        long sequences.

    Returns
    -------
    ForwardResult
        ``log_likelihood : (N,)`` and ``log_alpha : (N, T, K)`` (0 at padded steps);
        without the batch dimension when ``log_emission`` is (T, K).
    """
    log_pi, log_A, E, m, squeeze, method = _check_core(
        log_startprob, log_transmat, log_emission, lengths, mask, method
    )
    la = (
        _forward_scan(log_pi, log_A, E, m).to(E.dtype)
        if method == "scan"
        else _forward_seq(log_pi, log_A, E, m)
    )
    ll = _safe_logsumexp(_last(la, m), dim=-1)
    la = torch.where(m[:, :, None], la, torch.zeros_like(la))
    if squeeze:
        return ForwardResult(ll[0], la[0])
    return ForwardResult(ll, la)


def backward(
    log_transmat: Tensor,
    log_emission: Tensor,
    *,
    lengths: Tensor | Sequence[int] | None = None,
    mask: Tensor | None = None,
    method: str = "auto",
) -> Tensor:
    """Backward algorithm in log space over a padded batch of sequences.

    Parameters
    ----------
    log_transmat : (K, K) tensor
        :math:`\\log A`.
    log_emission : (N, T, K) or (T, K) tensor
        :math:`\\log p(x_t \\mid z_t = k)`, padded after each sequence's end.
    lengths : (N,) int array-like, optional
    mask : (N, T) bool tensor, optional
    method : {"auto", "sequential", "scan"}

    Returns
    -------
    log_beta : (N, T, K) tensor
        :math:`\\log \\beta_t(i) = \\log p(x_{t+1:T} \\mid z_t = i)`; 0 at the last step
        and at padded steps.
    """
    _, log_A, E, m, squeeze, method = _check_core(
        None, log_transmat, log_emission, lengths, mask, method, need_start=False
    )
    lb = (
        _backward_scan(log_A, E, m).to(E.dtype)
        if method == "scan"
        else _backward_seq(log_A, E, m)
    )
    lb = torch.where(m[:, :, None], lb, torch.zeros_like(lb))
    return lb[0] if squeeze else lb


def posteriors(
    log_startprob: Tensor,
    log_transmat: Tensor,
    log_emission: Tensor,
    *,
    lengths: Tensor | Sequence[int] | None = None,
    mask: Tensor | None = None,
    method: str = "auto",
) -> Posteriors:
    """State and pairwise posterior marginals by forward-backward in log space.

    Parameters
    ----------
    log_startprob : (K,) or (N, K) tensor
    log_transmat : (K, K) tensor
    log_emission : (N, T, K) or (T, K) tensor
    lengths : (N,) int array-like, optional
    mask : (N, T) bool tensor, optional
    method : {"auto", "sequential", "scan"}

    Returns
    -------
    Posteriors
        ``log_likelihood : (N,)``, ``gamma : (N, T, K)`` (rows sum to one on valid
        steps, 0 on padded ones) and ``xi : (N, K, K)``, the pairwise marginals summed
        over time. A sequence of zero probability (``log_likelihood = -inf``) gets
        ``gamma = 0`` and ``xi = 0``, never NaN.
    """
    log_pi, log_A, E, m, squeeze, method = _check_core(
        log_startprob, log_transmat, log_emission, lengths, mask, method
    )
    post = _posteriors_log(log_pi, log_A, E, m, method)
    if squeeze:
        return Posteriors(post.log_likelihood[0], post.gamma[0], post.xi[0])
    return post


def viterbi(
    log_startprob: Tensor,
    log_transmat: Tensor,
    log_emission: Tensor,
    *,
    lengths: Tensor | Sequence[int] | None = None,
    mask: Tensor | None = None,
    method: str = "auto",
) -> ViterbiResult:
    """Most probable state path (Viterbi) in log space over a padded batch.

    The scan path computes the max-product messages by a parallel prefix scan of
    max-plus matrix products and recovers the path by a parallel suffix scan of
    back-pointer compositions, so neither pass loops over time.

    Parameters
    ----------
    log_startprob : (K,) or (N, K) tensor
    log_transmat : (K, K) tensor
    log_emission : (N, T, K) or (T, K) tensor
    lengths : (N,) int array-like, optional
    mask : (N, T) bool tensor, optional
    method : {"auto", "sequential", "scan"}

    Returns
    -------
    ViterbiResult
        ``log_prob : (N,)`` and ``states : (N, T)`` int64, -1 at padded steps.
    """
    log_pi, log_A, E, m, squeeze, method = _check_core(
        log_startprob, log_transmat, log_emission, lengths, mask, method
    )
    N, T, K = E.shape
    dev = E.device
    ident = torch.arange(K, device=dev).expand(N, K)
    if method == "scan":
        M = _step_matrices(log_pi, log_A, E, m)
        eye = _log_identity(K, torch.float64, dev)
        M = torch.where(m[:, :, None, None], M, eye)
        delta = _associative_scan(M, _max_matmul)[:, :, 0, :]  # (N, T, K) float64
        # back-pointers bp_t(j) = argmax_i delta_{t-1}(i) + log A_ij for t >= 1
        # (identity on padding)
        bp = (delta[:, :-1].unsqueeze(-1) + log_A.double()).argmax(-2)  # (N, T-1, K)
        bp = torch.where(m[:, 1:, None], bp, ident.unsqueeze(1))
        log_prob, last = _last(delta, m).max(-1)
        states = torch.empty(N, T, dtype=torch.long, device=dev)
        if T > 1:
            # z_t = (bp_{t+1} o bp_{t+2} o ... o bp_{T-1})(z_{T-1}): suffix scan of
            # compositions
            rev = torch.flip(bp, dims=(1,))
            maps = torch.flip(
                _associative_scan(rev, lambda a, b: _compose(b, a)), dims=(1,)
            )
            states[:, :-1] = torch.gather(
                maps, -1, last[:, None, None].expand(N, T - 1, 1)
            ).squeeze(-1)
        states[:, -1] = last
        log_prob = log_prob.to(E.dtype)
    else:
        bp = torch.empty(N, T, K, dtype=torch.long, device=dev)
        d = log_pi + E[:, 0]
        A = log_A.unsqueeze(0)
        for t in range(1, T):
            best, arg = (d.unsqueeze(2) + A).max(1)
            mt = m[:, t, None]
            d = torch.where(mt, best + E[:, t], d)
            bp[:, t] = torch.where(mt, arg, ident)
        log_prob, z = d.max(-1)
        states = torch.empty(N, T, dtype=torch.long, device=dev)
        states[:, -1] = z
        for t in range(T - 1, 0, -1):
            z = torch.gather(bp[:, t], 1, z[:, None]).squeeze(1)
            states[:, t - 1] = z
    states = torch.where(m, states, torch.full_like(states, -1))
    if squeeze:
        return ViterbiResult(log_prob[0], states[0])
    return ViterbiResult(log_prob, states)


# --------------------------------------------------------------------------------------
# Fast E-step for the models: rescaled probability-space forward-backward
# --------------------------------------------------------------------------------------


def _posteriors_scaled(
    log_pi: Tensor, log_A: Tensor, E: Tensor, m: Tensor, per_sequence: bool
) -> Posteriors:
    """Forward-backward with Rabiner's scaling; emissions shifted by their step maximum.

    Time-major buffers keep each step to a few batched kernels (forward: matmul,
    multiply, sum, divide; backward: multiply, matmul). Returns ``xi`` per sequence (N,
    K, K) when ``per_sequence`` else summed over sequences (1, K, K). Sequences on which
    the scaled recursion under- or overflows come back with a NaN ``log_likelihood`` and
    are recomputed in log space by the caller.
    """
    N, T, K = E.shape
    has_pad = not bool(m.all())
    Et = E.transpose(0, 1)  # (T, N, K) view
    shift = _finite_or_zero(Et.amax(-1, keepdim=True))  # (T, N, 1)
    B = torch.exp(Et - shift)  # (T, N, K), contiguous
    mt = m.t().unsqueeze(-1)  # (T, N, 1)
    A = torch.exp(log_A)
    At = A.t().contiguous()
    U = torch.empty_like(B)  # unnormalised alpha-tilde; row t sums to c_t
    a = torch.exp(log_pi) * B[0]
    U[0] = a
    c0 = a.sum(-1, keepdim=True)
    a = a / c0
    tmp = torch.empty(N, K, dtype=E.dtype, device=E.device)
    for t in range(1, T):
        torch.mm(a, A, out=tmp)
        u = torch.mul(tmp, B[t], out=U[t])
        if has_pad:
            # padded step: carry alpha (which sums to one, so c_t = 1)
            u = torch.where(mt[t], u, a)
            U[t] = u
        a = u / u.sum(-1, keepdim=True)
    c = U.sum(-1, keepdim=True)  # (T, N, 1)
    alpha = U / c
    Bc = B / c  # B_t / c_t: beta_{t-1} = A (B_t / c_t * beta_t)
    beta = torch.empty_like(B)
    W = torch.empty_like(B)  # W_t = B_t beta_t / c_t
    beta[T - 1] = 1.0
    b = beta[T - 1]
    W[T - 1] = Bc[T - 1]
    for t in range(T - 2, -1, -1):
        b_new = torch.mm(W[t + 1], At, out=beta[t])
        if has_pad:
            b_new = torch.where(mt[t + 1], b_new, b)
            beta[t] = b_new
        b = b_new
        torch.mul(Bc[t], b, out=W[t])
    ll = torch.log(c) + shift
    if has_pad:
        ll = torch.where(mt, ll, torch.zeros_like(ll))
    ll = ll.sum((0, 2))  # (N,)
    gamma = alpha * beta
    if has_pad:
        gamma = torch.where(mt, gamma, torch.zeros_like(gamma))
        W = torch.where(mt, W, torch.zeros_like(W))
    if T > 1:
        if per_sequence:
            xi = A * torch.bmm(alpha[:-1].permute(1, 2, 0), W[1:].transpose(0, 1))
        else:
            xi = (
                A * torch.mm(alpha[:-1].reshape(-1, K).t(), W[1:].reshape(-1, K))
            ).unsqueeze(0)
    else:
        xi = torch.zeros(N if per_sequence else 1, K, K, dtype=E.dtype, device=E.device)
    gamma = gamma.transpose(0, 1)  # (N, T, K) view
    bad = (
        ~torch.isfinite(ll)
        | ~torch.isfinite(gamma.sum((1, 2)))
        | (c.squeeze(-1) <= 0).any(0)
    )
    ll = torch.where(bad, torch.full_like(ll, math.nan), ll)
    return Posteriors(ll, gamma, xi)


def _model_posteriors(
    log_pi: Tensor, log_A: Tensor, E: Tensor, m: Tensor, *, per_sequence: bool
) -> Posteriors:
    """The models' E-step: the scan for long sequences, else the scaled recursion.

    Sequences on which either under- or overflows are redone in log space.
    """
    N, T, K = E.shape
    long = T >= _SCAN_MIN_T and N * T * K * K <= _SCAN_MAX_ELEMENTS
    if long:
        # per-sequence xi; summed below
        post = _posteriors_prob_scan(log_pi, log_A, E, m)
    else:
        post = _posteriors_scaled(log_pi, log_A, E, m, per_sequence)
    bad = torch.isnan(post.log_likelihood)
    if not bool(bad.any()):
        if long and not per_sequence:
            return Posteriors(
                post.log_likelihood, post.gamma, post.xi.sum(0, keepdim=True)
            )
        return post
    idx = bad.nonzero().squeeze(1)
    fix = _posteriors_log(
        log_pi[idx], log_A, E[idx], m[idx], "scan" if long else "sequential"
    )
    ll, gamma, xi = post.log_likelihood.clone(), post.gamma.clone(), post.xi.clone()
    ll[idx] = fix.log_likelihood
    gamma[idx] = fix.gamma
    if long:
        xi[idx] = fix.xi
        return Posteriors(ll, gamma, xi if per_sequence else xi.sum(0, keepdim=True))
    if per_sequence:
        xi[idx] = fix.xi
    else:
        good = (~bad).nonzero().squeeze(1)
        # recompute the summed counts from the good sequences only, then add the fixed
        # ones
        part = (
            _posteriors_scaled(log_pi[good], log_A, E[good], m[good], False).xi
            if good.numel()
            else 0.0
        )
        xi = part + fix.xi.sum(0, keepdim=True)
    return Posteriors(ll, gamma, xi)


def _prob_step_matrices(
    log_pi: Tensor, log_A: Tensor, E: Tensor, m: Tensor
) -> tuple[Tensor, Tensor]:
    """Probability-space step matrices M_t = A diag(B_t), float64 (identity on padding).

    Emissions are shifted by their per-step maximum, so ``B_t`` has maximum 1; returns
    ``(M, shift)`` with ``shift : (N, T)`` the log-scale removed at each step (0 on
    padding).
    """
    N, T, K = E.shape
    E = E.double()
    shift = _finite_or_zero(E.amax(-1, keepdim=True))
    B = torch.exp(E - shift)  # (N, T, K)
    A = torch.exp(log_A.double())
    M = A * B.unsqueeze(2)  # (N, T, K, K)
    M[:, 0] = (torch.exp(log_pi.double()) * B[:, 0]).unsqueeze(1).expand(N, K, K)
    eye = torch.eye(K, dtype=torch.float64, device=E.device)
    M = torch.where(m[:, :, None, None], M, eye)
    shift = torch.where(m, shift.squeeze(-1), torch.zeros_like(shift.squeeze(-1)))
    return M, shift


def _normalised_matmul(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` divided by its largest entry (per matrix).

    So products of many steps neither under- nor overflow; the discarded scale is not
    needed for posteriors (each step is renormalised).
    """
    c = torch.matmul(a, b)
    mx = c.amax((-2, -1), keepdim=True)
    return c / torch.where(mx > 0, mx, torch.ones_like(mx))


def _log_likelihood_reduce(
    log_pi: Tensor, log_A: Tensor, E: Tensor, m: Tensor
) -> Tensor:
    """log p(x) (N,) by a tree reduction of the step matrices (O(log T) depth, float64).

    The product is kept in probability space with one log-scale per matrix (renormalised
    after each product), which is several times faster than log-semiring products.
    Sequences whose product underflows are redone with log-semiring products.
    """
    M, shift = _prob_step_matrices(log_pi, log_A, E, m)
    log_scale = shift.sum(1)  # (N,)
    while M.shape[1] > 1:
        T = M.shape[1]
        P = torch.matmul(M[:, 0 : T - 1 : 2], M[:, 1::2])
        mx = P.amax((-2, -1), keepdim=True)
        mx = torch.where(mx > 0, mx, torch.ones_like(mx))
        P = P / mx
        log_scale = log_scale + torch.log(mx).sum((1, 2, 3))
        M = torch.cat([P, M[:, T - 1 :]], dim=1) if T % 2 else P
    ll = torch.log(M[:, 0, 0, :].sum(-1)) + log_scale
    bad = ~torch.isfinite(ll)
    if bool(bad.any()):
        idx = bad.nonzero().squeeze(1)
        Ml = _step_matrices(log_pi[idx], log_A, E[idx], m[idx])
        while Ml.shape[1] > 1:
            T = Ml.shape[1]
            P = _log_matmul(Ml[:, 0 : T - 1 : 2], Ml[:, 1::2])
            Ml = torch.cat([P, Ml[:, T - 1 :]], dim=1) if T % 2 else P
        ll[idx] = torch.logsumexp(Ml[:, 0, 0, :], dim=-1)
    return ll


def _log_likelihood_blocked(log_pi: Tensor, log_A: Tensor, E: Tensor) -> Tensor:
    """log p(x) (N,) of unpadded sequences: blockwise products, then a tree over blocks.

    The T - 1 step matrices ``M_t = A diag(B_t)`` are cut into C blocks of L ~ sqrt(T)
    steps; all blocks are multiplied out at once (a loop of L batched products), and the
    C block products are combined by a tree reduction (O(log C) depth). So a
    100,000-step sequence costs ~300 batched operations instead of 100,000 sequential
    ones, and no (T, K, K) tensor is stored. Probability space in float64 with
    per-matrix rescaling every 16 steps; non-finite results are redone by the caller.
    """
    N, T, K = E.shape
    E = E.double()
    shift = _finite_or_zero(E.amax(-1, keepdim=True))
    B = torch.exp(E - shift)  # (N, T, K), max 1 per step
    log_scale = shift.sum((1, 2))
    A = torch.exp(log_A.double())
    alpha = torch.exp(log_pi.double()) * B[:, 0]
    R = T - 1
    if R > 0:
        L = max(1, int(math.isqrt(R)))
        C = -(-R // L)
        pad = C * L - R
        Bs = B[:, 1:]
        if pad:
            Bs = torch.cat(
                [Bs, torch.ones(N, pad, K, dtype=Bs.dtype, device=Bs.device)], dim=1
            )
            valid = (torch.arange(C * L, device=E.device) < R).reshape(C, L)
        Bs = Bs.reshape(N, C, L, K)
        P = A * Bs[:, :, 0].unsqueeze(-2)  # (N, C, K, K)
        for step in range(1, L):
            P_new = torch.matmul(P, A).mul_(Bs[:, :, step].unsqueeze(-2))
            if pad and step >= L - pad:
                P_new = torch.where(valid[:, step, None, None], P_new, P)
            P = P_new
            if step % 16 == 0:
                mx = P.amax((-2, -1), keepdim=True)
                mx = torch.where(mx > 0, mx, torch.ones_like(mx))
                P = P / mx
                log_scale = log_scale + torch.log(mx).sum((1, 2, 3))
        while P.shape[1] > 1:
            c = P.shape[1]
            Q = torch.matmul(P[:, 0 : c - 1 : 2], P[:, 1::2])
            mx = Q.amax((-2, -1), keepdim=True)
            mx = torch.where(mx > 0, mx, torch.ones_like(mx))
            Q = Q / mx
            log_scale = log_scale + torch.log(mx).sum((1, 2, 3))
            P = torch.cat([Q, P[:, c - 1 :]], dim=1) if c % 2 else Q
        alpha = (alpha.unsqueeze(1) @ P[:, 0]).squeeze(1)
    return torch.log(alpha.sum(-1)) + log_scale


def _posteriors_prob_scan(
    log_pi: Tensor, log_A: Tensor, E: Tensor, m: Tensor
) -> Posteriors:
    """Posteriors by parallel prefix/suffix scans of renormalised probability products.

    Only the directions of the messages are kept (each prefix or suffix product is
    divided by its largest entry); gamma and xi are renormalised per step, and the
    log-likelihood comes from :func:`_log_likelihood_reduce`. Sequences whose messages
    underflow get a NaN log-likelihood and are redone in log space by the caller.
    """
    N, T, K = E.shape
    dtype = E.dtype
    M, _ = _prob_step_matrices(log_pi, log_A, E, m)
    alpha = _associative_scan(M, _normalised_matmul)[
        :, :, 0, :
    ]  # (N, T, K), direction of alpha_t
    alpha = alpha / alpha.sum(-1, keepdim=True)
    beta = torch.ones(N, T, K, dtype=torch.float64, device=E.device)
    if T > 1:
        rev = torch.flip(M[:, 1:], dims=(1,))
        suffix = torch.flip(
            _associative_scan(rev, lambda a, b: _normalised_matmul(b, a)), dims=(1,)
        )
        beta[:, :-1] = suffix.sum(-1)
    beta = beta / beta.amax(-1, keepdim=True)
    g = alpha * beta
    gamma = g / g.sum(-1, keepdim=True)
    gamma = torch.where(m[:, :, None], gamma, torch.zeros_like(gamma))
    A = torch.exp(log_A.double())
    if T > 1:
        shiftE = E[:, 1:].double()
        Bn = torch.exp(shiftE - _finite_or_zero(shiftE.amax(-1, keepdim=True)))
        v = Bn * beta[:, 1:]  # (N, T-1, K)
        z = ((alpha[:, :-1] @ A) * v).sum(-1, keepdim=True)  # normaliser of xi_t
        v = v / torch.where(z > 0, z, torch.ones_like(z))
        v = torch.where(m[:, 1:, None], v, torch.zeros_like(v))
        xi = A * torch.bmm(alpha[:, :-1].transpose(1, 2), v)
    else:
        xi = torch.zeros(N, K, K, dtype=torch.float64, device=E.device)
    ll = _log_likelihood_reduce(log_pi, log_A, E, m)
    bad = (
        ~torch.isfinite(gamma).all(2).all(1)
        | ~torch.isfinite(xi).all(2).all(1)
        | ~torch.isfinite(ll)
    )
    ll = torch.where(bad, torch.full_like(ll, math.nan), ll)
    return Posteriors(ll.to(dtype), gamma.to(dtype), xi.to(dtype))


# --------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------


class _Layout(NamedTuple):
    """How concatenated samples (M, ...) map to a padded (N, T, ...) batch."""

    seq: Tensor  # (M,) sequence index of each sample
    pos: Tensor  # (M,) time index of each sample
    mask: Tensor  # (N, T) bool
    lengths: Tensor  # (N,) int64
    starts: Tensor  # (N,) index of each sequence's first sample


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
    L = L.to(device)
    N, T = L.numel(), int(L.max())
    starts = torch.cumsum(L, 0) - L
    seq = torch.repeat_interleave(torch.arange(N, device=device), L)
    pos = torch.arange(n_samples, device=device) - starts[seq]
    mask = torch.arange(T, device=device) < L[:, None]
    return _Layout(seq, pos, mask, L, starts)


def _pad(x: Tensor, lay: _Layout, fill: float = 0.0) -> Tensor:
    N, T = lay.mask.shape
    out = torch.full((N, T) + tuple(x.shape[1:]), fill, dtype=x.dtype, device=x.device)
    out[lay.seq, lay.pos] = x
    return out


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


class ConvergenceMonitor:
    """Record of one Baum-Welch run, ``monitor_`` (hmmlearn's ``ConvergenceMonitor``).

    Parameters
    ----------
    tol : float
        The convergence threshold on the gain in log-likelihood per iteration.
    n_iter : int
        The maximum number of iterations.
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
        self.tol = tol
        self.n_iter = n_iter
        self.verbose = verbose
        self.history: list[float] = []
        self.iter = 0
        self.converged = False

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
        if self.verbose:
            delta = log_prob - self.history[-1] if self.history else math.nan
            print(
                f"iteration {self.iter + 1:3d}  log-likelihood {log_prob:.6f}  change "
                f"{delta:+.6f}"
            )
        self.converged = bool(self.history) and log_prob - self.history[-1] < self.tol
        self.history.append(log_prob)
        self.iter += 1
        return self.converged


class _BaseHMM(BaseEstimator):
    """Shared machinery: validation, E-step, Baum-Welch, scoring, decoding and sampling.

    Subclasses implement the emission model through ``_check_emissions`` (validated
    emission parameters as a tuple of tensors), ``_log_emission``, ``_init_emissions``,
    ``_m_step_emissions``, ``_sample_emissions`` and ``_n_fit_scalars_per_param``.
    """

    _param_letters = "st"

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

    def _check_emissions(
        self, dtype: torch.dtype, device: torch.device
    ) -> tuple[Tensor, ...]:  # pragma: no cover
        raise NotImplementedError

    def _log_emission(
        self, X: Tensor, em: tuple[Tensor, ...]
    ) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _init_emissions(
        self, X: Tensor, g: torch.Generator, letters: str, dtype: torch.dtype
    ) -> None:  # pragma: no cover
        raise NotImplementedError

    def _m_step_emissions(
        self, X: Tensor, gamma: Tensor, letters: str, em: tuple[Tensor, ...]
    ) -> None:  # pragma: no cover
        raise NotImplementedError

    def _sample_emissions(
        self, states: Tensor, g: torch.Generator, em: tuple[Tensor, ...]
    ) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    def _n_fit_scalars_per_param(self) -> dict[str, int]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _set_n_features(
        self, X: Tensor, todo: str
    ) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _fit_dtype(
        self, X: Tensor, ns: Namespace, todo: str
    ) -> torch.dtype:  # pragma: no cover - abstract
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

    def _checked_dtype(self) -> torch.dtype | None:
        if self.dtype is not None and self.dtype not in (torch.float32, torch.float64):
            raise ValueError(
                "dtype must be None, torch.float32 or torch.float64; got "
                f"{self.dtype!r}"
            )
        return self.dtype

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
        dtype = self._checked_dtype() or self._params_dtype() or torch.float32
        if dev is None:
            return Namespace("numpy", torch.device("cpu"), dtype)
        return Namespace("torch", dev, dtype)

    def _score_dtype(self, X: Tensor) -> torch.dtype:
        """float64 if asked for, or if the parameters or a float input are float64."""
        dtype = self._checked_dtype()
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

    def _check_params(
        self, dtype: torch.dtype, device: torch.device
    ) -> tuple[Tensor, Tensor, tuple[Tensor, ...]]:
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
                        stacklevel=3,
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

    def _score_prep(
        self, X: Any, lengths: Any
    ) -> tuple[Namespace, _Layout, Tensor, Tensor, Tensor]:
        self._check_fitted()
        X, ns, lay = self._prepare(X, lengths)
        pi, A, em = self._check_params(self._score_dtype(X), X.device)
        E = _pad(self._log_emission(X, em), lay, 0.0)
        N = lay.mask.shape[0]
        return ns, lay, torch.log(pi).expand(N, -1), torch.log(A), E

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
        K = check_int(self.n_components, "n_components", minimum=1)
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
        tol = float(self.tol)
        params, init_params = (
            self._letters(self.params),
            self._letters(self.init_params),
        )
        self._checked_dtype()
        X, ns, lay = self._prepare(X, lengths)
        if X.shape[0] < K:
            raise ValueError(
                f"n_components must be <= n_samples; got {K} states for {X.shape[0]} "
                "samples"
            )
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
        monitor = ConvergenceMonitor(tol, n_iter, bool(self.verbose))
        for _ in range(n_iter):
            pi, A, em = self._check_params(dtype, dev)
            E = _pad(self._log_emission(X, em), lay, 0.0)
            post = _model_posteriors(
                torch.log(pi).expand(lay.mask.shape[0], K),
                torch.log(A),
                E,
                lay.mask,
                per_sequence=False,
            )
            if monitor.report(float(post.log_likelihood.sum())):
                # the parameters stay those whose log-likelihood was recorded last
                break
            gamma_flat = post.gamma[lay.seq, lay.pos]  # (M, K)
            if "s" in params:
                start = post.gamma[:, 0].sum(0)
                self.startprob_ = start / start.sum()
            if "t" in params:
                counts = post.xi[0]
                rows = counts.sum(1, keepdim=True)
                keep = rows <= 0
                self.transmat_ = torch.where(
                    keep, A, counts / torch.where(keep, torch.ones_like(rows), rows)
                )
            self._m_step_emissions(X, gamma_flat, params, em)
        # fitted attributes in the caller's array type; remember them to tell them from
        # values set by hand
        out = Namespace(ns.kind, ns.device, dtype)
        fitted = {}
        for ch in self._param_letters:
            attr = _ATTRS[ch]
            value = getattr(self, attr)
            if not isinstance(value, Tensor):
                value = as_tensor(value, name=attr, dtype=dtype, device=dev)
            fitted[attr] = from_torch(value.to(dtype), out)
            setattr(self, attr, fitted[attr])
        self._fitted_values = fitted
        self.monitor_ = monitor
        self.history_ = list(monitor.history)
        self.converged_ = monitor.converged
        self.n_iter_ = monitor.iter
        if tol >= 0 and not monitor.converged:
            h = monitor.history
            gain = (
                f"the last gain in log-likelihood was {h[-1] - h[-2]:.3g}"
                if len(h) > 1
                else "one iteration measures no gain"
            )
            warnings.warn(
                f"{type(self).__name__} did not converge in n_iter={n_iter} "
                f"iterations ({gain}, tol={tol}); "
                "raise n_iter, or pass a negative tol to run exactly n_iter iterations",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def score(self, X: Any, lengths: Any = None) -> float:
        """Total log-likelihood :math:`\\sum_n \\log p(x^{(n)})` of the sequences.

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
        _, lay, log_pi, log_A, E = self._score_prep(X, lengths)
        N, T, K = E.shape
        if T >= _SCAN_MIN_T:
            if bool(lay.mask.all()):
                ll = _log_likelihood_blocked(log_pi, log_A, E)
                if bool(torch.isfinite(ll).all()):
                    return float(ll.sum())
            if N * T * K * K <= _SCAN_MAX_ELEMENTS:
                return float(_log_likelihood_reduce(log_pi, log_A, E, lay.mask).sum())
        return float(
            _model_posteriors(
                log_pi, log_A, E, lay.mask, per_sequence=False
            ).log_likelihood.sum()
        )

    def aic(self, X: Any, lengths: Any = None) -> float:
        """Akaike's information criterion :math:`-2 \\log p(x) + 2 p` (lower is better).

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

        :math:`\\mathrm{BIC} = -2 \\log p(x) + p \\log M`.

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
            :math:`\\gamma_t(k) = p(z_t = k \\mid x)` for every sample, in the order of
            ``X`` and in its array type.
        """
        ns, lay, log_pi, log_A, E = self._score_prep(X, lengths)
        post = _model_posteriors(log_pi, log_A, E, lay.mask, per_sequence=False)
        return float(post.log_likelihood.sum()), from_torch(
            post.gamma[lay.seq, lay.pos], ns
        )

    def predict_proba(self, X: Any, lengths: Any = None) -> Any:
        """State posteriors :math:`\\gamma_t(k)`.

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
            :math:`\\log p(x, z^*)`; ``"map"``: the most probable state at each step
            (posterior decoding) and :math:`\\sum_t \\log \\max_k \\gamma_t(k)`, the
            log-probability that every step's state is right under the posterior
            marginals. hmmlearn returns the sum of the probabilities :math:`\\sum_t
            \\max_k \\gamma_t(k)` instead, which is not a log-probability.

        Returns
        -------
        log_prob : float
        states : (M,) int64 array or tensor
            In the array type of ``X``.
        """
        check_choice(algorithm, "algorithm", ("viterbi", "map"))
        ns, lay, log_pi, log_A, E = self._score_prep(X, lengths)
        if algorithm == "map":
            post = _model_posteriors(log_pi, log_A, E, lay.mask, per_sequence=False)
            best, states = post.gamma[lay.seq, lay.pos].max(-1)
            return float(torch.log(best).sum()), from_torch(states, ns)
        res = viterbi(log_pi, log_A, E, mask=lay.mask)
        return float(res.log_prob.sum()), from_torch(res.states[lay.seq, lay.pos], ns)

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

        :math:`\\pi_\\infty` with :math:`\\pi_\\infty A = \\pi_\\infty`: the left
        eigenvector of ``transmat_`` for its largest eigenvalue (1), normalised to sum
        to one, as hmmlearn computes it. A chain with several closed classes has
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
        self, n_samples: int = 1, random_state: Any = None, currstate: int | None = None
    ) -> tuple[Any, Any]:
        """Draw one sequence from the model.

        Parameters
        ----------
        n_samples : int
            Its length T.
        random_state : int, np.random.RandomState, torch.Generator or None
            Seed or generator (default: ``self.random_state``).
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
        Number of hidden states K.
    n_features : int, optional
        Number of symbols F. When None, ``fit`` sets it (to the number of columns of an
        ``emissionprob_`` it keeps, else to ``max(X) + 1``), as hmmlearn does.
    n_iter : int
        Maximum number of Baum-Welch iterations.
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
    random_state : int, np.random.RandomState, torch.Generator or None
        Seed or generator of the initialisation and of ``sample``; None follows
        ``statlearn.seed_everything``.
    device : torch.device or str, optional
        Where to compute (default: the input's device; the CPU for NumPy input).
    dtype : torch.dtype, optional
        ``torch.float32`` or ``torch.float64``. By default parameters set by hand decide
        (float64 unless all are float32), else the input: float64 for NumPy input and
        float32 for integer tensors, following :func:`statlearn._arrays.to_torch`.
    verbose : bool
        Print the log-likelihood of each iteration.

    Attributes
    ----------
    startprob_ : (K,) array or tensor
        Start distribution :math:`\\pi`.
    transmat_ : (K, K) array or tensor
        Transition matrix :math:`A`, rows indexed by the previous state.
    emissionprob_ : (K, F) array or tensor
        Emission matrix :math:`B_{ik} = p(x_t = k \\mid z_t = i)`.
    monitor_ : ConvergenceMonitor
        ``history``, ``iter`` and ``converged`` of the last fit.
    history_ : list of float
        Total log-likelihood at each iteration (computed in the E-step, before the
        M-step).
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
        t, ns = to_torch(X, dtype=torch.float64, device=self.device)
        if not bool(torch.isfinite(t).all()):
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
        return self._checked_dtype() or self._params_dtype(kept) or ns.dtype

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

    def _log_emission(self, X: Tensor, em: tuple[Tensor, ...]) -> Tensor:
        (B,) = em
        if int(X.max()) >= B.shape[1]:
            raise ValueError(
                f"X must hold symbols in [0, {B.shape[1]}); got a maximum of "
                f"{int(X.max())}"
            )
        return torch.log(B).t()[X]  # (M, K)

    def _m_step_emissions(
        self, X: Tensor, gamma: Tensor, letters: str, em: tuple[Tensor, ...]
    ) -> None:
        if "e" not in letters:
            return
        (old,) = em
        counts = torch.zeros_like(old).index_add_(1, X, gamma.t())
        rows = counts.sum(1, keepdim=True)
        keep = rows <= 0
        self.emissionprob_ = torch.where(
            keep, old, counts / torch.where(keep, torch.ones_like(rows), rows)
        )

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
        Number of hidden states K.
    covariance_type : {"diag", "full"}
        Diagonal or full covariance per state.
    min_covar : float
        Floor on the diagonal of the covariances after each M-step (a full covariance
        that is not positive definite also gets ``min_covar * I`` added); also added to
        the data covariance at initialisation, as hmmlearn does.
    covars_prior : float
        hmmlearn's conjugate-prior term added to the numerator of the covariance update.
    covars_weight : float
        hmmlearn's conjugate-prior weight in the denominator of the covariance update.
    n_iter : int
        Maximum number of Baum-Welch iterations.
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
    random_state : int, np.random.RandomState, torch.Generator or None
        Seed or generator of the initialisation and of ``sample``; None follows
        ``statlearn.seed_everything``.
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
        Start distribution :math:`\\pi`.
    transmat_ : (K, K) array or tensor
        Transition matrix :math:`A`.
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
    Means are initialised by k-means (:class:`statlearn.latent.mixture.KMeans`,
    two k-means++ seedings on at most 10,000 randomly chosen samples), covariances by
    the data covariance, the start distribution uniformly and the transition rows
    near-uniformly (uniform plus a 10% random perturbation). Fitted attributes are NumPy
    arrays when ``fit`` got NumPy input and tensors when it got a tensor; inputs that
    carry gradients are detached.
    """

    _param_letters = "stmc"

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
        t, ns = to_torch(X, dtype=self._checked_dtype(), device=self.device)
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

    def _fit_dtype(self, X: Tensor, ns: Namespace, todo: str) -> torch.dtype:
        return self._checked_dtype() or X.dtype

    def _init_emissions(
        self, X: Tensor, g: torch.Generator, letters: str, dtype: torch.dtype
    ) -> None:
        from statlearn.latent.mixture import KMeans

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
            km = KMeans(K, n_init=2, max_iter=100, random_state=seed).fit(sub)
            self.means_ = torch.as_tensor(km.cluster_centers_).to(
                dtype=dtype, device=X.device
            )
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

    def _log_emission(self, X: Tensor, em: tuple[Tensor, ...]) -> Tensor:
        mu, c = em
        D = X.shape[1]
        if D != mu.shape[1]:
            raise ValueError(
                f"X has {D} features, but GaussianHMM is expecting {mu.shape[1]} "
                "features as input (the columns of means_)"
            )
        X = X.to(mu.dtype)
        if self.covariance_type == "diag":
            prec = 1.0 / c
            lp = (
                D * math.log(2 * math.pi)
                + torch.log(c).sum(1)
                + (mu * mu * prec).sum(1)
                - 2.0 * X @ (mu * prec).t()
                + (X * X) @ prec.t()
            )
            return -0.5 * lp
        L = torch.linalg.cholesky(c)  # (K, D, D)
        diff = X.unsqueeze(0) - mu.unsqueeze(1)  # (K, M, D)
        # (K, D, M)
        sol = torch.linalg.solve_triangular(L, diff.transpose(1, 2), upper=False)
        logdet = 2.0 * torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1)
        return (
            -0.5
            * (D * math.log(2 * math.pi) + logdet[:, None] + (sol * sol).sum(1)).t()
        )

    def _m_step_emissions(
        self, X: Tensor, gamma: Tensor, letters: str, em: tuple[Tensor, ...]
    ) -> None:
        mu_old, c_old = em
        X = X.to(mu_old.dtype)
        post = gamma.sum(0)  # (K,)
        visited = post > 1e-10
        denom = post.clamp_min(1e-10)[:, None]
        obs = gamma.t() @ X  # (K, D)
        mu = (
            torch.where(visited[:, None], obs / denom, mu_old)
            if "m" in letters
            else mu_old
        )
        self.means_ = mu
        if "c" not in letters:
            return
        min_covar = float(self.min_covar)
        prior, weight = float(self.covars_prior), float(self.covars_weight)
        D = X.shape[1]
        if self.covariance_type == "diag":
            obs2 = gamma.t() @ (X * X)
            c_n = obs2 - 2 * mu * obs + mu * mu * post[:, None]
            c_d = max(weight - 1, 0) + post[:, None]
            cov = ((prior + c_n) / c_d.clamp_min(1e-5)).clamp_min(min_covar)
            self._covars_ = torch.where(visited[:, None], cov, c_old)
        else:
            diff = X.unsqueeze(0) - mu.unsqueeze(1)  # (K, M, D)
            c_n = torch.einsum("mk,kmd,kme->kde", gamma, diff, diff)
            c_d = max(weight - D, 0) + post[:, None, None]
            eye = torch.eye(D, dtype=X.dtype, device=X.device)
            # hmmlearn adds a scalar prior to every entry
            cov = (prior + c_n) / c_d.clamp_min(1e-5)
            cov = 0.5 * (cov + cov.transpose(-1, -2))
            diag = cov.diagonal(dim1=-2, dim2=-1)
            # floor the diagonal
            cov = cov + torch.diag_embed((min_covar - diag).clamp_min(0))
            _, info = torch.linalg.cholesky_ex(cov)
            # degenerate state
            cov = torch.where((info > 0)[:, None, None], cov + min_covar * eye, cov)
            self._covars_ = torch.where(visited[:, None, None], cov, c_old)

    def _sample_emissions(
        self, states: Tensor, g: torch.Generator, em: tuple[Tensor, ...]
    ) -> Tensor:
        mu, c = em[0].double().cpu(), em[1].double().cpu()
        T, D = states.shape[0], mu.shape[1]
        eps = torch.randn(T, D, generator=g, dtype=torch.float64)
        if self.covariance_type == "diag":
            x = mu[states] + eps * c[states].sqrt()
        else:
            L = torch.linalg.cholesky(c)
            x = mu[states] + (L[states] @ eps.unsqueeze(-1)).squeeze(-1)
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
