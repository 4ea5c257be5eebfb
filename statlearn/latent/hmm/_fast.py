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
    "is_long",
    "model_posteriors",
    "paired_emissions",
    "posteriors_paired",
    "model_log_likelihood",
    "posteriors_scaled",
    "posteriors_prob_scan",
    "log_likelihood_reduce",
    "log_likelihood_blocked",
]


def is_long(N: int, T: int, K: int) -> bool:
    """Whether the scans pay (long sequences) and their (N, T, K, K) buffers fit.

    Parameters
    ----------
    N : int
        Number of sequences.
    T : int
        Their common length.
    K : int
        Number of hidden states.

    Returns
    -------
    bool
        True when the sequences are long enough for the scans to pay and their
        buffers fit in memory.
    """
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
    long = is_long(N, T, K)
    if not long and bool(m.all()):
        B2, shift = paired_emissions(E.permute(1, 2, 0))
        ll, gamma, xi = posteriors_paired(log_pi, B2, shift, log_A, per_sequence)
        if not bool(torch.isnan(ll).any()):
            return Posteriors(ll, gamma.permute(2, 0, 1), xi)
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
# Forward and backward together: one matrix product and one product per step
# --------------------------------------------------------------------------------------

# paired_emissions and posteriors_paired rescale the messages every this many steps
RENORM_EVERY = 4


def paired_emissions(E_tkn: Tensor) -> tuple[Tensor, Tensor]:
    """Emissions in the layout of :func:`posteriors_paired`, from time-major log ones.

    Parameters
    ----------
    E_tkn : (T, K, N) tensor
        Log emission probabilities ``E[t, k, n] = log p(x^{(n)}_t | z_t = k)`` of N
        unpadded sequences (any strides).

    Returns
    -------
    B2 : (T, 2K, N) tensor
        ``B2[t, :K] = B_t`` and ``B2[t, K:] = B_{T-1-t}``: emission probabilities
        divided by their largest value at each step (so each step's maximum is 1).
    shift : (T, N) tensor
        The log-scale removed at each step (0 where a step is all ``-inf``).
    """
    T, K, N = E_tkn.shape
    shift = finite_or_zero(E_tkn.amax(1))  # (T, N)
    B2 = torch.empty(T, 2 * K, N, dtype=E_tkn.dtype, device=E_tkn.device)
    fwd = B2[:, :K]
    torch.sub(E_tkn, shift.unsqueeze(1), out=fwd)
    fwd.exp_()
    B2[:, K:] = fwd.flip(0)
    return B2, shift


def posteriors_paired(
    log_pi: Tensor, B2: Tensor, shift: Tensor, log_A: Tensor, per_sequence: bool
) -> tuple[Tensor, Tensor, Tensor]:
    """Forward-backward of unpadded sequences, both recursions in one product per step.

    The forward recursion ``alpha_t = B_t * (A^T alpha_{t-1})`` and the backward one,
    written for ``w_t = B_t * beta_t`` as ``w_{t-1} = B_{t-1} * (A w_t)``, do not
    depend on each other, so step ``s`` advances the forward messages to time ``s``
    and the backward ones to time ``T - 1 - s`` at once: one (2K, 2K) block-diagonal
    matrix product and one element-wise product on a (2K, N) block. Every
    :data:`RENORM_EVERY` steps both messages are divided by their sums. The
    posteriors need no consistent scaling: with ``p_t = A^T alpha_{t-1}`` (the forward
    message before its emission),

    ``gamma_t ∝ p_t * w_t`` and ``xi_t(i, j) ∝ alpha_{t-1}(i) A_ij w_t(j)``,

    both with the normaliser ``sum_j p_t(j) w_t(j)``. The log-likelihood is the sum of
    the removed scales and the log of the last forward message's sum.

    Parameters
    ----------
    log_pi : (N, K) tensor
        Log start probabilities, one row per sequence.
    B2, shift : tensors
        From :func:`paired_emissions`.
    log_A : (K, K) tensor
        Log transition matrix.
    per_sequence : bool
        ``xi`` per sequence (N, K, K), else summed over the sequences (1, K, K).

    Returns
    -------
    log_likelihood : (N,) tensor
        NaN for a sequence whose messages under- or overflowed (redo it in log space).
    gamma : (T, K, N) tensor
        State posteriors, time-major.
    xi : (N, K, K) or (1, K, K) tensor
        Expected transition counts.
    """
    T, K2, N = B2.shape
    K = K2 // 2
    dtype, dev = B2.dtype, B2.device
    A = torch.exp(log_A)
    step = torch.zeros(K2, K2, dtype=dtype, device=dev)
    step[:K, :K] = A.t()
    step[K:, K:] = A
    P = torch.empty_like(B2)  # P[s] = (p_s, beta_{T-1-s})
    Q = torch.empty_like(B2)  # Q[s] = (alpha_s, w_{T-1-s})
    P[0, :K] = torch.exp(log_pi).t()
    P[0, K:] = 1.0
    torch.mul(P[0], B2[0], out=Q[0])
    n_norm = (T - 1) // RENORM_EVERY + 1
    scales = torch.ones(n_norm, 2, 1, N, dtype=dtype, device=dev)
    # per-step views made once (indexing in the loop costs more than the products)
    Ps, Qs, Bs = P.unbind(0), Q.unbind(0), B2.unbind(0)
    for s in range(1, T):
        torch.mm(step, Qs[s - 1], out=Ps[s])
        torch.mul(Ps[s], Bs[s], out=Qs[s])
        if s % RENORM_EVERY == 0:
            q = Qs[s].view(2, K, N)
            r = scales[s // RENORM_EVERY]
            torch.sum(q, 1, keepdim=True, out=r)
            q.div_(r)
    alpha_last = Q[T - 1, :K].sum(0)  # (N,)
    fscale = scales[:, 0, 0]  # (n_norm, N)
    ll = torch.log(alpha_last) + torch.log(fscale).sum(0) + shift.sum(0)
    w = Q[:, K:].flip(0)  # (T, K, N): w_t
    gamma = P[:, :K] * w
    z = gamma.sum(1, keepdim=True)  # (T, 1, N)
    gamma.div_(z)
    if T > 1:
        v = w.div_(z)[1:]  # (T - 1, K, N): w_t / z_t
        alpha = Q[: T - 1, :K]
        if per_sequence:
            xi = A * torch.einsum("tin,tjn->nij", alpha, v)
        else:
            xi = A * torch.matmul(alpha, v.transpose(1, 2)).sum(0, keepdim=True)
    else:
        xi = torch.zeros(N if per_sequence else 1, K, K, dtype=dtype, device=dev)
    # a rescaling by less than this means the messages passed through the range where
    # floating point loses precision: redo the sequence in log space
    tiny = torch.finfo(dtype).tiny ** 0.5
    bad = (
        ~torch.isfinite(ll)
        | (scales.amin((0, 1, 2)) < tiny)
        | ~(z.amin((0, 1)) > 0)
        | ~torch.isfinite(z.amax((0, 1)))
    )
    ll = torch.where(bad, torch.full_like(ll, math.nan), ll)
    return ll, gamma, xi


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


def _block_shape(R: int) -> tuple[int, int, int]:
    """Block length L, block count C and padding C L - R for R step matrices.

    L near sqrt(R) balances the L sequential steps against the log2(C) levels of the
    tree; among those lengths, the one that pads least (often none): a padded step
    costs a copy.
    """
    root = max(1, math.isqrt(R))
    best = None
    for L in range(max(1, root // 2), root + 1):
        C = -(-R // L)
        key = (C * L - R, -L)
        if best is None or key < best[0]:
            best = (key, L, C)
    _, L, C = best
    return L, C, C * L - R


def log_likelihood_blocked(log_pi: Tensor, log_A: Tensor, E: Tensor) -> Tensor:
    """log p(x) (N,) of unpadded sequences: blockwise products, then a tree over blocks.

    The T - 1 step matrices ``M_t = A diag(B_t)`` are cut into C blocks of L steps
    (sqrt(T) / 2 <= L <= sqrt(T), see :func:`_block_shape`); all blocks are
    multiplied out at once (a loop of L batched products, the last block stopping at
    the sequence's end), and the C block products are combined by a tree reduction
    (O(log C) depth). So a 100,000-step sequence costs a few hundred batched
    operations instead of 100,000 sequential ones, and no (T, K, K) tensor is
    stored. Probability space in E's dtype, each product divided by its largest entry
    every few steps; a sequence whose rescaling factors fall to where floating point
    loses precision (or that under- or overflows) gets a NaN, to be redone by the
    caller.

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
    dtype = E.dtype
    every = 4 if dtype == torch.float32 else 16
    shift0 = finite_or_zero(E[:, 0].amax(-1, keepdim=True))  # (N, 1)
    alpha = torch.exp(log_pi + E[:, 0] - shift0)
    log_scale = shift0.squeeze(1)  # (N,)
    factors = []  # every rescaling factor, (N, C) or (N, C') each
    A = torch.exp(log_A)
    R = T - 1
    if R > 0:
        L, C, pad = _block_shape(R)
        M = N * C
        # emissions of steps 1..T-1 as (L, K, N * C): step in block, state, block
        # (blocks of a sequence side by side); zeros past the end
        Bs = E.new_empty(L, K, N, C)
        full = (C - 1) * L if pad else C * L
        if full:
            blocks = E[:, 1 : 1 + full].reshape(N, full // L, L, K)
            Bs[..., : full // L] = blocks.permute(2, 3, 0, 1)
        if pad:
            Bs[: L - pad, :, :, C - 1] = E[:, 1 + full :].permute(1, 2, 0)
            Bs[L - pad :, :, :, C - 1] = 0.0
        shift = finite_or_zero(Bs.view(L, K, M).amax(1, keepdim=True))  # (L, 1, M)
        Bs = Bs.view(L, 1, K, M).sub_(shift.unsqueeze(1)).exp_()  # max 1 per step
        log_scale = log_scale + shift.view(L, N, C).sum((0, 2))
        # The blocks' products are kept transposed, side by side, block index last,
        # as one (K, K, N * C) tensor Q (Q[i, j, c] = P_c[j, i]), so that a step
        # P <- P A diag(B_t) of every block is one wide matrix product Q <- A^T Q
        # (several times faster than many small ones) and a scaling of Q's rows
        # along contiguous memory. Two buffers take turns (no allocation per step).
        At = A.t().contiguous()
        Q = At.unsqueeze(-1) * Bs[0].view(K, 1, M)  # block c: (A diag B)^T
        other = torch.empty_like(Q)
        Q2, other2 = Q.view(K, K * M), other.view(K, K * M)
        for step in range(1, L):
            torch.mm(At, Q2, out=other2)
            other.mul_(Bs[step].transpose(0, 1))
            if step >= L - pad:  # past the end of the last block of each sequence
                other.view(K, K, N, C)[..., C - 1] = Q.view(K, K, N, C)[..., C - 1]
            Q, other, Q2, other2 = other, Q, other2, Q2
            if step % every == 0:
                mx = Q.amax((0, 1))  # (M,)
                Q.div_(mx)
                factors.append(mx.view(N, C))
        # the block products in order, (N, C, K, K)
        P = Q.view(K, K, N, C).permute(2, 3, 1, 0)
        while P.shape[1] > 1:
            c = P.shape[1]
            Pq = torch.matmul(P[:, 0 : c - 1 : 2], P[:, 1::2])
            mx = Pq.amax((-2, -1))
            Pq.div_(mx[:, :, None, None])
            factors.append(mx)
            P = torch.cat([Pq, P[:, c - 1 :]], dim=1) if c % 2 else Pq
        alpha = (alpha.unsqueeze(1) @ P[:, 0]).squeeze(1)
    ll = torch.log(alpha.sum(-1)) + log_scale
    if factors:
        f = torch.cat(factors, dim=1)  # (N, n)
        ll = ll + torch.log(f).sum(1)
        # a factor this small means the products passed through the range where
        # floating point loses precision
        bad = ~(f.amin(1) >= torch.finfo(dtype).tiny ** 0.5)
        ll = torch.where(bad, torch.full_like(ll, math.nan), ll)
    return ll


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
