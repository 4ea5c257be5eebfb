"""Sample-based estimators of mutual information, and the Gaussian benchmark (chapters
6, 20).

Chapter 6 introduces every estimator here; chapter 20 draws the information plane of
a network with :func:`information_plane`. Three families, all in **bits**:

* **Non-parametric** estimators of the information plane of a deterministic network
  (Shwartz-Ziv and Tishby, 2017; Saxe et al., 2018): :func:`mi_binning` (plug-in MI of
  binned activations) and :func:`mi_kde` (the pairwise-distance bound of Kolchinsky and
  Tracey (2017) for activations with added Gaussian noise). Both take samples ``(x,
  y)``; a floating tensor is a continuous variable, an integer tensor a discrete one
  (labels, or ``torch.arange(N)`` for "which input", so that
  ``mi_binning(torch.arange(N), t)`` is I(X; T) = H(T) on distinct inputs).
* **Variational bounds** computed from a matrix of critic scores: :func:`infonce`
  (van den Oord, Li and Vinyals, 2018), :func:`nwj` (Nguyen, Wainwright and Jordan,
  2010), :func:`mine` (the Donsker-Varadhan bound with the moving-average gradient
  correction of Belghazi et al. (2018)), all lower bounds as unified by Poole et al.
  (2019), and the upper bound :func:`club` (Cheng et al., 2020).
* **Critics** (``nn.Module``\\ s) that produce those matrices, :func:`train_critic` to
  fit them with :func:`statlearn.training.fit`, and :func:`evaluate_critic` for
  per-batch estimates on held-out data.

The score-matrix convention used throughout: for a batch of ``N`` pairs (x_i, y_i) drawn
from p(x, y), ``scores[i, j]`` scores the pair (x_i, y_j). The diagonal holds the ``N``
samples of the joint, the ``N (N - 1)`` off-diagonal entries stand in for the product of
marginals p(x) p(y). Every critic maps ``(x, y)`` to such an ``(N, N)`` matrix; for CLUB
the matrix holds ``log q(y_j | x_i)`` (nats, as the name ``log`` says).

:func:`correlated_gaussians` draws the standard benchmark with known MI
(:func:`statlearn.info.measures.gaussian_mutual_information`).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple, Sequence

import torch
from torch import nn

from statlearn._checks import (
    as_float,
    as_generator,
    as_tensor,
    check_choice,
    check_device,
    check_int,
    check_positive,
    check_probability,
    to_model,
)
from statlearn.functional import gaussian_log_prob, log_softmax_at
from statlearn.nets import eval_mode

__all__ = [
    "correlated_gaussians",
    "mi_binning",
    "mi_kde",
    "infonce",
    "nwj",
    "mine",
    "club",
    "SeparableCritic",
    "ConcatCritic",
    "ConditionalGaussian",
    "CriticLoss",
    "critic_objective",
    "train_critic",
    "evaluate_critic",
    "BOUNDS",
    "information_plane",
    "InformationPlane",
    "PLANE_ESTIMATORS",
]

_LN2 = math.log(2.0)

BOUNDS = ("infonce", "nwj", "mine", "club")
"""The bounds that :func:`critic_objective`, :func:`train_critic` and
:func:`evaluate_critic` accept."""


# --------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------


def correlated_gaussians(
    n_samples: int,
    rho: float,
    dim: int,
    cubic: bool = False,
    *,
    random_state: Any = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Samples of ``dim`` independent pairs of standard Gaussians with correlation
    ``rho``.

    x ~ N(0, I_d) and y = ρ x + sqrt(1 - ρ^2) ε with
    ε ~ N(0, I_d), so that
    I(X; Y) = -d/2 log_2(1 - ρ^2) bits
    (:func:`~statlearn.info.measures.gaussian_mutual_information`). With ``cubic=True``
    the sample returns y^3 instead of y: an invertible map of each coordinate, which
    leaves the mutual information unchanged but makes the dependence non-linear (Poole
    et al., 2019).

    Parameters
    ----------
    n_samples : int
        Number of samples.
    rho : float
        Correlation in (-1, 1); ``0`` gives independent ``x`` and ``y``.
    dim : int
        Dimension d of ``x`` and of ``y``.
    cubic : bool
        Return y^3 elementwise.
    random_state : None, int, NumPy RandomState/Generator or torch.Generator, optional
        See statlearn's randomness rule (CONTRIBUTING.md); ``None`` follows
        ``statlearn.seed_everything``. Draws on the CPU in float64 and moves the
        sample to ``device``, so a seed gives the same sample on every device.
    device : torch.device or str, optional
    dtype : torch.dtype
        Floating dtype of the result (float32 by default).

    Returns
    -------
    x : (n_samples, dim) tensor
    y : (n_samples, dim) tensor
    """
    n = check_int(n_samples, "n_samples", minimum=1)
    dim = check_int(dim, "dim", minimum=1)
    r = as_float(rho, "rho")
    if not -1.0 < r < 1.0:
        raise ValueError(f"rho must lie in (-1, 1); got {r}")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch dtype; got {dtype!r}")
    device = check_device(device) if device is not None else None
    gen = as_generator(random_state)
    x = torch.randn(n, dim, generator=gen, dtype=torch.float64)
    noise = torch.randn(n, dim, generator=gen, dtype=torch.float64)
    y = r * x + math.sqrt(1.0 - r * r) * noise
    if cubic:
        y = y**3
    return x.to(device=device, dtype=dtype), y.to(device=device, dtype=dtype)


# --------------------------------------------------------------------------------------
# Non-parametric estimators (binning, KDE)
# --------------------------------------------------------------------------------------


def _samples(v: Any, name: str) -> tuple[torch.Tensor, bool]:
    """Return ``v`` as an ``(N, D)`` tensor and whether it is discrete (an integer or
    bool tensor).
    """
    if isinstance(v, torch.Tensor):
        discrete = not (v.dtype.is_floating_point or v.dtype.is_complex)
    else:
        import numpy as np

        arr = np.asarray(v)
        discrete = arr.dtype.kind in "iub"
        v = torch.from_numpy(np.ascontiguousarray(arr)) if discrete else v
    if discrete:
        t = v.long()
        if t.ndim not in (1, 2) or t.numel() == 0:
            raise ValueError(
                f"{name} must be a non-empty 1-D (N,) or 2-D (N, D) tensor; got shape "
                f"{tuple(t.shape)}"
            )
        return t.reshape(t.shape[0], -1), True
    t = as_tensor(v, name=name, ndim=(1, 2))
    return t.reshape(t.shape[0], -1), False


def _pair(x: Any, y: Any) -> tuple[torch.Tensor, bool, torch.Tensor, bool]:
    tx, dx = _samples(x, "x")
    ty, dy = _samples(y, "y")
    if tx.shape[0] != ty.shape[0]:
        raise ValueError(
            f"x and y must have the same number of samples; got {tx.shape[0]} and "
            f"{ty.shape[0]}"
        )
    if tx.shape[0] < 2:
        raise ValueError(f"x and y need at least 2 samples; got {tx.shape[0]}")
    return tx, dx, ty.to(tx.device), dy


def _result_dtype(*ts: torch.Tensor) -> torch.dtype:
    return torch.float64 if any(t.dtype == torch.float64 for t in ts) else torch.float32


def _codes(
    t: torch.Tensor, discrete: bool, bins: int, bin_size: float | None
) -> torch.Tensor:
    """One integer code per sample: the (binned) row's index among the distinct rows."""
    if not discrete:
        if bin_size is not None:
            t = torch.floor(t / bin_size)
        else:
            lo, hi = t.min(), t.max()
            width = (hi - lo) / bins
            if float(width) > 0:
                t = torch.clamp(torch.floor((t - lo) / width), 0, bins - 1)
            else:
                t = torch.zeros_like(t)
        t = t.long()
    if t.shape[1] == 1:
        return torch.unique(t[:, 0], return_inverse=True)[1]
    return torch.unique(t, dim=0, return_inverse=True)[1]


def _plugin_entropy_nats(codes: torch.Tensor) -> torch.Tensor:
    counts = torch.bincount(codes).to(torch.float64)
    p = counts[counts > 0] / codes.shape[0]
    return -(p * p.log()).sum()


def mi_binning(
    x: Any, y: Any, *, bins: int = 30, bin_size: float | None = None
) -> torch.Tensor:
    """Plug-in mutual information of binned samples, the information-plane estimator.

    Each floating variable is discretised coordinate by coordinate, then every distinct
    row of bin indices is one state; integer variables are used as they are. The
    estimate is the mutual
    information of the empirical joint of the two discrete codes,
    Î = Ĥ(X) + Ĥ(Y) - Ĥ(X, Y), as in Shwartz-Ziv and Tishby (2017).

    For a deterministic representation T = f(X) of ``N`` distinct inputs,
    ``mi_binning(torch.arange(N), t)`` is I(X; T) = Ĥ(T) ≤ log_2 N and
    ``mi_binning(t, labels)`` is I(T; Y). As the bins shrink every input falls in its
    own bin and I(X; T) saturates at log_2 N (Saxe et al., 2018).

    Parameters
    ----------
    x : (N,) or (N, D) tensor
        Floating (binned) or integer (categorical) samples.
    y : (N,) or (N, D') tensor
        Floating or integer samples paired with ``x``.
    bins : int
        Number of equal-width bins spanning each floating variable's range (its minimum
        to maximum over all coordinates, as for a layer of tanh units). Ignored when
        ``bin_size`` is given.
    bin_size : float, optional
        Width of a fixed grid of bins anchored at zero (bin ``k`` is ``[k, k + 1) *
        bin_size``), so that estimates at different training epochs use the same bins.

    Returns
    -------
    () tensor
        The estimate in bits (float32, or float64 when an input is float64).

    Raises
    ------
    ValueError
        If ``x`` and ``y`` have different numbers of samples, ``bins < 1`` or ``bin_size
        <= 0``.
    """
    bins = check_int(bins, "bins", minimum=1)
    if bin_size is not None:
        bin_size = check_positive(bin_size, "bin_size")
    tx, dx, ty, dy = _pair(x, y)
    cx = _codes(tx, dx, bins, bin_size)
    cy = _codes(ty, dy, bins, bin_size)
    joint = cx * (int(cy.max()) + 1) + cy
    mi = (
        _plugin_entropy_nats(cx)
        + _plugin_entropy_nats(cy)
        - _plugin_entropy_nats(joint)
    )
    return (mi.clamp_min(0.0) / _LN2).to(_result_dtype(tx, ty))


def _log_kernel(
    rows: torch.Tensor, t: torch.Tensor, discrete: bool, noise_variance: float
) -> torch.Tensor:
    """``log k(t_i, t_j)`` for the rows ``i`` of a block against all ``j``: Gaussian or
    equality.
    """
    if discrete:
        equal = (rows[:, None, :] == t[None, :, :]).all(dim=-1)
        return torch.where(equal, 0.0, float("-inf"))
    sq = torch.cdist(rows, t).square()
    return -sq / (2.0 * noise_variance)


def mi_kde(
    x: Any, y: Any, *, noise_variance: float, block_size: int = 1024
) -> torch.Tensor:
    """Mutual information from the pairwise-distance (Kolchinsky-Tracey) entropy
    estimates.

    A floating variable is smoothed with Gaussian noise N(0, σ^2 I), a mixture of one
    Gaussian per sample whose entropy is bounded above by the pairwise-KL estimate of
    Kolchinsky and Tracey (2017); an integer variable uses the equality kernel. With
    kernels k^x_ij, k^y_ij, the estimate is

        Î = 1/N Σ_i log_2 (1/N Σ_j k^x_ij k^y_ij)/(1/N Σ_j k^x_ij · 1/N Σ_j k^y_ij).

    With ``x = torch.arange(N)`` (distinct inputs) and ``y`` the activations ``h`` of a
    deterministic layer, this is the upper bound on I(X; T) for T = h + N(0, σ^2 I),
    -1/N Σ_i log_2 1/N Σ_j e^(-‖ h_i - h_j ‖^2 / 2σ^2) ≤ log_2 N, which saturates at
    log_2 N as σ^2 → 0. With labels it is Ĥ(T) - Σ_c p(c) Ĥ(T | c) as in Saxe et al.
    (2018); with two continuous variables it is Ĥ(X) + Ĥ(Y) - Ĥ(X, Y), a consistent
    kernel estimate when σ^2 shrinks as ``N`` grows.

    Parameters
    ----------
    x : (N,) or (N, D) tensor
        Floating (smoothed) or integer (categorical) samples.
    y : (N,) or (N, D') tensor
        Floating or integer samples paired with ``x``.
    noise_variance : float
        Variance σ^2 > 0 of the Gaussian noise (kernel) per coordinate, shared by both
        floating variables.
    block_size : int
        Rows of the ``N x N`` kernel matrices held in memory at once.

    Returns
    -------
    () tensor
        The estimate in bits (float32, or float64 when an input is float64).

    Raises
    ------
    ValueError
        If ``x`` and ``y`` have different numbers of samples or ``noise_variance <= 0``.
    """
    noise_variance = check_positive(noise_variance, "noise_variance")
    block_size = check_int(block_size, "block_size", minimum=1)
    tx, dx, ty, dy = _pair(x, y)
    dtype = _result_dtype(tx, ty)
    if not dx:
        tx = tx.to(dtype)
    if not dy:
        ty = ty.to(dtype)
    n = tx.shape[0]
    total = torch.zeros((), dtype=torch.float64, device=tx.device)
    for start in range(0, n, block_size):
        kx = _log_kernel(tx[start : start + block_size], tx, dx, noise_variance)
        ky = _log_kernel(ty[start : start + block_size], ty, dy, noise_variance)
        per_row = (
            torch.logsumexp(kx + ky, dim=1)
            - torch.logsumexp(kx, dim=1)
            - torch.logsumexp(ky, dim=1)
        )
        total = total + per_row.to(torch.float64).sum()
    mi = total / n + math.log(n)
    return (mi.clamp_min(0.0) / _LN2).to(dtype)


# --------------------------------------------------------------------------------------
# Variational bounds on a score matrix
# --------------------------------------------------------------------------------------


def _scores(scores: Any, name: str = "scores") -> torch.Tensor:
    s = as_tensor(scores, name=name, ndim=2)
    if s.shape[0] != s.shape[1] or s.shape[0] < 2:
        raise ValueError(
            f"{name} must be a square (N, N) matrix with N >= 2 (entry [i, j] scores "
            "the pair (x_i, y_j)); "
            f"got shape {tuple(s.shape)}"
        )
    return s


def _logmeanexp_offdiag(s: torch.Tensor) -> torch.Tensor:
    """``log`` of the mean of ``exp(s[i, j])`` over the ``N (N - 1)`` pairs i != j."""
    n = s.shape[0]
    eye = torch.eye(n, dtype=torch.bool, device=s.device)
    off = s.masked_fill(eye, float("-inf"))
    return torch.logsumexp(off.flatten(), dim=0) - math.log(n * (n - 1))


# The private cores below take a checked (N, N) score matrix and return bits; the
# public bounds validate once and call them, and so does critic training, step after
# step, without re-checking the scores a critic has just produced.


def _infonce(s: torch.Tensor) -> torch.Tensor:
    n = s.shape[0]
    positives = torch.arange(n, device=s.device)
    return (log_softmax_at(s, positives, check_input=False).mean() + math.log(n)) / _LN2


def _nwj(s: torch.Tensor) -> torch.Tensor:
    joint = s.diagonal().mean()
    marginal = torch.exp(_logmeanexp_offdiag(s) - 1.0)
    return (joint - marginal) / _LN2


def _dv(s: torch.Tensor) -> torch.Tensor:
    return (s.diagonal().mean() - _logmeanexp_offdiag(s)) / _LN2


def _mine(s: torch.Tensor, running_mean: torch.Tensor, momentum: float) -> torch.Tensor:
    joint = s.diagonal().mean()
    log_mean = _logmeanexp_offdiag(s)
    with torch.no_grad():
        batch_mean = log_mean.detach().exp().to(running_mean)
        # on the buffer's device: no host synchronisation per step
        started = (running_mean > 0) & torch.isfinite(running_mean)
        running_mean.copy_(
            torch.where(
                started,
                momentum * running_mean + (1.0 - momentum) * batch_mean,
                batch_mean,
            )
        )
        log_m = running_mean.detach().log().to(device=s.device, dtype=s.dtype)
    # mean e^s / m, differentiable in the numerator only
    ratio = torch.exp(log_mean - log_m)
    return (joint - log_mean.detach() - (ratio - ratio.detach())) / _LN2


def _club(log_q: torch.Tensor) -> torch.Tensor:
    return (log_q.diagonal().mean() - log_q.mean()) / _LN2


def infonce(scores: Any) -> torch.Tensor:
    """The InfoNCE lower bound (van den Oord, Li and Vinyals, 2018), in bits.

        I_NCE = 1/N Σ_i log_2 e^s_ii/(1/N Σ_j e^s_ij) ≤ log_2 N.

    It is a lower bound on I(X; Y) in expectation, with low variance, and it can never
    exceed log_2 N: with a batch of ``N`` pairs it cannot certify more than log_2 N
    bits.

    Parameters
    ----------
    scores : (N, N) tensor
        ``scores[i, j] = s(x_i, y_j)``; the diagonal holds the joint samples.

    Returns
    -------
    () tensor
        The bound in bits; differentiable in ``scores`` (maximise it to train the
        critic).
    """
    return _infonce(_scores(scores))


def nwj(scores: Any) -> torch.Tensor:
    """The NWJ (f-divergence, "MINE-f") lower bound (Nguyen, Wainwright and Jordan,
    2010), in bits.

        I_NWJ = E_(p(x, y))[s] - E_(p(x)p(y))[e^(s - 1)],

    with the joint expectation over the diagonal and the product one over the
    off-diagonal entries (in nats, divided by ln 2). Unbiased for a fixed critic, but
    its variance grows like e^I (Poole et al., 2019). The optimal critic is
    s^* = 1 + log p(x, y)/(p(x)p(y)) (in nats).

    Parameters
    ----------
    scores : (N, N) tensor
        ``scores[i, j] = s(x_i, y_j)``.

    Returns
    -------
    () tensor
        The bound in bits; differentiable in ``scores``.
    """
    return _nwj(_scores(scores))


def mine(
    scores: Any, *, running_mean: torch.Tensor | None = None, momentum: float = 0.99
) -> torch.Tensor:
    """The Donsker-Varadhan bound used by MINE (Belghazi et al., 2018), in bits.

        I_DV = E_(p(x, y))[s] - log E_(p(x)p(y))[e^s].

    The minibatch gradient of the log term, ∇ mean(e^s) / mean(e^s), is biased;
    MINE replaces the denominator by a moving average m of the batch means
    mean(e^s). Pass ``running_mean`` (a 0-d tensor, updated in place like a batch-norm
    buffer) to get that corrected gradient: the returned value is still I_DV of the
    batch, but its gradient is ∇ s̄_joint - ∇ mean(e^s) / m.

    Parameters
    ----------
    scores : (N, N) tensor
        ``scores[i, j] = s(x_i, y_j)``.
    running_mean : () tensor, optional
        The moving average m of mean(e^s) over past batches, updated in place
        (m ← momentum m + (1 - momentum) mean(e^s));
        a value ``<= 0`` (e.g. ``torch.zeros(())``) means "not started" and is set to
        the first batch's mean. ``None`` gives the plain (biased-gradient) DV bound.
    momentum : float
        Weight of the past in the moving average, in (0, 1).

    Returns
    -------
    () tensor
        I_DV in bits, with the gradient described above.
    """
    s = _scores(scores)
    momentum = check_probability(momentum, "momentum")
    if running_mean is None:
        return _dv(s)
    if (
        not isinstance(running_mean, torch.Tensor)
        or running_mean.numel() != 1
        or not running_mean.dtype.is_floating_point
    ):
        raise TypeError(
            "running_mean must be a 0-d floating tensor (start it at torch.zeros(()))"
        )
    return _mine(s, running_mean, momentum)


def club(log_q: Any) -> torch.Tensor:
    """The contrastive log-ratio upper bound, CLUB (Cheng et al., 2020), in bits.

        I_CLUB = 1/N Σ_i [log_2 q(y_i | x_i) - 1/N Σ_j log_2 q(y_j | x_i)].

    It bounds I(X; Y) from above when the variational conditional q(y | x) is
    (close to) the true p(y | x); fit ``q`` by maximum likelihood on the joint samples
    (:func:`train_critic` with ``bound="club"``).

    Parameters
    ----------
    log_q : (N, N) tensor
        ``log_q[i, j] = log q(y_j | x_i)`` in nats, e.g. ``ConditionalGaussian(...)(x,
        y)``.

    Returns
    -------
    () tensor
        The bound in bits.
    """
    return _club(_scores(log_q, "log_q"))


# --------------------------------------------------------------------------------------
# Critics
# --------------------------------------------------------------------------------------


def _check_pair(
    critic: nn.Module, x: Any, y: Any, x_features: int, y_features: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` and ``y`` at the critic's dtype and device, checked: (N, x_features) and
    (N, y_features).
    """
    x = to_model(x, critic, name="x", ndim=2)
    y = to_model(y, critic, name="y", ndim=2)
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"x and y must have the same number of samples; got {x.shape[0]} and "
            f"{y.shape[0]}"
        )
    if x.shape[1] != x_features or y.shape[1] != y_features:
        raise ValueError(
            f"the critic expects x with {x_features} and y with {y_features} "
            f"features; got {x.shape[1]} and {y.shape[1]}"
        )
    return x, y


class SeparableCritic(nn.Module):
    """Separable critic s(x, y) = g(x)ᵀ h(y) with two MLP embeddings.

    All ``N x N`` scores cost one matrix product, so large batches are cheap (Poole et
    al., 2019).

    Parameters
    ----------
    in1_features, in2_features : int
        Feature sizes of ``x`` and ``y`` (two inputs are named as in
        ``torch.nn.Bilinear``).
    hidden : sequence of int
        Hidden widths of each embedding MLP.
    embed_dim : int
        Size of the embeddings g(x), h(y).
    activation : str
        Hidden activation (see :data:`statlearn.nets.ACTIVATIONS`).
    """

    def __init__(
        self,
        in1_features: int,
        in2_features: int,
        *,
        hidden: Sequence[int] = (64,),
        embed_dim: int = 16,
        activation: str = "relu",
    ) -> None:
        from statlearn.nets import mlp

        super().__init__()
        self.in1_features = check_int(in1_features, "in1_features", minimum=1)
        self.in2_features = check_int(in2_features, "in2_features", minimum=1)
        embed_dim = check_int(embed_dim, "embed_dim", minimum=1)
        self.g = mlp(self.in1_features, embed_dim, hidden, activation=activation)
        self.h = mlp(self.in2_features, embed_dim, hidden, activation=activation)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Scores of all pairs.

        Parameters
        ----------
        x : (N, in1_features) array or tensor
        y : (N, in2_features) array or tensor

        Returns
        -------
        (N, N) tensor
            ``scores[i, j] = g(x_i) . h(y_j)``.
        """
        x, y = _check_pair(self, x, y, self.in1_features, self.in2_features)
        return self.g(x) @ self.h(y).T


class ConcatCritic(nn.Module):
    """Joint critic s(x, y) = f([x, y]): one MLP on the concatenated pair.

    More expressive than :class:`SeparableCritic` but scores all ``N^2`` pairs through
    the MLP.

    Parameters
    ----------
    in1_features, in2_features : int
        Feature sizes of ``x`` and ``y`` (two inputs are named as in
        ``torch.nn.Bilinear``).
    hidden : sequence of int
        Hidden widths of the MLP.
    activation : str
        Hidden activation (see :data:`statlearn.nets.ACTIVATIONS`).
    """

    def __init__(
        self,
        in1_features: int,
        in2_features: int,
        *,
        hidden: Sequence[int] = (64,),
        activation: str = "relu",
    ) -> None:
        from statlearn.nets import mlp

        super().__init__()
        self.in1_features = check_int(in1_features, "in1_features", minimum=1)
        self.in2_features = check_int(in2_features, "in2_features", minimum=1)
        self.f = mlp(
            self.in1_features + self.in2_features, 1, hidden, activation=activation
        )

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Scores of all pairs.

        Parameters
        ----------
        x : (N, in1_features) array or tensor
        y : (N, in2_features) array or tensor

        Returns
        -------
        (N, N) tensor
            ``scores[i, j] = f([x_i, y_j])``.
        """
        x, y = _check_pair(self, x, y, self.in1_features, self.in2_features)
        n = x.shape[0]
        pairs = torch.cat(
            [
                x[:, None, :].expand(n, n, self.in1_features),
                y[None, :, :].expand(n, n, self.in2_features),
            ],
            dim=-1,
        )
        return self.f(pairs.reshape(n * n, -1)).reshape(n, n)


class ConditionalGaussian(nn.Module):
    """The variational conditional q(y | x) = N(y; μ(x), diag e^(v(x))) of CLUB.

    As in Cheng et al. (2020), two MLPs give the mean μ(x) and the log-variance
    v(x); the log-variance is left unbounded so that ``q`` can fit a sharp conditional.

    Parameters
    ----------
    in_features : int
        Feature size of ``x``, the input of the conditional.
    out_features : int
        Feature size of ``y``, the variable it models.
    hidden : sequence of int
        Hidden widths of each MLP.
    activation : str
        Hidden activation (see :data:`statlearn.nets.ACTIVATIONS`).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        hidden: Sequence[int] = (64,),
        activation: str = "relu",
    ) -> None:
        from statlearn.nets import mlp

        super().__init__()
        self.in_features = check_int(in_features, "in_features", minimum=1)
        self.out_features = check_int(out_features, "out_features", minimum=1)
        self.mean = mlp(
            self.in_features, self.out_features, hidden, activation=activation
        )
        self.log_var = mlp(
            self.in_features, self.out_features, hidden, activation=activation
        )

    def log_prob(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``log q(y_i | x_i)`` of the paired samples, in nats.

        Parameters
        ----------
        x : (N, in_features) array or tensor
        y : (N, out_features) array or tensor

        Returns
        -------
        (N,) tensor
        """
        x, y = _check_pair(self, x, y, self.in_features, self.out_features)
        return gaussian_log_prob(y, self.mean(x), self.log_var(x))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``log q(y_j | x_i)`` of all pairs, in nats.

        Parameters
        ----------
        x : (N, in_features) array or tensor
        y : (N, out_features) array or tensor

        Returns
        -------
        (N, N) tensor
            ``log_q[i, j] = log q(y_j | x_i)``; the input of :func:`club`.
        """
        x, y = _check_pair(self, x, y, self.in_features, self.out_features)
        mu, log_var = self.mean(x)[:, None, :], self.log_var(x)[:, None, :]
        return gaussian_log_prob(y[None, :, :], mu, log_var)


# --------------------------------------------------------------------------------------
# Training and evaluating critics
# --------------------------------------------------------------------------------------


class CriticLoss(NamedTuple):
    """One batch of critic training, in bits.

    Attributes
    ----------
    total : () tensor
        The minimised loss: minus the bound for the lower bounds; for CLUB, the mean
        negative log-likelihood -log_2 q(y_i | x_i) of the joint samples.
    mi : () tensor
        The batch's estimate of I(X; Y), detached.
    """

    total: torch.Tensor
    mi: torch.Tensor
    units = "bits"


def _check_square(s: Any, name: str) -> torch.Tensor:
    """Shape-only check of a critic's output (no pass over the values)."""
    if not isinstance(s, torch.Tensor) or s.ndim != 2 or s.shape[0] != s.shape[1]:
        shape = tuple(s.shape) if isinstance(s, torch.Tensor) else type(s).__name__
        raise ValueError(
            f"the critic must return a square (N, N) tensor of {name}; got {shape}"
        )
    return s


def _bound_value(
    bound: str, critic: nn.Module, x: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    """The plain value of ``bound`` on one batch, in bits (DV for ``"mine"``)."""
    name = "log q(y_j | x_i)" if bound == "club" else "scores"
    s = _check_square(critic(x, y), name)
    return {"infonce": _infonce, "nwj": _nwj, "mine": _dv, "club": _club}[bound](s)


class _CriticObjective:
    """``objective(critic, x, y) -> CriticLoss`` for :func:`statlearn.training.fit`."""

    def __init__(self, bound: str, momentum: float) -> None:
        self.bound = bound
        self.momentum = momentum
        # MINE's moving average of mean e^s, on the scores' device
        self.running_mean: torch.Tensor | None = None

    def __call__(
        self, critic: nn.Module, x: torch.Tensor, y: torch.Tensor
    ) -> CriticLoss:
        if self.bound == "club":
            # maximum likelihood of q on the joint samples, the diagonal of log q
            log_q = _check_square(critic(x, y), "log q(y_j | x_i)")
            nll = -log_q.diagonal().mean() / _LN2
            return CriticLoss(nll, _club(log_q.detach()))
        scores = _check_square(critic(x, y), "scores")
        if self.bound == "mine":
            if not torch.is_grad_enabled():
                # validation: the plain DV value, no buffer update
                value = _dv(scores)
                return CriticLoss(-value, value.detach())
            if self.running_mean is None:
                self.running_mean = torch.zeros(
                    (), dtype=scores.dtype, device=scores.device
                )
            value = _mine(scores, self.running_mean, self.momentum)
        else:
            value = _infonce(scores) if self.bound == "infonce" else _nwj(scores)
        return CriticLoss(-value, value.detach())


def critic_objective(
    bound: str = "infonce", *, momentum: float = 0.99
) -> _CriticObjective:
    """The training objective of a critic for :func:`statlearn.training.fit`.

    Parameters
    ----------
    bound : {"infonce", "nwj", "mine", "club"}
        For the lower bounds the critic maximises the bound (``total = -bound``, in
        bits); MINE keeps its moving average across batches inside the objective. For
        ``"club"`` the critic is a :class:`ConditionalGaussian` fitted by maximum
        likelihood (``total`` = mean negative log-likelihood of the joint samples, in
        bits, from the diagonal of the critic's ``(N, N)`` matrix of
        ``log q(y_j | x_i)``).
    momentum : float
        MINE's moving-average momentum (see :func:`mine`).

    Returns
    -------
    callable
        ``objective(critic, x, y) -> CriticLoss(total, mi)`` with ``mi`` the batch's
        estimate in bits. It draws no random numbers.
    """
    check_choice(bound, "bound", BOUNDS)
    return _CriticObjective(bound, check_probability(momentum, "momentum"))


def _check_critic(critic: Any, bound: str) -> None:
    if not isinstance(critic, nn.Module):
        raise TypeError(
            "critic must be a torch.nn.Module mapping (x, y) to an (N, N) matrix; got "
            f"{type(critic).__name__}"
        )
    if bound == "club" and not callable(getattr(critic, "log_prob", None)):
        raise TypeError(
            "bound='club' needs a variational conditional with a log_prob(x, y) "
            f"method, such as ConditionalGaussian; got {type(critic).__name__}"
        )


def _xy(x: Any, y: Any, critic: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` and ``y`` as ``(N, D)`` tensors in the critic's dtype and on its device,
    checked once."""
    tx = to_model(x, critic, name="x", ndim=(1, 2))
    ty = to_model(y, critic, name="y", ndim=(1, 2))
    tx, ty = tx.reshape(tx.shape[0], -1), ty.reshape(ty.shape[0], -1)
    if tx.shape[0] != ty.shape[0]:
        raise ValueError(
            f"x and y must have the same number of samples; got {tx.shape[0]} and "
            f"{ty.shape[0]}"
        )
    return tx, ty


def train_critic(
    critic: nn.Module,
    x: Any,
    y: Any,
    *,
    bound: str = "infonce",
    epochs: int = 1,
    batch_size: int = 128,
    lr: float = 1e-3,
    momentum: float = 0.99,
    device: torch.device | str | None = None,
    quiet: bool = True,
    random_state: Any = None,
) -> Any:
    """Train a critic on paired samples with :func:`statlearn.training.fit`.

    Each step draws a batch of ``batch_size`` pairs and ascends the chosen bound on its
    ``(batch_size, batch_size)`` score matrix (or, for CLUB, fits q(y | x) by maximum
    likelihood). For an honest estimate, evaluate the trained critic on fresh samples
    with :func:`evaluate_critic`.

    Parameters
    ----------
    critic : nn.Module
        Maps ``(x, y)`` batches to ``(N, N)`` scores (:class:`SeparableCritic`,
        :class:`ConcatCritic`); a :class:`ConditionalGaussian` for ``bound="club"``.
    x : (N, Dx) array or tensor
    y : (N, Dy) array or tensor
    bound : {"infonce", "nwj", "mine", "club"}
    epochs : int
        Passes over the samples (``epochs * ceil(N / batch_size)`` steps).
    batch_size : int
        Pairs per step, ``>= 2``.
    lr : float
        Adam's learning rate.
    momentum : float
        MINE's moving-average momentum.
    device : torch.device or str, optional
    quiet : bool
        Hide the progress bar.
    random_state : None, int, NumPy RandomState/Generator or torch.Generator, optional
        See statlearn's randomness rule (CONTRIBUTING.md): passed to
        :func:`statlearn.training.fit`, which runs the whole training under it (the
        batch order; the critic's initialisation is the caller's). ``None`` follows
        ``statlearn.seed_everything``.

    Returns
    -------
    statlearn.training.History
        ``history["mi"]``: the mean training-batch estimate per epoch, in bits;
        ``history["loss"]``.

    Raises
    ------
    ValueError
        If ``x`` and ``y`` have different numbers of samples, or ``batch_size < 2``.
    """
    from statlearn.training import fit

    check_choice(bound, "bound", BOUNDS)
    _check_critic(critic, bound)
    batch_size = check_int(batch_size, "batch_size", minimum=2)
    if device is not None:
        critic.to(check_device(device))
    # train where, and in the precision that, the critic lives
    tx, ty = _xy(x, y, critic)
    if tx.shape[0] < 2:
        raise ValueError(f"x and y need at least 2 samples; got {tx.shape[0]}")
    # a trailing batch of one pair has no product samples: fold it away by trimming one
    # sample
    if tx.shape[0] % batch_size == 1:
        tx, ty = tx[:-1], ty[:-1]
    return fit(
        critic,
        (tx, ty),
        objective=critic_objective(bound, momentum=momentum),
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        quiet=quiet,
        random_state=random_state,
    )


@torch.no_grad()
def evaluate_critic(
    critic: nn.Module, x: Any, y: Any, *, bound: str = "infonce", batch_size: int = 128
) -> torch.Tensor:
    """Per-batch estimates of a trained critic's bound on (held-out) samples, in bits.

    The samples are cut into consecutive batches of ``batch_size`` pairs (a last,
    smaller batch is dropped so that every estimate has the same batch size, e.g. the
    same log_2 N ceiling for InfoNCE). Their mean is the estimate; their spread shows
    its variance.

    Parameters
    ----------
    critic : nn.Module
        A critic for ``bound`` (see :func:`train_critic`).
    x : (N, Dx) array or tensor
    y : (N, Dy) array or tensor
    bound : {"infonce", "nwj", "mine", "club"}
        ``"mine"`` gives the plain Donsker-Varadhan value of each batch.
    batch_size : int
        Pairs per batch, ``2 <= batch_size <= N``.

    Returns
    -------
    (N // batch_size,) tensor
        One estimate per batch, in bits.
    """
    check_choice(bound, "bound", BOUNDS)
    _check_critic(critic, bound)
    tx, ty = _xy(x, y, critic)
    batch_size = check_int(batch_size, "batch_size", minimum=2)
    n_batches = tx.shape[0] // batch_size
    if n_batches < 1:
        raise ValueError(
            f"batch_size must be <= the number of samples {tx.shape[0]}; got "
            f"{batch_size}"
        )
    with eval_mode(critic):
        out = [
            _bound_value(
                bound,
                critic,
                tx[b * batch_size : (b + 1) * batch_size],
                ty[b * batch_size : (b + 1) * batch_size],
            )
            for b in range(n_batches)
        ]
    return torch.stack(out)


# --------------------------------------------------------------------------------------
# The information plane of a network (chapter 20)
# --------------------------------------------------------------------------------------


class InformationPlane(NamedTuple):
    """One point of the information plane per layer, in bits.

    Attributes
    ----------
    layers : tuple of str
        The layer names, as in ``model.named_modules()``.
    i_xz : (L,) tensor
        The estimate of I(X; Z_l) for each layer.
    i_zy : (L,) tensor
        The estimate of I(Z_l; Y) for each layer.
    """

    layers: tuple[str, ...]
    i_xz: torch.Tensor
    i_zy: torch.Tensor
    units = "bits"


PLANE_ESTIMATORS = ("binning", "kde")
"""The estimators that :func:`information_plane` accepts."""


def information_plane(
    model: nn.Module,
    x: Any,
    y: Any,
    layers: Sequence[str],
    estimator: str = "kde",
    *,
    bin_size: float | None = 0.5,
    bins: int = 30,
    noise_variance: float = 0.1,
    noise_variance_zy: float | None = 1.0,
    batch_size: int = 1024,
) -> InformationPlane:
    """I(X; Z_l) and I(Z_l; Y) for named layers of a deterministic network.

    The layers' outputs Z_l = f_l(X) are recorded on the inputs ``x`` with
    :func:`statlearn.nets.record_activations` (hooks, batched, model not copied) and
    flattened to ``(N, d_l)``. X is uniform over the distinct rows of ``x`` (a row
    repeated counts as one input), Y is the label. With ``estimator="binning"`` both
    terms are :func:`mi_binning` of the binned activations; with ``"kde"`` they are
    :func:`mi_kde` of Z_l plus Gaussian noise: I(X; Z_l) = H(Z_l) - H(Z_l | X) and
    I(Z_l; Y) = H(Z_l) - Σ_c p(c) H(Z_l | Y = c), the label-conditional entropies of all
    classes computed at once with an equality kernel on the labels (Saxe et al., 2018).

    On ``N`` distinct inputs both estimates of I(X; Z_l) are at most log_2 N, and they
    reach it whenever the bins or kernels separate every input: what they report is the
    geometry of the activations at the chosen scale, not information a noiseless network
    could lose. I(Z_l; Y) is at most the plug-in entropy of the labels.

    Parameters
    ----------
    model : nn.Module
        The network; its train/eval mode is restored afterwards.
    x : (N, ...) array or tensor
        Inputs, cast to the model's dtype and device.
    y : (N,) int array or tensor
        Labels.
    layers : sequence of str
        Names from ``model.named_modules()``, e.g. ``["2", "4"]`` for an
        ``nn.Sequential``.
    estimator : {"binning", "kde"}
        The estimator of both terms.
    bin_size : float, optional
        Binning only: width of the fixed grid of bins anchored at zero, so that
        estimates at different epochs and for different networks share their bins.
        None uses ``bins`` equal-width bins over each layer's range instead.
    bins : int
        Binning only, with ``bin_size=None``: bins per layer's range, >= 1.
    noise_variance : float
        KDE only: variance σ^2 > 0 per unit of the noise added to Z_l for I(X; Z_l).
    noise_variance_zy : float, optional
        KDE only: the noise variance for I(Z_l; Y); None uses ``noise_variance``.
    batch_size : int
        Rows per forward pass and per block of the kernel matrices, >= 1.

    Returns
    -------
    InformationPlane
        ``layers``, ``i_xz`` and ``i_zy`` (two ``(L,)`` float64 tensors on the model's
        device), in bits.

    Raises
    ------
    ValueError
        If ``estimator`` is unknown, ``x`` and ``y`` disagree in length, there are fewer
        than 2 samples, ``y`` is not a 1-D integer array, a layer is not a submodule,
        or a setting is out of range.
    """
    from statlearn.nets import record_activations

    check_choice(estimator, "estimator", PLANE_ESTIMATORS)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if estimator == "binning":
        bins = check_int(bins, "bins", minimum=1)
        if bin_size is not None:
            bin_size = check_positive(bin_size, "bin_size")
    else:
        noise_variance = check_positive(noise_variance, "noise_variance")
        noise_variance_zy = (
            noise_variance
            if noise_variance_zy is None
            else check_positive(noise_variance_zy, "noise_variance_zy")
        )
    labels, discrete = _samples(y, "y")
    if not discrete or labels.shape[1] != 1:
        raise ValueError(
            "y must be a 1-D integer array of labels (N,); got "
            f"{'floating' if not discrete else 'integer'} values of shape "
            f"{tuple(labels.shape)}"
        )
    acts = record_activations(model, x, layers, batch_size=batch_size)
    n = next(iter(acts.values())).shape[0]
    if labels.shape[0] != n:
        raise ValueError(
            f"x and y must have the same number of samples; got {n} and "
            f"{labels.shape[0]}"
        )
    if n < 2:
        raise ValueError(f"x and y need at least 2 samples; got {n}")
    x_rows = to_model(x, model).reshape(n, -1)
    inputs = torch.unique(x_rows, dim=0, return_inverse=True)[1]
    labels = labels[:, 0].to(inputs.device)
    i_xz, i_zy = [], []
    for z in acts.values():
        z = z.reshape(n, -1)
        if estimator == "binning":
            i_xz.append(mi_binning(inputs, z, bins=bins, bin_size=bin_size))
            i_zy.append(mi_binning(z, labels, bins=bins, bin_size=bin_size))
        else:
            i_xz.append(
                mi_kde(inputs, z, noise_variance=noise_variance, block_size=batch_size)
            )
            i_zy.append(
                mi_kde(
                    z, labels, noise_variance=noise_variance_zy, block_size=batch_size
                )
            )
    return InformationPlane(
        tuple(acts),
        torch.stack(i_xz).to(torch.float64),
        torch.stack(i_zy).to(torch.float64),
    )
