"""Speed paths of the hidden Markov models' E-step and scoring (chapter 2).

Not part of what chapter 2 teaches: these functions compute exactly what the log-space
functions of :mod:`statlearn.latent.hmm.inference` compute (``posteriors`` and the
log-likelihood of ``forward``), only faster, and tests check that they agree to
rounding error. The models of :mod:`statlearn.latent.hmm.models` call them through
:func:`model_posteriors` (their E-step) and :func:`model_log_likelihood` (``score``).

* :func:`posteriors_scaled`: forward-backward in probability space with Rabiner's (1989)
  scaling, a few batched kernels per time step, emissions shifted by their per-step
  maximum; for ordinary lengths.
* :func:`posteriors_prob_scan`: from 1024 steps on, parallel prefix/suffix scans
  (Sarkka and Garcia-Fernandez, 2021) of renormalised probability-space matrix products,
  several times faster than the log-semiring products of the taught scan.
* :func:`log_likelihood_blocked` and :func:`log_likelihood_reduce`: ``score`` of long
  sequences, multiplying blocks of ~sqrt(T) steps at once, then reducing the block
  products by a tree.

Any sequence on which these under- or overflow is recomputed in log space by
:func:`statlearn.latent.hmm.inference.posterior_marginals`, so results are never NaN.
All functions trust a checked batch: ``log_pi : (N, K)``, ``log_A : (K, K)``,
``E : (N, T, K)`` and a bool ``mask : (N, T)``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from statlearn.latent.hmm.inference import (
    SCAN_MAX_ELEMENTS,
    SCAN_MIN_T,
    Posteriors,
    associative_scan,
    finite_or_zero,
    log_matmul,
    posterior_marginals,
    step_matrices,
)

__all__ = [
    "model_posteriors",
    "model_log_likelihood",
    "posteriors_scaled",
    "posteriors_prob_scan",
    "log_likelihood_reduce",
    "log_likelihood_blocked",
]


def _is_long(N: int, T: int, K: int) -> bool:
    """Whether the scans pay (long sequences) and their (N, T, K, K) buffers fit."""
    return T >= SCAN_MIN_T and N * T * K * K <= SCAN_MAX_ELEMENTS


# --------------------------------------------------------------------------------------
# Entry points of the models
# --------------------------------------------------------------------------------------


def model_posteriors(
    log_pi: Tensor, log_A: Tensor, E: Tensor, m: Tensor, *, per_sequence: bool
) -> Posteriors:
    """The models' E-step: :func:`~statlearn.latent.hmm.inference.posteriors`, fast.

    The probability scan for long sequences, else the scaled recursion; sequences on
    which either under- or overflows are redone in log space. ``xi`` is per sequence
    (N, K, K) when ``per_sequence``, else summed over the sequences (1, K, K).

    Parameters
    ----------
    log_pi : (N, K) tensor
        Log start probabilities, one row per sequence.
    log_A : (K, K) tensor
        Log transition matrix.
    E : (N, T, K) tensor
        Log emission probabilities, padded after each sequence's end.
    m : (N, T) bool tensor
        Left-aligned mask of the real steps.
    per_sequence : bool
        ``xi`` per sequence (N, K, K), else summed over the sequences (1, K, K).

    Returns
    -------
    Posteriors
        ``log_likelihood : (N,)``, ``gamma : (N, T, K)`` and ``xi``.
    """
    N, T, K = E.shape
    long = _is_long(N, T, K)
    if long:
        # per-sequence xi; summed below
        post = posteriors_prob_scan(log_pi, log_A, E, m)
    else:
        post = posteriors_scaled(log_pi, log_A, E, m, per_sequence)
    bad = torch.isnan(post.log_likelihood)
    if not bool(bad.any()):
        if long and not per_sequence:
            return Posteriors(
                post.log_likelihood, post.gamma, post.xi.sum(0, keepdim=True)
            )
        return post
    idx = bad.nonzero().squeeze(1)
    fix = posterior_marginals(
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
            posteriors_scaled(log_pi[good], log_A, E[good], m[good], False).xi
            if good.numel()
            else 0.0
        )
        xi = part + fix.xi.sum(0, keepdim=True)
    return Posteriors(ll, gamma, xi)


def model_log_likelihood(log_pi: Tensor, log_A: Tensor, E: Tensor, m: Tensor) -> Tensor:
    """log p(x) (N,) of each sequence, as ``forward(...).log_likelihood``, fast.

    Long unpadded sequences: blockwise products; long padded ones: a tree reduction of
    the step matrices; otherwise the E-step's forward pass.

    Parameters
    ----------
    log_pi : (N, K) tensor
        Log start probabilities, one row per sequence.
    log_A : (K, K) tensor
        Log transition matrix.
    E : (N, T, K) tensor
        Log emission probabilities, padded after each sequence's end.
    m : (N, T) bool tensor
        Left-aligned mask of the real steps.

    Returns
    -------
    (N,) tensor
    """
    N, T, K = E.shape
    if T >= SCAN_MIN_T:
        if bool(m.all()):
            ll = log_likelihood_blocked(log_pi, log_A, E)
            if bool(torch.isfinite(ll).all()):
                return ll
        if N * T * K * K <= SCAN_MAX_ELEMENTS:
            return log_likelihood_reduce(log_pi, log_A, E, m)
    return model_posteriors(log_pi, log_A, E, m, per_sequence=False).log_likelihood


# --------------------------------------------------------------------------------------
# Rescaled probability-space forward-backward (Rabiner's scaling)
# --------------------------------------------------------------------------------------


def posteriors_scaled(
    log_pi: Tensor, log_A: Tensor, E: Tensor, m: Tensor, per_sequence: bool
) -> Posteriors:
    """Forward-backward with Rabiner's scaling; emissions shifted by their step maximum.

    Time-major buffers keep each step to a few batched kernels (forward: matmul,
    multiply, sum, divide; backward: multiply, matmul). Returns ``xi`` per sequence (N,
    K, K) when ``per_sequence`` else summed over sequences (1, K, K). Sequences on which
    the scaled recursion under- or overflows come back with a NaN ``log_likelihood`` and
    are recomputed in log space by the caller.

    Parameters
    ----------
    log_pi : (N, K) tensor
        Log start probabilities, one row per sequence.
    log_A : (K, K) tensor
        Log transition matrix.
    E : (N, T, K) tensor
        Log emission probabilities, padded after each sequence's end.
    m : (N, T) bool tensor
        Left-aligned mask of the real steps.
    per_sequence : bool
        ``xi`` per sequence (N, K, K), else summed over the sequences (1, K, K).

    Returns
    -------
    Posteriors
        ``log_likelihood : (N,)``, ``gamma : (N, T, K)`` and ``xi``.
    """
    N, T, K = E.shape
    has_pad = not bool(m.all())
    Et = E.transpose(0, 1)  # (T, N, K) view
    shift = finite_or_zero(Et.amax(-1, keepdim=True))  # (T, N, 1)
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


# --------------------------------------------------------------------------------------
# Probability-space scans and products for long sequences
# --------------------------------------------------------------------------------------


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
    shift = finite_or_zero(E.amax(-1, keepdim=True))
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


def log_likelihood_reduce(
    log_pi: Tensor, log_A: Tensor, E: Tensor, m: Tensor
) -> Tensor:
    """log p(x) (N,) by a tree reduction of the step matrices (O(log T) depth, float64).

    The product is kept in probability space with one log-scale per matrix (renormalised
    after each product), which is several times faster than log-semiring products.
    Sequences whose product underflows are redone with log-semiring products.

    Parameters
    ----------
    log_pi : (N, K) tensor
        Log start probabilities, one row per sequence.
    log_A : (K, K) tensor
        Log transition matrix.
    E : (N, T, K) tensor
        Log emission probabilities, padded after each sequence's end.
    m : (N, T) bool tensor
        Left-aligned mask of the real steps.

    Returns
    -------
    (N,) tensor
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
        Ml = step_matrices(log_pi[idx], log_A, E[idx], m[idx])
        while Ml.shape[1] > 1:
            T = Ml.shape[1]
            P = log_matmul(Ml[:, 0 : T - 1 : 2], Ml[:, 1::2])
            Ml = torch.cat([P, Ml[:, T - 1 :]], dim=1) if T % 2 else P
        ll[idx] = torch.logsumexp(Ml[:, 0, 0, :], dim=-1)
    return ll


def log_likelihood_blocked(log_pi: Tensor, log_A: Tensor, E: Tensor) -> Tensor:
    """log p(x) (N,) of unpadded sequences: blockwise products, then a tree over blocks.

    The T - 1 step matrices ``M_t = A diag(B_t)`` are cut into C blocks of L ~ sqrt(T)
    steps; all blocks are multiplied out at once (a loop of L batched products), and the
    C block products are combined by a tree reduction (O(log C) depth). So a
    100,000-step sequence costs ~300 batched operations instead of 100,000 sequential
    ones, and no (T, K, K) tensor is stored. Probability space in float64 with
    per-matrix rescaling every 16 steps; non-finite results are redone by the caller.

    Parameters
    ----------
    log_pi : (N, K) tensor
        Log start probabilities, one row per sequence.
    log_A : (K, K) tensor
        Log transition matrix.
    E : (N, T, K) tensor
        Log emission probabilities of N unpadded sequences.

    Returns
    -------
    (N,) tensor
    """
    N, T, K = E.shape
    E = E.double()
    shift = finite_or_zero(E.amax(-1, keepdim=True))
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


def posteriors_prob_scan(
    log_pi: Tensor, log_A: Tensor, E: Tensor, m: Tensor
) -> Posteriors:
    """Posteriors by parallel prefix/suffix scans of renormalised probability products.

    Only the directions of the messages are kept (each prefix or suffix product is
    divided by its largest entry); gamma and xi are renormalised per step, and the
    log-likelihood comes from :func:`log_likelihood_reduce`. Sequences whose messages
    underflow get a NaN log-likelihood and are redone in log space by the caller.

    Parameters
    ----------
    log_pi : (N, K) tensor
        Log start probabilities, one row per sequence.
    log_A : (K, K) tensor
        Log transition matrix.
    E : (N, T, K) tensor
        Log emission probabilities, padded after each sequence's end.
    m : (N, T) bool tensor
        Left-aligned mask of the real steps.

    Returns
    -------
    Posteriors
        ``log_likelihood : (N,)``, ``gamma : (N, T, K)`` and ``xi``.
    """
    N, T, K = E.shape
    dtype = E.dtype
    M, _ = _prob_step_matrices(log_pi, log_A, E, m)
    # (N, T, K), the direction of alpha_t
    alpha = associative_scan(M, _normalised_matmul)[:, :, 0, :]
    alpha = alpha / alpha.sum(-1, keepdim=True)
    beta = torch.ones(N, T, K, dtype=torch.float64, device=E.device)
    if T > 1:
        rev = torch.flip(M[:, 1:], dims=(1,))
        suffix = torch.flip(
            associative_scan(rev, lambda a, b: _normalised_matmul(b, a)), dims=(1,)
        )
        beta[:, :-1] = suffix.sum(-1)
    beta = beta / beta.amax(-1, keepdim=True)
    g = alpha * beta
    gamma = g / g.sum(-1, keepdim=True)
    gamma = torch.where(m[:, :, None], gamma, torch.zeros_like(gamma))
    A = torch.exp(log_A.double())
    if T > 1:
        shiftE = E[:, 1:].double()
        Bn = torch.exp(shiftE - finite_or_zero(shiftE.amax(-1, keepdim=True)))
        v = Bn * beta[:, 1:]  # (N, T-1, K)
        z = ((alpha[:, :-1] @ A) * v).sum(-1, keepdim=True)  # normaliser of xi_t
        v = v / torch.where(z > 0, z, torch.ones_like(z))
        v = torch.where(m[:, 1:, None], v, torch.zeros_like(v))
        xi = A * torch.bmm(alpha[:, :-1].transpose(1, 2), v)
    else:
        xi = torch.zeros(N, K, K, dtype=torch.float64, device=E.device)
    ll = log_likelihood_reduce(log_pi, log_A, E, m)
    bad = (
        ~torch.isfinite(gamma).all(2).all(1)
        | ~torch.isfinite(xi).all(2).all(1)
        | ~torch.isfinite(ll)
    )
    ll = torch.where(bad, torch.full_like(ll, math.nan), ll)
    return Posteriors(ll.to(dtype), gamma.to(dtype), xi.to(dtype))
