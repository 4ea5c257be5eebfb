"""Inference in a hidden Markov model, in log space (chapter 2).

What chapter 2 teaches, in its order: the forward recursion for the messages
``log alpha_t(i) = log p(x_{1:t}, z_t = i)``, the backward recursion for
``log beta_t(i) = log p(x_{t+1:T} | z_t = i)``, the posteriors ``gamma_t(i)`` and
``xi_t(i, j)`` they give (Baum et al., 1970; tutorial: Rabiner, 1989), the Viterbi path
(Viterbi, 1967), and the parallel scan over time that computes the same messages in
O(log T) depth (Sarkka and Garcia-Fernandez, 2021). The chapter writes the two
messages with symbols of its own (alpha and beta have other jobs in the book); the code
keeps Rabiner's names, as in ``log_alpha``.

Every function works on a padded batch of sequences: ``log_emission : (N, T, K)`` holds
``log p(x_t | z_t = k)``, and a left-aligned ``mask : (N, T)`` (or ``lengths``) says
which steps are real. Pairwise marginals come back summed over time,
``xi : (N, K, K)``; no ``(N, T, K, K)`` tensor of them is ever built.

The public functions (``__all__``) validate their input once and call the cores below
them (``forward_messages``, ``backward_messages``, ``posterior_marginals``,
``viterbi_path``), which trust a checked batch: ``log_pi : (N, K)``, ``log_A : (K, K)``,
``E : (N, T, K)`` and a bool ``mask : (N, T)``. The models of
:mod:`statlearn.latent.hmm.models` call the cores directly; for speed their E-step uses
the rescaled probability-space paths of ``statlearn.latent.hmm._fast``, which compute
the same numbers.
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np
import torch
from torch import Tensor

from statlearn._checks import as_tensor, check_choice

__all__ = [
    "forward",
    "backward",
    "posteriors",
    "viterbi",
    "ForwardResult",
    "Posteriors",
    "ViterbiResult",
]

METHODS = ("auto", "sequential", "scan")
# method="auto" uses the scan from this many time steps on, when the (N, T, K, K) scan
# buffers have at most SCAN_MAX_ELEMENTS entries.
SCAN_MIN_T = 1024
SCAN_MAX_ELEMENTS = 2**26


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------


class ForwardResult(NamedTuple):
    """Result of :func:`forward`.

    Attributes
    ----------
    log_likelihood : (N,) tensor
        ``log p(x_{1:T_n})`` of each sequence.
    log_alpha : (N, T, K) tensor
        Forward messages ``log alpha_t(i) = log p(x_{1:t}, z_t = i)``; 0 at
        padded steps.
    """

    log_likelihood: Tensor
    log_alpha: Tensor


class Posteriors(NamedTuple):
    """Result of :func:`posteriors`.

    Attributes
    ----------
    log_likelihood : (N,) tensor
        ``log p(x_{1:T_n})`` of each sequence.
    gamma : (N, T, K) tensor
        State marginals ``gamma_t(i) = p(z_t = i | x_{1:T})``; 0 at padded
        steps.
    xi : (N, K, K) tensor
        Pairwise marginals summed over time, ``sum_{t >= 2} xi_t(i, j)``, the
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
        ``max_z log p(x_{1:T}, z_{1:T})`` of each sequence.
    states : (N, T) int64 tensor
        The most probable state path; -1 at padded steps.
    """

    log_prob: Tensor
    states: Tensor


# --------------------------------------------------------------------------------------
# The forward and backward recursions, one time step at a time
# --------------------------------------------------------------------------------------


def _forward_recursion(log_pi: Tensor, log_A: Tensor, E: Tensor, m: Tensor) -> Tensor:
    """log alpha (N, T, K): ``log alpha_t(j) = E_t(j) + logsumexp_i(log alpha_{t-1}(i)
    + log A_ij)``; a padded step carries the last message on."""
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


def _backward_recursion(log_A: Tensor, E: Tensor, m: Tensor) -> Tensor:
    """log beta (N, T, K): ``log beta_t(i) = logsumexp_j(log A_ij + E_{t+1}(j) +
    log beta_{t+1}(j))``, 0 at the last step."""
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


# --------------------------------------------------------------------------------------
# The scan: the same messages as prefix products of K x K matrices, O(log T) depth
# --------------------------------------------------------------------------------------


def finite_or_zero(x: Tensor) -> Tensor:
    """``x`` with every non-finite entry replaced by 0 (a shift that is never -inf)."""
    return torch.where(
        torch.isfinite(x), x, torch.zeros((), dtype=x.dtype, device=x.device)
    )


def log_matmul(a: Tensor, b: Tensor) -> Tensor:
    """Log-semiring product ``c[i, j] = logsumexp_k a[i, k] + b[k, j]`` (..., K, K).

    Rows of ``a`` and columns of ``b`` are shifted by their maxima, exponentiated and
    multiplied with ``matmul``; an all ``-inf`` row or column gives ``-inf``, never NaN.
    """
    sa = finite_or_zero(a.amax(-1, keepdim=True))
    sb = finite_or_zero(b.amax(-2, keepdim=True))
    return torch.matmul(torch.exp(a - sa), torch.exp(b - sb)).log() + sa + sb


def _max_matmul(a: Tensor, b: Tensor) -> Tensor:
    """Max-plus product ``c[i, j] = max_k a[i, k] + b[k, j]``, batched (..., K, K)."""
    return (a.unsqueeze(-1) + b.unsqueeze(-3)).amax(-2)


def _compose(f: Tensor, g: Tensor) -> Tensor:
    """Composition ``(f then g)`` of (..., K) int64 index maps: ``out[j] = f[g[j]]``."""
    return torch.gather(f, -1, g)


def associative_scan(x: Tensor, op: Callable[[Tensor, Tensor], Tensor]) -> Tensor:
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
    sub = associative_scan(pairs, op)  # prefixes ending at odd positions 1, 3, 5, ...
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


def step_matrices(log_pi: Tensor, log_A: Tensor, E: Tensor, m: Tensor) -> Tensor:
    """(N, T, K, K) float64 log matrices ``M_t = log A + log B_t``.

    Row-constant start at t = 0, identity on padding; ``log alpha_t`` is row 0 of the
    prefix product ``M_0 M_1 ... M_t``.
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
    M = step_matrices(log_pi, log_A, E, m)
    return associative_scan(M, log_matmul)[:, :, 0, :]


def _backward_scan(log_A: Tensor, E: Tensor, m: Tensor) -> Tensor:
    """log beta (N, T, K) in float64 by a parallel suffix scan."""
    N, T, K = E.shape
    out = torch.zeros(N, T, K, dtype=torch.float64, device=E.device)
    if T == 1:
        return out
    # unused row 0 is sliced off below
    log_pi = torch.zeros(N, K, dtype=E.dtype, device=E.device)
    M = step_matrices(log_pi, log_A, E, m)[:, 1:]
    rev = torch.flip(M, dims=(1,))
    suffix = torch.flip(associative_scan(rev, lambda a, b: log_matmul(b, a)), dims=(1,))
    out[:, :-1] = torch.logsumexp(suffix, dim=-1)
    return out


# --------------------------------------------------------------------------------------
# The cores: messages, posteriors and the Viterbi path of a checked batch
# --------------------------------------------------------------------------------------


def choose_method(method: str, N: int, T: int, K: int) -> str:
    """``"auto"`` resolved: the scan for long sequences whose buffers fit."""
    if method != "auto":
        return method
    long = T >= SCAN_MIN_T and N * T * K * K <= SCAN_MAX_ELEMENTS
    return "scan" if long else "sequential"


def _last(x: Tensor, m: Tensor) -> Tensor:
    """x[n, lengths[n] - 1] for (N, T, K) x."""
    idx = (m.sum(1) - 1).clamp_min(0)
    return x[torch.arange(x.shape[0], device=x.device), idx]


def forward_messages(
    log_pi: Tensor, log_A: Tensor, E: Tensor, m: Tensor, method: str
) -> ForwardResult:
    """The core of :func:`forward` on a checked batch (``method`` not "auto")."""
    la = (
        _forward_scan(log_pi, log_A, E, m).to(E.dtype)
        if method == "scan"
        else _forward_recursion(log_pi, log_A, E, m)
    )
    # torch's logsumexp gives -inf (not NaN) when every entry is -inf
    ll = torch.logsumexp(_last(la, m), dim=-1)
    la = torch.where(m[:, :, None], la, torch.zeros_like(la))
    return ForwardResult(ll, la)


def backward_messages(log_A: Tensor, E: Tensor, m: Tensor, method: str) -> Tensor:
    """The core of :func:`backward` on a checked batch (``method`` not "auto")."""
    lb = (
        _backward_scan(log_A, E, m).to(E.dtype)
        if method == "scan"
        else _backward_recursion(log_A, E, m)
    )
    return torch.where(m[:, :, None], lb, torch.zeros_like(lb))


def posterior_marginals(
    log_pi: Tensor, log_A: Tensor, E: Tensor, m: Tensor, method: str
) -> Posteriors:
    """The core of :func:`posteriors` on a checked batch (``method`` not "auto").

    ``gamma_t(i) = alpha_t(i) beta_t(i) / p(x)`` and ``xi_t(i, j) = alpha_{t-1}(i) A_ij
    B_t(j) beta_t(j) / p(x)`` summed over t, with the messages in float64.
    """
    dtype = E.dtype
    if method == "scan":
        la = _forward_scan(log_pi, log_A, E, m)
        lb = _backward_scan(log_A, E, m)
    else:
        la = _forward_recursion(log_pi, log_A, E, m).double()
        lb = _backward_recursion(log_A, E, m).double()
    ll = torch.logsumexp(_last(la, m), dim=-1)  # (N,)
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
        s = finite_or_zero(left.amax(-1, keepdim=True))
        u = torch.exp(left - s)
        v = torch.exp(E[:, 1:].double() + lb[:, 1:] + s - ll_f[:, None, None])
        v = torch.where(mm[:, 1:, None], v, torch.zeros_like(v))
        xi = torch.exp(log_A.double()) * torch.bmm(u.transpose(1, 2), v)
    else:
        xi = torch.zeros(N, K, K, dtype=torch.float64, device=E.device)
    xi = torch.where(torch.isfinite(xi), xi, torch.zeros_like(xi))
    return Posteriors(ll.to(dtype), gamma.to(dtype), xi.to(dtype))


def viterbi_path(
    log_pi: Tensor, log_A: Tensor, E: Tensor, m: Tensor, method: str
) -> ViterbiResult:
    """The core of :func:`viterbi` on a checked batch (``method`` not "auto")."""
    N, T, K = E.shape
    dev = E.device
    ident = torch.arange(K, device=dev).expand(N, K)
    if method == "scan":
        M = step_matrices(log_pi, log_A, E, m)
        delta = associative_scan(M, _max_matmul)[:, :, 0, :]  # (N, T, K) float64
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
                associative_scan(rev, lambda a, b: _compose(b, a)), dims=(1,)
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
    return ViterbiResult(log_prob, states)


# --------------------------------------------------------------------------------------
# Public functions: validate once, then call the cores
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
        ``log pi``; ``exp`` of each row sums to 1.
    log_transmat : (K, K) tensor
        ``log A``, rows indexed by the previous state; ``exp`` of each row sums to 1
        (or to 0, for a state that no path may reach).
    log_emission : (N, T, K) or (T, K) tensor
        ``log p(x_t | z_t = k)``, padded after each sequence's end.
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
    log_pi, log_A, E, m, squeeze, method = _check_inputs(
        log_startprob, log_transmat, log_emission, lengths, mask, method
    )
    res = forward_messages(log_pi, log_A, E, m, method)
    return ForwardResult(res.log_likelihood[0], res.log_alpha[0]) if squeeze else res


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
        ``log A``.
    log_emission : (N, T, K) or (T, K) tensor
        ``log p(x_t | z_t = k)``, padded after each sequence's end.
    lengths : (N,) int array-like, optional
    mask : (N, T) bool tensor, optional
    method : {"auto", "sequential", "scan"}

    Returns
    -------
    log_beta : (N, T, K) tensor
        ``log beta_t(i) = log p(x_{t+1:T} | z_t = i)``; 0 at the last step
        and at padded steps.
    """
    _, log_A, E, m, squeeze, method = _check_inputs(
        None, log_transmat, log_emission, lengths, mask, method, need_start=False
    )
    lb = backward_messages(log_A, E, m, method)
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
    log_pi, log_A, E, m, squeeze, method = _check_inputs(
        log_startprob, log_transmat, log_emission, lengths, mask, method
    )
    post = posterior_marginals(log_pi, log_A, E, m, method)
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
    log_pi, log_A, E, m, squeeze, method = _check_inputs(
        log_startprob, log_transmat, log_emission, lengths, mask, method
    )
    res = viterbi_path(log_pi, log_A, E, m, method)
    return ViterbiResult(res.log_prob[0], res.states[0]) if squeeze else res


# --------------------------------------------------------------------------------------
# Validation of the public functions' inputs
# --------------------------------------------------------------------------------------


def _check_inputs(
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

    Returns (log_pi (N, K), log_A, E (N, T, K), mask (N, T), squeeze, method), with
    ``method`` resolved (never "auto").
    """
    check_choice(method, "method", METHODS)
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
    _check_normalised(log_A, "log_transmat", "row", allow_zero=True)
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
        _check_normalised(log_pi.reshape(-1, K), "log_startprob", "row")
        log_pi = log_pi.expand(N, K)
    m = _mask_from(lengths, mask, N, T, dev)
    return log_pi, log_A, E, m, squeeze, choose_method(method, N, T, K)


# how far ``logsumexp`` of a distribution's log-probabilities may be from 0: loose
# enough for float32 rounding, tight enough to catch unnormalised weights
_NORMALISED_TOL = 1e-4


def _check_normalised(
    logp: Tensor, name: str, what: str, *, allow_zero: bool = False
) -> None:
    """Each row of ``exp(logp)`` sums to 1 (or to 0, a state never left, when
    ``allow_zero``): otherwise the recursions run and return a wrong likelihood."""
    lse = torch.logsumexp(logp, dim=-1)
    bad = (lse.abs() > _NORMALISED_TOL) & ~(allow_zero & torch.isneginf(lse))
    if bool(bad.any()):
        i = int(torch.nonzero(bad)[0])
        raise ValueError(
            f"{name} must hold log-probabilities: exp({name}) must sum to 1 over "
            f"each {what}; {what} {i} sums to {float(lse[i].exp()):.6g}"
        )


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
